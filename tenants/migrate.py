"""Migrations: the shared tree once, then every desa schema, each with its own ``alembic_version``.

``kawasan db upgrade`` calls :func:`upgrade_all`. Tenant schemas are upgraded with bounded
parallelism, one transaction per schema: a failure rolls that schema back, marks its registry row
``failed`` and is retried by the next run, while the other schemas carry on. Provisioning does not
migrate step by step: it replays :func:`tenant_head_sql`, the tenant tree rendered offline at head.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from service.db import SHARED_SCHEMA
from service.regions.services import sync_region_registry
from service.runtime import process_pool

log = logging.getLogger(__name__)

_LOCK_SHARED_UPGRADE = 7_201_001  # advisory lock key: one shared upgrade at a time


def _config(tree_dir: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(tree_dir))
    return cfg


_scripts: dict[Path, ScriptDirectory] = {}
_scripts_lock = threading.Lock()


def script_directory(tree_dir: Path) -> ScriptDirectory:
    tree_dir = tree_dir.resolve()
    with _scripts_lock:
        if tree_dir not in _scripts:
            _scripts[tree_dir] = ScriptDirectory.from_config(_config(tree_dir))
        return _scripts[tree_dir]


def head_of(tree_dir: Path) -> str:
    head = script_directory(tree_dir).get_current_head()
    if head is None:
        raise RuntimeError(f"no revisions in {tree_dir}")
    return head


def _run(
    conn: Connection | None,
    tree_dir: Path,
    *,
    version_table_schema: str | None,
    as_sql: bool = False,
) -> str:
    """Upgrade to head on ``conn`` inside its current transaction (or render SQL when ``as_sql``)."""
    script = script_directory(tree_dir)
    buffer = io.StringIO()

    def upgrade_fn(rev, context):
        return script._upgrade_revs("heads", rev)

    with EnvironmentContext(
        _config(tree_dir), script, fn=upgrade_fn, as_sql=as_sql, destination_rev="heads",
        starting_rev=None, output_buffer=buffer,
    ) as env:
        if as_sql:
            env.configure(
                dialect_name="postgresql", output_buffer=buffer, transactional_ddl=False,
                literal_binds=True, version_table_schema=version_table_schema,
            )
        else:
            env.configure(connection=conn, version_table_schema=version_table_schema, transactional_ddl=True)
        env.run_migrations()
    return buffer.getvalue()


_head_sql: dict[Path, tuple[str, str]] = {}


def tenant_head_sql(tenant_dir: Path) -> tuple[str, str]:
    """``(head revision, SQL)`` creating a desa schema's tables at head, stamp included.

    The SQL names no schema; it runs with ``search_path`` set to the new schema.
    """
    tenant_dir = tenant_dir.resolve()
    head = head_of(tenant_dir)
    cached = _head_sql.get(tenant_dir)
    if cached is None or cached[0] != head:
        cached = (head, _run(None, tenant_dir, version_table_schema=None, as_sql=True))
        _head_sql[tenant_dir] = cached
    return cached


def upgrade_shared(engine: Engine, migrations_dir: Path) -> None:
    """Shared tree to head, then the bundled region codes (a no-op when already current)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_SHARED_UPGRADE})
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SHARED_SCHEMA}"))
        _run(conn, migrations_dir / "shared", version_table_schema=SHARED_SCHEMA)
        written = sync_region_registry(conn)
        if written:
            log.info("region registry loaded: %d codes", written)


def shared_revision(conn: Connection) -> str | None:
    exists = conn.scalar(text("SELECT to_regclass(:t)"), {"t": f"{SHARED_SCHEMA}.alembic_version"})
    if not exists:
        return None
    return conn.scalar(text(f"SELECT version_num FROM {SHARED_SCHEMA}.alembic_version"))


def tenant_revisions(conn: Connection, schemas: Iterable[str]) -> dict[str, str | None]:
    """Each schema's own ``alembic_version`` (``None`` if the schema or the table is missing)."""
    schemas = list(schemas)
    result: dict[str, str | None] = dict.fromkeys(schemas)
    present = set(
        conn.scalars(
            text(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'alembic_version' AND n.nspname = ANY(:s)"
            ),
            {"s": schemas},
        )
    )
    ordered = [s for s in schemas if s in present]
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        union = " UNION ALL ".join(
            f"SELECT '{s}' AS s, version_num FROM \"{s}\".alembic_version" for s in chunk
        )
        for schema, version in conn.execute(text(union)):
            result[schema] = version
    return result


@dataclass
class TenantOutcome:
    kode: str
    schema_name: str
    before: str | None
    after: str | None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class UpgradeReport:
    head: str
    upgraded: list[TenantOutcome] = field(default_factory=list)
    failed: list[TenantOutcome] = field(default_factory=list)
    current: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"tenant head {self.head}: {len(self.upgraded)} upgraded, {self.current} already at head, "
            f"{len(self.failed)} failed ({self.seconds:.2f} s)"
        )


