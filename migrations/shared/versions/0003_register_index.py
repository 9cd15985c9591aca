"""Register support in the shared schema: a keyed-hash index of NIKs (to flag a resident registered as
alive in another desa without putting NIKs in the shared schema) and each desa's register summary.

Revision ID: s0003
Revises: s0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None

S = "kawasan"


def upgrade() -> None:
    op.create_table(
        "nik_index",
        sa.Column("nik_hmac", sa.String(64), nullable=False),  # HMAC-SHA256(secret key, NIK)
        sa.Column("desa_kode", sa.String(13), nullable=False),
        sa.Column("hidup", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("nik_hmac", "desa_kode", name="pk_nik_index"),
        schema=S,
    )
    op.create_table(
        "desa_ringkasan",
        sa.Column("desa_kode", sa.String(13), sa.ForeignKey(f"{S}.tenant.kode", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("penduduk_hidup", sa.Integer, nullable=False, server_default="0"),
        sa.Column("keluarga_aktif", sa.Integer, nullable=False, server_default="0"),
        sa.Column("laki_laki", sa.Integer, nullable=False, server_default="0"),
        sa.Column("perempuan", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dihitung_pada", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=S,
    )
    # Desa roles read every row of the index (hashes only) but write only their own desa's rows.
    op.execute(
        f"""
        DO $$
        DECLARE grp text := current_database() || ':' || 'tenant';
        BEGIN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON {S}.nik_index TO %I', grp);
            EXECUTE format('CREATE POLICY nik_index_read ON {S}.nik_index FOR SELECT TO %I USING (true)', grp);
            EXECUTE format('CREATE POLICY nik_index_write ON {S}.nik_index FOR INSERT TO %I '
                'WITH CHECK (desa_kode = current_setting(''kawasan.desa_kode'', true))', grp);
            EXECUTE format('CREATE POLICY nik_index_update ON {S}.nik_index FOR UPDATE TO %I '
                'USING (desa_kode = current_setting(''kawasan.desa_kode'', true))', grp);
            EXECUTE format('CREATE POLICY nik_index_delete ON {S}.nik_index FOR DELETE TO %I '
                'USING (desa_kode = current_setting(''kawasan.desa_kode'', true))', grp);
        END $$;
        ALTER TABLE {S}.nik_index ENABLE ROW LEVEL SECURITY;
        """
    )


def downgrade() -> None:
    op.drop_table("desa_ringkasan", schema=S)
    op.drop_table("nik_index", schema=S)
