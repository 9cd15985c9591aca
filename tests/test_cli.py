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


def test_tenants_host_sets_checks_and_removes_a_village_host_name(cli, engine):
    desa, other = "15.08.01.2001", "15.08.14.2009"

    def stored(kode):
        with engine.connect() as conn:
            return conn.scalar(text("SELECT nama_host FROM kawasan.tenant WHERE kode = :k"), {"k": kode})

    try:
        set_ = cli("tenants", "host", "1508012001", "Pasar-Muara.Desa.ID.")
        assert set_.returncode == 0, set_.stderr
        assert "host pasar-muara.desa.id" in set_.stdout
        assert stored(desa) == "pasar-muara.desa.id"  # lower case, no trailing dot: what the Host header carries
        shown = cli("tenants", "host", desa)
        assert shown.returncode == 0 and "host pasar-muara.desa.id" in shown.stdout
        # Not a DNS name: refused with the reason, nothing written.
        for bad, reason in (("desa_buat.id", "not a valid DNS label"), ("https://buat.desa.id", "not a valid DNS"),
                            ("buat.desa.id:8080", "not a valid DNS"), ("localhost", "needs a domain"),
                            ("10.0.0.1", "IP address"), ("buat-.desa.id", "not a valid DNS label")):
            refused = cli("tenants", "host", other, bad)
            assert refused.returncode == 2 and reason in refused.stderr, (bad, refused.stderr)
        # Another village's host name: refused naming who holds it.
        taken = cli("tenants", "host", other, "PASAR-MUARA.desa.id")
        assert taken.returncode == 2 and "already the host name of 15.08.01.2001" in taken.stderr
        assert stored(other) is None
        assert cli("tenants", "host", "15.08.02.2999", "x.desa.id").returncode == 2  # not a tenant
        assert cli("tenants", "host", desa, "x.desa.id", "--hapus").returncode == 2
        removed = cli("tenants", "host", desa, "--hapus")
        assert removed.returncode == 0 and "no host name (was pasar-muara.desa.id)" in removed.stdout
        assert stored(desa) is None
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE kawasan.tenant SET nama_host = NULL WHERE kode IN (:a, :b)"),
                         {"a": desa, "b": other})
