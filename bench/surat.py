"""Layanan surat benchmark: village approval → kecamatan inbox, forwarded approvals per second, PDF rendering.

Run from the project root::

    .venv/bin/python bench/surat.py [--database-url URL] [--redis-url URL] [--approvals N] [--forwarded N]
                                    [--pdf N] [--skip-sustained]

It creates its own throwaway database (the embedded pgserver under ``.kawasan-bench/`` unless
``--database-url``/``DATABASE_URL``) and drops it, with its desa roles, at the end. Redis is
``--redis-url``/``REDIS_URL``, else the embedded Redis under ``.kawasan-bench/``; the benchmark uses a Redis
database of its own (a random number 1–15, flushed before and after), so another process's queues are
neither read nor flushed. The worker and the relay are real subprocesses (``python -m service.cli worker``
/ ``relay``) with ``DATABASE_URL``/``REDIS_URL`` pointing at the benchmark's database and Redis. Figures go to
stdout one per line, with units; progress goes to stderr.

Measurements (Bathin III Ulu provisioned, 300 residents per desa; requests of type S-04, whose chain goes to
the camat, created at *Menunggu Tandatangan*):

(a) Village final approval → visible in the kecamatan inbox: the Rio signs (``services.tandatangani`` and
    commit in a ``DesaSession``), then a poller (1 ms sleep) waits for the ``kawasan.kotak_masuk`` row. Timed
    from the end of the commit to the row being visible; one request at a time, after warm-up; with the
    relay and one worker process. Run with the ``kawasan worker`` (RQ ``Worker``: forks a work horse per
    job) and with RQ's ``SimpleWorker`` (``rq worker -w rq.worker.SimpleWorker``: jobs in the worker
    process). The outbox timestamps split it: commit → relay's pass, relay → job start, job → visible.
(b) Forwarded approvals per second. *Drain*: N requests signed with no worker running (the relay queues
    their ``surat.naik`` jobs), then the worker(s) start; the rate is the items placed per second between
    the first and the last placement (``masuk_pada``, the jobs' transaction start). For 1 and 2
    ``kawasan worker`` processes and 1 ``SimpleWorker``. *Sustained*: the worker running while two threads
    sign N requests as fast as they can; offered rate, placed rate while signing, and lag at the end.
(c) PDF rendering: ``render_letter`` of an issued S-02 letter, median over N after warm-up; the share of
    font subsetting (cProfile over 10 renders) and, for comparison, the same render with whole fonts
    embedded (no subsetting); and a Rio signature that issues (``tandatangani`` → ``terbitkan``: number,
    PDF, verification row; with commit), median over 20.

Targets: approval → inbox p95 <= 500 ms; >= 100 forwarded approvals/s; PDF <= 300 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import platform
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # ``service`` when run as ``python bench/surat.py``

from common import (  # noqa: E402
    BENCH_DATA_DIR,
    load_average,
    note,
    open_redis,
    open_server,
    out,
    percentile,
    with_redis_db,
)

KECAMATAN = "15.08.14"  # Bathin III Ulu
PILOT = tuple(f"{KECAMATAN}.{n}" for n in range(2001, 2010))
PENDUDUK_PER_DESA = 300
BASE_URL = "http://bench.invalid"
WARMUP = 10
DEFAULT_APPROVALS = 200
DEFAULT_FORWARDED = 2000
DEFAULT_PDF = 50
SIGNING_THREADS = 4
SUSTAINED_PRODUCERS = 2

TARGET_LATENCY_P95_MS = 500.0
TARGET_FORWARDED_PER_S = 100.0
TARGET_PDF_MS = 300.0


# --------------------------------------------------------------------------- output


def ms(seconds: float, digits: int = 1) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def at_most(value: float, target: float) -> str:
    return "OK" if value <= target else "MISSED"


def at_least(value: float, target: float) -> str:
    return "OK" if value >= target else "MISSED"


# --------------------------------------------------------------------------- server, database, redis


def machine_lines(engine: Engine, redis_client) -> list[str]:
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_kib = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with engine.connect() as conn:
        version = conn.scalar(text("SHOW server_version"))
        settings = {name: conn.scalar(text(f"SHOW {name}"))
                    for name in ("shared_buffers", "fsync", "synchronous_commit", "max_connections")}
    from importlib.metadata import version as dist_version

    return [
        f"nproc: {nproc}",
        f"cpu model: {cpu_model}",
        f"memory: {mem_kib / 1024 / 1024:.1f} GiB" if mem_kib else "memory: unknown",
        f"load average at start (1/5/15 min): {load_average()}",
        f"python: {platform.python_version()}",
        f"postgresql server version: {version}",
        "postgresql settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()),
        f"redis server version: {redis_client.info('server').get('redis_version')}",
        "libraries: " + ", ".join(f"{d} {dist_version(d)}"
                                  for d in ("rq", "redis", "psycopg", "sqlalchemy", "weasyprint", "fonttools")),
    ]


# --------------------------------------------------------------------------- processes


class Processes:
    """The relay and worker subprocesses; each is stopped by its own pid (and its work horses)."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.running[name] = proc
        return proc

    def stop(self, name: str) -> None:
        import psutil

        proc = self.running.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            family = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            family = [proc.pid]
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            for pid in family:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(5)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def kawasan_worker() -> list[str]:
    return [sys.executable, "-m", "service.cli", "worker"]


