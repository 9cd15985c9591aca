"""Layanan surat across levels: kabupaten overrides of the catalogue and the kecamatan/kabupaten inboxes.

Revision ID: s0004
Revises: s0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None

S = "kawasan"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jenis_surat_kabupaten",
        sa.Column("kabupaten_kode", sa.String(13), sa.ForeignKey(f"{S}.wilayah_administrasi.kode"), nullable=False),
        sa.Column("jenis_kode", sa.String(10), nullable=False),
        sa.Column("rantai", sa.String(10)),
        sa.Column("mandiri", sa.Boolean),
        sa.Column("diubah_oleh", sa.String(100)),
        sa.Column("diubah_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("kabupaten_kode", "jenis_kode", name="pk_jenis_surat_kabupaten"),
        schema=S,
    )
    op.create_table(
        "kotak_masuk",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("desa_kode", sa.String(13), nullable=False),
        sa.Column("permohonan_id", UUID(as_uuid=True), nullable=False),  # the desa's public id
        sa.Column("putaran", sa.SmallInteger, nullable=False),
        sa.Column("tingkat", sa.String(10), nullable=False),  # kecamatan or kabupaten
        sa.Column("scope_kode", sa.String(13), nullable=False),  # the kecamatan or kabupaten code
        sa.Column("jenis_kode", sa.String(10), nullable=False),
        sa.Column("jenis_nama", sa.String(150), nullable=False),
        sa.Column("pemohon_nama", sa.String(150)),
        sa.Column("status", sa.String(15), nullable=False, server_default="menunggu"),
        sa.Column("masuk_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("batas_waktu", TS, nullable=False),
        sa.Column("diputus_pada", TS),
        sa.Column("diputus_oleh", sa.String(100)),
        sa.Column("diputus_nama", sa.String(150)),
        sa.Column("keputusan", sa.String(15)),
        sa.Column("alasan", sa.Text),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.UniqueConstraint("desa_kode", "permohonan_id", "putaran", "tingkat", name="uq_kotak_masuk_item"),
        schema=S,
    )
    op.create_index("ix_kotak_masuk_scope", "kotak_masuk", ["scope_kode", "status", "masuk_pada"], schema=S)
    op.create_table(
        "surat_terbit",
        sa.Column("token", sa.String(43), primary_key=True),
        sa.Column("desa_kode", sa.String(13), nullable=False),
        sa.Column("jenis_kode", sa.String(10), nullable=False),
        sa.Column("jenis_nama", sa.String(150), nullable=False),
        sa.Column("nomor", sa.String(100), nullable=False),
        sa.Column("diterbitkan_pada", TS, nullable=False),
        sa.Column("penandatangan", JSONB, nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        schema=S,
    )
    # Desa sessions read the kabupaten's catalogue overrides (no personal data in them) and publish their
    # own issued letters for the public verification page (no personal data either).
    op.execute(
        f"""DO $$
        DECLARE grp text := current_database() || ':' || 'tenant';
        BEGIN
            EXECUTE format('GRANT INSERT ON {S}.surat_terbit TO %I', grp);
            EXECUTE format('CREATE POLICY surat_terbit_own_desa ON {S}.surat_terbit FOR INSERT TO %I '
                'WITH CHECK (desa_kode = current_setting(''kawasan.desa_kode'', true))', grp);
        END $$;
        ALTER TABLE {S}.surat_terbit ENABLE ROW LEVEL SECURITY;"""
    )
    op.execute(
        f"""DO $$ BEGIN EXECUTE format('GRANT SELECT ON {S}.jenis_surat_kabupaten TO %I',
                                       current_database() || ':' || 'tenant'); END $$;"""
    )


def downgrade() -> None:
    op.drop_table("surat_terbit", schema=S)
    op.drop_table("kotak_masuk", schema=S)
    op.drop_table("jenis_surat_kabupaten", schema=S)
