"""Bulk import of the population register: one row per uploaded file (OpenSID FormatImporExcel, OpenDK
penduduk export or the Kawasan CSV template).

The file itself is kept in ``isi`` so that any worker can run the import (the API process and the worker
need not share a disk); it is cleared once the import has finished (selesai or ditolak), so personal data
does not linger in upload rows. ``laporan`` holds the report: row numbers, column names and messages only,
never a NIK or a name.

Revision ID: t0003
Revises: t0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "t0003"
down_revision = "t0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "impor_penduduk",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("public_id", UUID(as_uuid=True), nullable=False, server_default=sa.text("gen_random_uuid()")),
        sa.Column("nama_berkas", sa.String(255)),
        sa.Column("format", sa.String(10), nullable=False),  # xlsx, csv
        sa.Column("ukuran", sa.Integer, nullable=False),  # bytes
        sa.Column("isi", sa.LargeBinary),  # the uploaded file; NULL once finished
        sa.Column("status", sa.String(12), nullable=False, server_default="menunggu"),
        sa.Column("persen", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("laporan", JSONB),
        sa.Column("oleh", sa.String(100)),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("selesai_pada", TS),
        sa.UniqueConstraint("public_id", name="uq_impor_penduduk_public_id"),
        sa.CheckConstraint("status IN ('menunggu','berjalan','selesai','ditolak','gagal')",
                           name="ck_impor_penduduk_status"),
        sa.CheckConstraint("persen BETWEEN 0 AND 100", name="ck_impor_penduduk_persen"),
    )
    op.create_index("ix_impor_penduduk_dibuat_pada", "impor_penduduk", ["dibuat_pada"])


def downgrade() -> None:
    op.drop_table("impor_penduduk")
