"""Request-side tenant routing: the desa of a desa-scoped route, and the view's session bound to it.

The URL preprocessor only takes the code out of the view arguments; the policy layer
(:func:`service.auth.policy.authorize_request`) authorizes against it first and then calls
:func:`enter_desa`, so an unauthorized caller never causes a desa look-up.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from service.api import problem
from tenants.session import DesaNotFound, DesaSession, DesaTenant


def take_desa_kode(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """``url_value_preprocessor`` of desa-scoped blueprints."""
    if values is not None and "kode" in values:
        g.desa_kode_raw = values.pop("kode")


def take_region_kode(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """``url_value_preprocessor`` of kecamatan/kabupaten workspaces."""
    if values is not None and "wilayah" in values:
        g.region_kode_raw = values.pop("wilayah")


def current_region() -> str:
    """The dotted kecamatan or kabupaten code of a region-scoped request (checked by the policy layer)."""
    return g.region_kode


def enter_desa(raw: str) -> None:
    try:
        session = DesaSession(current_app.extensions["kawasan"].engine, raw)
        g.desa_db = session
        session.connection()  # one round trip: registry look-up and entering the desa
    except DesaNotFound as exc:
        problem(404, str(exc), field="kode", location="path")
    g.desa = session.desa


def current_desa() -> DesaTenant:
    desa = g.get("desa")
    if desa is None:
        raise RuntimeError("not inside a desa-scoped request")
    return desa


def desa_db() -> DesaSession:
    """The request's session bound to its desa (opened before the view, closed at teardown)."""
    session = g.get("desa_db")
    if session is None:
        raise RuntimeError("not inside a desa-scoped request")
    return session


def close_desa_db(_exc: BaseException | None = None) -> None:
    session = g.pop("desa_db", None)
    if session is not None:
        session.close()
