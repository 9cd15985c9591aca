from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, String, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db import TenantModel


class Penduduk(TenantModel):
    """A resident of the desa. Minimal for now (tenant revision t0002); the register extends it."""

    __tablename__ = "penduduk"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    nama: Mapped[str] = mapped_column(String(150))
    no_kk: Mapped[str | None] = mapped_column(String(16), index=True)
    hubungan_keluarga: Mapped[str | None] = mapped_column(String(30))
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
