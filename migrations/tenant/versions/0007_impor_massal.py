"""Bulk register imports: the desa role may set aside penduduk's secondary indexes and foreign keys for the
length of one import transaction (PostgreSQL's own bulk-loading advice: loading 100,000 residents and building
the indexes once afterwards costs about half of maintaining them row by row).

Only the schema's owner may drop an index, so two SECURITY DEFINER functions do it for the desa role. They
take no arguments, name every object they touch, and act only on their own schema: ``search_path`` is fixed
at creation (``FROM CURRENT``: the desa schema while this revision runs) and every statement qualifies its
objects with ``current_schema()`` (no ``%`` in these bodies: offline rendering doubles it). EXECUTE is
revoked from PUBLIC; provisioning grants it to the desa role.
A revision that changes penduduk's indexes or foreign keys must update both functions.

Revision ID: t0007
Revises: t0006
Create Date: 2026-11-22
"""

from alembic import op

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None

_SET_ASIDE = """
CREATE FUNCTION impor_sisihkan_indeks() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE q text := quote_ident(current_schema());
BEGIN
    -- Readers of this desa wait on penduduk until the import commits (it holds ACCESS EXCLUSIVE from here).
    EXECUTE 'ALTER TABLE ' || q || '.penduduk DROP CONSTRAINT penduduk_keluarga_id_fkey,
                        DROP CONSTRAINT penduduk_wilayah_id_fkey';
    EXECUTE 'DROP INDEX ' || q || '.ix_penduduk_keluarga, ' || q || '.ix_penduduk_wilayah, '
                || q || '.ix_penduduk_status_nama, ' || q || '.ix_penduduk_tanggal_lahir, '
                || q || '.ix_penduduk_nama_tsv';
END
$fn$
"""

_RESTORE = """
CREATE FUNCTION impor_pulihkan_indeks() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE q text := quote_ident(current_schema());
BEGIN
    PERFORM set_config('maintenance_work_mem', '256MB', true);
    EXECUTE 'CREATE INDEX ix_penduduk_keluarga ON ' || q || '.penduduk (keluarga_id)';
    EXECUTE 'CREATE INDEX ix_penduduk_wilayah ON ' || q || '.penduduk (wilayah_id)';
    EXECUTE 'CREATE INDEX ix_penduduk_status_nama ON ' || q || '.penduduk (status_dasar, nama, id)';
    EXECUTE 'CREATE INDEX ix_penduduk_tanggal_lahir ON ' || q || '.penduduk (tanggal_lahir)';
    EXECUTE 'CREATE INDEX ix_penduduk_nama_tsv ON ' || q || '.penduduk USING gin (nama_tsv)';
    EXECUTE 'ALTER TABLE ' || q || '.penduduk
                        ADD CONSTRAINT penduduk_keluarga_id_fkey
                            FOREIGN KEY (keluarga_id) REFERENCES ' || q || '.keluarga (id),
                        ADD CONSTRAINT penduduk_wilayah_id_fkey
                            FOREIGN KEY (wilayah_id) REFERENCES ' || q || '.wilayah (id)';
END
$fn$
"""

# Existing desa schemas: their role is in the registry (a new one is granted by provisioning, which creates the
# role after this DDL has run).
_GRANT_EXISTING = """
DO $grant$
DECLARE r text;
BEGIN
    SELECT role_name INTO r FROM kawasan.tenant WHERE schema_name = current_schema();
    IF r IS NOT NULL THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION impor_sisihkan_indeks(), impor_pulihkan_indeks() TO ' || quote_ident(r);
    END IF;
END
$grant$
"""


def upgrade() -> None:
    op.execute(_SET_ASIDE)
    op.execute(_RESTORE)
    op.execute("REVOKE ALL ON FUNCTION impor_sisihkan_indeks(), impor_pulihkan_indeks() FROM PUBLIC")
    op.execute(_GRANT_EXISTING)


def downgrade() -> None:
    op.execute("DROP FUNCTION impor_pulihkan_indeks()")
    op.execute("DROP FUNCTION impor_sisihkan_indeks()")
