"""Dashboards of the kecamatan and kabupaten workspaces: figures per desa (and per kecamatan), charts, time
series, rankings, exports, and the IDM status map and table with its history.

Every figure comes from the services the API uses, called directly (no HTTP): the rollups
(:mod:`service.rekap.dasbor`), the IDM (:mod:`service.idm.services`) and the village maps
(:mod:`service.peta.services`). Totals are the rollup service's own sums of the per-desa rows the page shows,
so they equal them by construction. Charts are server-rendered SVG (:mod:`service.situs.grafik`), each beside a
table with the same figures. Leaflet (~160 kB) is loaded by the map page only; the map's data is inlined in
that page (no second request on a slow connection), and tiles are drawn only when ``KAWASAN_MAP_TILES`` is set.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from flask import current_app, request, url_for
from markupsafe import Markup
from shapely.geometry import MultiPoint, mapping

from service.http import add_security_headers
from service.idm import services as idm
from service.idm.skema import ALIAS, LABEL, STATUS, skema
from service.peta.services import feature_collection
from service.portal.web import PortalBlueprint, field_errors, nav_item, render_page
from service.rekap import dasbor
from service.rekap.resources import PEMBACA
from service.rekap.schemas import RekapArgs
from service.situs import grafik
from service.tenancy import current_region

kecamatan = PortalBlueprint("portal_dasbor_kecamatan", __name__, wilayah="kecamatan")
kabupaten = PortalBlueprint("portal_dasbor_kabupaten", __name__, wilayah="kabupaten")

#: Marker colours of the IDM statuses (red → blue, lowest to highest); grey for a desa not measured.
WARNA_STATUS = {"sangat_tertinggal": "#b91c1c", "tertinggal": "#c2410c", "berkembang": "#a16207",
                "maju": "#15803d", "mandiri": "#1d4ed8", None: "#6b7280"}
UKURAN_LABEL = {"penduduk": "Jumlah penduduk", "jumlah_kk": "Jumlah KK", "ktp_el": "Cakupan KTP-el (%)",
                "akta": "Cakupan akta kelahiran (%)", "surat_menunggu": "Surat menunggu",
                "surat_terlambat": "Surat terlambat", "jam_terbit_median": "Median jam sampai surat terbit"}
#: How many desa (kecamatan) each end of a ranking shows.
PERINGKAT_N = 5


def _engine():
    return current_app.extensions["kawasan"].engine


def _settings():
    return current_app.extensions["kawasan"].settings


# --- filters ---------------------------------------------------------------------------------------------


def ribuan(value: Any) -> str:
    """Template filter: ``12345`` → ``12.345`` (Indonesian thousands); ``—`` for no value."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{int(value):,}".replace(",", ".")


def persen(value: float | None) -> str:
    """Template filter: ``97.53`` → ``97,5 %``; ``—`` when there is nothing to divide by."""
    return "—" if value is None else f"{value:.1f}".replace(".", ",") + " %"


for _bp in (kecamatan, kabupaten):
    _bp.add_app_template_filter(ribuan, "ribuan")
    _bp.add_app_template_filter(persen, "persen")


def _tahun() -> tuple[int | None, dict[str, str]]:
    """The ``tahun`` filter (the API's own schema); a bad value is shown beside the filter and ignored."""
    raw = request.args.get("tahun", "").strip()
    if not raw:
        return None, {}
    try:
        return RekapArgs().load({"tahun": raw})["tahun"], {}
    except ma.ValidationError as exc:
        errors = field_errors(exc)
        if "tahun" in errors and not errors["tahun"].startswith("harus"):  # marshmallow's English range message
            errors["tahun"] = "tahun harus antara 1900 dan 2200"
        return None, errors


# --- the figures -----------------------------------------------------------------------------------------


def _baris_grafik(items: list[dict[str, Any]], key: str = "jumlah", n: int | None = None) -> list[tuple[str, int]]:
    rows = [(item.get("label") or item.get("nama") or item.get("kode") or "Tidak diisi", item.get(key) or 0)
            for item in items]
    return rows[:n] if n else rows


