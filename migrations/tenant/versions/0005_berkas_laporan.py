"""Reports produced in the background (a large Buku Induk as PDF takes about a minute to lay out).

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "berkas_laporan",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("public_id", UUID(as_uuid=True), nullable=False, server_default=sa.text("gen_random_uuid()")),
        sa.Column("buku", sa.String(10), nullable=False),  # B.1, B.2
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("parameter", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("status", sa.String(15), nullable=False, server_default="menunggu"),
        sa.Column("isi", sa.LargeBinary),
        sa.Column("nama_berkas", sa.String(200)),
        sa.Column("baris", sa.Integer),
        sa.Column("galat", sa.Text),
        sa.Column("oleh", sa.String(100), nullable=False),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("selesai_pada", TS),
        sa.UniqueConstraint("public_id", name="uq_berkas_laporan_public_id"),
    )


def downgrade() -> None:
    op.drop_table("berkas_laporan")
