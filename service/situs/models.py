"""Village site content (tenant tree revision t0006; reached only through a desa session)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Integer, LargeBinary, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.db import TenantModel

DRAF, TERBIT = "draf", "terbit"
MENUNGGU, DISETUJUI, DITOLAK = "menunggu", "disetujui", "ditolak"


class Gambar(TenantModel):
    """An uploaded image (article picture, official's photo), checked and re-encoded on upload."""

    __tablename__ = "gambar"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=func.gen_random_uuid())
    mime: Mapped[str] = mapped_column(String(20))
    ukuran: Mapped[int] = mapped_column(Integer)
    lebar: Mapped[int] = mapped_column(Integer)
    tinggi: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    isi: Mapped[bytes] = mapped_column(LargeBinary)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())


class KategoriArtikel(TenantModel):
    __tablename__ = "kategori_artikel"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    nama: Mapped[str] = mapped_column(String(60))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    urut: Mapped[int] = mapped_column(default=0)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())


class Artikel(TenantModel):
    """News or an article. Only ``status = 'terbit'`` is ever shown on the public site."""

    __tablename__ = "artikel"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    judul: Mapped[str] = mapped_column(String(200))
    ringkasan: Mapped[str | None] = mapped_column(String(300))
    isi: Mapped[str] = mapped_column(Text)
    kategori_id: Mapped[int | None] = mapped_column(ForeignKey("kategori_artikel.id", ondelete="SET NULL"))
    gambar_id: Mapped[int | None] = mapped_column(ForeignKey("gambar.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=DRAF)
    terbit_pada: Mapped[datetime | None] = mapped_column()
    boleh_komentar: Mapped[bool] = mapped_column(default=True)
    penulis: Mapped[str | None] = mapped_column(String(150))
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    diubah_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    versi: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": versi}


class Komentar(TenantModel):
    """A visitor's comment: ``menunggu`` until the operator approves it; only ``disetujui`` is shown."""

    __tablename__ = "komentar"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    artikel_id: Mapped[int] = mapped_column(ForeignKey("artikel.id", ondelete="CASCADE"))
    nama: Mapped[str] = mapped_column(String(80))
    isi: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=MENUNGGU)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    dimoderasi_pada: Mapped[datetime | None] = mapped_column()
    dimoderasi_oleh: Mapped[str | None] = mapped_column(String(150))


class PerangkatDesa(TenantModel):
    """A village official (pemerintah desa): name, position in the village's own words, optional photo."""

    __tablename__ = "perangkat_desa"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    nama: Mapped[str] = mapped_column(String(150))
    jabatan: Mapped[str] = mapped_column(String(100))
    nip: Mapped[str | None] = mapped_column(String(30))
    urut: Mapped[int] = mapped_column(default=0)
    foto_id: Mapped[int | None] = mapped_column(ForeignKey("gambar.id", ondelete="SET NULL"))
    aktif: Mapped[bool] = mapped_column(default=True)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())


class TeksBerjalan(TenantModel):
    """Running text (ticker) across the top of the public site."""

    __tablename__ = "teks_berjalan"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    teks: Mapped[str] = mapped_column(String(300))
    tautan: Mapped[str | None] = mapped_column(String(300))
    aktif: Mapped[bool] = mapped_column(default=True)
    urut: Mapped[int] = mapped_column(default=0)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
