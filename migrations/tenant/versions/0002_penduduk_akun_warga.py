"""The population register (wilayah heads, keluarga with KK-number history, penduduk, mutation log)
and residents' sign-in (NIK + PIN).

Codes (agama, pendidikan, pekerjaan, ...) are OpenSID's, so imports map one to one; their labels live in
service/penduduk/referensi.py. Rows carry a ``versi`` for ETag/If-Match and a ``public_id`` for URLs
(never the NIK).

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SMALL = sa.SmallInteger


def _public_id():
    return sa.Column("public_id", UUID(as_uuid=True), nullable=False, server_default=sa.text("gen_random_uuid()"))


def upgrade() -> None:
    op.add_column("wilayah", sa.Column("kepala_penduduk_id", sa.BigInteger))
    op.add_column("wilayah", sa.Column("urut", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "keluarga",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _public_id(),
        sa.Column("no_kk", sa.String(16), nullable=False),
        sa.Column("kepala_id", sa.BigInteger),  # FK added after penduduk exists
        sa.Column("alamat", sa.Text),
        sa.Column("wilayah_id", sa.BigInteger, sa.ForeignKey("wilayah.id")),
        sa.Column("kelas_sosial", SMALL),
        sa.Column("tanggal_daftar", sa.Date),
        sa.Column("aktif", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("versi", sa.Integer, nullable=False, server_default="1"),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("diubah_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("no_kk", name="uq_keluarga_no_kk"),
        sa.UniqueConstraint("public_id", name="uq_keluarga_public_id"),
    )
    op.create_table(
        "riwayat_no_kk",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("keluarga_id", sa.BigInteger, sa.ForeignKey("keluarga.id", ondelete="CASCADE"), nullable=False),
        sa.Column("no_kk", sa.String(16), nullable=False),
        sa.Column("berlaku_dari", sa.Date, nullable=False, server_default=sa.func.current_date()),
        sa.Column("berlaku_sampai", sa.Date),
        sa.Column("sebab", sa.String(100)),
    )
    op.create_index("ix_riwayat_no_kk_keluarga", "riwayat_no_kk", ["keluarga_id"])
    op.create_index("ix_riwayat_no_kk_no_kk", "riwayat_no_kk", ["no_kk"])
    op.create_table(
        "penduduk",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _public_id(),
        sa.Column("nik", sa.String(16), nullable=False),  # text, never a number
        sa.Column("nama", sa.String(150), nullable=False),
        sa.Column("keluarga_id", sa.BigInteger, sa.ForeignKey("keluarga.id")),
        sa.Column("kk_level", SMALL),  # hubungan dalam keluarga (SHDK)
        sa.Column("sex", SMALL, nullable=False),
        sa.Column("tempat_lahir", sa.String(100)),
        sa.Column("tanggal_lahir", sa.Date, nullable=False),
        sa.Column("agama_id", SMALL),
        sa.Column("pendidikan_kk_id", SMALL),
        sa.Column("pendidikan_sedang_id", SMALL),
        sa.Column("pekerjaan_id", SMALL),
        sa.Column("status_kawin", SMALL),
        sa.Column("golongan_darah_id", SMALL),
        sa.Column("warganegara_id", SMALL, nullable=False, server_default="1"),
        sa.Column("nik_ayah", sa.String(16)),
        sa.Column("nama_ayah", sa.String(150)),
        sa.Column("nik_ibu", sa.String(16)),
        sa.Column("nama_ibu", sa.String(150)),
        sa.Column("cacat_id", SMALL),
        sa.Column("status_dasar", SMALL, nullable=False, server_default="1"),
        sa.Column("status_penduduk", SMALL, nullable=False, server_default="1"),
        sa.Column("ktp_el", SMALL),
        sa.Column("status_rekam", SMALL),
        sa.Column("akta_lahir", sa.String(60)),
        sa.Column("akta_perkawinan", sa.String(60)),
        sa.Column("tanggal_perkawinan", sa.Date),
        sa.Column("akta_perceraian", sa.String(60)),
        sa.Column("tanggal_perceraian", sa.Date),
        sa.Column("dokumen_pasport", sa.String(45)),
        sa.Column("dokumen_kitas", sa.String(45)),
        sa.Column("hamil", SMALL),
        sa.Column("suku", sa.String(100)),
        sa.Column("telepon", sa.String(30)),
        sa.Column("email", sa.String(150)),
        sa.Column("alamat_sekarang", sa.Text),
        sa.Column("alamat_sebelumnya", sa.Text),
        sa.Column("wilayah_id", sa.BigInteger, sa.ForeignKey("wilayah.id")),
        sa.Column("versi", sa.Integer, nullable=False, server_default="1"),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("diubah_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("nama_tsv", sa.dialects.postgresql.TSVECTOR,
                  sa.Computed("to_tsvector('simple', coalesce(nama, ''))", persisted=True)),
        sa.UniqueConstraint("nik", name="uq_penduduk_nik"),
        sa.UniqueConstraint("public_id", name="uq_penduduk_public_id"),
        sa.CheckConstraint("nik ~ '^[0-9]{16}$'", name="ck_penduduk_nik_16_digit"),
        sa.CheckConstraint("sex IN (1, 2)", name="ck_penduduk_sex"),
    )
    op.create_index("ix_penduduk_keluarga", "penduduk", ["keluarga_id"])
    op.create_index("ix_penduduk_wilayah", "penduduk", ["wilayah_id"])
    op.create_index("ix_penduduk_status_nama", "penduduk", ["status_dasar", "nama", "id"])
    op.create_index("ix_penduduk_tanggal_lahir", "penduduk", ["tanggal_lahir"])
    op.create_index("ix_penduduk_nama_tsv", "penduduk", ["nama_tsv"], postgresql_using="gin")
    op.create_foreign_key("fk_keluarga_kepala_id_penduduk", "keluarga", "penduduk", ["kepala_id"], ["id"])
    op.create_foreign_key("fk_wilayah_kepala_penduduk", "wilayah", "penduduk", ["kepala_penduduk_id"], ["id"])
    op.create_table(
        "mutasi_penduduk",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("penduduk_id", sa.BigInteger, sa.ForeignKey("penduduk.id"), nullable=False),
        sa.Column("kode_peristiwa", SMALL, nullable=False),
        sa.Column("tanggal_peristiwa", sa.Date, nullable=False),
        sa.Column("tanggal_lapor", sa.Date, nullable=False, server_default=sa.func.current_date()),
        sa.Column("no_kk", sa.String(16)),
        sa.Column("catatan", sa.Text),
        sa.Column("data", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("oleh", sa.String(100)),
        sa.Column("dibuat_pada", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_mutasi_penduduk_tanggal", "mutasi_penduduk", ["tanggal_peristiwa"])
    op.create_index("ix_mutasi_penduduk_penduduk", "mutasi_penduduk", ["penduduk_id"])
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
    op.drop_table("mutasi_penduduk")
    op.drop_constraint("fk_wilayah_kepala_penduduk", "wilayah")
    op.drop_constraint("fk_keluarga_kepala_id_penduduk", "keluarga")
    op.drop_table("penduduk")
    op.drop_table("riwayat_no_kk")
    op.drop_table("keluarga")
    op.drop_column("wilayah", "urut")
    op.drop_column("wilayah", "kepala_penduduk_id")