def _grafik_wilayah(rekap: dict[str, Any], deret: dict[str, Any], nama_tempat: str) -> list[tuple[str, Markup]]:
    """The charts of a dashboard; each has its title and description for screen readers."""
    total, rincian = rekap["total"], rekap["rincian"]
    per = rekap.get("per_kecamatan") or rekap["per_desa"]
    per_label = "kecamatan" if "per_kecamatan" in rekap else "desa"
    tersedia = [r for r in per if r.get("tersedia", True) and r.get("desa_tersedia", 1)]
    periode = [p["periode"] for p in deret["deret"]]
    return [
        (f"Penduduk per {per_label}",
         grafik.batang(f"Jumlah penduduk per {per_label} di {nama_tempat}", _baris_grafik(tersedia, "penduduk"))),
        ("Jenis kelamin", grafik.batang("Penduduk menurut jenis kelamin",
                                        [("Laki-laki", total["laki_laki"]), ("Perempuan", total["perempuan"])],
                                        warna=grafik.WARNA_L)),
        ("Kelompok umur", grafik.piramida("Piramida penduduk menurut kelompok umur",
                                          [(r["label"] or r["kode"], r["laki_laki"], r["perempuan"])
                                           for r in rincian.get("umur", [])])),
        (f"Cakupan KTP-el per {per_label} (%)",
         grafik.batang(f"Persentase wajib KTP-el yang sudah memiliki, per {per_label}",
                       [(r["nama"], round(r["ktp_el"]["persen"] or 0)) for r in tersedia])),
        ("Mutasi penduduk", grafik.batang("Mutasi penduduk per periode",
                                          list(zip(periode, [p["mutasi"]["jumlah"] for p in deret["deret"]],
                                                   strict=True)))),
        ("Surat terbit", grafik.batang("Surat terbit per periode",
                                       list(zip(periode, [p["surat"]["terbit"] for p in deret["deret"]], strict=True)),
                                       warna=grafik.WARNA_L)),
        ("Pekerjaan (10 terbanyak)", grafik.batang("Penduduk menurut pekerjaan, 10 terbanyak",
                                                   _baris_grafik(sorted(rincian.get("pekerjaan", []),
                                                                        key=lambda r: -r["jumlah"]), n=10))),
    ]


def _ringkasan(conn, region: str, tahun: int | None) -> dict[str, Any]:
    """Everything a kecamatan or kabupaten dashboard shows but the rankings."""
    rekap = dasbor.rekap_wilayah(conn, region, tahun=tahun)
    sk = skema(None)
    status = idm.status_terakhir(conn, region, sk)
    per_tahun = dasbor.deret_waktu(conn, region, satuan="tahun")
    # A chosen year shows its twelve months; otherwise one bar per year.
    deret = dasbor.deret_waktu(conn, region, satuan="bulan", tahun=tahun) if tahun else per_tahun
    tahun_pilihan = sorted({int(p["periode"]) for p in per_tahun["deret"]} | {date.today().year}, reverse=True)
    dihitung = {k: datetime.fromisoformat(v) if isinstance(v, str) else v for k, v in rekap["dihitung_pada"].items()}
    return {"rekap": rekap, "idm": status, "deret": deret, "tahun_pilihan": tahun_pilihan, "dihitung": dihitung,
            "grafik": _grafik_wilayah(rekap, deret, rekap["wilayah"]["nama"]),
            "label_status": LABEL, "warna_status": WARNA_STATUS}


def _ekspor(tahun: int | None) -> dict[str, str]:
    """The API's exports (the portal cookie authenticates them), with the page's year filter."""
    args = {"tahun": tahun} if tahun else {}
    return {fmt: url_for("rekap.Ekspor", wilayah=current_region(), format=fmt, **args) for fmt in ("csv", "xlsx")}




@kecamatan.route("/dasbor")
@kecamatan.requires(*PEMBACA)
def dasbor_kecamatan():
    """The kecamatan's figures: totals and one row per desa, charts, time series, exports."""
    tahun, errors = _tahun()
    with _engine().connect() as conn:
        data = _ringkasan(conn, current_region(), tahun)
    return render_page("portal/dasbor/kecamatan.html", http_status=422 if errors else 200, tahun=tahun,
                       errors=errors, ekspor=_ekspor(tahun), **data)


