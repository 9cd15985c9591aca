"""Desa schema baseline: local settings and local wilayah (dusun/kampung → RW → RT).

Tenant revisions name no schema: they run with search_path set to one desa schema.

Revision ID: t0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pengaturan",
        sa.Column("kunci", sa.String(100), primary_key=True),
        sa.Column("nilai", JSONB, nullable=False),
        sa.Column("diubah_pada", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "wilayah",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tingkat", sa.String(10), nullable=False),
        sa.Column("nama", sa.String(100), nullable=False),
        sa.Column("induk_id", sa.BigInteger, sa.ForeignKey("wilayah.id", ondelete="RESTRICT")),
        sa.Column("kepala_nama", sa.String(150)),
        sa.Column("dibuat_pada", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("tingkat IN ('dusun','rw','rt')", name="ck_wilayah_tingkat"),
        sa.UniqueConstraint("induk_id", "tingkat", "nama", name="uq_wilayah_induk_tingkat_nama"),
    )
    op.create_index("ix_wilayah_induk_id", "wilayah", ["induk_id"])


def downgrade() -> None:
    op.drop_table("wilayah")
    op.drop_table("pengaturan")