def simple_worker(redis_url: str) -> list[str]:
    rq = Path(sys.executable).with_name("rq")
    return [str(rq), "worker", "-w", "rq.worker.SimpleWorker", "-u", redis_url, "-P", str(ROOT),
            "--logging_level", "WARNING", "tenants", "default"]


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_workers(redis_client, n: int) -> None:
    from rq import Worker

    wait_for(lambda: len(Worker.all(connection=redis_client)) >= n, 60, f"{n} worker(s) to register")


# --------------------------------------------------------------------------- requests


class Desk:
    """Requests at *Menunggu Tandatangan* and the Rio who signs them."""

    def __init__(self, engine: Engine):
        from sqlalchemy import select

        from service.auth.principal import Kind, Principal
        from service.auth.roles import Grant, Peran
        from service.penduduk.models import Penduduk
        from tenants.session import DesaSession

        self.engine = engine
        self.rio = {kode: Principal(kind=Kind.STAFF, subject="staff:1", name=f"Rio {kode}",
                                    grants=(Grant(Peran.KEPALA_DESA, kode),)) for kode in PILOT}
        self.residents: dict[str, list[int]] = {}
        for kode in PILOT:
            with DesaSession(engine, kode) as session:
                self.residents[kode] = list(session.scalars(
                    select(Penduduk.id).where(Penduduk.status_dasar == 1).order_by(Penduduk.id)))

    def create(self, n: int, *, jenis: str = "S-04", rantai: str = "kecamatan") -> list[tuple[str, int, uuid.UUID]]:
        from service.surat import services
        from service.surat.models import PermohonanSurat
        from tenants.session import DesaSession

        made = []
        for index, kode in enumerate(PILOT):
            count = n // len(PILOT) + (index < n % len(PILOT))
            if not count:
                continue
            people = self.residents[kode]
            with DesaSession(self.engine, kode, expire_on_commit=False) as session:
                rows = [PermohonanSurat(public_id=uuid.uuid4(), jenis_kode=jenis, penduduk_id=people[i % len(people)],
                                        pemohon="staff:1", isian={"alamat_tujuan": "Kecamatan Pelepat",
                                                                  "alasan": "pekerjaan", "keperluan": "bench"},
                                        status=services.MENUNGGU_TANDATANGAN, rantai=rantai, langkah=2)
                        for i in range(count)]
                session.add_all(rows)
                session.commit()
                made += [(kode, r.id, r.public_id) for r in rows]
        random.Random(n).shuffle(made)  # villages interleaved, as approvals arrive
        return made

    def sign(self, kode: str, pid: int) -> tuple[float, float]:
        """The Rio signs; returns (perf_counter before commit, perf_counter after commit)."""
        from service.surat import services
        from service.surat.models import PermohonanSurat
        from tenants.session import DesaSession

        with DesaSession(self.engine, kode) as session:
            permohonan = session.get(PermohonanSurat, pid)
            services.tandatangani(session, permohonan, self.rio[kode], base_url=BASE_URL)
            before = time.perf_counter()
            session.commit()
            return before, time.perf_counter()

    def sign_all(self, items: list[tuple[str, int, uuid.UUID]], threads: int) -> tuple[float, float, list[float]]:
        """Sign every item with ``threads`` threads; returns (wall start, wall end, per-sign commit times)."""
        done: list[float] = []
        started = time.time()

        def one(item):
            self.sign(item[0], item[1])
            done.append(time.time())

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, items))
        return started, time.time(), done


