"""Portal benchmark: server time of the public village pages and first-load bytes of JavaScript and CSS.

Run from the project root::

    .venv/bin/python bench/portal.py [--database-url URL] [--redis-url URL] [--requests N] [--penduduk N]

It creates its own throwaway database (the embedded pgserver under ``.kawasan-bench/`` unless
``--database-url``/``DATABASE_URL``) and drops it, with its desa roles, at the end; Redis is a random database
(1–15) of ``--redis-url``/``REDIS_URL`` or the embedded one, flushed before and after. Figures go to stdout.

Set-up: Kecamatan Bathin III Ulu (15.08.14) provisioned; Muara Buat (15.08.14.2001) filled with a synthetic
register of ``--penduduk`` residents (``isi_desa``) and its rollups recounted, so statistics pages have data.

(a) Server time of every public GET page that needs only the desa (every ``@bp.public`` route of a portal
    blueprint whose only URL variable is ``slug``, found in the URL map, so new village-site pages are measured
    as they appear), plus the sign-in pages: p50/p95 over N requests after 20 warm-up ones, through the WSGI
    app in this process (``app.test_client()``: Flask, policy layer, database, templates; no network).
(b) First load of each of those pages: the bytes of the stylesheets and scripts it links (same origin), raw and
    gzip-compressed; the largest page is the figure.

Targets: public village pages p95 <= 50 ms server time; first load <= 300 kB of JS and CSS.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import sys
import time

from common import MIGRATIONS, bench_settings, load_average, note, open_server, out, percentile, private_redis, verdict
from surat import machine_lines

KECAMATAN, DESA = "15.08.14", "15.08.14.2001"
TARGET_P95_MS = 50.0
TARGET_BYTES = 300 * 1024
ASSET = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="(/[^"]+)"')


def public_pages(app, slug: str) -> list[str]:
    from service.auth.policy import policy_of

    paths = ["/masuk", f"/masuk/warga?desa={slug}"]
    for rule in app.url_map.iter_rules():
        blueprint = app.blueprints.get(rule.endpoint.split(".", 1)[0])
        if not getattr(blueprint, "portal", False) or "GET" not in rule.methods or rule.arguments != {"slug"}:
            continue
        policy = policy_of(app, rule.endpoint, "GET")
        if policy is not None and policy.public:
            paths.append(rule.rule.replace("<slug>", slug))
    return sorted(set(paths), key=paths.index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page (default: %(default)s)")
    parser.add_argument("--penduduk", type=int, default=3000,
                        help="residents in the measured desa (default: %(default)s)")
    args = parser.parse_args(argv)

    from sqlalchemy import text

    from service.app import create_app
    from service.penduduk.demo_data import isi_desa
    from service.runtime import get_runtime
    from tenants.migrate import upgrade_shared
    from tenants.provisioning import provision

    started = time.perf_counter()
    server = open_server(args.database_url)
    redis_url, redis_client, _ = private_redis(args.redis_url)
    try:
        url = server.create_database()
        settings = bench_settings(url, redis_url)
        runtime = get_runtime(settings)
        engine = runtime.engine
        upgrade_shared(engine, MIGRATIONS)
        provision(engine, [KECAMATAN], tenant_dir=MIGRATIONS / "tenant", jobs=2)
        note(f"{KECAMATAN} provisioned; filling {DESA} with {args.penduduk} residents")
        filled = isi_desa(engine, DESA, penduduk=args.penduduk)
        app = create_app(settings)
        from rq import SimpleWorker

        from workers.queues import QUEUES, queue
        from workers.relay import Relay

        # The register's coalesced recount (and anything else filling queued) runs now, as a worker would.
        Relay(engine, runtime.redis, redeliver_after=30.0, poll_interval=1.0).run_once()
        SimpleWorker([queue(q, runtime.redis) for q in QUEUES], connection=runtime.redis).work(burst=True)
        with engine.connect() as conn:
            slug = conn.scalar(text("SELECT slug FROM kawasan.tenant WHERE kode = :k"), {"k": DESA})

        out("== machine ==")
        for line in machine_lines(engine, redis_client):
            out(line)
        out()
        out(f"== {DESA} ({slug}): {filled.get('penduduk_hidup', args.penduduk):,} living residents, "
            f"{args.requests} timed requests per page ==")
        client = app.test_client()
        worst_p95, worst_bytes, worst_page = 0.0, 0, ""
        out("(a) server time per public page (p50 / p95 / max)   (b) first-load JS+CSS raw / gzip")
        for path in public_pages(app, slug):
            first = client.get(path)
            if first.status_code != 200:
                out(f"    {path}: HTTP {first.status_code}, skipped")
                continue
            for _ in range(20):
                client.get(path)
            times = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            assets = sorted(set(ASSET.findall(first.text)))
            raw = [client.get(a).data for a in assets]
            total, packed = sum(len(b) for b in raw), sum(len(gzip.compress(b)) for b in raw)
            p95 = percentile(times, 95)
            worst_p95 = max(worst_p95, p95)
            if total > worst_bytes:
                worst_bytes, worst_page = total, path
            out(f"    {path}: {percentile(times, 50):.1f} / {p95:.1f} / {max(times):.1f} ms   "
                f"{total / 1024:.1f} kB / {packed / 1024:.1f} kB ({len(assets)} files)")
        out(f"(a) worst public page p95: {worst_p95:.1f} ms (target <= {TARGET_P95_MS:.0f} ms: "
            f"{verdict(worst_p95, TARGET_P95_MS)})")
        out(f"(b) largest first load: {worst_bytes / 1024:.1f} kB of JS+CSS on {worst_page} (target <= "
            f"{TARGET_BYTES // 1024} kB: {verdict(worst_bytes, TARGET_BYTES)})")
        out(f"load average now (1/5/15 min): {load_average()}")
        engine.dispose()
        server.drop_database(url)
    finally:
        with contextlib.suppress(Exception):
            redis_client.flushdb()
        server.drop_all()
    out(f"total benchmark time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
