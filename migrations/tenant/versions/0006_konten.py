"""Village site content: officials, articles and categories, comments, running text.

Revision ID: t0006
Revises: t0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Images are kept in the desa's own schema (like letter attachments): one backup, one isolation rule.
    op.create_table(
        "gambar",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("public_id", UUID(as_uuid=True), nullable=False, server_default=sa.text("gen_random_uuid()")),
        sa.Column("mime", sa.String(20), nullable=False),
        sa.Column("ukuran", sa.Integer, nullable=False),
        sa.Column("lebar", sa.Integer, nullable=False),
        sa.Column("tinggi", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("isi", sa.LargeBinary, nullable=False),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("public_id", name="uq_gambar_public_id"),
    )
    op.create_table(
        "kategori_artikel",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("nama", sa.String(60), nullable=False),
        sa.Column("slug", sa.String(80), nullable=False),
        sa.Column("urut", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("slug", name="uq_kategori_artikel_slug"),
    )
    op.create_table(
        "artikel",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("judul", sa.String(200), nullable=False),
        sa.Column("ringkasan", sa.String(300)),
        sa.Column("isi", sa.Text, nullable=False),
        sa.Column("kategori_id", sa.BigInteger, sa.ForeignKey("kategori_artikel.id", ondelete="SET NULL")),
        sa.Column("gambar_id", sa.BigInteger, sa.ForeignKey("gambar.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(10), nullable=False, server_default="draf"),
        sa.Column("terbit_pada", TS),
        sa.Column("boleh_komentar", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("penulis", sa.String(150)),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("diubah_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("versi", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("slug", name="uq_artikel_slug"),
        sa.CheckConstraint("status IN ('draf', 'terbit')", name="ck_artikel_status"),
    )
    op.create_index("ix_artikel_terbit", "artikel", ["status", sa.text("terbit_pada DESC")])
    op.create_index("ix_artikel_kategori", "artikel", ["kategori_id"])
    op.create_table(
        "komentar",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("artikel_id", sa.BigInteger, sa.ForeignKey("artikel.id", ondelete="CASCADE"), nullable=False),
        sa.Column("nama", sa.String(80), nullable=False),
        sa.Column("isi", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="menunggu"),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("dimoderasi_pada", TS),
        sa.Column("dimoderasi_oleh", sa.String(150)),
        sa.CheckConstraint("status IN ('menunggu', 'disetujui', 'ditolak')", name="ck_komentar_status"),
    )
    op.create_index("ix_komentar_artikel", "komentar", ["artikel_id", "status", "dibuat_pada"])
    op.create_index("ix_komentar_antrean", "komentar", ["status", "dibuat_pada"])
    op.create_table(
        "perangkat_desa",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("nama", sa.String(150), nullable=False),
        sa.Column("jabatan", sa.String(100), nullable=False),
        sa.Column("nip", sa.String(30)),
        sa.Column("urut", sa.Integer, nullable=False, server_default="0"),
        sa.Column("foto_id", sa.BigInteger, sa.ForeignKey("gambar.id", ondelete="SET NULL")),
        sa.Column("aktif", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "teks_berjalan",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("teks", sa.String(300), nullable=False),
        sa.Column("tautan", sa.String(300)),
        sa.Column("aktif", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("urut", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("teks_berjalan")
    op.drop_table("perangkat_desa")
    op.drop_table("komentar")
    op.drop_table("artikel")
    op.drop_table("kategori_artikel")
    op.drop_table("gambar")
