"""ORM models of the desa baseline tables (tenant tree revision t0001)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import TenantModel


class Pengaturan(TenantModel):
    """Desa settings, e.g. ``sebutan_desa`` (local names), later the letter number format."""

    __tablename__ = "pengaturan"

    kunci: Mapped[str] = mapped_column(String(100), primary_key=True)
    nilai: Mapped[Any] = mapped_column(JSONB)
    diubah_pada: Mapped[datetime] = mapped_column(server_default=func.now())


class Wilayah(TenantModel):
    """Local wilayah: dusun/kampung → RW → RT."""

    __tablename__ = "wilayah"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tingkat: Mapped[str] = mapped_column(String(10))
    nama: Mapped[str] = mapped_column(String(100))
    induk_id: Mapped[int | None] = mapped_column(ForeignKey("wilayah.id"))
    kepala_nama: Mapped[str | None] = mapped_column(String(150))
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
