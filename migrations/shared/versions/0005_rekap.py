"""Rollups (rekap) per desa in the shared schema for the kecamatan and kabupaten dashboards.

Revision ID: s0005
Revises: s0004
Create Date: 2026-11-22
"""

revision = "s0005"
down_revision = "s0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the feature that owns this revision


def downgrade() -> None:
    pass
