"""Jobs that fill the demo's villages with a synthetic register (``kawasan demo``).

``request_demo_data`` queues one ``demo.isi_desa`` event per desa. The demo queues them together with the
provisioning jobs of the same villages, so a demo job may run before its desa exists: it then raises
``DesaNotFound`` and the outbox retries it later with backoff (2, 4, 8, … s, at most 10 attempts), by
which time the provisioning job has run.
"""

from __future__ import annotations

from typing import Any

from service.penduduk.demo_data import isi_desa
from workers.jobs import JobContext, handles
from workers.outbox import emit

TOPIC_ISI_DESA = "demo.isi_desa"
DEFAULT_PENDUDUK = 2400


def request_demo_data(conn, desa_kodes: list[str], penduduk: int = DEFAULT_PENDUDUK) -> list[int]:
    """Queue one register-filling job per desa (idempotent per desa while one is pending); returns event ids."""
    ids = []
    for kode in desa_kodes:
        event_id = emit(conn, TOPIC_ISI_DESA, desa_kode=kode, key=f"{TOPIC_ISI_DESA}:{kode}",
                        payload={"penduduk": penduduk}, queue="default")
        if event_id is not None:
            ids.append(event_id)
    return ids


@handles(TOPIC_ISI_DESA)
def isi_desa_job(ctx: JobContext, desa_kode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Fill one desa. Not provisioned yet → ``DesaNotFound`` (the outbox retries with backoff).

    The register is written in its own desa transaction, not in ``ctx.conn`` (that one is the owner's and
    marks the event done); a re-run after a crash between the two finds residents and skips.
    """
    if not desa_kode:
        raise ValueError("demo.isi_desa needs a desa code")
    return isi_desa(ctx.engine, desa_kode, penduduk=int(payload.get("penduduk", DEFAULT_PENDUDUK)))
