"""Identity and access: accounts, role memberships, signing keys, refresh tokens, OAuth clients and
codes, and the append-only audit log.

Revision ID: s0002
Revises: s0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None

S = "kawasan"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "akun",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("email", sa.String(200)),
        sa.Column("nama", sa.String(150), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("aktif", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("gagal", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("login_terakhir", TS),
        schema=S,
    )
    op.create_index("uq_akun_username", "akun", [sa.text("lower(username)")], unique=True, schema=S)
    op.create_index("uq_akun_email", "akun", [sa.text("lower(email)")], unique=True, schema=S)
    op.create_table(
        "peran_akun",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("akun_id", sa.BigInteger, sa.ForeignKey(f"{S}.akun.id", ondelete="CASCADE"), nullable=False),
        sa.Column("peran", sa.String(30), nullable=False),
        # NULL only for admin_platform; otherwise a desa, kecamatan or kabupaten code (dotted).
        sa.Column("scope_kode", sa.String(13), sa.ForeignKey(f"{S}.wilayah_administrasi.kode")),
        sa.Column("diberikan_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("akun_id", "peran", "scope_kode", name="uq_peran_akun"),
        schema=S,
    )
    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(10), nullable=False),
        sa.Column("private_pem", sa.Text, nullable=False),  # encrypted with KAWASAN_SECRET_KEY
        sa.Column("public_jwk", JSONB, nullable=False),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("pensiun_pada", TS),  # no longer signs; still verifies until tokens expire
        schema=S,
    )
    op.create_table(
        "refresh_token",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("claims", JSONB, nullable=False),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("kedaluwarsa_pada", TS, nullable=False),
        sa.Column("dipakai_pada", TS),
        sa.Column("dicabut_pada", TS),
        schema=S,
    )
    op.create_index("ix_refresh_token_family", "refresh_token", ["family"], schema=S)
    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(200)),
        sa.Column("nama", sa.String(150), nullable=False),
        sa.Column("scope_kode", sa.String(13), sa.ForeignKey(f"{S}.wilayah_administrasi.kode"), nullable=False),
        sa.Column("grant_types", JSONB, nullable=False),
        sa.Column("scopes", JSONB, nullable=False),
        sa.Column("redirect_uris", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("aktif", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        schema=S,
    )
    op.create_table(
        "oauth_code",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey(f"{S}.oauth_client.client_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("akun_id", sa.BigInteger, sa.ForeignKey(f"{S}.akun.id", ondelete="CASCADE"), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("code_challenge_method", sa.String(10), nullable=False),
        sa.Column("kedaluwarsa_pada", TS, nullable=False),
        sa.Column("dipakai_pada", TS),
        schema=S,
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("waktu", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("aktor", sa.String(100), nullable=False),  # staff:12, warga:15.08.14.2001:7, client:abc
        sa.Column("aktor_nama", sa.String(150)),
        sa.Column("aksi", sa.String(60), nullable=False),
        sa.Column("desa_kode", sa.String(13)),
        sa.Column("objek", sa.String(200)),
        sa.Column("berhasil", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(300)),
        schema=S,
    )
    op.create_index("ix_audit_log_desa_waktu", "audit_log", ["desa_kode", "waktu"], schema=S)
    # Append-only: no UPDATE, DELETE or TRUNCATE, whoever asks.
    op.execute(
        f"""
        CREATE FUNCTION {S}.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
        CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON {S}.audit_log
            FOR EACH ROW EXECUTE FUNCTION {S}.audit_log_append_only();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON {S}.audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION {S}.audit_log_append_only();
        """
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.audit_log")
    op.execute(f"DROP FUNCTION {S}.audit_log_append_only()")
    for table in ("oauth_code", "oauth_client", "refresh_token", "signing_key", "peran_akun", "akun"):
        op.drop_table(table, schema=S)
