import shutil
import textwrap

from sqlalchemy import text

from tenants.migrate import head_of, tenant_revisions, upgrade_shared, upgrade_tenants
from tests.fixtures import MIGRATIONS, run_cli

ADDITIVE_REVISION = textwrap.dedent(
    '''
    """Add pengaturan.keterangan (test revision)

    Revision ID: t9001
    Revises: {down}
    """
    import sqlalchemy as sa
    from alembic import op

    revision = "t9001"
    down_revision = "{down}"
    branch_labels = None
    depends_on = None


    def upgrade():
        op.add_column("pengaturan", sa.Column("keterangan", sa.Text()))


    def downgrade():
        op.drop_column("pengaturan", "keterangan")
    '''
)


def migrations_with_new_revision(tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    down = head_of(MIGRATIONS / "tenant")
    (copy / "tenant" / "versions" / "9001_test_keterangan.py").write_text(ADDITIVE_REVISION.format(down=down))
    return copy


def _columns(conn, table):
    return dict(
        conn.execute(
            text("SELECT table_schema, count(*) FROM information_schema.columns "
                 "WHERE table_name = :t AND column_name = 'keterangan' GROUP BY 1"),
            {"t": table},
        ).all()
    )


def test_new_tenant_revision_reaches_every_tenant(fresh_database, tmp_path):
    fresh = fresh_database(["15.08.14"])
    migrations = migrations_with_new_revision(tmp_path)
    outcomes = []
    report = upgrade_tenants(fresh.engine, migrations / "tenant", jobs=3,
                             progress=lambda o, done, total: outcomes.append((o.kode, done, total)))
    assert report.ok and len(report.upgraded) == 9 and report.current == 0
    assert sorted(o[0] for o in outcomes) == [f"15.08.14.200{i}" for i in range(1, 10)]
    with fresh.engine.connect() as conn:
        schemas = [f"desa_150814200{i}" for i in range(1, 10)]
        assert set(tenant_revisions(conn, schemas).values()) == {"t9001"}
        assert set(_columns(conn, "pengaturan")) == set(schemas)
        assert set(conn.scalars(text("SELECT revision FROM kawasan.tenant"))) == {"t9001"}
    # Nothing pending: a second run touches no schema.
    again = upgrade_tenants(fresh.engine, migrations / "tenant", jobs=2)
    assert again.ok and again.upgraded == [] and again.current == 9
    # New villages are provisioned straight at the new head.
    from tenants.provisioning import provision

    provision(fresh.engine, ["15.08.01.2001"], tenant_dir=migrations / "tenant")
    with fresh.engine.connect() as conn:
        assert tenant_revisions(conn, ["desa_1508012001"])["desa_1508012001"] == "t9001"
        assert "desa_1508012001" in _columns(conn, "pengaturan")


def test_a_failing_tenant_is_reported_and_retried_without_blocking_others(fresh_database, tmp_path):
    fresh = fresh_database(["15.08.14"])
    migrations = migrations_with_new_revision(tmp_path)
    with fresh.engine.begin() as conn:  # sabotage one village so its upgrade fails
        conn.execute(text("ALTER TABLE desa_1508142005.pengaturan ADD COLUMN keterangan text"))
    report = upgrade_tenants(fresh.engine, migrations / "tenant", jobs=2)
    assert [o.kode for o in report.failed] == ["15.08.14.2005"]
    assert "keterangan" in report.failed[0].error
    assert len(report.upgraded) == 8
    with fresh.engine.connect() as conn:
        row = conn.execute(text("SELECT status, revision, last_error FROM kawasan.tenant "
                                "WHERE kode = '15.08.14.2005'")).one()
        before = head_of(MIGRATIONS / "tenant")
        assert row.status == "failed" and row.revision == before and row.last_error
        assert tenant_revisions(conn, ["desa_1508142005"])["desa_1508142005"] == before  # rolled back whole
    with fresh.engine.begin() as conn:  # the operator fixes the cause
        conn.execute(text("ALTER TABLE desa_1508142005.pengaturan DROP COLUMN keterangan"))
    retry = upgrade_tenants(fresh.engine, migrations / "tenant", jobs=2)
    assert [o.kode for o in retry.upgraded] == ["15.08.14.2005"] and retry.current == 8 and retry.ok
    with fresh.engine.connect() as conn:
        assert conn.scalar(text("SELECT status FROM kawasan.tenant WHERE kode = '15.08.14.2005'")) == "ready"


def test_db_upgrade_command_reports_per_tenant_and_summary(fresh_database, tmp_path):
    fresh = fresh_database(["15.08.14.2001", "15.08.14.2002"])
    migrations = migrations_with_new_revision(tmp_path)
    env = fresh.env() | {"KAWASAN_MIGRATIONS_DIR": str(migrations)}
    result = run_cli(fresh.settings, "db", "upgrade", "--jobs", "2", env=env)
    assert result.returncode == 0, result.stderr
    assert f"15.08.14.2001 desa_1508142001: {head_of(MIGRATIONS / 'tenant')} -> t9001" in result.stdout
    assert "2 upgraded, 0 already at head, 0 failed" in result.stdout


def test_shared_upgrade_is_idempotent(fresh_database):
    fresh = fresh_database()
    upgrade_shared(fresh.engine, MIGRATIONS)
    with fresh.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM kawasan.alembic_version")) == head_of(MIGRATIONS / "shared")


def test_nik_index_keys_written_before_s0008_still_match_after_it(fresh_database, tmp_path, runtime):
    """s0008 turns the stored hex HMACs into their first 64 bits: a NIK registered before the upgrade is still
    found by the key the services compute now (an "alive in another desa" warning depends on it)."""
    import hmac

    from service.penduduk import services

    before = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, before, ignore=shutil.ignore_patterns("__pycache__"))
    (before / "shared" / "versions" / "0008_nik_index_bigint.py").unlink()
    fresh = fresh_database(migrations_dir=before)
    nik = "1508145708880002"
    full = hmac.new(services._secret(), nik.encode(), "sha256").hexdigest()  # how s0003..s0007 keyed it
    with fresh.engine.begin() as conn:
        conn.execute(text("INSERT INTO kawasan.nik_index (nik_hmac, desa_kode, hidup) VALUES (:h, '15.08.14.2001', "
                          "true)"), {"h": full})
    upgrade_shared(fresh.engine, MIGRATIONS)
    with fresh.engine.connect() as conn:
        assert conn.scalar(text("SELECT desa_kode FROM kawasan.nik_index WHERE nik_hmac = :h"),
                           {"h": services.nik_hmac(nik)}) == "15.08.14.2001"
