"""Test fixtures: a real PostgreSQL and a real Redis, never mocks.

No ``DATABASE_URL``/``REDIS_URL`` → the embedded servers under ``.kawasan-test/`` (kept between runs,
so only the first run pays for initdb). Either way each test session gets a fresh database, migrated
and with the Bathin III Ulu pilot villages (15.08.14) plus one village of another kecamatan
provisioned; it is dropped at the end. Tests that need their own tenants or migrations ask for
``fresh_database``. Service-level tests run in ``db_conn``, a transaction rolled back afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, Engine, make_url

from service.config import Settings, load_settings
from service.db import make_engine
from tenants.migrate import upgrade_shared
from tenants.provisioning import provision

ROOT = Path(__file__).resolve().parent.parent
PILOT_KECAMATAN = "15.08.14"  # Bathin III Ulu: 9 dusun
OTHER_KECAMATAN_DESA = "15.08.01.2001"  # Pedukun, Kecamatan Tanah Tumbuh
MIGRATIONS = ROOT / "migrations"


@dataclass
class TestServers:
    admin_url: str  # libpq URL of the maintenance database on the server
    redis_url: str
    data_dir: Path


@pytest.fixture(scope="session")
def servers(tmp_path_factory) -> TestServers:
    data_dir = Path(os.environ.get("KAWASAN_TEST_DATA_DIR", ROOT / ".kawasan-test")).resolve()
    env = load_settings()
    if env.database_url:
        admin_url = make_url(env.database_url).set(database="postgres").render_as_string(hide_password=False)
    else:
        from service.embedded import embedded_database_url

        admin_url = embedded_database_url(data_dir, database="postgres")
    if env.redis_url:
        redis_url = env.redis_url
    else:
        # A database number of its own, so test sessions running side by side never share queues.
        import random

        from service.embedded import embedded_redis_url

        redis_url = f"{embedded_redis_url(data_dir)}?db={random.randint(1, 15)}"
    return TestServers(admin_url=admin_url, redis_url=redis_url, data_dir=data_dir)


def create_database(servers: TestServers, prefix: str = "kawasan_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(servers.admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(servers: TestServers, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        # Desa roles are cluster-wide and named "<database>:<schema>".
        for (role,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{name}:%",)).fetchall():
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def make_settings(servers: TestServers, database_url: str, **overrides) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=servers.redis_url,
        data_dir=servers.data_dir,
        migrations_dir=overrides.pop("migrations_dir", MIGRATIONS),
        **overrides,
    )


def prepare(engine: Engine, settings: Settings, codes: list[str]) -> None:
    upgrade_shared(engine, settings.migrations_dir)
    provision(engine, codes, tenant_dir=settings.migrations_dir / "tenant")


@pytest.fixture(scope="session")
def settings(servers) -> Iterator[Settings]:
    url = create_database(servers)
    settings = make_settings(servers, url, outbox_redeliver_after=1.0, relay_poll_interval=0.2)
    engine = make_engine(url, pool_size=2)
    prepare(engine, settings, [PILOT_KECAMATAN, OTHER_KECAMATAN_DESA])
    engine.dispose()
    yield settings
    drop_database(servers, url)


@pytest.fixture(scope="session")
def runtime(settings):
    from service.runtime import get_runtime

    runtime = get_runtime(settings)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture(scope="session")
def engine(runtime) -> Engine:
    return runtime.engine


@pytest.fixture(scope="session")
def app(runtime):
    from service.app import create_app

    app = create_app(runtime.settings)
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db_conn(engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test (DDL and roles included)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


@dataclass
class FreshDatabase:
    url: str
    settings: Settings
    engine: Engine

    def env(self) -> dict[str, str]:
        return cli_env(self.settings)


@pytest.fixture
def fresh_database(servers) -> Iterator[callable]:
    """Factory: a new migrated database (optionally with its own migrations dir and tenants)."""
    made: list[FreshDatabase] = []

    def make(codes: list[str] | None = None, migrations_dir: Path = MIGRATIONS, **overrides) -> FreshDatabase:
        url = create_database(servers, prefix="kawasan_fresh")
        settings = make_settings(servers, url, migrations_dir=migrations_dir, **overrides)
        engine = make_engine(url, pool_size=3)
        fresh = FreshDatabase(url, settings, engine)
        made.append(fresh)
        prepare(engine, settings, codes or [])
        return fresh

    yield make
    for fresh in made:
        fresh.engine.dispose()
        drop_database(servers, fresh.url)


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        KAWASAN_DATA_DIR=str(settings.data_dir),
        KAWASAN_MIGRATIONS_DIR=str(settings.migrations_dir),
        KAWASAN_OUTBOX_REDELIVER_AFTER=str(settings.outbox_redeliver_after),
        KAWASAN_RELAY_POLL_INTERVAL=str(settings.relay_poll_interval),
        KAWASAN_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def run_cli(settings: Settings, *args: str, input: str | None = None, env: dict | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``kawasan ARGS`` in a subprocess, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=ROOT, env=env or cli_env(settings), input=input, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture
def cli(settings):
    return lambda *args, **kw: run_cli(settings, *args, **kw)


# --- identity factories ---------------------------------------------------------------------------------


@pytest.fixture
def auth(app):
    return app.extensions["kawasan_auth"]


@pytest.fixture
def make_staff(engine):
    """Factory: a staff account with roles; returns (username, password, account id)."""
    from service.auth.roles import make_grant
    from service.auth.services import create_account

    def make(*grants: tuple[str, str | None], password: str = "rahasia-123") -> tuple[str, str, int]:
        username = f"staf_{uuid.uuid4().hex[:10]}"
        akun_id = create_account(engine, username=username, nama=f"Staf {username}", password=password,
                                 email=f"{username}@contoh.id", grants=[make_grant(r, s) for r, s in grants])
        return username, password, akun_id

    return make


@pytest.fixture
def token_for(auth, engine):
    """Factory: a valid access token for a staff account with these grants (no password hashing)."""
    from service.auth.principal import Kind, Principal
    from service.auth.roles import make_grant

    def make(*grants: tuple[str, str | None]) -> str:
        principal = Principal(kind=Kind.STAFF, subject=f"staff:{uuid.uuid4().int % 10**9}", name="Uji",
                              grants=tuple(make_grant(r, s) for r, s in grants))
        return auth.tokens.issue(principal)[0]

    return make


def new_nik(kecamatan: str = "150814", *, female: bool = False) -> str:
    """A structurally valid, random NIK (birth 1960-1999, +40 on the day for women)."""
    import random

    day = random.randint(1, 28) + (40 if female else 0)
    return f"{kecamatan}{day:02d}{random.randint(1, 12):02d}{random.randint(60, 99):02d}{random.randint(1, 9999):04d}"


def new_no_kk(kecamatan: str = "150814") -> str:
    import random

    return f"{kecamatan}{random.randint(1, 28):02d}{random.randint(1, 12):02d}{random.randint(10, 24):02d}" \
           f"{random.randint(1, 9999):04d}"


def nik_birth_date(nik: str) -> str:
    day = int(nik[6:8]) % 40
    return f"19{nik[10:12]}-{nik[8:10]}-{day:02d}"


@pytest.fixture
def make_family(engine):
    """Factory: a family registered in a desa, each member with a PIN; returns [(nik, pin, penduduk id)]."""
    from service.auth.models import AkunWarga
    from service.auth.services import issue_pin
    from service.penduduk.services import add_penduduk, create_keluarga
    from tenants.session import DesaSession

    def make(desa: str = "15.08.14.2001", size: int = 2, *, must_change: bool = False):
        members = []
        with DesaSession(engine, desa) as session:
            keluarga = create_keluarga(session, no_kk=new_no_kk())
            for i in range(size):
                sex = 1 if i == 0 else 2
                nik = new_nik(female=sex == 2)
                person = add_penduduk(session, {
                    "nik": nik, "nama": f"Warga {nik[-4:]}", "keluarga_id": keluarga.id, "kk_level": 1 if i == 0 else 4,
                    "sex": sex, "tanggal_lahir": nik_birth_date(nik),
                }, actor="test").penduduk
                pin = issue_pin(session, nik)
                if not must_change:
                    session.get(AkunWarga, person.id).wajib_ganti_pin = False
                members.append((nik, pin, person.id))
            session.commit()
        return members

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- portal pages (Flask test client) -------------------------------------------------------------------


def csrf_of(html: str) -> str:
    """The CSRF token of a portal page's form (the hidden ``csrf_token`` field); fails the test if there is none."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in_staff(client, username: str, password: str, next_path: str | None = None):
    """Sign a test client in through the staff sign-in page (``/masuk``), as a browser would: GET the form for
    its CSRF token, POST it. Returns the answer (303 to the landing page or ``next_path`` on success)."""
    page = client.get("/masuk")
    form = {"csrf_token": csrf_of(page.text), "username": username, "password": password}
    if next_path:
        form["next"] = next_path
    return client.post("/masuk", data=form)


