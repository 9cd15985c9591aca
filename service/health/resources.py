"""Liveness and readiness for the orchestrator."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from service.api import Blueprint
from tenants.migrate import head_of, shared_revision

blp = Blueprint("health", __name__, description="Health checks")


@blp.route("/healthz")
@blp.public
@blp.doc(summary="Process is up")
def healthz():
    return {"status": "ok"}


@blp.route("/readyz")
@blp.public
@blp.doc(summary="PostgreSQL and Redis reachable, shared migrations at head")
def readyz():
    runtime = current_app.extensions["kawasan"]
    checks: dict[str, str] = {}
    ready = True
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = shared_revision(conn)
            lagging = conn.scalar(
                text("SELECT count(*) FROM kawasan.tenant WHERE revision IS DISTINCT FROM :h OR status <> 'ready'"),
                {"h": head_of(runtime.settings.migrations_dir / "tenant")},
            ) if current else None
        checks["postgres"] = "ok"
        expected = head_of(runtime.settings.migrations_dir / "shared")
        if current == expected:
            checks["migrations"] = "ok"
        else:
            checks["migrations"] = f"shared at {current}, head is {expected}"
            ready = False
        if lagging:
            # Tenants are upgraded one by one (expand/contract); lagging ones are reported, not fatal.
            checks["tenants_behind_head"] = str(lagging)
    except Exception as exc:  # noqa: BLE001
        checks["postgres"] = f"unreachable: {type(exc).__name__}"
        ready = False
    try:
        runtime.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"unreachable: {type(exc).__name__}"
        ready = False
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
