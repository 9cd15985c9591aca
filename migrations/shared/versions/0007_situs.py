"""Village public sites: slug and host name per desa.

``slug`` names the desa in portal URLs (``/desa/<slug>``); ``nama_host`` optionally serves its public site
under its own host name. ``kawasan.slug_desa(kode)`` is the one definition of a slug, used by this backfill
and by provisioning: the desa's name lowercased with runs of other characters turned into ``-``; a name
already taken by another desa gets its kecamatan's slug appended, and if that is taken too, its 10 digits.

Revision ID: s0007
Revises: s0006
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "s0007"
down_revision = "s0006"
branch_labels = None
depends_on = None

S = "kawasan"

SLUG_FUNCTION = r"""
CREATE OR REPLACE FUNCTION kawasan.slug_desa(p_kode text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    base text;
    kecamatan text;
    candidate text;
BEGIN
    SELECT trim(both '-' FROM regexp_replace(lower(replace(w.nama, '''', '')), '[^a-z0-9]+', '-', 'g')),
           trim(both '-' FROM regexp_replace(lower(replace(k.nama, '''', '')), '[^a-z0-9]+', '-', 'g'))
      INTO base, kecamatan
      FROM kawasan.wilayah_administrasi w
      LEFT JOIN kawasan.wilayah_administrasi k ON k.kode = w.induk_kode
     WHERE w.kode = p_kode;
    IF base IS NULL OR base = '' THEN
        base := 'desa';
    END IF;
    -- Two villages of the same name provisioned at once must not both take it: serialize per name only.
    PERFORM pg_advisory_xact_lock(hashtext('kawasan.slug_desa:' || base));
    FOREACH candidate IN ARRAY ARRAY[base, base || '-' || coalesce(kecamatan, ''),
                                     base || '-' || replace(p_kode, '.', '')] LOOP
        IF NOT EXISTS (SELECT 1 FROM kawasan.tenant WHERE slug = candidate AND kode <> p_kode) THEN
            RETURN candidate;
        END IF;
    END LOOP;
    RETURN base || '-' || replace(p_kode, '.', '');
END $$;
"""


def upgrade() -> None:
    op.add_column("tenant", sa.Column("slug", sa.String(200)), schema=S)
    op.add_column("tenant", sa.Column("nama_host", sa.String(253)), schema=S)
    op.create_unique_constraint("uq_tenant_slug", "tenant", ["slug"], schema=S)
    op.create_unique_constraint("uq_tenant_nama_host", "tenant", ["nama_host"], schema=S)
    op.execute(SLUG_FUNCTION)
    # One statement per row, in code order, so each sees the slugs given before it.
    op.execute(
        """DO $$ DECLARE r record; BEGIN
             FOR r IN SELECT kode FROM kawasan.tenant WHERE slug IS NULL ORDER BY kode LOOP
               UPDATE kawasan.tenant SET slug = kawasan.slug_desa(r.kode) WHERE kode = r.kode;
             END LOOP; END $$"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS kawasan.slug_desa(text)")
    op.drop_constraint("uq_tenant_nama_host", "tenant", schema=S)
    op.drop_constraint("uq_tenant_slug", "tenant", schema=S)
    op.drop_column("tenant", "nama_host", schema=S)
    op.drop_column("tenant", "slug", schema=S)
