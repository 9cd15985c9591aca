"""Rollups (rekap) per desa in the shared schema for the kecamatan and kabupaten dashboards.

Each desa's rollup is replaced as a whole by the ``penduduk.berubah`` job (one transaction), from the same
computation as the desa's own statistics. Only the application's (owner) role reads and writes these
tables: desa roles get no grant, the levels above read them through the API.

Revision ID: s0005
Revises: s0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "s0005"
down_revision = "s0004"
branch_labels = None
depends_on = None

S = "kawasan"


def upgrade() -> None:
    op.create_table(
        "rekap_desa",
        sa.Column("desa_kode", sa.String(13), sa.ForeignKey(f"{S}.tenant.kode", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("kecamatan_kode", sa.String(8), nullable=False),
        sa.Column("kabupaten_kode", sa.String(5), nullable=False),
        # Ages (bands, the KTP-el duty) are taken at this date: a rollup computed yesterday counts yesterday's ages.
        sa.Column("tanggal_acuan", sa.Date, nullable=False),
        sa.Column("dihitung_pada", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("dihitung_ke", sa.BigInteger, nullable=False, server_default="1"),  # recomputations so far
        sa.Column("penduduk", sa.Integer, nullable=False),
        sa.Column("laki_laki", sa.Integer, nullable=False),
        sa.Column("perempuan", sa.Integer, nullable=False),
        sa.Column("jumlah_kk", sa.Integer, nullable=False),
        sa.Column("wajib_ktp", sa.Integer, nullable=False),
        sa.Column("ber_ktp_el", sa.Integer, nullable=False),
        sa.Column("ber_akta", sa.Integer, nullable=False),
        sa.Column("surat_menunggu_desa", sa.Integer, nullable=False),
        sa.Column("surat_menunggu_kecamatan", sa.Integer, nullable=False),
        sa.Column("surat_menunggu_kabupaten", sa.Integer, nullable=False),
        sa.Column("surat_terbit", sa.Integer, nullable=False),
        sa.Column("jam_terbit_median", sa.Numeric(12, 1)),
        sa.Column("jam_terbit_p90", sa.Numeric(12, 1)),
        schema=S,
    )
    op.create_index("ix_rekap_desa_kecamatan", "rekap_desa", ["kecamatan_kode"], schema=S)
    op.create_index("ix_rekap_desa_kabupaten", "rekap_desa", ["kabupaten_kode"], schema=S)
    op.create_table(
        "rekap_angka",
        sa.Column("desa_kode", sa.String(13), sa.ForeignKey(f"{S}.rekap_desa.desa_kode", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("dimensi", sa.String(20), nullable=False),
        sa.Column("kode", sa.String(40), nullable=False),
        sa.Column("label", sa.String(150)),
        sa.Column("urut", sa.SmallInteger, nullable=False),  # the order the desa's own statistics show
        sa.Column("jumlah", sa.Integer, nullable=False),
        sa.Column("laki_laki", sa.Integer),
        sa.Column("perempuan", sa.Integer),
        sa.PrimaryKeyConstraint("desa_kode", "dimensi", "kode", name="pk_rekap_angka"),
        schema=S,
    )
    op.create_table(
        "rekap_bulanan",
        sa.Column("desa_kode", sa.String(13), sa.ForeignKey(f"{S}.rekap_desa.desa_kode", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seri", sa.String(20), nullable=False),
        sa.Column("bulan", sa.Date, nullable=False),
        sa.Column("kode", sa.String(20), nullable=False),
        sa.Column("jumlah", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("desa_kode", "seri", "bulan", "kode", name="pk_rekap_bulanan"),
        schema=S,
    )

    # The same breakdowns summed per kecamatan and per kabupaten, replaced in the transaction that replaces a
    # desa's rows: a kabupaten dashboard then reads ~130 rows instead of summing ~20,000.
    op.create_table(
        "rekap_angka_wilayah",
        sa.Column("wilayah_kode", sa.String(8), nullable=False),
        sa.Column("dimensi", sa.String(20), nullable=False),
        sa.Column("kode", sa.String(40), nullable=False),
        sa.Column("label", sa.String(150)),
        sa.Column("urut", sa.SmallInteger, nullable=False),
        sa.Column("jumlah", sa.Integer, nullable=False),
        sa.Column("laki_laki", sa.Integer),
        sa.Column("perempuan", sa.Integer),
        sa.PrimaryKeyConstraint("wilayah_kode", "dimensi", "kode", name="pk_rekap_angka_wilayah"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("rekap_angka_wilayah", schema=S)
    op.drop_table("rekap_bulanan", schema=S)
    op.drop_table("rekap_angka", schema=S)
    op.drop_table("rekap_desa", schema=S)
