"""Minimal penduduk (extended by the register) and residents' sign-in (NIK + PIN).

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "penduduk",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("nik", sa.String(16), nullable=False),  # text, never a number
        sa.Column("nama", sa.String(150), nullable=False),
        sa.Column("no_kk", sa.String(16)),
        sa.Column("hubungan_keluarga", sa.String(30)),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("nik", name="uq_penduduk_nik"),
    )
    op.create_index("ix_penduduk_no_kk", "penduduk", ["no_kk"])
    op.create_table(
        "akun_warga",
        sa.Column("penduduk_id", sa.BigInteger, sa.ForeignKey("penduduk.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("pin_hash", sa.String(200), nullable=False),
        sa.Column("wajib_ganti_pin", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("gagal", sa.Integer, nullable=False, server_default="0"),
        sa.Column("terkunci_pada", TS),
        sa.Column("pin_diterbitkan_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("login_terakhir", TS),
    )


def downgrade() -> None:
    op.drop_table("akun_warga")
    op.drop_table("penduduk")
