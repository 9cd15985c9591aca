from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, LargeBinary, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.db import SharedModel, TenantModel


class PermohonanSurat(TenantModel):
    """A letter request, from the resident's ask to the issued, signed PDF."""

    __tablename__ = "permohonan_surat"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=func.gen_random_uuid())
    jenis_kode: Mapped[str] = mapped_column(String(10))
    penduduk_id: Mapped[int] = mapped_column(ForeignKey("penduduk.id"))
    pemohon: Mapped[str] = mapped_column(String(100))
    isian: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(30))
    langkah: Mapped[int] = mapped_column(SmallInteger, default=0)
    rantai_desa: Mapped[list[str]] = mapped_column(JSONB, default=list)
    rantai: Mapped[str] = mapped_column(String(10))
    putaran: Mapped[int] = mapped_column(SmallInteger, default=1)
    nomor: Mapped[str | None] = mapped_column(String(100))
    nomor_urut: Mapped[int | None]
    tahun: Mapped[int | None] = mapped_column(SmallInteger)
    diterbitkan_pada: Mapped[datetime | None]
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    token_verifikasi: Mapped[str | None] = mapped_column(String(43))
    penandatangan: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    alasan: Mapped[str | None] = mapped_column(Text)
    versi: Mapped[int] = mapped_column(default=1)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    diubah_pada: Mapped[datetime] = mapped_column(server_default=func.now())

    __mapper_args__ = {"version_id_col": versi}


class LampiranPermohonan(TenantModel):
    __tablename__ = "lampiran_permohonan"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    permohonan_id: Mapped[int] = mapped_column(ForeignKey("permohonan_surat.id", ondelete="CASCADE"))
    nama: Mapped[str] = mapped_column(String(100))
    nama_berkas: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(60))
    ukuran: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    isi: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())


class RiwayatPermohonan(TenantModel):
    """Every step, at every level: who, what, when. Seen by the resident, the desa and the levels above."""

    __tablename__ = "riwayat_permohonan"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    permohonan_id: Mapped[int] = mapped_column(ForeignKey("permohonan_surat.id", ondelete="CASCADE"))
    waktu: Mapped[datetime] = mapped_column(server_default=func.now())
    tingkat: Mapped[str] = mapped_column(String(10))
    aksi: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    oleh: Mapped[str | None] = mapped_column(String(100))
    oleh_nama: Mapped[str | None] = mapped_column(String(150))
    peran: Mapped[str | None] = mapped_column(String(30))
    catatan: Mapped[str | None] = mapped_column(Text)
    kunci: Mapped[str | None] = mapped_column(String(120))  # unique per request


class Notifikasi(TenantModel):
    __tablename__ = "notifikasi"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    penerima: Mapped[str] = mapped_column(String(100))
    judul: Mapped[str] = mapped_column(String(200))
    isi: Mapped[str | None] = mapped_column(Text)
    permohonan_id: Mapped[int | None] = mapped_column(ForeignKey("permohonan_surat.id", ondelete="CASCADE"))
    dibaca_pada: Mapped[datetime | None]
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())


class KotakMasuk(SharedModel):
    """An approval item in a kecamatan's or kabupaten's inbox (idempotent on desa, request, round and level)."""

    __tablename__ = "kotak_masuk"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    desa_kode: Mapped[str] = mapped_column(String(13))
    permohonan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    putaran: Mapped[int] = mapped_column(SmallInteger)
    tingkat: Mapped[str] = mapped_column(String(10))
    scope_kode: Mapped[str] = mapped_column(String(13))
    jenis_kode: Mapped[str] = mapped_column(String(10))
    jenis_nama: Mapped[str] = mapped_column(String(150))
    pemohon_nama: Mapped[str | None] = mapped_column(String(150))
    status: Mapped[str] = mapped_column(String(15), default="menunggu")
    masuk_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    batas_waktu: Mapped[datetime]
    diputus_pada: Mapped[datetime | None]
    diputus_oleh: Mapped[str | None] = mapped_column(String(100))
    diputus_nama: Mapped[str | None] = mapped_column(String(150))
    keputusan: Mapped[str | None] = mapped_column(String(15))
    alasan: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
