"""IDM (Indeks Desa Membangun) per desa per year, versioned scheme, and village map geometry.

Revision ID: s0006
Revises: s0005
Create Date: 2026-11-22
"""

revision = "s0006"
down_revision = "s0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the feature that owns this revision


def downgrade() -> None:
    pass
