"""Tenancy benchmark: provisioning, tenant migrations and desa-bound sessions.

Run from the project root::

    .venv/bin/python bench/tenancy.py [--database-url URL] [--jobs N] [--skip-province]

It creates its own fresh databases on the server (the embedded pgserver under ``.kawasan-bench/``
when neither ``--database-url`` nor ``DATABASE_URL`` is given) and drops them, with their desa roles
(named ``<database>:<schema>``), at the end. Figures are printed one per line, with units.

Measurements:

1. Provisioning one desa (``provision_desa`` in its own transaction) against its lower bound, replaying
   the tenant head DDL (``tenant_head_sql``) into a new schema in one transaction; medians and ratio.
2. Kabupaten Bungo (15.08) provisioned with ``provision(jobs=N)`` in a clean database.
3. Provinsi Jambi (15) provisioned with ``provision(jobs=N)`` in a clean database (``--skip-province``).
4. ``upgrade_tenants`` with nothing pending, then with one additive tenant revision (``jobs=2``).
5. Per-request overhead of a desa-bound session over a plain ``Session``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
TENANT_DIR = MIGRATIONS / "tenant"

from common import BENCH_DATA_DIR, Server, note, open_server, out, verdict  # noqa: E402

KABUPATEN = "15.08"  # Kabupaten Bungo
PROVINSI = "15"  # Provinsi Jambi
SAMPLES_ONE_DESA = 30
WARMUP_ONE_DESA = 3
SESSION_ITERATIONS = 2000
SESSION_WARMUP = 100

TARGET_RATIO = 1.25
TARGET_KABUPATEN_S = 10.0
TARGET_NOOP_UPGRADE_S = 5.0
TARGET_ADDITIVE_UPGRADE_S = 60.0
TARGET_SESSION_OVERHEAD_MS = 1.0

ADDITIVE_REVISION = textwrap.dedent(
    '''
    """Add pengaturan.keterangan (benchmark revision)

    Revision ID: b9001
    Revises: {down}
    """
    import sqlalchemy as sa
    from alembic import op

    revision = "b9001"
    down_revision = "{down}"
    branch_labels = None
    depends_on = None


    def upgrade():
        op.add_column("pengaturan", sa.Column("keterangan", sa.Text()))


    def downgrade():
        op.drop_column("pengaturan", "keterangan")
    '''
)


# --------------------------------------------------------------------------- output


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# --------------------------------------------------------------------------- server and databases


@contextmanager
def fresh_database(server: Server, jobs: int, label: str) -> Iterator[Engine]:
    """A new database migrated to the shared head (region registry loaded); dropped afterwards."""
    from service.db import make_engine
    from tenants.migrate import upgrade_shared

    url = server.create_database()
    engine = make_engine(url, pool_size=max(2, jobs + 1), max_overflow=4)
    try:
        started = time.perf_counter()
        upgrade_shared(engine, MIGRATIONS)
        note(f"{label}: database {make_url(url).database} migrated in {time.perf_counter() - started:.2f} s")
        yield engine
    finally:
        engine.dispose()
        started = time.perf_counter()
        roles = server.drop_database(url)
        note(f"{label}: database dropped with {roles} roles in {time.perf_counter() - started:.2f} s")


# --------------------------------------------------------------------------- machine and data


def machine_lines(engine: Engine) -> list[str]:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with engine.connect() as conn:
        version = conn.scalar(text("SHOW server_version"))
        settings = {
            name: conn.scalar(text(f"SHOW {name}"))
            for name in ("shared_buffers", "fsync", "synchronous_commit", "max_connections")
        }
    lines = [
        f"nproc: {nproc}",
        f"cpu model: {cpu_model}",
        f"memory: {mem_kib / 1024 / 1024:.1f} GiB" if mem_kib else "memory: unknown",
        f"python: {platform.python_version()}",
        f"postgresql server version: {version}",
        "postgresql settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()),
    ]
    return lines


def count_villages(engine: Engine, code: str) -> int:
    from tenants.provisioning import resolve_villages

    with engine.connect() as conn:
        return len(resolve_villages(conn, [code]))


def tenant_table_count(engine: Engine, schema: str) -> tuple[int, int]:
    """(tables in the schema, of which application tables i.e. without ``alembic_version``)."""
    with engine.connect() as conn:
        names = list(conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}))
    return len(names), len([n for n in names if n != "alembic_version"])


def schema_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text(r"SELECT count(*) FROM pg_namespace WHERE nspname ~ '^desa_\d{10}$'"))


def database_size(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))


# --------------------------------------------------------------------------- 1. one desa


def bench_one_desa(server: Server, jobs: int) -> None:
    from service.regions.codes import parse_kode, schema_name_for
    from tenants.migrate import tenant_head_sql
    from tenants.provisioning import provision_desa, resolve_villages

    out("== 1. one desa: provision_desa vs replaying the tenant head DDL ==")
    with fresh_database(server, jobs, "one desa") as engine:
        head, ddl = tenant_head_sql(TENANT_DIR)
        statements = [s for s in ddl.split(";") if s.strip() and not s.strip().startswith("--")]
        out(f"tenant head revision: {head}")
        out(f"tenant head SQL: {len(ddl)} bytes, {len(statements)} statements")
        with engine.connect() as conn:
            villages = [k for k, _ in resolve_villages(conn, [KABUPATEN])]
        needed = WARMUP_ONE_DESA + SAMPLES_ONE_DESA
        villages = villages[:needed]

        def lower_bound(i: int) -> float:
            schema = f"bench_ddl_{i:03d}"
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                conn.execute(text("SELECT set_config('search_path', :s, true)"), {"s": schema})
                conn.connection.driver_connection.cursor().execute(ddl, prepare=False)
            return time.perf_counter() - started

        def one_desa(kode: str) -> float:
            started = time.perf_counter()
            with engine.begin() as conn:
                created = provision_desa(conn, kode, tenant_dir=TENANT_DIR)
            elapsed = time.perf_counter() - started
            assert created, kode
            return elapsed

        lb_times, pv_times = [], []
        for i, kode in enumerate(villages):  # interleaved, so drift hits both alike
            lb = lower_bound(i)
            pv = one_desa(kode)
            if i >= WARMUP_ONE_DESA:
                lb_times.append(lb)
                pv_times.append(pv)
        schema = schema_name_for(parse_kode(villages[-1]))
        tables, app_tables = tenant_table_count(engine, schema)
        lb_med, pv_med = statistics.median(lb_times), statistics.median(pv_times)
        ratio = pv_med / lb_med
        out(f"tables in a tenant schema: {tables} ({app_tables} application tables + alembic_version)")
        out(
            f"samples: {len(lb_times)} schemas + {len(pv_times)} desa of {KABUPATEN} "
            f"(after {WARMUP_ONE_DESA} warm-up each, interleaved)"
        )
        out(f"lower bound (CREATE SCHEMA + search_path + head DDL, commit) median: {ms(lb_med)}")
        out(f"lower bound mean: {ms(statistics.mean(lb_times))}; min: {ms(min(lb_times))}; max: {ms(max(lb_times))}")
        out(f"provision_desa (own transaction) median: {ms(pv_med)}")
        out(f"provision_desa mean: {ms(statistics.mean(pv_times))}; min: {ms(min(pv_times))}; max: {ms(max(pv_times))}")
        out(f"provision_desa - lower bound (medians): {ms(pv_med - lb_med)}")
        out(
            f"ratio provision_desa / lower bound (medians): {ratio:.2f} x "
            f"(target <= {TARGET_RATIO}: {verdict(ratio, TARGET_RATIO)})"
        )
    out()


# --------------------------------------------------------------------------- 2-5. bulk


def bench_provision(engine: Engine, code: str, label: str, jobs: int, target: float | None) -> float:
    from tenants.provisioning import provision

    villages = count_villages(engine, code)
    note(f"provisioning {label} ({code}, {villages} villages) with jobs={jobs}")
    report = provision(engine, [code], tenant_dir=TENANT_DIR, jobs=jobs)
    assert len(report.created) == villages and not report.existing, report.summary()
    line = (
        f"{label} ({code}, {villages} villages) provision jobs={jobs}: {report.seconds:.2f} s "
        f"({report.seconds / villages * 1000:.1f} ms per desa wall, {villages / report.seconds:.1f} desa/s)"
    )
    if target is not None:
        line += f" (target <= {target:.0f} s: {verdict(report.seconds, target)})"
    out(line)
    return report.seconds


def bench_upgrades(engine: Engine) -> None:
    from tenants.migrate import head_of, tenant_revisions, upgrade_tenants

    schemas = schema_count(engine)
    out(f"== 4. upgrade_tenants over {schemas} desa schemas ==")
    report = upgrade_tenants(engine, TENANT_DIR, jobs=2)
    assert report.ok and not report.upgraded and report.current == schemas, report.summary()
    out(
        f"upgrade_tenants, nothing pending ({report.current} at head): {report.seconds:.2f} s "
        f"(target <= {TARGET_NOOP_UPGRADE_S:.0f} s: {verdict(report.seconds, TARGET_NOOP_UPGRADE_S)})"
    )

    tmp = Path(tempfile.mkdtemp(prefix="kawasan-bench-"))
    try:
        copy = tmp / "migrations"
        shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
        down = head_of(TENANT_DIR)
        (copy / "tenant" / "versions" / "9001_bench_keterangan.py").write_text(ADDITIVE_REVISION.format(down=down))
        note(f"upgrading {schemas} schemas {down} -> b9001 with jobs=2")
        report = upgrade_tenants(engine, copy / "tenant", jobs=2)
        assert report.ok and len(report.upgraded) == schemas, report.summary()
        per_schema = [o.seconds for o in report.upgraded]
        out(
            f"upgrade_tenants, one additive revision ({down} -> b9001, {len(report.upgraded)} upgraded, "
            f"jobs=2): {report.seconds:.2f} s "
            f"(target <= {TARGET_ADDITIVE_UPGRADE_S:.0f} s: {verdict(report.seconds, TARGET_ADDITIVE_UPGRADE_S)})"
        )
        out(
            f"  per schema (inside a worker) median: {ms(statistics.median(per_schema))}; "
            f"mean: {ms(statistics.mean(per_schema))}; max: {ms(max(per_schema))}"
        )
        with engine.connect() as conn:
            names = list(conn.scalars(text("SELECT schema_name FROM kawasan.tenant")))
            revisions = set(tenant_revisions(conn, names).values())
            registry = set(conn.scalars(text("SELECT DISTINCT revision FROM kawasan.tenant")))
        assert revisions == {"b9001"} and registry == {"b9001"}, (revisions, registry)
        again = upgrade_tenants(engine, copy / "tenant", jobs=2)
        assert again.ok and not again.upgraded, again.summary()
        out(f"upgrade_tenants again, nothing pending after the revision: {again.seconds:.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out()


def bench_sessions(engine: Engine, kode: str) -> None:
    from tenants.session import DesaSession, desa_session, find_desa

    out(f"== 5. per-request session overhead (desa {kode}, SELECT 1, N={SESSION_ITERATIONS}) ==")
    with engine.connect() as conn:
        tenant = find_desa(conn, kode)
    query = text("SELECT 1")

    def plain() -> None:
        with Session(engine) as session:
            assert session.execute(query).scalar() == 1

    def via_desa_session() -> None:
        with desa_session(engine, kode) as session:
            assert session.execute(query).scalar() == 1

    def pre_resolved() -> None:
        with DesaSession(engine, tenant) as session:
            assert session.execute(query).scalar() == 1

    variants: list[tuple[str, Callable[[], None]]] = [
        ("plain Session", plain),
        ("desa_session(engine, kode) incl. registry lookup", via_desa_session),
        ("DesaSession(engine, pre-resolved DesaTenant)", pre_resolved),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in variants}
    clock = time.perf_counter_ns
    for i in range(SESSION_WARMUP + SESSION_ITERATIONS):
        # Rotate the order every iteration so neither variant always follows the same one.
        for j in range(len(variants)):
            name, fn = variants[(i + j) % len(variants)]
            started = clock()
            fn()
            elapsed = clock() - started
            if i >= SESSION_WARMUP:
                times[name].append(elapsed / 1e9)
    medians = {}
    for name, _ in variants:
        values = sorted(times[name])
        medians[name] = statistics.median(values)
        p95 = values[int(len(values) * 0.95) - 1]
        out(f"{name}: median {ms(medians[name])}; mean {ms(statistics.mean(values))}; p95 {ms(p95)} per request")
    base = variants[0][0]
    base_mean = statistics.mean(times[base])
    for name, _ in variants[1:]:
        diff = medians[name] - medians[base]
        out(
            f"overhead of {name} over plain Session: median {ms(diff)}; "
            f"mean {ms(statistics.mean(times[name]) - base_mean)} "
            f"(target <= {TARGET_SESSION_OVERHEAD_MS:.0f} ms: {verdict(diff * 1000, TARGET_SESSION_OVERHEAD_MS)})"
        )
    out()


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or None,
        help="libpq URL of a server to benchmark on (default: DATABASE_URL, else embedded)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="provisioning parallelism (default: 2)")
    parser.add_argument("--skip-province", action="store_true", help="skip Provinsi Jambi (1,585 villages)")
    args = parser.parse_args(argv)

    bench_started = time.perf_counter()
    server = open_server(args.database_url)
    try:
        from tenants.migrate import tenant_head_sql

        tenant_head_sql(TENANT_DIR)  # render once, outside every measurement

        with fresh_database(server, args.jobs, "probe") as engine:
            out("== machine ==")
            for line in machine_lines(engine):
                out(line)
            where = f"embedded pgserver under {BENCH_DATA_DIR}" if server.embedded else "external server"
            out(f"postgresql: {where}")
            out()
            out("== data ==")
            with engine.connect() as conn:
                regions = conn.scalar(text("SELECT count(*) FROM kawasan.wilayah_administrasi"))
            out(f"region registry rows (kawasan.wilayah_administrasi): {regions}")
            out(f"villages in Kabupaten Bungo ({KABUPATEN}): {count_villages(engine, KABUPATEN)}")
            out(f"villages in Provinsi Jambi ({PROVINSI}): {count_villages(engine, PROVINSI)}")
            out(f"provisioning jobs: {args.jobs}")
            out()

        bench_one_desa(server, args.jobs)

        out(f"== 2. Kabupaten Bungo ({KABUPATEN}) in a clean database ==")
        with fresh_database(server, args.jobs, "kabupaten") as engine:
            bench_provision(engine, KABUPATEN, "Kabupaten Bungo", args.jobs, TARGET_KABUPATEN_S)
            out(f"database size after: {database_size(engine)}")
            out()
            if args.skip_province:
                out("== 3. Provinsi Jambi: skipped (--skip-province) ==")
                out()
                bench_upgrades(engine)
                bench_sessions(engine, "15.08.14.2001")
        if not args.skip_province:
            out(f"== 3. Provinsi Jambi ({PROVINSI}) in a clean database ==")
            with fresh_database(server, args.jobs, "provinsi") as engine:
                bench_provision(engine, PROVINSI, "Provinsi Jambi", args.jobs, None)
                out(f"database size after: {database_size(engine)}")
                out()
                bench_upgrades(engine)
                bench_sessions(engine, "15.08.14.2001")
    finally:
        server.drop_all()
    out(f"total benchmark time: {time.perf_counter() - bench_started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
