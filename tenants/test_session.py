import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from service.db import make_engine
from service.penduduk.models import Wilayah
from tenants.session import DesaNotFound, DesaSession, desa_session, find_desa
from tenants.tables import Pengaturan
from tests.fixtures import OTHER_KECAMATAN_DESA


def test_desa_session_is_bound_to_its_schema_and_role(engine):
    with desa_session(engine, "1508142001") as session:
        user, path, kode = session.execute(
            text("SELECT current_user, current_setting('search_path'), current_setting('kawasan.desa_kode')")
        ).one()
        assert user == session.desa.role_name and user.endswith(":desa_1508142001")
        assert path == "desa_1508142001"
        assert kode == "15.08.14.2001"
        # ORM models land in the desa schema through schema_translate_map.
        session.add(Wilayah(tingkat="dusun", nama="Kampung Test"))
        session.flush()
        assert session.scalar(select(func.count()).select_from(Wilayah)) == 1
        session.rollback()


def test_raw_sql_naming_another_desa_schema_is_denied(engine):
    with desa_session(engine, "15.08.14.2001") as session:
        with pytest.raises(ProgrammingError) as info:
            session.execute(text("SELECT * FROM desa_1508142002.pengaturan"))
        assert "permission denied" in str(info.value.orig)


def test_writing_another_desa_schema_is_denied(engine):
    with desa_session(engine, "15.08.14.2001") as session, pytest.raises(ProgrammingError, match="permission denied"):
        session.execute(text("INSERT INTO desa_1508142002.wilayah (tingkat, nama) VALUES ('dusun', 'x')"))


def test_shared_tables_are_out_of_reach_except_own_outbox(engine):
    with desa_session(engine, "15.08.14.2001") as session, pytest.raises(ProgrammingError, match="permission denied"):
        session.execute(text("SELECT * FROM kawasan.tenant"))
    with desa_session(engine, "15.08.14.2001") as session:
        session.execute(text("INSERT INTO kawasan.outbox (topic, desa_kode) VALUES ('t', '15.08.14.2001')"))
        with pytest.raises(ProgrammingError, match="row-level security"):
            session.execute(text("INSERT INTO kawasan.outbox (topic, desa_kode) VALUES ('t', '15.08.14.2002')"))
        session.rollback()


def test_tenant_models_without_a_desa_session_fail_closed(engine):
    with engine.connect() as conn, pytest.raises(ProgrammingError, match='relation "tenant.pengaturan" does not exist'):
        conn.execute(select(Pengaturan))


def test_no_connection_leaves_the_pool_with_tenant_settings(runtime):
    engine = make_engine(runtime.database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            baseline = conn.execute(text("SELECT pg_backend_pid(), current_user, current_setting('search_path')")).one()
        for kode in ("15.08.14.2001", OTHER_KECAMATAN_DESA):
            with desa_session(engine, kode) as session:
                session.scalar(select(func.count()).select_from(Pengaturan))
                session.commit()
            with desa_session(engine, kode) as session:
                session.scalar(select(func.count()).select_from(Pengaturan))
                # no commit: the session closes with the transaction open
        with pytest.raises(DesaNotFound), desa_session(engine, "15.08.14.9999"):
            pass
        with pytest.raises(DBAPIError), desa_session(engine, "15.08.14.2002") as session:
            session.execute(text("SELECT * FROM desa_1508142001.pengaturan"))
        with engine.connect() as conn:
            after = conn.execute(
                text("SELECT pg_backend_pid(), current_user, current_setting('search_path'), "
                     "current_setting('kawasan.desa_kode', true)")
            ).one()
        assert after[0] == baseline[0], "the test must reuse the same pooled backend"
        assert tuple(after[1:3]) == tuple(baseline[1:3])
        assert after[3] in (None, "")
    finally:
        engine.dispose()


@pytest.mark.parametrize("kode", ["15.08.14.9999", "15.08.02.2001", "15.08.14", "abc", ""])
def test_unknown_or_unprovisioned_desa_reads_nothing(engine, kode):
    tenant_statements = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        if conn._execution_options.get("schema_translate_map"):
            tenant_statements.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        with pytest.raises(DesaNotFound), desa_session(engine, kode):
            pass
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    # At most the registry look-up ran (a malformed code runs nothing); it matched no row, so it
    # entered no desa, and no statement followed it.
    assert all(statement.lstrip().startswith("SELECT t.kode") for statement in tenant_statements)
    assert len(tenant_statements) <= 1


def test_find_desa_accepts_both_code_forms(engine):
    with engine.connect() as conn:
        assert find_desa(conn, "1508142001") == find_desa(conn, "15.08.14.2001")


def test_desa_session_class_needs_a_tenant(engine):
    with engine.connect() as conn:
        desa = find_desa(conn, "15.08.14.2003")
    with DesaSession(engine, desa) as session:
        assert session.execute(text("SELECT current_setting('search_path')")).scalar() == "desa_1508142003"
