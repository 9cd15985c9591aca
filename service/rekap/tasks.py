"""The rollup's job: the coalesced ``penduduk.berubah:<desa>`` event recomputes that desa's whole rollup.

The handler is registered by :mod:`service.penduduk.tasks` (the topic belongs to the register); this module
holds what it does, so that the register's job and ``kawasan stats rebuild`` share one code path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from service.rekap.services import perbarui_desa
from workers.jobs import JobContext
from workers.outbox import wait_for_emitters


def lepas_kunci(ctx: JobContext) -> None:
    """Free the event's coalescing key before reading the desa.

    While an event is pending, a new change's ``emit`` with the same key does nothing: that change relies on
    this run to count it. First this run waits for every transaction that folded a change into the event
    (``wait_for_emitters``), so it reads those changes. Then renaming the key (in this transaction) makes a
    later ``emit`` wait for this run to commit and queue a fresh event, so every change is counted by a
    recomputation that reads after it; a burst that is pending before the job starts still costs one run.
    """
    wait_for_emitters(ctx.conn, ctx.event_id)
    ctx.conn.execute(
        text("UPDATE kawasan.outbox SET key = left(key || '#' || id, 200) WHERE id = :id AND key IS NOT NULL"),
        {"id": ctx.event_id},
    )


def perbarui(ctx: JobContext, desa_kode: str | None) -> dict[str, Any]:
    """Recompute one desa's rollup and store it in the job's transaction (marked done with it)."""
    if not desa_kode:
        raise ValueError("penduduk.berubah needs a desa code")
    lepas_kunci(ctx)
    return perbarui_desa(ctx.conn, ctx.engine, desa_kode)
