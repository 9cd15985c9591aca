"""The population register of one desa (tenant tables; reached only through a desa session)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Computed, Date, ForeignKey, Identity, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.db import TenantModel


class Wilayah(TenantModel):
    """Local wilayah: dusun/kampung → RW → RT, each with its head."""

    __tablename__ = "wilayah"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tingkat: Mapped[str] = mapped_column(String(10))  # dusun, rw, rt
    nama: Mapped[str] = mapped_column(String(100))
    induk_id: Mapped[int | None] = mapped_column(ForeignKey("wilayah.id"))
    kepala_nama: Mapped[str | None] = mapped_column(String(150))
    kepala_penduduk_id: Mapped[int | None] = mapped_column(ForeignKey("penduduk.id"))
    urut: Mapped[int] = mapped_column(default=0)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())


class Keluarga(TenantModel):
    """A family (Kartu Keluarga). Its number can change; ``riwayat_no_kk`` keeps every number it had."""

    __tablename__ = "keluarga"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=func.gen_random_uuid())
    no_kk: Mapped[str] = mapped_column(String(16), unique=True)
    kepala_id: Mapped[int | None] = mapped_column(ForeignKey("penduduk.id", use_alter=True))
    alamat: Mapped[str | None] = mapped_column(Text)
    wilayah_id: Mapped[int | None] = mapped_column(ForeignKey("wilayah.id"))
    kelas_sosial: Mapped[int | None] = mapped_column(SmallInteger)
    tanggal_daftar: Mapped[date | None] = mapped_column(Date)
    aktif: Mapped[bool] = mapped_column(default=True)
    versi: Mapped[int] = mapped_column(default=1)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    diubah_pada: Mapped[datetime] = mapped_column(server_default=func.now())

    __mapper_args__ = {"version_id_col": versi}


class RiwayatNoKK(TenantModel):
    __tablename__ = "riwayat_no_kk"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    keluarga_id: Mapped[int] = mapped_column(ForeignKey("keluarga.id", ondelete="CASCADE"))
    no_kk: Mapped[str] = mapped_column(String(16))
    berlaku_dari: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    berlaku_sampai: Mapped[date | None] = mapped_column(Date)
    sebab: Mapped[str | None] = mapped_column(String(100))


class Penduduk(TenantModel):
    """A resident, with the fields villages actually keep (OpenSID ``tweb_penduduk``), codes as OpenSID's."""

    __tablename__ = "penduduk"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=func.gen_random_uuid())
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    nama: Mapped[str] = mapped_column(String(150))
    keluarga_id: Mapped[int | None] = mapped_column(ForeignKey("keluarga.id"))
    kk_level: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[int] = mapped_column(SmallInteger)
    tempat_lahir: Mapped[str | None] = mapped_column(String(100))
    tanggal_lahir: Mapped[date] = mapped_column(Date)
    agama_id: Mapped[int | None] = mapped_column(SmallInteger)
    pendidikan_kk_id: Mapped[int | None] = mapped_column(SmallInteger)
    pendidikan_sedang_id: Mapped[int | None] = mapped_column(SmallInteger)
    pekerjaan_id: Mapped[int | None] = mapped_column(SmallInteger)
    status_kawin: Mapped[int | None] = mapped_column(SmallInteger)
    golongan_darah_id: Mapped[int | None] = mapped_column(SmallInteger)
    warganegara_id: Mapped[int] = mapped_column(SmallInteger, default=1)
    nik_ayah: Mapped[str | None] = mapped_column(String(16))
    nama_ayah: Mapped[str | None] = mapped_column(String(150))
    nik_ibu: Mapped[str | None] = mapped_column(String(16))
    nama_ibu: Mapped[str | None] = mapped_column(String(150))
    cacat_id: Mapped[int | None] = mapped_column(SmallInteger)
    status_dasar: Mapped[int] = mapped_column(SmallInteger, default=1)
    status_penduduk: Mapped[int] = mapped_column(SmallInteger, default=1)
    ktp_el: Mapped[int | None] = mapped_column(SmallInteger)
    status_rekam: Mapped[int | None] = mapped_column(SmallInteger)
    akta_lahir: Mapped[str | None] = mapped_column(String(60))
    akta_perkawinan: Mapped[str | None] = mapped_column(String(60))
    tanggal_perkawinan: Mapped[date | None] = mapped_column(Date)
    akta_perceraian: Mapped[str | None] = mapped_column(String(60))
    tanggal_perceraian: Mapped[date | None] = mapped_column(Date)
    dokumen_pasport: Mapped[str | None] = mapped_column(String(45))
    dokumen_kitas: Mapped[str | None] = mapped_column(String(45))
    hamil: Mapped[int | None] = mapped_column(SmallInteger)
    suku: Mapped[str | None] = mapped_column(String(100))
    telepon: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(150))
    alamat_sekarang: Mapped[str | None] = mapped_column(Text)
    alamat_sebelumnya: Mapped[str | None] = mapped_column(Text)
    wilayah_id: Mapped[int | None] = mapped_column(ForeignKey("wilayah.id"))
    versi: Mapped[int] = mapped_column(default=1)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    diubah_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    nama_tsv: Mapped[Any] = mapped_column(TSVECTOR, Computed("to_tsvector('simple', coalesce(nama, ''))"))

    __mapper_args__ = {"version_id_col": versi}


class MutasiPenduduk(TenantModel):
    """The mutation log (Buku Mutasi): every life event and correction, with its details in ``data``."""

    __tablename__ = "mutasi_penduduk"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    penduduk_id: Mapped[int] = mapped_column(ForeignKey("penduduk.id"))
    kode_peristiwa: Mapped[int] = mapped_column(SmallInteger)
    tanggal_peristiwa: Mapped[date] = mapped_column(Date)
    tanggal_lapor: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    no_kk: Mapped[str | None] = mapped_column(String(16))
    catatan: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    oleh: Mapped[str | None] = mapped_column(String(100))
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
