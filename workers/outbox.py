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
    coalesces (see :func:`wait_for_emitters`) takes it exclusively before it reads, so a change whose event was
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


def wait_for_emitters(conn: Connection, event_id: int) -> None:
    """Wait until every transaction that emitted (or folded a change into) this keyed event has ended.

    For a job that reads state the event stands for: call it before reading, in the job's transaction."""
    conn.execute(
        text(f"SELECT pg_advisory_xact_lock(hashtext(key)) FROM {SHARED_SCHEMA}.outbox "
             "WHERE id = :id AND key IS NOT NULL"),
        {"id": event_id},
    )
