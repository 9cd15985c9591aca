"""Jobs of the tenants module."""

from __future__ import annotations

from typing import Any

from service.runtime import get_runtime
from tenants.provisioning import provision_desa
from workers.jobs import JobContext, handles
from workers.outbox import emit

TOPIC_PROVISION = "tenants.provision"


def request_provisioning(conn, desa_kodes: list[str]) -> list[int]:
    """Queue provisioning of each desa as its own job (idempotent per desa)."""
    ids = []
    for kode in desa_kodes:
        event_id = emit(conn, TOPIC_PROVISION, desa_kode=kode, key=f"{TOPIC_PROVISION}:{kode}", queue="tenants")
        if event_id is not None:
            ids.append(event_id)
    return ids


@handles(TOPIC_PROVISION)
def provision_job(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    tenant_dir = get_runtime().settings.migrations_dir / "tenant"
    created = provision_desa(ctx.conn, desa_kode, tenant_dir=tenant_dir)
    return {"desa": desa_kode, "created": created}
