"""Layanan surat in the desa: requests, attachments, history, number counters, issued letters, notifications.

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "permohonan_surat",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("public_id", UUID(as_uuid=True), nullable=False, server_default=sa.text("gen_random_uuid()")),
        sa.Column("jenis_kode", sa.String(10), nullable=False),
        sa.Column("penduduk_id", sa.BigInteger, sa.ForeignKey("penduduk.id"), nullable=False),
        sa.Column("pemohon", sa.String(100), nullable=False),  # subject of who asked (warga or staff)
        sa.Column("isian", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("langkah", sa.SmallInteger, nullable=False, server_default="0"),
        # The village verification chain as it was when the request (or its latest round) started.
        sa.Column("rantai_desa", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("rantai", sa.String(10), nullable=False),
        sa.Column("putaran", sa.SmallInteger, nullable=False, server_default="1"),
        sa.Column("nomor", sa.String(100)),
        sa.Column("nomor_urut", sa.Integer),
        sa.Column("tahun", sa.SmallInteger),
        sa.Column("diterbitkan_pada", TS),
        sa.Column("pdf", sa.LargeBinary),
        sa.Column("pdf_sha256", sa.String(64)),
        sa.Column("token_verifikasi", sa.String(43)),
        sa.Column("penandatangan", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("alasan", sa.Text),
        sa.Column("versi", sa.Integer, nullable=False, server_default="1"),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("diubah_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("public_id", name="uq_permohonan_surat_public_id"),
        sa.UniqueConstraint("token_verifikasi", name="uq_permohonan_surat_token"),
        sa.UniqueConstraint("nomor", name="uq_permohonan_surat_nomor"),
    )
    op.create_index("ix_permohonan_surat_status", "permohonan_surat", ["status", "dibuat_pada"])
    op.create_index("ix_permohonan_surat_penduduk", "permohonan_surat", ["penduduk_id"])
    op.create_table(
        "lampiran_permohonan",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("permohonan_id", sa.BigInteger, sa.ForeignKey("permohonan_surat.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("nama", sa.String(100), nullable=False),
        sa.Column("nama_berkas", sa.String(200), nullable=False),
        sa.Column("mime", sa.String(60), nullable=False),
        sa.Column("ukuran", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("isi", sa.LargeBinary, nullable=False),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_lampiran_permohonan", "lampiran_permohonan", ["permohonan_id"])
    op.create_table(
        "riwayat_permohonan",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("permohonan_id", sa.BigInteger, sa.ForeignKey("permohonan_surat.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("waktu", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("tingkat", sa.String(10), nullable=False),
        sa.Column("aksi", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("oleh", sa.String(100)),
        sa.Column("oleh_nama", sa.String(150)),
        sa.Column("peran", sa.String(30)),
        sa.Column("catatan", sa.Text),
        sa.Column("kunci", sa.String(120)),  # idempotency: one entry per decision
        sa.UniqueConstraint("permohonan_id", "kunci", name="uq_riwayat_permohonan_kunci"),
    )
    op.create_index("ix_riwayat_permohonan", "riwayat_permohonan", ["permohonan_id", "id"])
    op.create_table(
        "nomor_surat",
        sa.Column("tahun", sa.SmallInteger, nullable=False),
        sa.Column("kunci", sa.String(20), nullable=False),  # a letter type, or '*' for one shared sequence
        sa.Column("terakhir", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tahun", "kunci", name="pk_nomor_surat"),
    )
    op.create_table(
        "notifikasi",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("penerima", sa.String(100), nullable=False),  # a subject (warga:…, staff:…) or a role@desa
        sa.Column("judul", sa.String(200), nullable=False),
        sa.Column("isi", sa.Text),
        sa.Column("permohonan_id", sa.BigInteger, sa.ForeignKey("permohonan_surat.id", ondelete="CASCADE")),
        sa.Column("dibaca_pada", TS),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_notifikasi_penerima", "notifikasi", ["penerima", "id"])


def downgrade() -> None:
    for table in ("notifikasi", "nomor_surat", "riwayat_permohonan", "lampiran_permohonan", "permohonan_surat"):
        op.drop_table(table)
