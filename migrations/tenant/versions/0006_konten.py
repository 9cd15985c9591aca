"""Village site content: officials, articles and categories, comments, running text.

Revision ID: t0006
Revises: t0005
Create Date: 2026-11-22
"""

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the feature that owns this revision


def downgrade() -> None:
    pass
