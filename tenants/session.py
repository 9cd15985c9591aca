"""Desa-bound sessions: the only way code reaches a desa's tables.

A :class:`DesaSession` is bound to exactly one desa. Every transaction it begins sets, transaction-
locally, ``search_path`` to the desa schema, ``role`` to the desa's role (which can use no other desa
schema) and ``kawasan.desa_kode`` (read by row-level security on shared tables). Tenant models are
rendered into the desa schema by ``schema_translate_map``. Nothing is set at session level, so a
connection goes back to the pool exactly as it came out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session, SessionTransaction

from service.db import SHARED_SCHEMA, TENANT_SCHEMA
from service.regions.codes import InvalidKode, Kode, parse_desa_kode, schema_name_for


@dataclass(frozen=True)
class DesaTenant:
    kode: str
    nama: str
    schema_name: str
    role_name: str
    revision: str | None


class DesaNotFound(LookupError):
    """No ready tenant for this code (malformed, unknown, not provisioned or failed)."""

    def __init__(self, raw: str, reason: str = "desa tidak ditemukan / village not found"):
        self.raw = raw
        super().__init__(f"{raw!r}: {reason}")


_ENTER_DESA = text(
    f"""SELECT t.kode, w.nama, t.schema_name, t.role_name, t.revision,
               set_config('search_path', t.schema_name, true), set_config('role', t.role_name, true),
               set_config('kawasan.desa_kode', t.kode, true)
        FROM {SHARED_SCHEMA}.tenant t JOIN {SHARED_SCHEMA}.wilayah_administrasi w USING (kode)
        WHERE t.kode = :kode AND t.schema_name = :schema AND t.status = 'ready'"""
)
"""Look the desa up and enter it in one round trip. Privileges are checked when the statement starts,
so the registry is still readable although the same statement switches to the desa's role; when no
row matches, no ``set_config`` runs at all."""

_FIND_DESA = text(
    f"""SELECT t.kode, w.nama, t.schema_name, t.role_name, t.revision
        FROM {SHARED_SCHEMA}.tenant t JOIN {SHARED_SCHEMA}.wilayah_administrasi w USING (kode)
        WHERE t.kode = :kode AND t.schema_name = :schema AND t.status = 'ready'"""
)


def _parse(raw: str | Kode) -> Kode:
    try:
        return raw if isinstance(raw, Kode) else parse_desa_kode(raw)
    except InvalidKode as exc:
        raise DesaNotFound(str(raw), exc.reason) from exc


def find_desa(conn: Connection | Session, raw_kode: str | Kode) -> DesaTenant:
    """The ready tenant of a desa code (dotted or 10 digits), or :class:`DesaNotFound`."""
    kode = _parse(raw_kode)
    row = conn.execute(_FIND_DESA, {"kode": kode.dotted, "schema": schema_name_for(kode)}).first()
    if row is None:
        raise DesaNotFound(str(raw_kode))
    return DesaTenant(row.kode, row.nama, row.schema_name, row.role_name, row.revision)


class DesaSession(Session):
    """A Session bound to one desa; see the module docstring.

    Every transaction starts by looking the desa up in the registry and entering it (search_path,
    role, desa code) in the same statement; an unknown, unprovisioned or failed desa raises
    :class:`DesaNotFound` there, before any desa table is touched.
    """

    def __init__(self, engine: Engine, desa: str | Kode | DesaTenant, **kwargs):
        raw = desa.kode if isinstance(desa, DesaTenant) else desa
        kode = _parse(raw)
        self.desa_kode = kode.dotted
        self.desa_schema = schema_name_for(kode)
        self.desa: DesaTenant | None = desa if isinstance(desa, DesaTenant) else None
        bind = engine.execution_options(schema_translate_map={TENANT_SCHEMA: self.desa_schema})
        super().__init__(bind=bind, **kwargs)


@event.listens_for(DesaSession, "after_begin")
def _enter_desa(session: DesaSession, transaction: SessionTransaction, connection: Connection) -> None:
    row = connection.execute(_ENTER_DESA, {"kode": session.desa_kode, "schema": session.desa_schema}).first()
    if row is None:
        raise DesaNotFound(session.desa_kode)
    session.desa = DesaTenant(row.kode, row.nama, row.schema_name, row.role_name, row.revision)


@contextmanager
def desa_session(engine: Engine, kode: str | Kode | DesaTenant) -> Iterator[DesaSession]:
    """Open a session bound to one desa; :class:`DesaNotFound` before any desa data is touched."""
    with DesaSession(engine, kode) as session:
        session.connection()  # begin now: look the desa up and enter it
        yield session
