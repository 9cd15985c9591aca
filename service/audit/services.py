"""Writing the audit log: who did what, to which desa, when and from where. Never personal data."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import Connection, Engine, insert

from service.audit.models import AuditLog
from service.auth.principal import Principal


def client_address() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


def record(
    target: Engine | Connection,
    aksi: str,
    *,
    aktor: Principal | str,
    desa_kode: str | None = None,
    objek: str | None = None,
    berhasil: bool = True,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry. With an Engine it commits on its own (failures must be kept even when the
    request's own transaction rolls back); with a Connection it joins the caller's transaction."""
    values = {
        "aktor": aktor.subject if isinstance(aktor, Principal) else aktor,
        "aktor_nama": aktor.name if isinstance(aktor, Principal) else None,
        "aksi": aksi,
        "desa_kode": desa_kode,
        "objek": objek,
        "berhasil": berhasil,
        "detail": detail or {},
        "ip": client_address(),
        "user_agent": request.headers.get("User-Agent", "")[:300] if has_request_context() else None,
    }
    statement = insert(AuditLog).values(**values)
    if isinstance(target, Connection):
        target.execute(statement)
    else:
        with target.begin() as conn:
            conn.execute(statement)
