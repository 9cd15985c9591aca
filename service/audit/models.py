from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import SharedModel


class AuditLog(SharedModel):
    """Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). ``detail`` never holds personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    waktu: Mapped[datetime] = mapped_column(server_default=func.now())
    aktor: Mapped[str] = mapped_column(String(100))
    aktor_nama: Mapped[str | None] = mapped_column(String(150))
    aksi: Mapped[str] = mapped_column(String(60))
    desa_kode: Mapped[str | None] = mapped_column(String(13))
    objek: Mapped[str | None] = mapped_column(String(200))
    berhasil: Mapped[bool] = mapped_column(default=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
