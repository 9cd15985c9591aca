"""Request-side tenant routing: resolve the desa of a desa-scoped route, give the view its session."""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from service.api import problem
from tenants.session import DesaNotFound, DesaSession, DesaTenant


def enter_desa(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """``url_value_preprocessor`` of desa-scoped blueprints: unknown desa → 404 before the view."""
    if values is None or "kode" not in values:
        return
    raw = values.pop("kode")
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