def placed_count(engine: Engine, ids: list[uuid.UUID]) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM kawasan.kotak_masuk WHERE permohonan_id = ANY(:p)"),
                           {"p": ids})


def placement_times(engine: Engine, ids: list[uuid.UUID]) -> list[datetime]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT masuk_pada FROM kawasan.kotak_masuk WHERE permohonan_id = ANY(:p) "
                                      "ORDER BY masuk_pada"), {"p": ids}))


# --------------------------------------------------------------------------- (a) latency


def bench_latency(engine: Engine, desk: Desk, procs: Processes, redis_client, redis_url: str, n: int) -> None:
    out(f"== (a) village final approval → visible in the kecamatan inbox (n={n} after {WARMUP} warm-up, "
        "one at a time; relay + one worker process) ==")
    poller = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    exists = text("SELECT 1 FROM kawasan.kotak_masuk WHERE desa_kode = :d AND permohonan_id = :p")
    try:
        for label, args in (("kawasan worker (RQ Worker, fork per job)", kawasan_worker()),
                            ("rq SimpleWorker (jobs in the worker process)", simple_worker(redis_url))):
            procs.start("worker", args)
            wait_for_workers(redis_client, 1)
            items = desk.create(WARMUP + n)
            latencies, from_commit_start = [], []
            for i, (kode, pid, public_id) in enumerate(items):
                before, after = desk.sign(kode, pid)
                while poller.execute(exists, {"d": kode, "p": public_id}).first() is None:
                    time.sleep(0.001)
                    if time.perf_counter() - after > 30:
                        raise TimeoutError(f"request {public_id} not in the inbox after 30 s")
                seen = time.perf_counter()
                if i >= WARMUP:
                    latencies.append(seen - after)
                    from_commit_start.append(seen - before)
            procs.stop("worker")
            timed = [public_id for _, _, public_id in items[WARMUP:]]
            parts = poller.execute(text(
                """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.enqueued_at - o.created_at)),
                          percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM k.masuk_pada - o.enqueued_at))
                   FROM kawasan.outbox o JOIN kawasan.kotak_masuk k
                     ON k.permohonan_id = (o.payload->>'permohonan')::uuid AND k.tingkat = 'kecamatan'
                   WHERE o.topic = 'surat.naik' AND k.permohonan_id = ANY(:p)"""), {"p": timed}).one()
            p95 = percentile(latencies, 95)
            out(f"{label}: p50 {ms(statistics.median(latencies))}; p95 {ms(p95)}; max {ms(max(latencies))} "
                f"(p95 counted from the start of the commit: {ms(percentile(from_commit_start, 95))}) "
                f"(target p95 <= {TARGET_LATENCY_P95_MS:.0f} ms: {at_most(p95 * 1000, TARGET_LATENCY_P95_MS)})")
            out(f"  medians from the outbox timestamps: signing transaction start → relay's pass "
                f"{ms(parts[0])}; relay's pass → job's transaction start {ms(parts[1])}")
    finally:
        poller.close()
    out()


# --------------------------------------------------------------------------- (b) throughput


