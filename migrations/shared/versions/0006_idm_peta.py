"""IDM (Indeks Desa Membangun) per desa per year, versioned scheme, and village map geometry.

Revision ID: s0006
Revises: s0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "s0006"
down_revision = "s0005"
branch_labels = None
depends_on = None

S = "kawasan"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # One row per desa, year and scheme. The dimension scores are a JSON object keyed by the scheme's
    # dimensions (IDM-2016: iks, ike, ikl; the 2024 Indeks Desa has six), so a new scheme needs no migration.
    # The index and status are computed when the row is written and kept as they were computed.
    op.create_table(
        "indeks_desa",
        sa.Column("desa_kode", sa.String(13), sa.ForeignKey(f"{S}.wilayah_administrasi.kode"), nullable=False),
        sa.Column("tahun", sa.SmallInteger, nullable=False),
        sa.Column("skema", sa.String(20), nullable=False),
        sa.Column("skor", JSONB, nullable=False),
        sa.Column("nilai", sa.Numeric(5, 4), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sumber", sa.String(20), nullable=False),  # impor | manual | demo
        sa.Column("diubah_oleh", sa.String(100)),
        sa.Column("diubah_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("desa_kode", "tahun", "skema", name="pk_indeks_desa"),
        sa.CheckConstraint("tahun BETWEEN 2015 AND 2100", name="tahun"),
        sa.CheckConstraint("nilai >= 0 AND nilai <= 1", name="nilai"),
        schema=S,
    )
    op.create_index("ix_indeks_desa_skema_tahun", "indeks_desa", ["skema", "tahun", "status"], schema=S)
    # Region queries select by code prefix (desa_kode LIKE '15.08.%'): a pattern index serves them whatever the
    # database collation.
    op.execute(f"CREATE INDEX ix_indeks_desa_kode_pola ON {S}.indeks_desa (desa_kode varchar_pattern_ops)")
    # A point (village office or a representative point) and an optional boundary per village, WGS84 lon/lat.
    op.create_table(
        "peta_desa",
        sa.Column("desa_kode", sa.String(13), sa.ForeignKey(f"{S}.wilayah_administrasi.kode"), primary_key=True),
        sa.Column("bujur", sa.Numeric(9, 6)),  # longitude
        sa.Column("lintang", sa.Numeric(8, 6)),  # latitude
        sa.Column("sumber_titik", sa.String(100)),
        sa.Column("batas", JSONB),  # GeoJSON Polygon or MultiPolygon
        sa.Column("sumber_batas", sa.String(100)),
        sa.Column("diubah_oleh", sa.String(100)),
        sa.Column("diubah_pada", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("(bujur IS NULL) = (lintang IS NULL)", name="titik"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("peta_desa", schema=S)
    op.drop_index("ix_indeks_desa_kode_pola", table_name="indeks_desa", schema=S)
    op.drop_index("ix_indeks_desa_skema_tahun", table_name="indeks_desa", schema=S)
    op.drop_table("indeks_desa", schema=S)
