"""Portal sessions: an HttpOnly, SameSite cookie holding only a session id and a CSRF token; the
principal lives in Redis, so signing out (or an operator locking the account) ends it at once."""

from __future__ import annotations

import json
import secrets

from flask import current_app, session

from service.auth.principal import Principal
from service.auth.tokens import principal_from_claims

SESSION_TTL = 8 * 3600


def _redis():
    return current_app.extensions["kawasan"].redis


def _key(sid: str) -> str:
    return f"kawasan:session:{sid}"


def start_session(principal: Principal) -> str:
    """Sign the browser in; returns the CSRF token the page must echo in ``X-CSRF-Token``."""
    sid = secrets.token_urlsafe(32)
    claims = {
        "knd": principal.kind.value, "sub": principal.subject, "nam": principal.name,
        "rol": [str(g) for g in principal.grants], "dsa": principal.desa_kode, "pid": principal.penduduk_id,
        "pcr": principal.must_change_pin, "jti": sid,
    }
    _redis().set(_key(sid), json.dumps(claims), ex=SESSION_TTL)
    session.clear()
    session["sid"] = sid
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    return session["csrf"]


def load_session_principal() -> Principal | None:
    sid = session.get("sid")
    if not sid:
        return None
    raw = _redis().get(_key(sid))
    if raw is None:
        session.clear()
        return None
    return principal_from_claims(json.loads(raw))


def end_session() -> None:
    sid = session.get("sid")
    if sid:
        _redis().delete(_key(sid))
    session.clear()
