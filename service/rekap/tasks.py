"""The rollup's job: the coalesced ``penduduk.berubah:<desa>`` event recomputes that desa's whole rollup.

The handler is registered by :mod:`service.penduduk.tasks` (the topic belongs to the register); this module
holds what it does, so that the register's job and ``kawasan stats rebuild`` share one code path.
"""

from __future__ import annotations

from typing import Any

from service.rekap.services import perbarui_desa
from workers.jobs import JobContext
from workers.outbox import claim_coalesced


def perbarui(ctx: JobContext, desa_kode: str | None) -> dict[str, Any]:
    """Recompute one desa's rollup and store it in the job's transaction (marked done with it)."""
    if not desa_kode:
        raise ValueError("penduduk.berubah needs a desa code")
    claim_coalesced(ctx.conn, ctx.event_id)  # before reading: no change is lost to coalescing
    return perbarui_desa(ctx.conn, ctx.engine, desa_kode)
