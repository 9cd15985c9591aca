from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from service.db import SharedModel


class Tenant(SharedModel):
    """A desa that has its own schema. The schema's own ``alembic_version`` is the truth about its
    revision; ``revision`` here is a copy kept for listing and for finding tenants behind head."""

    __tablename__ = "tenant"

    kode: Mapped[str] = mapped_column(ForeignKey("wilayah_administrasi.kode"), primary_key=True)
    schema_name: Mapped[str] = mapped_column(String(63), unique=True)
    role_name: Mapped[str] = mapped_column(String(63), unique=True)
    #: ``ready`` or ``failed`` (its last migration failed; it is retried by the next upgrade).
    status: Mapped[str] = mapped_column(String(20), default="ready")
    revision: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: The desa in portal URLs (``/desa/<slug>``), from ``kawasan.slug_desa()`` at provisioning (s0007).
    slug: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: Optional own host name of its public site.
    nama_host: Mapped[str | None] = mapped_column(String(253), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
