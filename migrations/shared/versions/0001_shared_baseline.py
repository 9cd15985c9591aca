"""Shared schema baseline: region registry, tenant registry, outbox.

Revision ID: s0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None

S = "kawasan"


def upgrade() -> None:
    op.create_table(
        "wilayah_administrasi",
        sa.Column("kode", sa.String(13), primary_key=True),
        sa.Column("tingkat", sa.String(10), nullable=False),
        sa.Column("nama", sa.String(200), nullable=False),
        sa.Column("induk_kode", sa.String(13), sa.ForeignKey(f"{S}.wilayah_administrasi.kode")),
        sa.Column("jenis", sa.String(10)),
        sa.CheckConstraint("tingkat IN ('provinsi','kabupaten','kecamatan','desa')", name="tingkat"),
        schema=S,
    )
    op.create_index("ix_wilayah_administrasi_induk_kode", "wilayah_administrasi", ["induk_kode"], schema=S)
    op.create_index(
        "ix_wilayah_administrasi_tingkat_induk", "wilayah_administrasi", ["tingkat", "induk_kode"], schema=S
    )
    op.create_table(
        "dataset_version",
        sa.Column("nama", sa.String(50), primary_key=True),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=S,
    )
    op.create_table(
        "tenant",
        sa.Column("kode", sa.String(13), sa.ForeignKey(f"{S}.wilayah_administrasi.kode"), primary_key=True),
        sa.Column("schema_name", sa.String(63), nullable=False, unique=True),
        sa.Column("role_name", sa.String(63), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="ready"),
        sa.Column("revision", sa.String(64)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=S,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("queue", sa.String(50), nullable=False, server_default="default"),
        sa.Column("desa_kode", sa.String(13)),
        sa.Column("key", sa.String(200)),
        sa.Column("payload", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("completed_by", sa.String(100)),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("last_error", sa.Text),
        sa.Column("result", JSONB),
        schema=S,
    )
    op.create_index(
        "ix_outbox_pending", "outbox", ["available_at"], schema=S, postgresql_where=sa.text("status = 'pending'")
    )
    op.create_index(
        "uq_outbox_pending_key", "outbox", ["key"], unique=True, schema=S,
        postgresql_where=sa.text("status = 'pending'"),
    )
    # One NOTIFY per inserting statement wakes the relay; polling remains the safety net.
    op.execute(
        f"""
        CREATE FUNCTION {S}.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('kawasan_outbox', ''); RETURN NULL; END $$;
        CREATE TRIGGER outbox_notify AFTER INSERT ON {S}.outbox
            FOR EACH STATEMENT EXECUTE FUNCTION {S}.outbox_notify();
        """
    )
    # The group role every desa role belongs to: it may only write outbox rows of its own desa
    # (row-level security keyed on the transaction-local kawasan.desa_kode). Roles are cluster-wide,
    # so their names carry the database name.
    op.execute(
        f"""
        DO $$
        DECLARE grp text := current_database() || ':' || 'tenant';
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grp) THEN
                EXECUTE format('CREATE ROLE %I NOLOGIN', grp);
            END IF;
            EXECUTE format('GRANT USAGE ON SCHEMA {S} TO %I', grp);
            EXECUTE format('GRANT SELECT, INSERT ON {S}.outbox TO %I', grp);
            EXECUTE format(
                'CREATE POLICY outbox_own_desa ON {S}.outbox TO %I '
                'USING (desa_kode = current_setting(''kawasan.desa_kode'', true)) '
                'WITH CHECK (desa_kode = current_setting(''kawasan.desa_kode'', true))', grp);
        END $$;
        ALTER TABLE {S}.outbox ENABLE ROW LEVEL SECURITY;
        """
    )


def downgrade() -> None:
    op.drop_table("outbox", schema=S)
    op.execute(f"DROP FUNCTION IF EXISTS {S}.outbox_notify()")
    op.drop_table("tenant", schema=S)
    op.drop_table("dataset_version", schema=S)
    op.drop_table("wilayah_administrasi", schema=S)
