"""The rollup tables (shared schema, revision s0005). Only the application's own role writes them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, DateTime, Integer, Numeric, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db import SharedModel


class RekapDesa(SharedModel):
    """One row per desa: the headline figures, the reference date of the ages and how often it was computed."""

    __tablename__ = "rekap_desa"

    desa_kode: Mapped[str] = mapped_column(String(13), primary_key=True)
    kecamatan_kode: Mapped[str] = mapped_column(String(8))
    kabupaten_kode: Mapped[str] = mapped_column(String(5))
    tanggal_acuan: Mapped[date] = mapped_column(Date)
    dihitung_pada: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    dihitung_ke: Mapped[int] = mapped_column(BigInteger, default=1)
    penduduk: Mapped[int] = mapped_column(Integer)
    laki_laki: Mapped[int] = mapped_column(Integer)
    perempuan: Mapped[int] = mapped_column(Integer)
    jumlah_kk: Mapped[int] = mapped_column(Integer)
    wajib_ktp: Mapped[int] = mapped_column(Integer)
    ber_ktp_el: Mapped[int] = mapped_column(Integer)
    ber_akta: Mapped[int] = mapped_column(Integer)
    surat_menunggu_desa: Mapped[int] = mapped_column(Integer)
    surat_menunggu_kecamatan: Mapped[int] = mapped_column(Integer)
    surat_menunggu_kabupaten: Mapped[int] = mapped_column(Integer)
    surat_terbit: Mapped[int] = mapped_column(Integer)
    jam_terbit_median: Mapped[Decimal | None] = mapped_column(Numeric(12, 1))
    jam_terbit_p90: Mapped[Decimal | None] = mapped_column(Numeric(12, 1))


class _Angka:
    """The columns of a breakdown figure: (dimensi, kode) → count, by sex where it is about people."""

    dimensi: Mapped[str] = mapped_column(String(20), primary_key=True)
    kode: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(150))
    urut: Mapped[int] = mapped_column(SmallInteger)
    jumlah: Mapped[int] = mapped_column(Integer)
    laki_laki: Mapped[int | None] = mapped_column(Integer)
    perempuan: Mapped[int | None] = mapped_column(Integer)


class RekapAngka(_Angka, SharedModel):
    """A breakdown figure of one desa: (dimensi, kode) → count (by sex where it is about people)."""

    __tablename__ = "rekap_angka"

    desa_kode: Mapped[str] = mapped_column(String(13), primary_key=True)


class RekapBulanan(SharedModel):
    """A monthly count of one desa: (seri, bulan, kode) → jumlah (mutations by event, letters by type)."""

    __tablename__ = "rekap_bulanan"

    desa_kode: Mapped[str] = mapped_column(String(13), primary_key=True)
    seri: Mapped[str] = mapped_column(String(20), primary_key=True)
    bulan: Mapped[date] = mapped_column(Date, primary_key=True)
    kode: Mapped[str] = mapped_column(String(20), primary_key=True)
    jumlah: Mapped[int] = mapped_column(Integer)


class RekapAngkaWilayah(_Angka, SharedModel):
    """The breakdown figures summed over a kecamatan's or kabupaten's desa rows (kept with them)."""

    __tablename__ = "rekap_angka_wilayah"

    wilayah_kode: Mapped[str] = mapped_column(String(8), primary_key=True)
