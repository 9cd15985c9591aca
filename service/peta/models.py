"""Village geometry for the dashboards' maps (shared schema, WGS84 longitude/latitude)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import SharedModel


class PetaDesa(SharedModel):
    """A village's point (office or representative point) and, where imported, its boundary."""

    __tablename__ = "peta_desa"

    desa_kode: Mapped[str] = mapped_column(ForeignKey("wilayah_administrasi.kode"), primary_key=True)
    bujur: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    lintang: Mapped[Decimal | None] = mapped_column(Numeric(8, 6))
    #: Where the point came from: ``sintetis`` (demo), ``batas`` (representative point of the boundary),
    #: ``impor:<file>`` or ``manual``.
    sumber_titik: Mapped[str | None] = mapped_column(String(100))
    batas: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    sumber_batas: Mapped[str | None] = mapped_column(String(100))
    diubah_oleh: Mapped[str | None] = mapped_column(String(100))
    diubah_pada: Mapped[datetime] = mapped_column(server_default=func.now())