def bench_drain(engine: Engine, desk: Desk, procs: Processes, redis_client, redis_url: str, n: int) -> None:
    out(f"== (b) forwarded approvals per second: draining {n:,} signed approvals (relay running; "
        "worker(s) started once the relay has queued every job) ==")
    variants = (
        ("1 kawasan worker (RQ Worker, fork per job)", [kawasan_worker()]),
        ("2 kawasan workers (fork per job)", [kawasan_worker(), kawasan_worker()]),
        ("1 rq SimpleWorker (jobs in the worker process)", [simple_worker(redis_url)]),
    )
    for label, workers in variants:
        items = desk.create(n)
        ids = [public_id for _, _, public_id in items]
        started, ended, _ = desk.sign_all(items, SIGNING_THREADS)
        note(f"{label}: signed {n} in {ended - started:.1f} s ({n / (ended - started):.0f}/s, "
             f"{SIGNING_THREADS} threads)")

        def all_queued(ids=ids) -> bool:
            with engine.connect() as conn:
                return not conn.scalar(text(
                    "SELECT count(*) FROM kawasan.outbox WHERE topic = 'surat.naik' AND status = 'pending' "
                    "AND enqueued_at IS NULL AND (payload->>'permohonan')::uuid = ANY(:p)"), {"p": ids})

        wait_for(all_queued, 60, "the relay to queue every job", interval=0.2)
        launched = time.perf_counter()
        for i, args in enumerate(workers):
            procs.start(f"drain-{i}", args)
        wait_for(lambda ids=ids: placed_count(engine, ids) >= n, n / 5 + 120, f"{n} inbox items", interval=0.2)
        wall = time.perf_counter() - launched
        for i in range(len(workers)):
            procs.stop(f"drain-{i}")
        times = placement_times(engine, ids)
        span = (times[-1] - times[0]).total_seconds()
        rate = (len(times) - 1) / span if span > 0 else float("inf")
        out(f"{label}: {rate:,.0f} inbox items/s between the first and the last placement "
            f"({len(times):,} in {span:.2f} s; {wall:.2f} s from starting the worker(s), start-up included) "
            f"(target >= {TARGET_FORWARDED_PER_S:.0f}/s: {at_least(rate, TARGET_FORWARDED_PER_S)})")
    out()


def bench_sustained(engine: Engine, desk: Desk, procs: Processes, redis_client, redis_url: str, n: int) -> None:
    out(f"== (b) sustained: {n:,} approvals signed by {SUSTAINED_PRODUCERS} threads as fast as they can, while "
        "the relay and one worker run ==")
    for label, args in (("1 kawasan worker (fork per job)", kawasan_worker()),
                        ("1 rq SimpleWorker", simple_worker(redis_url))):
        items = desk.create(n)
        ids = [public_id for _, _, public_id in items]
        procs.start("worker", args)
        wait_for_workers(redis_client, 1)
        started, ended, _ = desk.sign_all(items, SUSTAINED_PRODUCERS)
        wait_for(lambda ids=ids: placed_count(engine, ids) >= n, n / 5 + 120, f"{n} inbox items", interval=0.2)
        procs.stop("worker")
        times = [t.timestamp() for t in placement_times(engine, ids)]
        offered = n / (ended - started)
        during = sum(1 for t in times if t <= ended) / (ended - started)
        lag = times[-1] - ended
        overall = n / (times[-1] - started)
        out(f"{label}: offered {offered:,.0f} approvals/s; placed {during:,.0f}/s while signing; "
            f"{overall:,.0f}/s overall; last item placed {max(lag, 0):.2f} s after the last signature")
    out()


# --------------------------------------------------------------------------- (c) PDF


