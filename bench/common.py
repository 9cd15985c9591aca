"""What every bench shares: output helpers and a throwaway database on the embedded (or given) server.

Benches print figures on stdout and progress on stderr; each makes its own databases and drops them, with
their desa roles, at the end.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATA_DIR = ROOT / ".kawasan-bench"
MIGRATIONS = ROOT / "migrations"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # ``service``, ``tests.fixtures`` when run as ``python bench/x.py``


def out(line: str = "") -> None:
    print(line, flush=True)


def note(line: str) -> None:
    """Progress goes to stderr so that stdout holds only the figures."""
    print(f"[bench] {line}", file=sys.stderr, flush=True)


def verdict(value: float, target: float) -> str:
    return "OK" if value <= target else "MISSED"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


class Server:
    def __init__(self, admin_url: str, embedded: bool):
        self.admin_url = admin_url
        self.embedded = embedded
        self.created: list[str] = []

    def create_database(self, prefix: str = "kawasan_bench") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url_or_name: str) -> int:
        name = make_url(url_or_name).database if "://" in url_or_name else url_or_name
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            roles = [
                r
                for (r,) in conn.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{name}:%",)
                ).fetchall()
            ]
            # Desa roles are members of the group role "<database>:tenant": drop members first.
            for role in sorted(roles, key=lambda r: r.endswith(":tenant")):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        if name in self.created:
            self.created.remove(name)
        return len(roles)

    def drop_all(self) -> None:
        for name in list(self.created):
            try:
                started = time.perf_counter()
                roles = self.drop_database(name)
                note(f"database {name} dropped with {roles} roles in {time.perf_counter() - started:.2f} s")
            except Exception as exc:  # noqa: BLE001 - best effort cleanup, keep going
                note(f"could not drop {name}: {exc}")


def open_server(database_url: str | None) -> Server:
    if database_url:
        admin = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
        return Server(admin, embedded=False)
    from service.embedded import embedded_database_url

    note(f"no --database-url / DATABASE_URL: embedded PostgreSQL under {BENCH_DATA_DIR}")
    return Server(embedded_database_url(BENCH_DATA_DIR, database="postgres"), embedded=True)


def open_redis(redis_url: str | None) -> tuple[str, bool]:
    if redis_url:
        return redis_url, False
    from service.embedded import embedded_redis_url

    note(f"no --redis-url / REDIS_URL: embedded Redis under {BENCH_DATA_DIR}")
    return embedded_redis_url(BENCH_DATA_DIR), True


def with_redis_db(url: str, db: int) -> str:
    """The same server, database ``db`` (``unix://…?db=N`` or ``redis://host:port/N``)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":  # urlunsplit would drop the empty authority of unix:///path
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def private_redis(redis_url: str | None):
    """A Redis database of this run's own (a random one of 1-15 on the given or embedded server), emptied:
    ``(url, client, db)``. Benches running side by side, and test sessions, use other databases."""
    import redis

    base_url, _ = open_redis(redis_url)
    db = random.randint(1, 15)
    url = with_redis_db(base_url, db)
    client = redis.Redis.from_url(url)
    client.flushdb()
    return url, client, db


def bench_settings(database_url: str, redis_url: str, **overrides):
    """The app's settings for a bench database: data under ``.kawasan-bench``, this tree's migrations, quiet logs."""
    from service.config import Settings

    values = {"data_dir": BENCH_DATA_DIR.resolve(), "migrations_dir": MIGRATIONS, "log_level": "WARNING",
              **overrides}
    return Settings(database_url=database_url, redis_url=redis_url, **values)