def openapi_for_generation() -> dict:
    """The OpenAPI document, built at collection time without a database: it depends only on the code."""
    from flask import Flask

    from service.api import register_api

    app = Flask("kawasan-spec")
    app.config.update(API_TITLE="Kawasan API", API_VERSION="v1", OPENAPI_VERSION="3.0.3")
    api = register_api(app)
    from service.app import BLUEPRINTS

    for blueprint in BLUEPRINTS():
        api.register_blueprint(blueprint)
    return api.spec.to_dict()


# --- background work, in-process -------------------------------------------------------------------------


@pytest.fixture
def work(runtime):
    """Run every queued job now, in this process (RQ's SimpleWorker in burst mode)."""
    from rq import SimpleWorker

    from workers.queues import QUEUES, queue

    def run() -> None:
        SimpleWorker([queue(q, runtime.redis) for q in QUEUES], connection=runtime.redis).work(burst=True)

    return run


@pytest.fixture
def relay(runtime, work):
    """A relay over an empty backlog (events left by other tests are processed first)."""
    from workers.relay import Relay

    runtime.redis.flushdb()
    relay = Relay(runtime.engine, runtime.redis, redeliver_after=1.0, poll_interval=0.2)
    relay.run_once()
    work()
    return relay


@pytest.fixture
def fresh_rate_limits(runtime):
    """Sign-in rate limits start empty (tests sign in many times from the same address)."""
    for key in runtime.redis.scan_iter("kawasan:rl:*"):
        runtime.redis.delete(key)


def kill_process_tree(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal a process and its descendants (RQ's work horse runs in a session of its own), then reap it."""
    import contextlib

    import psutil

    if proc.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            family = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
            for pid in family:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        kill_process_tree(proc, signal.SIGKILL)