def bench_pdf(engine: Engine, desk: Desk, n: int) -> None:
    from service.surat import services
    from service.surat.models import PermohonanSurat
    from service.surat.pdf import render_letter
    from tenants.session import DesaSession

    out(f"== (c) PDF rendering (render_letter of an S-02 letter; median over {n} after 3 warm-up) ==")
    kode = PILOT[0]
    with DesaSession(engine, kode) as session:
        session.connection()  # enter the desa (session.desa)
        jenis = services.resolve_jenis(session, "S-02")
        permohonan = PermohonanSurat(
            public_id=uuid.uuid4(), jenis_kode="S-02", penduduk_id=desk.residents[kode][0], pemohon="staff:1",
            isian={"keperluan": "melamar pekerjaan"}, status=services.SIAP_DIAMBIL, rantai="desa",
            nomor="400.12.2.1/001/2001/XI/2026", diterbitkan_pada=datetime.now(UTC),
            penandatangan=[{"tingkat": "desa", "nama": "Rio Bench", "jabatan": "Rio Muara Buat",
                            "waktu": datetime.now(UTC).isoformat()}],
        )
        verify = f"{BASE_URL}/verifikasi/{'x' * 43}"
        for _ in range(3):
            render_letter(session, permohonan, jenis, verify_url=verify)
        samples, size = [], 0
        for _ in range(n):
            started = time.perf_counter()
            pdf = render_letter(session, permohonan, jenis, verify_url=verify)
            samples.append(time.perf_counter() - started)
            size = len(pdf)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(10):
            render_letter(session, permohonan, jenis, verify_url=verify)
        profile.disable()
        # The same letter with whole fonts embedded (WeasyPrint's full_fonts): no subsetting, bigger files.
        from weasyprint import HTML

        write_pdf = HTML.write_pdf
        HTML.write_pdf = lambda self, *a, **kw: write_pdf(self, *a, **{**kw, "full_fonts": True})
        try:
            full, full_size = [], 0
            for _ in range(10):
                started = time.perf_counter()
                full_size = len(render_letter(session, permohonan, jenis, verify_url=verify))
                full.append(time.perf_counter() - started)
        finally:
            HTML.write_pdf = write_pdf
    median = statistics.median(samples)
    out(f"render_letter: median {ms(median)}; p95 {ms(percentile(samples, 95))}; min {ms(min(samples))} "
        f"({size / 1024:.0f} KiB PDF) (target <= {TARGET_PDF_MS:.0f} ms: {at_most(median * 1000, TARGET_PDF_MS)})")
    stats = pstats.Stats(profile)
    total = sum(entry[3] for key, entry in stats.stats.items() if key[2] == "render_letter")
    fonts = sum(entry[3] for key, entry in stats.stats.items()
                if key[2] == "build_fonts_dictionary" and "weasyprint" in key[0])
    if total:
        out(f"  font subsetting (weasyprint build_fonts_dictionary → fontTools) is {fonts / total:.0%} of the "
            "render time (cProfile, 10 renders; the profiler overstates pure-Python code: see the next line)")
    out(f"  for comparison, with whole fonts embedded (WeasyPrint full_fonts=True, no subsetting): median "
        f"{ms(statistics.median(full))} ({full_size / 1024:.0f} KiB PDF; n=10)")

    warm, timed = desk.create(5, jenis="S-02", rantai="desa"), desk.create(20, jenis="S-02", rantai="desa")
    for desa, pid, _ in warm:
        desk.sign(desa, pid)
    whole = []
    for desa, pid, _ in timed:
        started = time.perf_counter()
        desk.sign(desa, pid)
        whole.append(time.perf_counter() - started)
    out(f"Rio's signature that issues (tandatangani → terbitkan: number, PDF, verification row; commit): "
        f"median {ms(statistics.median(whole))}; p95 {ms(percentile(whole, 95))} (n={len(whole)}, after 5 warm-up)")
    out()


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or None,
                        help="libpq URL of a server to benchmark on (default: DATABASE_URL, else embedded)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None,
                        help="Redis URL (default: REDIS_URL, else the embedded Redis under .kawasan-bench/)")
    parser.add_argument("--approvals", type=int, default=DEFAULT_APPROVALS,
                        help=f"timed approvals per worker kind in (a) (default: {DEFAULT_APPROVALS})")
    parser.add_argument("--forwarded", type=int, default=DEFAULT_FORWARDED,
                        help=f"approvals per run in (b) (default: {DEFAULT_FORWARDED})")
    parser.add_argument("--pdf", type=int, default=DEFAULT_PDF, help=f"timed renders in (c) (default: {DEFAULT_PDF})")
    parser.add_argument("--skip-sustained", action="store_true", help="skip the sustained part of (b)")
    args = parser.parse_args(argv)

    import redis

    from service.config import Settings
    from service.db import make_engine
    from service.penduduk.demo_data import isi_desa
    from service.runtime import get_runtime
    from tenants.migrate import upgrade_shared
    from tenants.provisioning import provision

    bench_started = time.perf_counter()
    server = open_server(args.database_url)
    base_redis_url, redis_embedded = open_redis(args.redis_url)
    redis_db = random.randint(1, 15)
    redis_url = with_redis_db(base_redis_url, redis_db)
    redis_client = redis.Redis.from_url(redis_url)
    redis_client.flushdb()
    procs: Processes | None = None
    engine = None
    log_dir = Path(tempfile.mkdtemp(prefix="kawasan-bench-surat-"))
    succeeded = False
    try:
        url = server.create_database()
        settings = Settings(database_url=url, redis_url=redis_url, data_dir=BENCH_DATA_DIR.resolve(),
                            migrations_dir=MIGRATIONS, outbox_redeliver_after=30.0, relay_poll_interval=1.0,
                            log_level="WARNING")
        get_runtime(settings)  # the register generator hashes NIKs with the process runtime's secret key
        engine = make_engine(url, pool_size=SIGNING_THREADS + 2)
        started = time.perf_counter()
        upgrade_shared(engine, MIGRATIONS)
        provision(engine, [KECAMATAN], tenant_dir=MIGRATIONS / "tenant")
        for kode in PILOT:
            isi_desa(engine, kode, penduduk=PENDUDUK_PER_DESA)
        note(f"database {make_url(url).database}: migrated, {len(PILOT)} desa provisioned and filled in "
             f"{time.perf_counter() - started:.1f} s")
        desk = Desk(engine)

        out("== machine ==")
        for line in machine_lines(engine, redis_client):
            out(line)
        out(f"postgresql: {'embedded pgserver under ' + str(BENCH_DATA_DIR) if server.embedded else 'external server'}")
        out(f"redis: {'embedded redis under ' + str(BENCH_DATA_DIR) if redis_embedded else 'external server'} "
            f"(database {redis_db}, this benchmark's own)")
        out(f"relay: python -m service.cli relay (LISTEN/NOTIFY, poll every {settings.relay_poll_interval:.1f} s)")
        out()

        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
        env.update(DATABASE_URL=url, REDIS_URL=redis_url, KAWASAN_DATA_DIR=str(BENCH_DATA_DIR.resolve()),
                   KAWASAN_MIGRATIONS_DIR=str(MIGRATIONS), KAWASAN_OUTBOX_REDELIVER_AFTER="30",
                   KAWASAN_RELAY_POLL_INTERVAL=str(settings.relay_poll_interval), KAWASAN_LOG_LEVEL="WARNING")
        procs = Processes(env, log_dir)
        procs.start("relay", [sys.executable, "-m", "service.cli", "relay"])
        bench_latency(engine, desk, procs, redis_client, redis_url, args.approvals)
        bench_drain(engine, desk, procs, redis_client, redis_url, args.forwarded)
        if args.skip_sustained:
            out("== (b) sustained: skipped (--skip-sustained) ==\n")
        else:
            bench_sustained(engine, desk, procs, redis_client, redis_url, args.forwarded)
        procs.stop_all()
        bench_pdf(engine, desk, args.pdf)
        out(f"load average at the end (1/5/15 min): {load_average()}")
        succeeded = True
    finally:
        if procs is not None:
            procs.stop_all()
        if engine is not None:
            engine.dispose()
        with contextlib.suppress(Exception):
            get_runtime().engine.dispose()
        with contextlib.suppress(Exception):
            redis_client.flushdb()
        server.drop_all()
        if succeeded:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            note(f"worker/relay logs: {log_dir}")
    out(f"total benchmark time: {time.perf_counter() - bench_started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
