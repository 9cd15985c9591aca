from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db import SharedModel


class WilayahAdministrasi(SharedModel):
    """One official region: provinsi, kabupaten/kota, kecamatan or desa/kelurahan."""

    __tablename__ = "wilayah_administrasi"

    kode: Mapped[str] = mapped_column(String(13), primary_key=True)  # dotted, canonical
    tingkat: Mapped[str] = mapped_column(String(10))
    nama: Mapped[str] = mapped_column(String(200))
    induk_kode: Mapped[str | None] = mapped_column(ForeignKey("wilayah_administrasi.kode"), index=True)
    #: ``kabupaten``/``kota`` for level 2, ``desa``/``kelurahan`` for level 4 (from the code's first digit).
    jenis: Mapped[str | None] = mapped_column(String(10))

    __table_args__ = (Index("ix_wilayah_administrasi_tingkat_induk", "tingkat", "induk_kode"),)


class DatasetVersion(SharedModel):
    """Which version (checksum) of a bundled data set is loaded, so loading is skipped when current."""

    __tablename__ = "dataset_version"

    nama: Mapped[str] = mapped_column(String(50), primary_key=True)
    checksum: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(server_default=func.now())
