import pytest
from sqlalchemy import text

from service.regions.codes import InvalidKode
from service.regions.services import UnknownKode
from tenants.migrate import head_of, tenant_revisions
from tenants.provisioning import check_registry, drop_desa, provision, provision_desa, resolve_villages
from tests.fixtures import MIGRATIONS

TENANT_DIR = MIGRATIONS / "tenant"
DESA = "15.08.02.2001"  # not provisioned by the session fixture


def _tables(conn, schema):
    return set(conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}))


def test_provisioning_creates_schema_at_head_with_its_own_role(db_conn):
    assert provision_desa(db_conn, "1508022001", tenant_dir=TENANT_DIR) is True
    schema = "desa_1508022001"
    assert {"pengaturan", "wilayah", "alembic_version"} <= _tables(db_conn, schema)
    assert tenant_revisions(db_conn, [schema])[schema] == head_of(TENANT_DIR)
    row = db_conn.execute(text("SELECT * FROM kawasan.tenant WHERE kode = :k"), {"k": DESA}).one()
    assert (row.schema_name, row.status, row.revision) == (schema, "ready", head_of(TENANT_DIR))
    privileges = db_conn.execute(
        text("SELECT has_schema_privilege(:r, :s, 'USAGE'), has_schema_privilege(:r, 'desa_1508142001', 'USAGE')"),
        {"r": row.role_name, "s": schema},
    ).one()
    assert tuple(privileges) == (True, False)
    # Local names come from the kabupaten: in Bungo a desa is a dusun, led by a Rio.
    sebutan = dict(db_conn.execute(text(f"SELECT kunci, nilai FROM {schema}.pengaturan")).all())
    assert sebutan["sebutan_desa"] == "Dusun" and sebutan["sebutan_kepala_desa"] == "Rio"


def test_provisioning_twice_is_a_no_op(db_conn):
    assert provision_desa(db_conn, DESA, tenant_dir=TENANT_DIR) is True
    assert provision_desa(db_conn, DESA, tenant_dir=TENANT_DIR) is False
    assert db_conn.scalar(text("SELECT count(*) FROM kawasan.tenant WHERE kode = :k"), {"k": DESA}) == 1


def test_codes_expand_to_every_village_under_them(db_conn):
    villages = resolve_villages(db_conn, ["15.08.14", "1508142001", "15.08.01.2001"])
    assert len(villages) == 10  # duplicates collapse
    with pytest.raises(UnknownKode, match="15.08.99"):
        resolve_villages(db_conn, ["15.08.14", "15.08.99"])
    with pytest.raises(InvalidKode, match="15.8"):
        resolve_villages(db_conn, ["15.8"])


def test_bad_code_in_a_batch_writes_nothing(fresh_database):
    fresh = fresh_database()
    with pytest.raises(UnknownKode):
        provision(fresh.engine, ["15.08.14", "15.08.99"], tenant_dir=TENANT_DIR)
    with fresh.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM kawasan.tenant")) == 0


def test_drop_removes_schema_role_and_registry_row(db_conn):
    provision_desa(db_conn, DESA, tenant_dir=TENANT_DIR)
    role = db_conn.scalar(text("SELECT role_name FROM kawasan.tenant WHERE kode = :k"), {"k": DESA})
    assert drop_desa(db_conn, DESA) is True
    assert not db_conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = 'desa_1508022001'"))
    assert not db_conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    assert not db_conn.scalar(text("SELECT 1 FROM kawasan.tenant WHERE kode = :k"), {"k": DESA})
    assert drop_desa(db_conn, DESA) is False


def test_registry_check_reports_orphans_both_ways(db_conn):
    assert check_registry(db_conn).ok
    db_conn.execute(text("CREATE SCHEMA desa_1508029999"))
    db_conn.execute(text("DROP SCHEMA desa_1508142009 CASCADE"))
    result = check_registry(db_conn)
    assert result.schema_without_registry == ["desa_1508029999"]
    assert result.registry_without_schema == ["15.08.14.2009"]


def test_prerendered_ddl_equals_stepwise_migrations(db_conn):
    """Provisioning replays rendered SQL; it must build exactly what running the migrations builds."""
    from tenants.migrate import _run

    provision_desa(db_conn, DESA, tenant_dir=TENANT_DIR)
    db_conn.execute(text("CREATE SCHEMA stepwise"))
    db_conn.execute(text("SELECT set_config('search_path', 'stepwise', true)"))
    _run(db_conn, TENANT_DIR, version_table_schema="stepwise")

    def shape(schema):
        columns = db_conn.execute(
            text(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = :s ORDER BY 1, 2"
            ),
            {"s": schema},
        ).all()
        indexes = db_conn.execute(
            text("SELECT indexname, replace(indexdef, :s, 'X') FROM pg_indexes WHERE schemaname = :s ORDER BY 1"),
            {"s": schema},
        ).all()
        return [tuple(str(v).replace(schema, "X") for v in c) for c in columns], indexes

    assert shape("desa_1508022001") == shape("stepwise")


def test_unknown_village_code_writes_nothing(db_conn):
    with pytest.raises(UnknownKode, match="15.08.14.2099"):
        provision_desa(db_conn, "15.08.14.2099", tenant_dir=TENANT_DIR)
    assert not db_conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = 'desa_1508142099'"))
