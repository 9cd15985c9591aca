"""Desa settings (tenant tree revision t0001). The register's tables live in service/penduduk/models.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import TenantModel


class Pengaturan(TenantModel):
    """Desa settings, e.g. ``sebutan_desa`` (local names), later the letter number format."""

    __tablename__ = "pengaturan"

    kunci: Mapped[str] = mapped_column(String(100), primary_key=True)
    nilai: Mapped[Any] = mapped_column(JSONB)
    diubah_pada: Mapped[datetime] = mapped_column(server_default=func.now())