@kabupaten.route("/dasbor")
@kabupaten.requires(*PEMBACA)
def dasbor_kabupaten():
    """The kabupaten's figures per kecamatan and per desa, rankings (top and bottom), charts, exports."""
    tahun, errors = _tahun()
    ukuran = request.args.get("ukuran", "penduduk")
    if ukuran not in dasbor.UKURAN:
        errors["ukuran"] = "pilih salah satu ukuran dari daftar"
        ukuran = "penduduk"
    with _engine().connect() as conn:
        data = _ringkasan(conn, current_region(), tahun)
        peringkat = dasbor.peringkat_dasbor(conn, current_region(), ukuran=ukuran, jumlah=PERINGKAT_N, tahun=tahun)
    kecamatan_desa = {r["kode"]: r["kecamatan"]["nama"] for r in data["rekap"]["per_desa"]}  # for the rankings
    return render_page("portal/dasbor/kabupaten.html", http_status=422 if errors else 200, tahun=tahun,
                       errors=errors, ekspor=_ekspor(tahun), peringkat=peringkat, ukuran=ukuran,
                       ukuran_label=UKURAN_LABEL, kecamatan_desa=kecamatan_desa, **data)


# --- the IDM map and table -------------------------------------------------------------------------------


def _garis_luar(features: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What the points are drawn over when there are no tiles and no imported boundaries: the convex hull of the
    villages' points with a small margin (labelled as an approximation on the page)."""
    points = [f["geometry"]["coordinates"] for f in features if f["geometry"]]
    if not points:
        return None
    hull = MultiPoint(points).convex_hull.buffer(0.01, quad_segs=4)
    return {"type": "FeatureCollection", "perkiraan": True,
            "features": [{"type": "Feature", "geometry": mapping(hull), "properties": {}}]}


def data_peta(conn, region: str) -> dict[str, Any]:
    """The map's inline data: one point Feature per village that has a point (colour by the latest IDM status),
    the outline, and the tile settings. Imported boundaries are not inlined (they can weigh megabytes): the
    script fetches them from the API's ``…/peta?bentuk=batas`` after the page is shown."""
    sk = skema(None)
    titik = feature_collection(conn, region, sk)
    if isinstance(titik, str):  # the map service answers GeoJSON text, ready for the API
        titik = json.loads(titik)
    features = []
    for f in titik["features"]:
        p = f["properties"]
        status = (p["idm"] or {}).get("status")
        features.append({"type": "Feature", "id": f["id"], "geometry": f["geometry"], "properties": {
            "kode": p["kode"], "nama": p["nama"], "jenis": p["jenis"], "kecamatan": p["kecamatan"]["nama"],
            "penduduk": p["penduduk"], "status": status, "status_label": LABEL.get(status, "Belum diukur"),
            "nilai": (p["idm"] or {}).get("nilai"), "tahun": (p["idm"] or {}).get("tahun"),
            "warna": WARNA_STATUS[status]}})
    ada_batas = any(f["properties"]["ada_batas"] for f in titik["features"])
    settings = _settings()
    return {
        "titik": {"type": "FeatureCollection", "features": [f for f in features if f["geometry"]]},
        "tanpa_titik": [f["properties"] for f in features if not f["geometry"]],
        "garis_luar": None if ada_batas else _garis_luar(features),
        "batas_url": url_for("peta.Peta", wilayah=region, bentuk="batas") if ada_batas else None,
        "ubin": {"url": settings.map_tiles, "atribusi": settings.map_tiles_attribution},
    }


def _maju(tahun: dict[str, Any]) -> int:
    """How many desa were Maju or Mandiri in one year of a distribution."""
    return tahun["jumlah"]["maju"] + tahun["jumlah"]["mandiri"]


def _cerita(distribusi: dict[str, Any]) -> str | None:
    """The history in one sentence: how many desa were Maju or Mandiri in the first and the latest year."""
    years = [y for y in distribusi["tahun"] if y["diukur"]]
    if len(years) < 2:
        return None
    first, last = years[0], years[-1]
    return (f"Desa berstatus Maju atau Mandiri: {_maju(first)} pada {first['tahun']} → {_maju(last)} pada "
            f"{last['tahun']} (dari {distribusi['jumlah_desa']} desa).")


def _idm_page(per_kecamatan: bool):
    region = current_region()
    sk = skema(None)
    raw = request.args.get("tahun", "").strip()
    tahun = int(raw) if raw.isdigit() and len(raw) == 4 else None
    with _engine().connect() as conn:
        distribusi = idm.distribusi(conn, region, sk, per_kecamatan=per_kecamatan)
        tabel = idm.tabel_desa(conn, region, sk, tahun=tahun)
        peta = data_peta(conn, region)
    years = [y["tahun"] for y in distribusi["tahun"]]
    # Each desa's status in every year of the table, and each kecamatan's Maju/Mandiri count in every year, laid
    # out here rather than looked up cell by cell in Jinja.
    for d in tabel["desa"]:
        per_tahun = {h["tahun"]: h for h in d["riwayat"]}
        d["sel"] = [per_tahun.get(t) for t in tabel["tahun_tersedia"]]
    for k in distribusi.get("per_kecamatan", []):
        maju = {y["tahun"]: _maju(y) for y in k["tahun"]}
        k["sel"] = [maju.get(t, "—") for t in years]
    grafik_status = None
    if tabel["tahun"] is not None:
        now = next((y for y in distribusi["tahun"] if y["tahun"] == tabel["tahun"]), None)
        if now is not None:
            grafik_status = grafik.batang(f"Jumlah desa per status IDM tahun {tabel['tahun']}",
                                          [(LABEL[s], now["jumlah"][s]) for s in STATUS])
    grafik_maju = grafik.batang("Jumlah desa berstatus Maju atau Mandiri per tahun",
                                [(str(y["tahun"]), _maju(y)) for y in distribusi["tahun"]]) if years else None
    response = current_app.make_response(render_page(
        "portal/dasbor/idm.html", distribusi=distribusi, tabel=tabel, peta=peta, years=years,
        cerita=_cerita(distribusi),
        grafik_status=grafik_status, grafik_maju=grafik_maju, status=STATUS, label_status=LABEL, alias=ALIAS,
        warna_status=WARNA_STATUS, per_kecamatan=per_kecamatan, skema=sk,
        ekspor_idm={fmt: url_for("idm.Ekspor", wilayah=region, format=fmt) for fmt in ("csv", "xlsx")}))
    return _izinkan_ubin(response, peta["ubin"]["url"])


def _izinkan_ubin(response, tiles: str):
    """Let the page load images from the configured tile server (the site's CSP otherwise allows only itself)."""
    if not tiles:
        return response
    parts = urlsplit(tiles.replace("{s}", "*"))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return response
    add_security_headers(response)  # the site's policy, then only img-src widened
    csp = response.headers.get("Content-Security-Policy", "")
    origin = f"{parts.scheme}://{parts.netloc}"
    response.headers["Content-Security-Policy"] = re.sub(r"img-src ([^;]*)", lambda m: f"img-src {m[1]} {origin}",
                                                         csp, count=1)
    return response


@kecamatan.route("/dasbor/idm")
@kecamatan.requires(*PEMBACA)
def idm_kecamatan():
    """The map of the kecamatan's villages coloured by IDM status, the status distribution over the years and
    the table of every desa's IDM history."""
    return _idm_page(per_kecamatan=False)


@kabupaten.route("/dasbor/idm")
@kabupaten.requires(*PEMBACA)
def idm_kabupaten():
    """The IDM status map and table with history of the kabupaten, per kecamatan and per desa."""
    return _idm_page(per_kecamatan=True)


def _nav() -> None:
    for level, bp in (("kecamatan", kecamatan), ("kabupaten", kabupaten)):
        nav_item("Dasbor", f"{bp.name}.dasbor_{level}", level=level, urutan=10)
        nav_item("Peta & IDM", f"{bp.name}.idm_{level}", level=level, urutan=15)


_nav()
