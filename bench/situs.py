"""Village public sites with content: server time of each public page type, from the page cache and cold.

Run from the project root::

    .venv/bin/python bench/situs.py [--database-url URL] [--redis-url URL] [--penduduk N] [--artikel N]
                                    [--requests N]

``bench/portal.py`` times every public portal page of one desa as a visitor meets it (its site nearly empty,
pages from the cache). This bench fills the sites first and also times the cold path. A throwaway database (the
embedded pgserver under ``.kawasan-bench/`` unless ``--database-url``/``DATABASE_URL``; dropped at the end with
its desa roles) gets Kecamatan Bathin III Ulu (9 desa), each with a synthetic register (``isi_desa``,
``--penduduk`` residents, default 2,400) and its summary recounted, the demo site content
(``service.situs.demo``) plus ``--artikel`` published articles (default 60, every fifth with a picture, two
approved comments each). Redis is a database of its own (a random number 1–15, flushed before and after).

(a) Server time: the Flask app in this process (``app.test_client()``: WSGI, routing, the policy layer, the
    desa session, queries, templates, the page cache; no network, no TLS), anonymous ``GET`` of each public
    page type cycling over the 9 villages; p50/p95/max after warm-up. *warm*: the normal case, pages from the
    desa's Redis page cache (still entering the desa and checking the policy). *cold*: the desa's page cache
    and statistics cache dropped before every request, so every query and render runs.
(b) First-load weight of each page type and of the content screens: stylesheets and scripts it references
    fetched once, plus inline ``<style>``/``<script>``; bytes uncompressed. HTML and images are shown apart.

Targets: public village pages p95 <= 50 ms server time; first load of any page <= 300 kB of JS and CSS.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import sys
import time

from common import MIGRATIONS, bench_settings, load_average, note, open_server, out, percentile, private_redis, verdict
from surat import machine_lines

KECAMATAN = "15.08.14"
TARGET_P95_MS = 50.0
TARGET_KB = 300.0
WARMUP = 20


def populate(engine, penduduk: int, artikel: int) -> list[tuple[str, str]]:
    """The 9 villages provisioned, filled and given site content; returns [(kode, slug)]."""
    from sqlalchemy import select, text

    from service.penduduk.demo_data import isi_desa
    from service.rekap.services import perbarui_desa
    from service.situs import services
    from service.situs.demo import _gambar_sawah, seed_situs_demo
    from service.situs.models import KategoriArtikel
    from tenants.migrate import upgrade_shared
    from tenants.provisioning import provision
    from tenants.session import DesaSession

    started = time.perf_counter()
    upgrade_shared(engine, MIGRATIONS)
    provision(engine, [KECAMATAN], tenant_dir=MIGRATIONS / "tenant", jobs=2)
    with engine.connect() as conn:
        villages = [tuple(r) for r in conn.execute(text(
            "SELECT kode, slug FROM kawasan.tenant WHERE kode LIKE :k ORDER BY kode"), {"k": KECAMATAN + ".%"})]
    living = 0
    for kode, _ in villages:
        living += isi_desa(engine, kode, penduduk=penduduk).get("penduduk_hidup", 0)
        with engine.begin() as conn:
            perbarui_desa(conn, engine, kode)
    seed_situs_demo(engine, KECAMATAN)
    rng = random.Random(7)
    for kode, _ in villages:
        with DesaSession(engine, kode) as session:
            kategori = list(session.scalars(select(KategoriArtikel.id)))
            gambar = services.simpan_gambar(session, _gambar_sawah(rng))
            for i in range(artikel):
                item = services.simpan_artikel(session, None, {
                    "judul": f"Kabar kegiatan warga nomor {i + 1}", "ringkasan": "Ringkasan singkat kegiatan warga.",
                    "isi": "Paragraf pertama tentang kegiatan.\n\n" + "Isi berita yang cukup panjang. " * 40,
                    "kategori_id": kategori[i % len(kategori)], "boleh_komentar": True},
                    gambar=gambar if i % 5 == 0 else None, penulis="Operator")
                services.ubah_status_artikel(item, True)
                for n in range(2):
                    komentar = services.kirim_komentar(session, item, nama=f"Warga {n}", isi="Terima kasih infonya.")
                    services.moderasi_komentar(session, komentar.id, "setujui", "Operator")
            session.commit()
    note(f"{len(villages)} desa provisioned and filled ({living:,} living residents, {artikel} extra articles "
         f"each) in {time.perf_counter() - started:.1f} s")
    return villages


def page_urls(client, villages: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Public URLs per page type, one per village."""
    urls: dict[str, list[str]] = {k: [] for k in ("beranda", "berita", "artikel", "kategori", "pemerintah",
                                                  "statistik")}
    for _, slug in villages:
        base = f"/desa/{slug}"
        listing = client.get(f"{base}/artikel").text
        article = re.search(rf'href="{re.escape(base)}/artikel/([^"/]+)"', listing).group(1)
        category = re.search(rf'href="{re.escape(base)}/kategori/([^"/]+)"', listing).group(1)
        urls["beranda"].append(f"{base}/")
        urls["berita"].append(f"{base}/artikel?halaman=2")
        urls["artikel"].append(f"{base}/artikel/{article}")
        urls["kategori"].append(f"{base}/kategori/{category}")
        urls["pemerintah"].append(f"{base}/pemerintah")
        urls["statistik"].append(f"{base}/statistik")
    return urls


