"""Writing outbox events: in the caller's transaction, next to the change that causes them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from service.db import SHARED_SCHEMA


def emit(
    conn: Connection | Session,
    topic: str,
    *,
    desa_kode: str | None = None,
    key: str | None = None,
    payload: dict[str, Any] | None = None,
    queue: str = "default",
) -> int | None:
    """Add an event; returns its id, or ``None`` when an event with the same ``key`` is still pending.

    A keyed emit also takes a shared advisory lock on the key until the caller's transaction ends. A job that
    coalesces (see :func:`claim_coalesced`) takes it exclusively before it reads, so a change whose event was
    folded into the pending one is committed, and seen, before that job counts."""
    return conn.execute(
        text(
            f"""WITH kunci AS (SELECT pg_advisory_xact_lock_shared(hashtext(CAST(:key AS text))))
                INSERT INTO {SHARED_SCHEMA}.outbox (topic, queue, desa_kode, key, payload)
                SELECT :topic, :queue, :desa_kode, :key, CAST(:payload AS jsonb) FROM kunci
                ON CONFLICT (key) WHERE status = 'pending' DO NOTHING
                RETURNING id"""
        ),
        {
            "topic": topic,
            "queue": queue,
            "desa_kode": desa_kode,
            "key": key,
            "payload": json.dumps(payload or {}),
        },
    ).scalar()


def claim_coalesced(conn: Connection, event_id: int) -> None:
    """For the job of a keyed (coalescing) event, in its transaction, before it reads what the event stands for.

    While an event is pending, a new change's ``emit`` with the same key does nothing: that change relies on
    this job to see it. First wait until every transaction that emitted (or folded a change into) the event has
    ended, so the job reads those changes. Then rename the key (in this transaction): a later ``emit`` waits
    for the job to commit and queues a fresh event, so every change is seen by a run that reads after it; a
    burst that is pending before the job starts still costs one run."""
    conn.execute(
        text(f"SELECT pg_advisory_xact_lock(hashtext(key)) FROM {SHARED_SCHEMA}.outbox "
             "WHERE id = :id AND key IS NOT NULL"),
        {"id": event_id},
    )
    conn.execute(
        text(f"UPDATE {SHARED_SCHEMA}.outbox SET key = left(key || '#' || id, 200) "
             "WHERE id = :id AND key IS NOT NULL"),
        {"id": event_id},
    )
