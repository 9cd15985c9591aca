"""Village public sites: slug and host name per desa.

Revision ID: s0007
Revises: s0006
Create Date: 2026-11-22
"""

revision = "s0007"
down_revision = "s0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the feature that owns this revision


def downgrade() -> None:
    pass
