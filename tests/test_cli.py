"""The operator's command line, run as a real process against the test database."""

import psycopg
from sqlalchemy import text

from tests.fixtures import cli_env


def test_db_url_works_with_libpq(cli):
    result = cli("db", "url")
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("postgresql://")
    with psycopg.connect(url) as conn:  # what `psql "$(kawasan db url)"` does
        assert conn.execute("SELECT count(*) FROM kawasan.tenant").fetchone()[0] >= 10


def test_one_log_line_says_which_servers_are_in_use(cli, settings):
    stderr = cli("db", "url", env=cli_env(settings, KAWASAN_LOG_LEVEL="INFO")).stderr
    lines = [line for line in stderr.splitlines() if "database:" in line and "queue:" in line]
    assert len(lines) == 1
    assert "PostgreSQL" in lines[0] and "Redis" in lines[0]


def test_tenants_list_shows_the_registry(cli):
    result = cli("tenants", "list", "--under", "15.08.14")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["KODE", "NAMA", "KECAMATAN", "SCHEMA", "REVISION", "STATUS"]
    first = rows[0].split()
    assert first[0] == "15.08.14.2001" and "desa_1508142001" in first and first[-1] == "ready"
    assert "Bathin III Ulu" in rows[0] and "9 tenants" in result.stdout


def test_provision_is_idempotent_and_bad_codes_write_nothing(cli, engine):
    again = cli("tenants", "provision", "15.08.14")
    assert again.returncode == 0 and "0 provisioned, 9 already present" in again.stdout
    for bad in ("15.8.14", "15.08.99"):
        result = cli("tenants", "provision", "15.08.02.2001", bad)
        assert result.returncode == 2 and bad in result.stderr
    with engine.connect() as conn:
        assert not conn.scalar(text("SELECT 1 FROM kawasan.tenant WHERE kode = '15.08.02.2001'"))


def test_drop_needs_yes_and_then_removes(cli, engine):
    assert cli("tenants", "provision", "1508022003").returncode == 0
    refused = cli("tenants", "drop", "15.08.02.2003")
    assert refused.returncode != 0 and "--yes" in refused.stderr
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1 FROM kawasan.tenant WHERE kode = '15.08.02.2003'"))
    dropped = cli("tenants", "drop", "15.08.02.2003", "--yes")
    assert dropped.returncode == 0 and "dropped 15.08.02.2003" in dropped.stdout
    with engine.connect() as conn:
        assert not conn.scalar(text("SELECT 1 FROM kawasan.tenant WHERE kode = '15.08.02.2003'"))
        assert not conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = 'desa_1508022003'"))


def test_list_check_reports_a_schema_without_registry_row(cli, engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA desa_1508029999"))
    try:
        result = cli("tenants", "list", "--check")
        assert result.returncode == 1
        assert "schema desa_1508029999 exists without a registry row" in result.stdout
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA desa_1508029999"))
    assert cli("tenants", "list", "--check").returncode == 0


def test_a_schema_without_registry_row_is_never_used_or_overwritten(cli, engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA desa_1508022004"))
    try:
        result = cli("tenants", "provision", "15.08.02.2004")
        assert result.returncode != 0 and "schema without registry row" in result.stderr
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA desa_1508022004"))
