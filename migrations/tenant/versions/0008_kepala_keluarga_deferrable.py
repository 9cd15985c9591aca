"""Register imports write families before their heads, and a bulk import sets aside the family keys too.

* The family's head (``keluarga.kepala_id``) may be checked at commit: the import writes a new family with its
  head's id before the head's row (the resident's row names its family, the family names its head; one of
  the two must wait). ``DEFERRABLE INITIALLY IMMEDIATE``: every other writer still gets the error at once;
  only a transaction that asks (``SET CONSTRAINTS fk_keluarga_kepala_id_penduduk DEFERRED``) has it checked
  later.
* A bulk import (t0007) now also sets aside the keys of the family rows it writes (family → wilayah, family
  → head, KK-number history → family): 25,000 new families cost 75,000 key look-ups one by one, against
  three joins when the keys are added back. Penduduk's two unique constraints (NIK, public id) are set
  aside too and added back first: sorting 100,000 keys once is cheaper than 200,000 scattered inserts.
  Same rules as t0007: no arguments, a fixed ``search_path``, every object qualified with
  ``current_schema()``, no ``%`` in the bodies.

Revision ID: t0008
Revises: t0007
Create Date: 2026-11-22
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "t0008"
down_revision = "t0007"
branch_labels = None
depends_on = None

_SET_ASIDE = """
CREATE OR REPLACE FUNCTION impor_sisihkan_indeks() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE q text := quote_ident(current_schema());
BEGIN
    -- Readers of this desa wait on its register until the import commits (ACCESS EXCLUSIVE from here).
    EXECUTE 'ALTER TABLE ' || q || '.penduduk DROP CONSTRAINT penduduk_keluarga_id_fkey,
                        DROP CONSTRAINT penduduk_wilayah_id_fkey';
    EXECUTE 'ALTER TABLE ' || q || '.keluarga DROP CONSTRAINT keluarga_wilayah_id_fkey,
                        DROP CONSTRAINT fk_keluarga_kepala_id_penduduk';
    EXECUTE 'ALTER TABLE ' || q || '.riwayat_no_kk DROP CONSTRAINT riwayat_no_kk_keluarga_id_fkey';
    EXECUTE 'ALTER TABLE ' || q || '.penduduk DROP CONSTRAINT uq_penduduk_nik, DROP CONSTRAINT uq_penduduk_public_id';
    EXECUTE 'DROP INDEX ' || q || '.ix_penduduk_keluarga, ' || q || '.ix_penduduk_wilayah, '
                || q || '.ix_penduduk_status_nama, ' || q || '.ix_penduduk_tanggal_lahir, '
                || q || '.ix_penduduk_nama_tsv';
END
$fn$
"""

_RESTORE = """
CREATE OR REPLACE FUNCTION impor_pulihkan_indeks() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE q text := quote_ident(current_schema());
BEGIN
    PERFORM set_config('maintenance_work_mem', '256MB', true);
    -- Unique again before anything else: a duplicate NIK fails the import here.
    EXECUTE 'ALTER TABLE ' || q || '.penduduk ADD CONSTRAINT uq_penduduk_nik UNIQUE (nik),
                        ADD CONSTRAINT uq_penduduk_public_id UNIQUE (public_id)';
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
    EXECUTE 'ALTER TABLE ' || q || '.keluarga
                        ADD CONSTRAINT keluarga_wilayah_id_fkey
                            FOREIGN KEY (wilayah_id) REFERENCES ' || q || '.wilayah (id),
                        ADD CONSTRAINT fk_keluarga_kepala_id_penduduk
                            FOREIGN KEY (kepala_id) REFERENCES ' || q || '.penduduk (id)
                            DEFERRABLE INITIALLY IMMEDIATE';
    EXECUTE 'ALTER TABLE ' || q || '.riwayat_no_kk
                        ADD CONSTRAINT riwayat_no_kk_keluarga_id_fkey
                            FOREIGN KEY (keluarga_id) REFERENCES ' || q || '.keluarga (id) ON DELETE CASCADE';
END
$fn$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE keluarga ALTER CONSTRAINT fk_keluarga_kepala_id_penduduk DEFERRABLE INITIALLY IMMEDIATE")
    # CREATE OR REPLACE keeps the grants (t0007 and provisioning).
    op.execute(_SET_ASIDE)
    op.execute(_RESTORE)


def downgrade() -> None:
    previous = importlib.util.spec_from_file_location("t0007", Path(__file__).with_name("0007_impor_massal.py"))
    t0007 = importlib.util.module_from_spec(previous)
    previous.loader.exec_module(t0007)
    op.execute(t0007._SET_ASIDE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute(t0007._RESTORE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("ALTER TABLE keluarga ALTER CONSTRAINT fk_keluarga_kepala_id_penduduk NOT DEFERRABLE")
