"""IDM scores per desa per year (shared schema; keyed by the Kemendagri code, no desa schema involved)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import SharedModel


class IndeksDesa(SharedModel):
    """One desa's index for one year under one scheme (see :mod:`service.idm.skema`)."""

    __tablename__ = "indeks_desa"

    desa_kode: Mapped[str] = mapped_column(ForeignKey("wilayah_administrasi.kode"), primary_key=True)
    tahun: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    skema: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: Dimension scores keyed by the scheme's dimensions, e.g. ``{"iks": 0.6571, "ike": 0.5333, "ikl": 0.6667}``.
    skor: Mapped[dict[str, Any]] = mapped_column(JSONB)
    nilai: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    status: Mapped[str] = mapped_column(String(20))
    sumber: Mapped[str] = mapped_column(String(20))
    diubah_oleh: Mapped[str | None] = mapped_column(String(100))
    diubah_pada: Mapped[datetime] = mapped_column(server_default=func.now())
