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
from service.regions.codes import InvalidKode, Kode, parse_desa_kode


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


def find_desa(conn: Connection | Session, raw_kode: str | Kode) -> DesaTenant:
    try:
        kode = raw_kode if isinstance(raw_kode, Kode) else parse_desa_kode(raw_kode)
    except InvalidKode as exc:
        raise DesaNotFound(str(raw_kode), exc.reason) from exc
    row = conn.execute(
        text(
            f"SELECT t.kode, w.nama, t.schema_name, t.role_name, t.revision FROM {SHARED_SCHEMA}.tenant t "
            f"JOIN {SHARED_SCHEMA}.wilayah_administrasi w USING (kode) WHERE t.kode = :k AND t.status = 'ready'"
        ),
        {"k": kode.dotted},
    ).first()
    if row is None:
        raise DesaNotFound(str(raw_kode))
    return DesaTenant(row.kode, row.nama, row.schema_name, row.role_name, row.revision)


class DesaSession(Session):
    """A Session bound to one desa; see the module docstring."""

    def __init__(self, engine: Engine, desa: DesaTenant, **kwargs):
        bind = engine.execution_options(schema_translate_map={TENANT_SCHEMA: desa.schema_name})
        super().__init__(bind=bind, **kwargs)
        self.desa = desa


@event.listens_for(DesaSession, "after_begin")
def _enter_desa(session: DesaSession, transaction: SessionTransaction, connection: Connection) -> None:
    connection.execute(
        text(
            "SELECT set_config('search_path', :schema, true), set_config('role', :role, true), "
            "set_config('kawasan.desa_kode', :kode, true)"
        ),
        {"schema": session.desa.schema_name, "role": session.desa.role_name, "kode": session.desa.kode},
    )


@contextmanager
def desa_session(engine: Engine, kode: str | Kode | DesaTenant) -> Iterator[DesaSession]:
    """Open a session bound to one desa; :class:`DesaNotFound` before any desa data is touched."""
    if isinstance(kode, DesaTenant):
        desa = kode
    else:
        with engine.connect() as conn:
            desa = find_desa(conn, kode)
    with DesaSession(engine, desa) as session:
        yield session
