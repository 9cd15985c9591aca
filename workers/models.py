from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import SharedModel


class OutboxEvent(SharedModel):
    """Work to do after a commit, written in the same transaction as the change that causes it.

    The relay enqueues it on RQ (job id ``outbox-<id>``); the job marks it completed in the same
    transaction as its own effect, so a lost, duplicated or killed job cannot do the work twice.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(50), default="default")
    desa_kode: Mapped[str | None] = mapped_column(String(13))
    #: Idempotency key (desa, object, level…): at most one pending event per key.
    key: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    available_at: Mapped[datetime] = mapped_column(server_default=func.now())
    enqueued_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))
    #: ``pending`` → ``done``; ``dead`` after too many failures (kept for inspection).
    status: Mapped[str] = mapped_column(String(10), default="pending")
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (
        Index("ix_outbox_pending", "available_at", postgresql_where=text("status = 'pending'")),
        Index("uq_outbox_pending_key", "key", unique=True, postgresql_where=text("status = 'pending'")),
    )
