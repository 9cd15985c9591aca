"""The shared NIK index keys on the first 64 bits of the NIK's HMAC-SHA256 (a ``bigint``) instead of its 64
hex digits: a quarter of the key, compared as one machine word. Importing a village's 100,000 residents
writes and looks up 100,000 keys here; this halves that work.

Two different NIKs share a key with a chance of about n² / 2^65 (about 1 in 2 million for a deployment of 4
million NIKs): the only effect is a false "registered as alive in another desa" warning. The existing keys
are converted in place (their first 16 hex digits, read as a signed 64-bit number: what
``service.penduduk.services.nik_hmacs`` computes).

Revision ID: s0008
Revises: s0007
Create Date: 2026-11-22
"""

from alembic import op

revision = "s0008"
down_revision = "s0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE kawasan.nik_index ALTER COLUMN nik_hmac TYPE bigint "
               "USING CAST(CAST('x' || substr(nik_hmac, 1, 16) AS bit(64)) AS bigint)")


def downgrade() -> None:
    # The full HMACs cannot be recovered from their first 64 bits: the index is rebuilt from the registers by
    # re-saving each resident (or ``kawasan demo`` for demo data). Keys are kept as their 16 hex digits.
    op.execute("ALTER TABLE kawasan.nik_index ALTER COLUMN nik_hmac TYPE varchar(64) "
               "USING lpad(to_hex(nik_hmac), 16, '0')")
