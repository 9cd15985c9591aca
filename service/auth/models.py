from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import SharedModel, TenantModel


class Akun(SharedModel):
    """A staff account (desa, kecamatan, kabupaten or platform staff)."""

    __tablename__ = "akun"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(200))
    nama: Mapped[str] = mapped_column(String(150))
    password_hash: Mapped[str] = mapped_column(String(200))
    aktif: Mapped[bool] = mapped_column(default=True)
    gagal: Mapped[int] = mapped_column(default=0)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    login_terakhir: Mapped[datetime | None]

    peran: Mapped[list[PeranAkun]] = relationship(back_populates="akun", cascade="all, delete-orphan",
                                                  lazy="selectin")


class PeranAkun(SharedModel):
    __tablename__ = "peran_akun"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    akun_id: Mapped[int] = mapped_column(ForeignKey("akun.id", ondelete="CASCADE"))
    peran: Mapped[str] = mapped_column(String(30))
    scope_kode: Mapped[str | None] = mapped_column(ForeignKey("wilayah_administrasi.kode"))
    diberikan_pada: Mapped[datetime] = mapped_column(server_default=func.now())

    akun: Mapped[Akun] = relationship(back_populates="peran")


class SigningKey(SharedModel):
    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(10))
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    pensiun_pada: Mapped[datetime | None]


class RefreshToken(SharedModel):
    __tablename__ = "refresh_token"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(100))
    claims: Mapped[dict[str, Any]] = mapped_column(JSONB)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    kedaluwarsa_pada: Mapped[datetime]
    dipakai_pada: Mapped[datetime | None]
    dicabut_pada: Mapped[datetime | None]


class OAuthClient(SharedModel):
    """An integration (OpenSID sync, another government system, a third-party app)."""

    __tablename__ = "oauth_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    nama: Mapped[str] = mapped_column(String(150))
    scope_kode: Mapped[str] = mapped_column(ForeignKey("wilayah_administrasi.kode"))
    grant_types: Mapped[list[str]] = mapped_column(JSONB)
    scopes: Mapped[list[str]] = mapped_column(JSONB)
    redirect_uris: Mapped[list[str]] = mapped_column(JSONB, default=list)
    aktif: Mapped[bool] = mapped_column(default=True)
    dibuat_pada: Mapped[datetime] = mapped_column(server_default=func.now())


class OAuthCode(SharedModel):
    __tablename__ = "oauth_code"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    akun_id: Mapped[int] = mapped_column(ForeignKey("akun.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    kedaluwarsa_pada: Mapped[datetime]
    dipakai_pada: Mapped[datetime | None]


class AkunWarga(TenantModel):
    """A resident's sign-in to Layanan Mandiri (NIK + 6-digit PIN), kept in the desa's own schema."""

    __tablename__ = "akun_warga"

    penduduk_id: Mapped[int] = mapped_column(ForeignKey("penduduk.id", ondelete="CASCADE"), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(200))
    wajib_ganti_pin: Mapped[bool] = mapped_column(default=True)
    gagal: Mapped[int] = mapped_column(default=0)
    terkunci_pada: Mapped[datetime | None]
    pin_diterbitkan_pada: Mapped[datetime] = mapped_column(server_default=func.now())
    login_terakhir: Mapped[datetime | None]
