"""Kecamatan and kabupaten dashboards: API latency over the rollups, rebuilding them, and freshness.

For each size (default: about 100,000 and about 370,000 residents), a throwaway database gets Kabupaten Bungo
(15.08, every desa provisioned) and a synthetic register per desa (``service.penduduk.demo_data.isi_desa``,
two processes). Then:

(a) Rebuild: ``kawasan stats rebuild 15.08`` (a subprocess, as an operator runs it) over every desa with the
    rollup tables emptied first, then ``kawasan stats verify 15.08`` (must find nothing).
(b) Dashboards through the API (Flask test client, an admin_platform token): ``GET /api/v1/wilayah/<kecamatan>
    /rekap`` cycling over the kecamatan, and ``GET /api/v1/wilayah/15.08/rekap`` (plus its time series and a
    ranking); p50/p95 after warm-up.
(c) Freshness (largest size only): a real relay and a real worker (``kawasan relay``, ``kawasan worker
    --simple``: the Helm default) run; a resident is registered through the register's services in a random
    desa and the kecamatan dashboard is polled through the API until its total shows the new resident.
    p50/p95 over ``--changes`` changes.

Targets: kecamatan p95 <= 50 ms, kabupaten p95 <= 100 ms at every size; rebuild <= 60 s; freshness p95 <= 2 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import (  # noqa: E402
    BENCH_DATA_DIR,
    MIGRATIONS,
    bench_settings,
    load_average,
    note,
    open_server,
    out,
    percentile,
    private_redis,
    verdict,
)
from surat import Processes, machine_lines, wait_for  # noqa: E402

KABUPATEN = "15.08"  # Bungo
SIZES = (100_000, 370_000)
TARGET_KECAMATAN_MS = 50.0
TARGET_KABUPATEN_MS = 100.0
TARGET_REBUILD_S = 60.0
TARGET_FRESH_S = 2.0
FILL_JOBS = 2


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _fill_part(url: str, redis_url: str, codes: list[str], per_desa: int) -> int:
    from service.db import make_engine
    from service.penduduk.demo_data import isi_desa
    from service.runtime import get_runtime

    get_runtime(bench_settings(url, redis_url))  # NIK hashes use the runtime's key
    engine = make_engine(url, pool_size=2)
    try:
        return sum(isi_desa(engine, kode, penduduk=per_desa).get("penduduk_hidup", 0) for kode in codes)
    finally:
        engine.dispose()


def populate(engine, url: str, redis_url: str, total: int) -> tuple[list[str], int]:
    """Bungo provisioned and filled with about ``total`` residents; returns (desa codes, living residents)."""
    import multiprocessing

    from tenants.migrate import upgrade_shared
    from tenants.provisioning import provision, resolve_villages

    started = time.perf_counter()
    upgrade_shared(engine, MIGRATIONS)
    provision(engine, [KABUPATEN], tenant_dir=MIGRATIONS / "tenant", jobs=2)
    with engine.connect() as conn:
        codes = [k for k, _ in resolve_villages(conn, [KABUPATEN])]
    provisioned = time.perf_counter()
    per_desa = max(1, round(total / len(codes)))
    engine.dispose()
    with multiprocessing.get_context("fork").Pool(FILL_JOBS) as pool:
        living = sum(pool.starmap(_fill_part, [(url, redis_url, codes[i::FILL_JOBS], per_desa)
                                               for i in range(FILL_JOBS)]))
    note(f"{len(codes)} desa provisioned in {provisioned - started:.1f} s, filled with {living:,} living residents "
         f"({per_desa:,} asked per desa) in {time.perf_counter() - provisioned:.1f} s")
    return codes, living


def cli(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    return result, time.perf_counter() - started


def bench_rebuild(engine, env: dict[str, str], n_desa: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM kawasan.rekap_desa"))  # the figure rows go with it (ON DELETE CASCADE)
        conn.execute(text("DELETE FROM kawasan.rekap_angka_wilayah"))
    result, took = cli(env, "stats", "rebuild", KABUPATEN, "--jobs", "2")
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    out(f"(a) kawasan stats rebuild {KABUPATEN} --jobs 2 over {n_desa} desa, rollup tables empty: {took:.1f} s "
        f"wall incl. interpreter start ({result.stdout.strip()}) (target <= {TARGET_REBUILD_S:.0f} s: "
        f"{verdict(took, TARGET_REBUILD_S)})")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT (SELECT count(*) FROM kawasan.rekap_desa), "
                                 "(SELECT count(*) FROM kawasan.rekap_angka), "
                                 "(SELECT count(*) FROM kawasan.rekap_bulanan)")).one()
    out(f"    rollup size: {rows[0]} rekap_desa, {rows[1]:,} rekap_angka, {rows[2]:,} rekap_bulanan rows")
    result, took = cli(env, "stats", "verify", KABUPATEN)
    out(f"    kawasan stats verify {KABUPATEN}: exit {result.returncode} in {took:.1f} s "
        f"({result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ''})")
    if result.returncode != 0:
        raise RuntimeError("verify found differences right after a rebuild:\n" + result.stdout[:2000])


def _timed(client, url: str, headers, n: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        client.get(url, headers=headers)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.get_data(as_text=True)[:300]}")
    return samples


def bench_api(app, headers, kecamatan: list[str], n: int) -> None:
    client = app.test_client()
    for k in kecamatan:
        client.get(f"/api/v1/wilayah/{k}/rekap", headers=headers)
    samples = []
    for i in range(n):
        url = f"/api/v1/wilayah/{kecamatan[i % len(kecamatan)]}/rekap"
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_json()
    p95 = percentile(samples, 95)
    size = len(client.get(f"/api/v1/wilayah/{kecamatan[0]}/rekap", headers=headers).data)
    out(f"(b) kecamatan dashboard GET /wilayah/<kecamatan>/rekap over {len(kecamatan)} kecamatan: p50 "
        f"{ms(statistics.median(samples))}, p95 {ms(p95)}, max {ms(max(samples))} (n={n}; ~{size / 1024:.0f} KiB) "
        f"(target p95 <= {TARGET_KECAMATAN_MS:.0f} ms: {verdict(p95 * 1000, TARGET_KECAMATAN_MS)})")
    samples = _timed(client, f"/api/v1/wilayah/{KABUPATEN}/rekap", headers, n)
    p95 = percentile(samples, 95)
    size = len(client.get(f"/api/v1/wilayah/{KABUPATEN}/rekap", headers=headers).data)
    out(f"    kabupaten dashboard GET /wilayah/{KABUPATEN}/rekap: p50 {ms(statistics.median(samples))}, p95 {ms(p95)}, "
        f"max {ms(max(samples))} (n={n}; ~{size / 1024:.0f} KiB) (target p95 <= {TARGET_KABUPATEN_MS:.0f} ms: "
        f"{verdict(p95 * 1000, TARGET_KABUPATEN_MS)})")
    for label, url in (("time series by month", f"/api/v1/wilayah/{KABUPATEN}/rekap/deret"),
                       ("ranking (bottom 10 by KTP-el)",
                        f"/api/v1/wilayah/{KABUPATEN}/rekap/peringkat?ukuran=ktp_el&urutan=bawah"),
                       ("xlsx export", f"/api/v1/wilayah/{KABUPATEN}/rekap/ekspor?format=xlsx")):
        samples = _timed(client, url, headers, max(20, n // 5), warmup=2)
        out(f"    kabupaten {label}: p50 {ms(statistics.median(samples))}, p95 {ms(percentile(samples, 95))} "
            f"(n={len(samples)})")


def bench_freshness(app, headers, engine, env: dict[str, str], log_dir: Path, redis_client, n: int) -> None:
    from surat import wait_for_workers

    from service.penduduk.services import add_penduduk, create_keluarga
    from tenants.session import DesaSession
    from tests.fixtures import new_nik, new_no_kk, nik_birth_date

    procs = Processes(env, log_dir)
    client = app.test_client()
    rng = random.Random(6)
    with engine.connect() as conn:
        desa = list(conn.scalars(text("SELECT desa_kode FROM kawasan.rekap_desa ORDER BY 1")))
    try:
        procs.start("relay", [sys.executable, "-m", "service.cli", "relay"])
        procs.start("worker", [sys.executable, "-m", "service.cli", "worker", "--simple"])
        wait_for_workers(redis_client, 1)
        time.sleep(1.0)
        samples, polls = [], []
        for i in range(n + 3):
            kode = rng.choice(desa)
            kecamatan = kode.rsplit(".", 1)[0]
            url = f"/api/v1/wilayah/{kecamatan}/rekap"
            before = client.get(url, headers=headers).get_json()["total"]["penduduk"]
            with DesaSession(engine, kode) as s:
                kk = create_keluarga(s, no_kk=new_no_kk(kecamatan.replace(".", "")))
                nik = new_nik(kecamatan.replace(".", ""))
                add_penduduk(s, {"nik": nik, "nama": f"Warga Baru {i}", "keluarga_id": kk.id, "kk_level": 1,
                                 "sex": 1, "tanggal_lahir": nik_birth_date(nik)}, actor="bench")
                s.commit()
            committed = time.perf_counter()
            count = 0

            def shown(url=url, before=before) -> bool:
                nonlocal count
                count += 1
                return client.get(url, headers=headers).get_json()["total"]["penduduk"] == before + 1

            wait_for(shown, 30, f"change {i} in the kecamatan figures", interval=0.005)
            if i >= 3:  # the first changes warm the worker up
                samples.append(time.perf_counter() - committed)
                polls.append(count)
            time.sleep(rng.uniform(0.1, 0.4))
    finally:
        procs.stop_all()
    p95 = percentile(samples, 95)
    out(f"(c) freshness: resident registered (commit) → kecamatan dashboard total shows it, relay + 1 worker "
        f"--simple: p50 {ms(statistics.median(samples))}, p95 {ms(p95)}, max {ms(max(samples))} (n={len(samples)}, "
        f"after 3 warm-up; the API polled every ~5 ms, median {statistics.median(polls):.0f} polls) "
        f"(target p95 <= {TARGET_FRESH_S:.0f} s: {verdict(p95, TARGET_FRESH_S)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES),
                        help="total residents of Bungo per run, comma separated (default: %(default)s)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per dashboard (default: 200)")
    parser.add_argument("--changes", type=int, default=40, help="timed changes in (c) (default: 40)")
    args = parser.parse_args(argv)


    from service.app import create_app
    from service.auth.principal import Kind, Principal
    from service.auth.roles import make_grant
    from service.db import make_engine
    from service.runtime import get_runtime

    bench_started = time.perf_counter()
    server = open_server(args.database_url)
    redis_url, redis_client, _ = private_redis(args.redis_url)
    sizes = [int(s) for s in args.sizes.split(",")]
    log_dir = Path(tempfile.mkdtemp(prefix="kawasan-bench-dashboard-"))
    first = True
    try:
        for size in sizes:
            redis_client.flushdb()
            url = server.create_database()
            settings = bench_settings(url, redis_url, outbox_redeliver_after=30.0, relay_poll_interval=1.0)
            runtime = get_runtime(settings)
            engine = make_engine(url, pool_size=4)
            codes, living = populate(engine, url, redis_url, size)
            if first:
                out("== machine ==")
                for line in machine_lines(engine, redis_client):
                    out(line)
                out()
                first = False
            with engine.connect() as conn:
                kecamatan = list(conn.scalars(text(
                    "SELECT kode FROM kawasan.wilayah_administrasi WHERE tingkat = 'kecamatan' AND induk_kode = :k "
                    "ORDER BY kode"), {"k": KABUPATEN}))
            out(f"== Kabupaten Bungo: {len(codes)} desa in {len(kecamatan)} kecamatan, {living:,} living residents ==")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
            env.update(DATABASE_URL=url, REDIS_URL=redis_url, KAWASAN_DATA_DIR=str(BENCH_DATA_DIR.resolve()),
                       KAWASAN_MIGRATIONS_DIR=str(MIGRATIONS), KAWASAN_OUTBOX_REDELIVER_AFTER="30",
                       KAWASAN_RELAY_POLL_INTERVAL="1.0", KAWASAN_LOG_LEVEL="WARNING")
            # Filling the registers queued one coalesced event per desa: dropped, the rebuild does that work.
            with engine.begin() as conn:
                conn.execute(text("UPDATE kawasan.outbox SET status = 'done' WHERE status = 'pending'"))
            bench_rebuild(engine, env, len(codes))
            app = create_app(settings)
            principal = Principal(kind=Kind.STAFF, subject="staff:bench", name="Bench",
                                  grants=(make_grant("admin_platform", None),))
            headers = {"Authorization": f"Bearer {app.extensions['kawasan_auth'].tokens.issue(principal)[0]}"}
            bench_api(app, headers, kecamatan, args.requests)
            if size == max(sizes):
                bench_freshness(app, headers, engine, env, log_dir, redis_client, args.changes)
            out(f"load average now (1/5/15 min): {load_average()}")
            out()
            engine.dispose()
            runtime.engine.dispose()
            server.drop_database(url)
    finally:
        with contextlib.suppress(Exception):
            redis_client.flushdb()
        server.drop_all()
    out(f"total benchmark time: {time.perf_counter() - bench_started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