def bench_server_time(app, redis_client, villages, urls: dict[str, list[str]], n: int) -> dict[str, float]:
    client = app.test_client()
    worst = {}
    for case in ("warm", "cold"):
        out(f"-- {case}: {'pages from the page cache' if case == 'warm' else 'page and statistics caches dropped'}")
        worst[case] = 0.0
        for kind, targets in urls.items():
            times = []
            for i in range(WARMUP + n):
                url = targets[i % len(targets)]
                if case == "cold":
                    kode = villages[i % len(villages)][0]
                    redis_client.delete(f"kawasan:situs:html:{kode}")
                    for key in redis_client.scan_iter(f"kawasan:situs:statistik:{kode}:*"):
                        redis_client.delete(key)
                started = time.perf_counter()
                answer = client.get(url)
                elapsed = time.perf_counter() - started
                assert answer.status_code == 200, (url, answer.status_code)
                if i >= WARMUP:
                    times.append(elapsed * 1000)
            p95 = percentile(times, 95)
            worst[case] = max(worst[case], p95)
            out(f"{kind:<11} p50 {percentile(times, 50):6.1f} ms  p95 {p95:6.1f} ms  max {max(times):6.1f} ms  "
                f"({n} requests)  {verdict(p95, TARGET_P95_MS)}")
    return worst


def first_load(client, path: str) -> tuple[int, int, int]:
    """(JS + CSS bytes, HTML bytes, image bytes) of a first visit to ``path``."""
    page = client.get(path)
    html = page.get_data(as_text=True)
    assets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    assets += re.findall(r'<script[^>]+src="([^"]+)"', html)
    weight = sum(len(client.get(a).data) for a in dict.fromkeys(assets))
    weight += sum(len(m) for m in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
    weight += sum(len(m) for m in re.findall(r"<script(?![^>]+src)[^>]*>(.*?)</script>", html, re.S))
    images = sum(len(client.get(src).data) for src in dict.fromkeys(re.findall(r'<img[^>]+src="([^"]+)"', html)))
    return weight, len(page.data), images


def bench_weight(app, urls: dict[str, list[str]], villages, operator_client) -> float:
    worst = 0.0
    client = app.test_client()
    slug = villages[0][1]
    pages = [(kind, targets[0], client) for kind, targets in urls.items()]
    pages.append(("komentar", urls["artikel"][0] + "/komentar", client))
    pages += [(label, f"/desa/{slug}/kelola/situs/{path}", operator_client)
              for label, path in (("kelola-artikel", "artikel"), ("kelola-tulis", "artikel/baru"),
                                  ("kelola-komentar", "komentar"))]
    for label, path, c in pages:
        weight, html, images = first_load(c, path)
        worst = max(worst, weight / 1000)
        out(f"{label:<16} JS+CSS {weight / 1000:6.1f} kB  (HTML {html / 1000:5.1f} kB, "
            f"images {images / 1000:6.1f} kB)  {verdict(weight / 1000, TARGET_KB)}")
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or None)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None)
    parser.add_argument("--penduduk", type=int, default=2400, help="residents per desa (default: 2400)")
    parser.add_argument("--artikel", type=int, default=60, help="extra published articles per desa (default: 60)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page type (default: 200)")
    args = parser.parse_args(argv)


    from service.app import create_app
    from service.auth.roles import make_grant
    from service.auth.services import create_account
    from service.db import make_engine
    from service.runtime import get_runtime

    bench_started = time.perf_counter()
    server = open_server(args.database_url)
    redis_url, redis_client, _ = private_redis(args.redis_url)
    try:
        url = server.create_database()
        settings = bench_settings(url, redis_url)
        runtime = get_runtime(settings)
        engine = make_engine(url, pool_size=4)
        villages = populate(engine, args.penduduk, args.artikel)
        out("== machine ==")
        for line in machine_lines(engine, redis_client):
            out(line)
        out()
        app = create_app(settings)
        create_account(engine, username="operator.bench", nama="Operator Bench", password="bench-rahasia-1",
                       email=None, grants=[make_grant("operator_desa", villages[0][0])])
        operator = app.test_client()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', operator.get("/masuk").text).group(1)
        operator.post("/masuk", data={"csrf_token": csrf, "username": "operator.bench",
                                      "password": "bench-rahasia-1"})

        out(f"== data: {len(villages)} desa of Kecamatan Bathin III Ulu, about {args.penduduk:,} residents and "
            f"{args.artikel + 3} published articles each ==")
        urls = page_urls(app.test_client(), villages)
        out("== (a) server time of public pages (in-process test client, anonymous GET) ==")
        worst = bench_server_time(app, redis_client, villages, urls, args.requests)
        for case, p95 in worst.items():
            out(f"worst p95 ({case}): {p95:.1f} ms (target <= {TARGET_P95_MS:.0f} ms)  {verdict(p95, TARGET_P95_MS)}")
        out()
        out("== (b) first load: JS + CSS (uncompressed) ==")
        kb = bench_weight(app, urls, villages, operator)
        out(f"heaviest first load: {kb:.1f} kB of JS+CSS (target <= {TARGET_KB:.0f} kB)  {verdict(kb, TARGET_KB)}")
        out(f"load average now (1/5/15 min): {load_average()}")
        engine.dispose()
        runtime.engine.dispose()
    finally:
        with contextlib.suppress(Exception):
            redis_client.flushdb()
        server.drop_all()
    out(f"total benchmark time: {time.perf_counter() - bench_started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