def upgrade_tenant(engine: Engine, kode: str, schema: str, tenant_dir: Path) -> TenantOutcome:
    """Upgrade one desa schema in one transaction; record the outcome in the registry."""
    started = time.perf_counter()
    before = after = None
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
            conn.execute(text("SELECT set_config('search_path', :s, true)"), {"s": schema})
            before = tenant_revisions(conn, [schema])[schema]
            _run(conn, tenant_dir, version_table_schema=schema)
            after = tenant_revisions(conn, [schema])[schema]
            conn.execute(
                text(
                    f"UPDATE {SHARED_SCHEMA}.tenant SET revision = :r, status = 'ready', last_error = NULL, "
                    "updated_at = now() WHERE kode = :k"
                ),
                {"r": after, "k": kode},
            )
        return TenantOutcome(kode, schema, before, after, seconds=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - any failure is reported per tenant; the run goes on
        message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"UPDATE {SHARED_SCHEMA}.tenant SET status = 'failed', last_error = :e, updated_at = now() "
                    "WHERE kode = :k"
                ),
                {"e": message, "k": kode},
            )
        return TenantOutcome(kode, schema, before, None, error=message, seconds=time.perf_counter() - started)


def upgrade_tenants(
    engine: Engine,
    tenant_dir: Path,
    *,
    jobs: int = 2,
    progress: Callable[[TenantOutcome, int, int], None] | None = None,
) -> UpgradeReport:
    """Bring every registered desa schema to the tenant head, ``jobs`` schemas at a time (processes)."""
    started = time.perf_counter()
    head = head_of(tenant_dir)
    with engine.connect() as conn:
        tenants = conn.execute(text(f"SELECT kode, schema_name FROM {SHARED_SCHEMA}.tenant ORDER BY kode")).all()
        versions = tenant_revisions(conn, [t.schema_name for t in tenants])
        # Keep the registry's copy of the revision honest for tenants already at head.
        stale = [t.kode for t in tenants if versions[t.schema_name] == head]
        if stale:
            conn.execute(
                text(
                    f"UPDATE {SHARED_SCHEMA}.tenant SET revision = :h, status = 'ready', last_error = NULL "
                    "WHERE kode = ANY(:k) AND (revision IS DISTINCT FROM :h OR status <> 'ready')"
                ),
                {"h": head, "k": stale},
            )
            conn.commit()
    pending = [(t.kode, t.schema_name, tenant_dir) for t in tenants if versions[t.schema_name] != head]
    report = UpgradeReport(head=head, current=len(tenants) - len(pending))

    def record(outcomes: Iterable[TenantOutcome]) -> None:
        for done, outcome in enumerate(outcomes, start=1):
            (report.failed if outcome.error else report.upgraded).append(outcome)
            if progress:
                progress(outcome, done, len(pending))

    if len(pending) <= 1 or jobs <= 1:
        record(upgrade_tenant(engine, *args) for args in pending)
    else:
        # Processes, not threads: Alembic's `op` and `context` are process-global proxies.
        url = engine.url.render_as_string(hide_password=False)
        with process_pool(min(jobs, len(pending)), initializer=_init_pool_worker, initargs=(url,)) as pool:
            record(pool.imap_unordered(_upgrade_in_pool_worker, pending, chunksize=8))
    report.seconds = time.perf_counter() - started
    return report


_pool_engine: Engine | None = None


def _init_pool_worker(url: str) -> None:
    global _pool_engine
    from service.db import make_engine

    _pool_engine = make_engine(url, pool_size=1, max_overflow=0)


def _upgrade_in_pool_worker(args: tuple[str, str, Path]) -> TenantOutcome:
    assert _pool_engine is not None
    return upgrade_tenant(_pool_engine, *args)


def run_alembic_env(context, tree: str) -> None:
    """``env.py`` body for developers running the ``alembic`` CLI against one tree.

    ``-x url=…`` picks the database (default: the configured one); the tenant tree needs
    ``-x schema=desa_…``.
    """
    from service.config import load_settings
    from service.db import make_engine, resolve_database_url

    args = context.get_x_argument(as_dictionary=True)
    url = args.get("url") or resolve_database_url(load_settings())
    schema = args.get("schema") if tree == "tenant" else SHARED_SCHEMA
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, version_table_schema=schema)
        context.run_migrations()
        return
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        if tree == "tenant":
            if not schema:
                raise SystemExit("the tenant tree needs -x schema=desa_<10 digits>")
            conn.execute(text("SELECT set_config('search_path', :s, true)"), {"s": schema})
        else:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SHARED_SCHEMA}"))
        context.configure(connection=conn, version_table_schema=schema)
        context.run_migrations()
