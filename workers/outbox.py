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
    """Add an event; returns its id, or ``None`` when an event with the same ``key`` is still pending."""
    return conn.execute(
        text(
            f"""INSERT INTO {SHARED_SCHEMA}.outbox (topic, queue, desa_kode, key, payload)
                VALUES (:topic, :queue, :desa_kode, :key, CAST(:payload AS jsonb))
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
