"""The kecamatan and kabupaten dashboard pages: what a camat and a kabupaten analyst see (figures that add up,
rankings, the IDM map and table with history), who is refused, exports, and the map on a phone in a real
browser without any tile server."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from html import unescape

import pytest
from sqlalchemy import delete, insert, select, text

from service.idm.models import IndeksDesa
from tests.browser import PHONE, Screenshots, browser_fixture, live_server_fixture  # noqa: F401
from tests.fixtures import csrf_of, sign_in_staff

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

KECAMATAN, KABUPATEN, LAIN = "15.08.14", "15.08", "15.08.01"
MUARA_BUAT = "15.08.14.2001"
SUMBER = "uji-dasbor"
#: The demo story in small: one desa Maju in 2016, more every year (IKS = IKE = IKL, so IDM = the score).
SKOR = {"sangat_tertinggal": "0.45", "tertinggal": "0.55", "berkembang": "0.65", "maju": "0.75", "mandiri": "0.85"}


def _idm_rows(desa: list[str]):
    from service.idm.services import Baris, hitung
    from service.idm.skema import skema

    sk = skema(None)
    rows = []
    for tahun in range(2016, 2021):
        maju = 1 + (tahun - 2016) * (len(desa) - 1) // 4  # 1 in 2016 … every desa in 2020
        for i, kode in enumerate(desa):
            status = "maju" if i < maju else ("berkembang" if i % 2 else "tertinggal")
            score = SKOR[status]
            rows.append(Baris(kode, tahun, hitung(sk, {"iks": score, "ike": score, "ikl": score})))
    return sk, rows


@pytest.fixture
def dasbor_data(engine, make_family):
    """Residents in two desa of the pilot kecamatan and one elsewhere, fresh rollups of every provisioned desa,
    an IDM history 2016–2020 for the pilot kecamatan's desa and a point for each of its villages. The IDM rows
    and points are removed afterwards (other modules count them)."""
    from service.idm.services import desa_di_wilayah, simpan
    from service.peta.demo import titik_sintetis
    from service.rekap.services import bangun_ulang

    for desa, sizes in ((MUARA_BUAT, (4, 3, 2)), ("15.08.14.2002", (5,)), ("15.08.01.2001", (2,))):
        for size in sizes:
            make_family(desa, size)
    bangun_ulang(engine, KABUPATEN)
    table = IndeksDesa.__table__
    in_kecamatan = table.c.desa_kode.like(KECAMATAN + ".%")
    with engine.begin() as conn:
        # Other modules' IDM rows for this kecamatan (the demo's history, say) are set aside and put back after.
        kept = [dict(r) for r in conn.execute(select(table).where(in_kecamatan)).mappings()]
        conn.execute(delete(table).where(in_kecamatan))
        desa = [d.kode for d in desa_di_wilayah(conn, KECAMATAN)]
        sk, rows = _idm_rows(desa)
        simpan(conn, sk, rows, sumber=SUMBER, oleh=SUMBER)
        villages = conn.execute(text("SELECT kode, induk_kode FROM kawasan.wilayah_administrasi "
                                     "WHERE tingkat = 'desa' AND induk_kode = :k"), {"k": KECAMATAN}).all()
        had = set(conn.execute(text("SELECT desa_kode FROM kawasan.peta_desa WHERE desa_kode LIKE :p"),
                               {"p": KECAMATAN + ".%"}).scalars())
        for kode, (x, y) in titik_sintetis([(v.kode, v.induk_kode) for v in villages]).items():
            if kode not in had:
                conn.execute(text("INSERT INTO kawasan.peta_desa (desa_kode, bujur, lintang, sumber_titik, "
                                  "diubah_oleh) VALUES (:k, :x, :y, 'sintetis', :o)"),
                             {"k": kode, "x": x, "y": y, "o": SUMBER})
    yield {"desa_idm": desa, "villages": [v.kode for v in villages]}
    with engine.begin() as conn:
        conn.execute(delete(table).where(in_kecamatan))
        if kept:
            conn.execute(insert(table), kept)
        conn.execute(text("DELETE FROM kawasan.peta_desa WHERE diubah_oleh = :s"), {"s": SUMBER})


def _sign_in(client, make_staff, *grant):
    username, password, _ = make_staff(grant)
    answer = sign_in_staff(client, username, password)
    assert answer.status_code == 303, answer.text[:300]


def _sign_out(client):
    client.post("/keluar", data={"csrf_token": csrf_of(client.get("/beranda").text)})


def _number(cell: str) -> float | None:
    """A cell as shown (``12.345``, ``97,5 %``) as a number."""
    cell = re.sub(r"<[^>]+>", "", cell).strip()
    if cell in ("—", ""):
        return None
    if cell.endswith("%"):
        return float(cell.removesuffix("%").strip().replace(",", "."))
    return int(cell.replace(".", ""))


def _table(html: str, table_id: str) -> dict[str, dict[str, int | None]]:
    """``{data-kode: {column: number}}`` of a dashboard table (the ``Jumlah`` row is ``jumlah``)."""
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert body, f"no table {table_id}"
    rows = {}
    for kode, row in re.findall(r'<tr data-kode="([^"]+)">(.*?)</tr>', body.group(1), re.S):
        rows[kode] = {col: _number(v) for col, v in re.findall(r'data-kolom="([^"]+)">(.*?)</td>', row, re.S)}
    return rows


def _map_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="data-peta">(.*?)</script>', html, re.S)
    assert match, "the map page has no inline map data"
    return json.loads(match.group(1))


COLUMNS = ("penduduk", "laki_laki", "perempuan", "jumlah_kk", "mutasi", "surat_terbit", "surat_menunggu",
           "surat_terlambat")


def test_the_camat_sees_the_kecamatan_figures_and_the_totals_add_up(client, make_staff, engine, dasbor_data):
    from service.rekap.services import hitung_desa

    _sign_in(client, make_staff, "camat", KECAMATAN)
    page = client.get(f"/kecamatan/{KECAMATAN}/dasbor")
    assert page.status_code == 200
    html = page.text
    assert "Dasbor" in html and 'aria-current="page"' in html  # the navigation offers and marks it

    rows = _table(html, "per-desa")
    total = rows.pop("jumlah")
    counted = [r for r in rows.values() if r]
    assert len(rows) >= 5 and counted
    for column in COLUMNS:
        assert total[column] == sum(r[column] or 0 for r in counted), column
    # The figures are the register's own: the desa where the families were registered.
    for desa in (MUARA_BUAT, "15.08.14.2002"):
        actual = hitung_desa(engine, desa).ringkas
        assert rows[desa]["penduduk"] == actual["penduduk"] and rows[desa]["jumlah_kk"] == actual["jumlah_kk"]
    assert rows["15.08.14.2002"]["penduduk"] >= 5
    assert not any(kode.startswith(LAIN) for kode in rows)  # only its own villages
    assert re.search(r'id="total-penduduk">' + re.escape(f"{total['penduduk']:,}".replace(",", ".")), html)

    # Accessible: captioned tables with headers, charts with a text alternative.
    assert html.count("<caption>") >= 2 and '<th scope="col"' in html
    charts = re.findall(r'<svg class="grafik"[^>]*role="img"[^>]*aria-label="([^"]+)"', html)
    assert "Jumlah penduduk per desa di BATHIN III ULU".lower() in (c.lower() for c in charts)
    assert re.search(r'<svg class="grafik"[^>]*><title>Jumlah penduduk per desa', html)
    # The IDM status of each desa (latest year: 2020, when every desa of the fixture is maju) is in the table.
    assert html.count(">Maju</span>") >= len(dasbor_data["desa_idm"])
    # No Leaflet on the figures page: the ~160 kB library is loaded by the map page only.
    assert "leaflet" not in html


def test_another_kecamatan_gets_the_403_page_and_unknown_codes_the_404_page(client, make_staff, dasbor_data):
    _sign_in(client, make_staff, "camat", LAIN)
    assert client.get(f"/kecamatan/{LAIN}/dasbor").status_code == 200
    for path in (f"/kecamatan/{KECAMATAN}/dasbor", f"/kecamatan/{KECAMATAN}/dasbor/idm",
                 f"/kabupaten/{KABUPATEN}/dasbor", f"/kabupaten/{KABUPATEN}/dasbor/idm"):
        page = client.get(path)
        assert page.status_code == 403 and "Anda tidak berwenang" in page.text, path
        assert "Muara Buat".upper() not in page.text.upper() and "per-desa" not in page.text  # no data
    for path in ("/kecamatan/15.08.99/dasbor", "/kabupaten/15.99/dasbor", f"/kabupaten/{LAIN}/dasbor",
                 f"/kecamatan/{LAIN}.2001/dasbor"):  # the wrong level of a place they hold: 404
        page = client.get(path)
        assert page.status_code == 404 and "Halaman tidak ditemukan" in page.text, path
    _sign_out(client)
    anonymous = client.get(f"/kecamatan/{KECAMATAN}/dasbor")
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/masuk?next=")
    # The kabupaten above and the platform may open a kecamatan's dashboard; a village operator may not.
    _sign_in(client, make_staff, "staf_kabupaten", KABUPATEN)
    assert client.get(f"/kecamatan/{KECAMATAN}/dasbor").status_code == 200
    _sign_out(client)
    _sign_in(client, make_staff, "operator_desa", MUARA_BUAT)
    assert client.get(f"/kecamatan/{KECAMATAN}/dasbor").status_code == 403


def test_the_map_page_has_the_vendored_leaflet_and_a_point_per_village(client, make_staff, dasbor_data,
                                                                        monkeypatch):
    from service.portal.web import STATIC_DIR

    _sign_in(client, make_staff, "staf_kecamatan", KECAMATAN)
    page = client.get(f"/kecamatan/{KECAMATAN}/dasbor/idm")
    assert page.status_code == 200
    html = page.text
    scripts = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    leaflet = [s for s in scripts if "/vendor/leaflet/leaflet.js" in s]
    assert leaflet and all(s.startswith("/static/portal/") for s in scripts)  # nothing from a CDN
    served = client.get(leaflet[0])
    assert served.status_code == 200 and served.data == (STATIC_DIR / "vendor/leaflet/leaflet.js").read_bytes()
    assert (STATIC_DIR / "vendor/leaflet/LICENSE").is_file()
    # First load of the map page within the budget (Leaflet included).
    weight = sum(len(client.get(s).data) for s in scripts)
    assert weight <= 300_000, weight

    data = _map_data(html)
    features = data["titik"]["features"]
    assert sorted(f["properties"]["kode"] for f in features) == sorted(dasbor_data["villages"])
    assert all(f["geometry"]["type"] == "Point" for f in features)
    by_kode = {f["properties"]["kode"]: f["properties"] for f in features}
    first = by_kode[dasbor_data["desa_idm"][0]]
    assert first["status"] == "maju" and first["tahun"] == 2020 and first["warna"] == "#15803d"
    assert data["garis_luar"]["perkiraan"] is True  # no boundaries imported: the hull of the points
    assert 'data-ubin=""' in html  # no tile server configured: nothing to fetch

    # A configured tile server is drawn, and the page's CSP lets images come from it (and nothing else).
    runtime = client.application.extensions["kawasan"]
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(
        runtime.settings, map_tiles="https://{s}.ubin.contoh.id/{z}/{x}/{y}.png", map_tiles_attribution="© Contoh"))
    tiled = client.get(f"/kecamatan/{KECAMATAN}/dasbor/idm")
    assert 'data-ubin="https://{s}.ubin.contoh.id/{z}/{x}/{y}.png"' in tiled.text
    csp = tiled.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.ubin.contoh.id;" in csp and "script-src 'self'" in csp
    assert "ubin.contoh.id" not in client.get(f"/kecamatan/{KECAMATAN}/dasbor").headers["Content-Security-Policy"]


def test_imported_boundaries_are_fetched_from_the_api_not_inlined(client, make_staff, engine, dasbor_data):
    from service.peta.services import impor

    desa = dasbor_data["villages"][0]
    square = [[102.0, -1.5], [102.02, -1.5], [102.02, -1.48], [102.0, -1.48], [102.0, -1.5]]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kode": desa}, "geometry": {"type": "Polygon", "coordinates": [square]}}]}
    with engine.begin() as conn:
        assert not impor(conn, doc, wilayah=KECAMATAN, sumber=SUMBER, oleh=SUMBER).rejected
    _sign_in(client, make_staff, "camat", KECAMATAN)
    page = client.get(f"/kecamatan/{KECAMATAN}/dasbor/idm")
    data = _map_data(page.text)
    assert data["garis_luar"] is None and "102.02" not in page.text  # the polygon is not in the page
    assert len(data["titik"]["features"]) == len(dasbor_data["villages"])
    boundaries = client.get(data["batas_url"])  # what the map script fetches, with the same cookie
    assert boundaries.status_code == 200
    polygons = [f for f in boundaries.get_json()["features"] if f["geometry"]["type"] == "Polygon"]
    assert [f["id"] for f in polygons] == [desa] and polygons[0]["geometry"]["coordinates"] == [square]


def test_the_kabupaten_analyst_sees_rankings_and_the_idm_table_with_history(client, make_staff, dasbor_data):
    _sign_in(client, make_staff, "staf_kabupaten", KABUPATEN)
    page = client.get(f"/kabupaten/{KABUPATEN}/dasbor")
    assert page.status_code == 200
    html = page.text
    per_kecamatan = _table(html, "per-kecamatan")
    total = per_kecamatan.pop("jumlah")
    for column in COLUMNS:
        assert total[column] == sum(r[column] or 0 for r in per_kecamatan.values()), column
    assert KECAMATAN in per_kecamatan and LAIN in per_kecamatan
    per_desa = _table(html, "per-desa")
    assert per_desa.pop("jumlah") == total
    assert per_kecamatan[KECAMATAN]["penduduk"] == sum(
        r["penduduk"] or 0 for k, r in per_desa.items() if k.startswith(KECAMATAN + ".") and r)

    # Rankings by population: the most populous desa first, the kecamatan likewise.
    top = re.search(r'<table id="peringkat-desa-atas">.*?<tbody>\s*<tr><td>1</td><th scope="row">(.*?)</th>'
                    r'<td class="angka">([\d.]+)</td>', html, re.S)
    assert top and int(top.group(2).replace(".", "")) == max(r.get("penduduk") or 0 for r in per_desa.values())
    assert 'id="peringkat-kecamatan-bawah"' in html and 'id="peringkat-desa-bawah"' in html
    coverage = client.get(f"/kabupaten/{KABUPATEN}/dasbor?ukuran=ktp_el&tahun=2026")
    assert coverage.status_code == 200 and "Peringkat: Cakupan KTP-el (%)" in coverage.text
    bad = client.get(f"/kabupaten/{KABUPATEN}/dasbor?ukuran=gaji&tahun=abad")
    assert bad.status_code == 422 and "pilih salah satu ukuran" in bad.text and 'aria-invalid="true"' in bad.text

    idm_page = client.get(f"/kabupaten/{KABUPATEN}/dasbor/idm")
    assert idm_page.status_code == 200
    html = idm_page.text
    n = len(dasbor_data["desa_idm"])
    distribusi = re.search(r'<table id="idm-distribusi">(.*?)</table>', html, re.S).group(1)
    maju = dict(re.findall(r'<tr data-tahun="(\d+)">.*?<td class="angka" data-status="maju">(\d+)</td>', distribusi,
                           re.S))
    assert maju["2016"] == "1" and maju["2020"] == str(n)
    assert f"Desa berstatus Maju atau Mandiri: 1 pada 2016 → {n} pada 2020" in unescape(html)
    # The table: one row per desa, with its status in every year.
    desa_table = re.search(r'<table id="idm-desa">(.*?)</table>', html, re.S).group(1)
    assert "<caption>" in desa_table and "2016–2020" in unescape(desa_table)
    last = dasbor_data["desa_idm"][-1]
    row = re.search(rf'<tr data-kode="{re.escape(last)}">(.*?)</tr>', desa_table, re.S).group(1)
    assert re.findall(r"<td title=\"[^\"]*\">([^<]+)</td>", row) == ["Tertinggal" if (n - 1) % 2 == 0 else
                                                                     "Berkembang"] * 4 + ["Maju"]
    assert 'id="idm-per-kecamatan"' in html
    assert len(_map_data(html)["titik"]["features"]) >= len(dasbor_data["villages"])
    # The table downloads in the Kemendes layout, one row per desa with its status of the last year.
    link = unescape(re.search(r'href="([^"]*/idm/ekspor[^"]*format=csv[^"]*)"', html).group(1))
    exported = list(csv.DictReader(io.StringIO(client.get(link).get_data().decode("utf-8-sig"))))
    status = {r["KODE DESA"].replace(".", ""): r["STATUS IDM 2020"] for r in exported}
    assert status[last.replace(".", "")].lower() == "maju"


def test_export_links_download_the_rows_shown(client, make_staff, dasbor_data):
    _sign_in(client, make_staff, "camat", KECAMATAN)
    page = client.get(f"/kecamatan/{KECAMATAN}/dasbor?tahun=2026")
    assert page.status_code == 200
    shown = _table(page.text, "per-desa")
    shown.pop("jumlah")
    links = [unescape(href) for href in re.findall(r'href="([^"]*/rekap/ekspor\?[^"]*)"', page.text)]
    assert len(links) == 2
    csv_link = next(href for href in links if "format=csv" in href)
    assert "tahun=2026" in csv_link
    answer = client.get(csv_link)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert [r["kode"] for r in rows] == list(shown)
    for r in rows:
        expected = shown[r["kode"]].get("penduduk")
        assert (int(r["penduduk"]) if r["penduduk"] else None) == expected, r["kode"]
    xlsx_link = next(href for href in links if "format=xlsx" in href)
    assert client.get(xlsx_link).data[:2] == b"PK"


@pytest.mark.browser
def test_the_kecamatan_map_renders_on_a_phone_without_tiles(browser, live_server, make_staff, dasbor_data):
    from playwright.sync_api import expect

    username, password, _ = make_staff(("camat", KECAMATAN))
    context = browser.new_context(base_url=live_server, **PHONE)
    outside: list[str] = []

    def only_this_site(route):
        if route.request.url.startswith(live_server):
            route.continue_()
        else:  # a tile or a CDN: the test fails on it, and nothing leaves the machine
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_site)
    page = context.new_page()
    page.goto("/masuk")
    page.get_by_label("Nama pengguna atau surel").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name=re.compile("^Dasbor"))).to_be_visible()  # the camat lands here
    shot = Screenshots("dasbor")
    shot(page, "dasbor-kecamatan")
    page.get_by_role("link", name=re.compile("Peta desa dan status IDM")).click()
    peta = page.locator("#peta")
    expect(peta).to_have_attribute("data-siap", str(len(dasbor_data["villages"])))
    markers = page.locator("#peta path.leaflet-interactive")
    expect(markers).to_have_count(len(dasbor_data["villages"]))
    box = peta.bounding_box()
    assert box and box["width"] <= 360 and box["height"] >= 200  # fits the phone's width
    markers.first.click(force=True)
    expect(page.locator(".leaflet-popup-content")).to_contain_text("Status IDM")
    shot(page, "peta-kecamatan")
    assert page.locator(".leaflet-tile").count() == 0
    assert outside == []
    context.close()
