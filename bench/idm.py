"""IDM and maps: import and dashboard-read figures for Kabupaten Bungo (141 desa × 9 years, 153 villages).

On a throwaway database: the shared schema, the demo IDM history (2016–2024) and synthetic points, boundaries
of 400 vertices per village imported through the same checks as the API (shapely), then

* the import of a Kemendes-layout xlsx with every desa and year (27 score columns), checked and written;
* the region endpoints through the app (Flask test client, in process: app + database, no network):
  kecamatan and kabupaten distribution, the per-desa table, the map as points and as boundaries.

Usage: ``.venv/bin/python bench/idm.py [--requests 200]``. Figures on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import sys
import time
import uuid

from common import MIGRATIONS, bench_settings, open_redis, open_server, out, percentile

KAB, KEC = "15.08", "15.08.14"


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _circles(points: dict[str, tuple[float, float]], vertices: int) -> dict:
    features = []
    for kode, (x, y) in points.items():
        ring = [[round(x + 0.02 * math.cos(2 * math.pi * i / vertices), 6),
                 round(y + 0.015 * math.sin(2 * math.pi * i / vertices), 6)] for i in range(vertices)]
        features.append({"type": "Feature", "properties": {"kode": kode},
                         "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}})
    return {"type": "FeatureCollection", "features": features}


def _timed(client, url: str, headers: dict, n: int) -> tuple[list[float], int]:
    client.get(url, headers=headers)  # warm up
    times, size = [], 0
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.get_data())
    return times, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    args = parser.parse_args(argv)

    from sqlalchemy import text

    from service.app import create_app
    from service.auth.principal import Kind, Principal
    from service.auth.roles import make_grant
    from service.idm.demo import TARGET, seed_idm_demo
    from service.idm.impor import impor as impor_idm
    from service.idm.services import tabel_desa
    from service.idm.skema import IDM_2016, LABEL
    from service.peta.demo import seed_titik_demo
    from service.peta.services import impor as impor_peta
    from service.runtime import get_runtime
    from tenants.migrate import upgrade_shared

    server = open_server(args.database_url)
    redis_url, _ = open_redis(args.redis_url)
    try:
        url = server.create_database()
        settings = bench_settings(url, redis_url)
        runtime = get_runtime(settings)
        engine = runtime.engine
        upgrade_shared(engine, MIGRATIONS)
        out("== machine ==")
        out(f"nproc: {len(os.sched_getaffinity(0))}, python {platform.python_version()}, "
            f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        out(f"postgresql: {'embedded' if server.embedded else 'external'}")

        started = time.perf_counter()
        rows = seed_idm_demo(engine)
        titik = seed_titik_demo(engine)
        out(f"\n== data ==\ndemo IDM history: {rows} rows ({len(TARGET)} years) and {titik} synthetic points in "
            f"{time.perf_counter() - started:.2f} s")
        with engine.connect() as conn:
            points = {r.desa_kode: (float(r.bujur), float(r.lintang)) for r in conn.execute(
                text("SELECT desa_kode, bujur, lintang FROM kawasan.peta_desa"))}
        doc = _circles(points, 400)
        started = time.perf_counter()
        with engine.begin() as conn:
            laporan = impor_peta(conn, doc, wilayah=KAB, sumber="bench", oleh="bench")
        assert not laporan.rejected, laporan.lines()
        out(f"boundary import: {laporan.batas} polygons × 400 vertices, checked with shapely and written in "
            f"{time.perf_counter() - started:.2f} s")

        # The Kemendes layout, every desa and year side by side, written back over the demo rows.
        with engine.connect() as conn:
            table = tabel_desa(conn, KAB, IDM_2016)
        header = ["KODE DESA", "NAMA DESA"] + [f"{c} {t}" for t in TARGET for c in ("IKS", "IKE", "IKL")] + [
            f"STATUS IDM {max(TARGET)}"]
        body = [[d["kode"].replace(".", ""), d["nama"]] + [
            f"{float(h[c]):.4f}".replace(".", ",") for h in d["riwayat"] for c in ("iks", "ike", "ikl")]
            + [LABEL[d["riwayat"][-1]["status"]].upper()] for d in table["desa"]]
        data = _xlsx([["REKAPITULASI IDM KABUPATEN BUNGO"], header, *body])
        for periksa in (True, False):
            started = time.perf_counter()
            with engine.begin() as conn:
                laporan = impor_idm(conn, data, IDM_2016, wilayah=KAB, tahun=None, oleh="bench", periksa_saja=periksa)
            assert not laporan.rejected, laporan.lines()[:5]
            out(f"IDM xlsx import ({len(data) // 1024} KiB, {len(body)} desa × {len(TARGET)} years = "
                f"{len(body) * len(TARGET)} scores), {'check only' if periksa else 'checked and written'}: "
                f"{time.perf_counter() - started:.2f} s")

        app = create_app(settings)
        client = app.test_client()
        tokens = app.extensions["kawasan_auth"].tokens

        def bearer(peran: str, scope: str) -> dict:
            principal = Principal(kind=Kind.STAFF, subject=f"staff:{uuid.uuid4().int % 10**9}", name="Bench",
                                  grants=(make_grant(peran, scope),))
            return {"Authorization": f"Bearer {tokens.issue(principal)[0]}"}

        camat, kabupaten = bearer("camat", KEC), bearer("staf_kabupaten", KAB)
        cases = [
            ("kecamatan distribusi (9 desa, 9 years)", f"/api/v1/wilayah/{KEC}/idm/distribusi", camat),
            ("kabupaten distribusi + per kecamatan", f"/api/v1/wilayah/{KAB}/idm/distribusi?per_kecamatan=true",
             kabupaten),
            ("kabupaten per-desa table with history", f"/api/v1/wilayah/{KAB}/idm/desa", kabupaten),
            ("kecamatan map, points", f"/api/v1/wilayah/{KEC}/peta", camat),
            ("kabupaten map, points (153)", f"/api/v1/wilayah/{KAB}/peta", kabupaten),
            ("kabupaten map, boundaries (153 × 400 vertices)", f"/api/v1/wilayah/{KAB}/peta?bentuk=batas", kabupaten),
        ]
        out(f"\n== endpoints ({args.requests} sequential requests each, in-process test client) ==")
        for name, path, headers in cases:
            times, size = _timed(client, path, headers, args.requests)
            out(f"{name:<48} p50 {percentile(times, 50):7.1f} ms  p95 {percentile(times, 95):7.1f} ms  "
                f"body {size / 1024:8.1f} KiB")
        out(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        runtime.engine.dispose()
    finally:
        server.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
