"""Village maps (no Flask): GeoJSON for the dashboards, and importing boundaries checked with shapely.

Every village has at most one point (its office, or the representative point of its boundary, or a
synthetic demo point: ``sumber_titik`` says which) and at most one boundary (Polygon/MultiPolygon). All
coordinates are WGS84 longitude/latitude, the only CRS GeoJSON has (RFC 7946).

An import is a GeoJSON FeatureCollection whose features name their village by Kemendagri code in a property
(``kode``, ``kode_desa``, BIG's ``KDEPUM``…). Each feature is checked: a known village code inside the
caller's region, given once; a Polygon/MultiPolygon (or a Point for the office) that shapely finds valid and
non-empty, within a box around Indonesia (which also catches projected coordinates such as UTM metres, and
swapped longitude/latitude). A ``crs`` member other than WGS84 is refused. Any problem rejects the whole
file; the report names the feature (1-based), its code and the problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity
from sqlalchemy import Connection, text

from service.idm.services import status_terakhir
from service.idm.skema import LABEL, Skema
from service.regions.codes import InvalidKode, Tingkat, parse_kode

#: Longitude/latitude box around Indonesia (Sabang to Merauke, Miangas to Rote, with a margin).
BUJUR_MIN, BUJUR_MAKS = 94.0, 141.5
LINTANG_MIN, LINTANG_MAKS = -11.5, 6.5
CRS_WGS84 = {"urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84", "epsg:4326",
             "urn:ogc:def:crs:epsg::4326", "http://www.opengis.net/def/crs/ogc/1.3/crs84"}
#: Property names that hold the village code, compared as lower-case slugs; most specific first.
KODE_PROPERTIES = ("kode_desa", "kdepum", "kode_kemendagri", "kode_wilayah", "kd_desa", "kodedesa", "id_desa", "kode")
TIPE = {"Polygon", "MultiPolygon", "Point"}
ENAM_DESIMAL = Decimal("0.000001")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class MasalahFitur:
    fitur: int | None  # 1-based position in the collection; None for the whole document
    kode: str | None
    field: str
    message: str


@dataclass
class LaporanPeta:
    fitur_total: int = 0
    batas: int = 0
    titik: int = 0
    rejected: bool = False
    errors: list[MasalahFitur] = field(default_factory=list)

    def add(self, fitur: int | None, kode: str | None, field_: str, message: str) -> None:
        self.errors.append(MasalahFitur(fitur, kode, field_, message))
        self.rejected = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"{self.fitur_total} fitur / features"]
        if self.rejected:
            out.append(f"DITOLAK / REJECTED: {len(self.errors)} kesalahan / errors; nothing was written")
        else:
            out.append(f"batas / boundaries: {self.batas}, titik / points: {self.titik}")
        out += [f"  error fitur {e.fitur}, {e.kode or '-'}, {e.field}: {e.message}" for e in self.errors]
        return out


@dataclass(frozen=True)
class Geometri:
    kode: str
    jenis: str  # batas | titik
    geojson: dict[str, Any]
    bujur: Decimal
    lintang: Decimal


def _kode_property(properties: dict[str, Any]) -> Any:
    slugs = {_SLUG.sub("_", str(k).lower()).strip("_"): v for k, v in properties.items()}
    for name in KODE_PROPERTIES:
        if slugs.get(name) not in (None, ""):
            return slugs[name]
    return None


def _coord(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(ENAM_DESIMAL, rounding=ROUND_HALF_UP)


def periksa(doc: Any, conn: Connection, *, wilayah: str | None) -> tuple[LaporanPeta, list[Geometri]]:
    """Check a GeoJSON document; nothing is written here."""
    laporan = LaporanPeta()
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        laporan.add(None, None, "type", "harus GeoJSON FeatureCollection atau Feature / must be a GeoJSON "
                                        "FeatureCollection or Feature")
        return laporan, []
    crs = doc.get("crs")
    if crs is not None:
        name = str(((crs or {}).get("properties") or {}).get("name", "")).lower() if isinstance(crs, dict) else ""
        if name not in CRS_WGS84:
            laporan.add(None, None, "crs", f"CRS {name or crs!r} bukan WGS84 lon/lat; ubah ke EPSG:4326 / "
                                           "not WGS84: reproject to EPSG:4326 (CRS84)")
            return laporan, []
    features = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list) or not features:
        laporan.add(None, None, "features", "tidak ada fitur / no features")
        return laporan, []
    laporan.fitur_total = len(features)

    candidates: list[tuple[int, str, Any]] = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            laporan.add(number, None, "type", "bukan Feature / not a Feature")
            continue
        raw = _kode_property(feature.get("properties") or {})
        if raw is None:
            laporan.add(number, None, "properties.kode", "kode desa tidak ada (kode, kode_desa, KDEPUM) / "
                                                         "no village code property")
            continue
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        try:
            kode = parse_kode(str(raw).strip())
        except InvalidKode:
            laporan.add(number, str(raw)[:20], "properties.kode", "bukan kode desa Kemendagri / not a village code")
            continue
        if kode.tingkat is not Tingkat.DESA:
            laporan.add(number, kode.dotted, "properties.kode", "bukan kode desa/kelurahan / not a village code")
            continue
        if wilayah and not kode.dotted.startswith(wilayah + "."):
            laporan.add(number, kode.dotted, "properties.kode", f"di luar wilayah {wilayah} / outside your region")
            continue
        candidates.append((number, kode.dotted, feature.get("geometry")))

    known = set(conn.execute(text("SELECT kode FROM kawasan.wilayah_administrasi WHERE kode = ANY(:k)"),
                             {"k": [c for _, c, _ in candidates]}).scalars()) if candidates else set()
    seen: dict[tuple[str, str], int] = {}
    out: list[Geometri] = []
    for number, kode, geometry in candidates:
        if kode not in known:
            laporan.add(number, kode, "properties.kode", "kode desa tidak dikenal / unknown village code")
            continue
        if not isinstance(geometry, dict) or geometry.get("type") not in TIPE:
            got = geometry.get("type") if isinstance(geometry, dict) else geometry
            laporan.add(number, kode, "geometry.type", f"{got!r}: harus Polygon, MultiPolygon atau Point / must be "
                                                       "Polygon, MultiPolygon or Point")
            continue
        try:
            geom = shape(geometry)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            laporan.add(number, kode, "geometry.coordinates", f"koordinat rusak / malformed coordinates: {exc}")
            continue
        if geom.is_empty:
            laporan.add(number, kode, "geometry", "geometri kosong / empty geometry")
            continue
        minx, miny, maxx, maxy = geom.bounds
        inside = minx >= BUJUR_MIN and maxx <= BUJUR_MAKS and miny >= LINTANG_MIN and maxy <= LINTANG_MAKS
        if not inside:
            laporan.add(number, kode, "geometry.coordinates",
                        f"di luar Indonesia (bbox {minx:.4f},{miny:.4f},{maxx:.4f},{maxy:.4f}): harus WGS84 "
                        "bujur,lintang / outside Indonesia: coordinates must be WGS84 longitude,latitude")
            continue
        if not geom.is_valid:
            laporan.add(number, kode, "geometry", f"geometri tidak sah / invalid geometry: {explain_validity(geom)}")
            continue
        jenis = "titik" if geom.geom_type == "Point" else "batas"
        if (kode, jenis) in seen:
            laporan.add(number, kode, "properties.kode", f"{jenis} desa ini sudah ada di fitur {seen[kode, jenis]} / "
                                                         "repeated in the file")
            continue
        seen[kode, jenis] = number
        point = geom if jenis == "titik" else geom.representative_point()
        out.append(Geometri(kode, jenis, mapping(shapely.force_2d(geom)), _coord(point.x), _coord(point.y)))
    laporan.batas = sum(1 for g in out if g.jenis == "batas")
    laporan.titik = sum(1 for g in out if g.jenis == "titik")
    return laporan, out


def simpan(conn: Connection, rows: list[Geometri], *, sumber: str, oleh: str | None) -> None:
    """Write checked geometry. A boundary also gives the village its representative point unless it has a
    point of its own (imported or entered); an imported point replaces any point."""
    for g in rows:
        if g.jenis == "titik":
            conn.execute(text(
                """INSERT INTO kawasan.peta_desa (desa_kode, bujur, lintang, sumber_titik, diubah_oleh)
                   VALUES (:k, :x, :y, :s, :o)
                   ON CONFLICT (desa_kode) DO UPDATE SET bujur = EXCLUDED.bujur, lintang = EXCLUDED.lintang,
                       sumber_titik = EXCLUDED.sumber_titik, diubah_oleh = EXCLUDED.diubah_oleh, diubah_pada = now()"""
            ), {"k": g.kode, "x": g.bujur, "y": g.lintang, "s": sumber, "o": oleh})
        else:
            conn.execute(text(
                """INSERT INTO kawasan.peta_desa AS p (desa_kode, bujur, lintang, sumber_titik, batas, sumber_batas,
                                                       diubah_oleh)
                   VALUES (:k, :x, :y, 'batas', CAST(:b AS jsonb), :s, :o)
                   ON CONFLICT (desa_kode) DO UPDATE SET batas = EXCLUDED.batas, sumber_batas = EXCLUDED.sumber_batas,
                       diubah_oleh = EXCLUDED.diubah_oleh, diubah_pada = now(),
                       bujur = CASE WHEN p.bujur IS NULL OR p.sumber_titik IN ('sintetis', 'batas')
                                    THEN EXCLUDED.bujur ELSE p.bujur END,
                       lintang = CASE WHEN p.lintang IS NULL OR p.sumber_titik IN ('sintetis', 'batas')
                                      THEN EXCLUDED.lintang ELSE p.lintang END,
                       sumber_titik = CASE WHEN p.bujur IS NULL OR p.sumber_titik IN ('sintetis', 'batas')
                                           THEN 'batas' ELSE p.sumber_titik END"""
            ), {"k": g.kode, "x": g.bujur, "y": g.lintang, "b": _json(g.geojson), "s": sumber, "o": oleh})


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def impor(conn: Connection, doc: Any, *, wilayah: str | None, sumber: str, oleh: str | None) -> LaporanPeta:
    laporan, rows = periksa(doc, conn, wilayah=wilayah)
    if not laporan.rejected:
        simpan(conn, rows, sumber=sumber[:100], oleh=oleh)
    return laporan


def _villages(conn: Connection, region: str, *, batas: bool = False) -> list[Any]:
    # The boundary comes back as text only when asked: parsing 153 boundaries to re-serialise them costs more
    # than the rest of the request.
    return conn.execute(text(
        """SELECT w.kode, w.nama, w.jenis, k.kode AS kec_kode, k.nama AS kec_nama, p.bujur, p.lintang,
                  p.sumber_titik, p.batas IS NOT NULL AS ada_batas,
                  CASE WHEN :batas THEN p.batas::text END AS batas_json, r.penduduk_hidup
           FROM kawasan.wilayah_administrasi w
           JOIN kawasan.wilayah_administrasi k ON k.kode = w.induk_kode
           LEFT JOIN kawasan.peta_desa p ON p.desa_kode = w.kode
           LEFT JOIN kawasan.desa_ringkasan r ON r.desa_kode = w.kode
           WHERE w.tingkat = 'desa' AND w.induk_kode IN (
                 -- the registry's parent index; a LIKE on the code would scan every village of the country
                 SELECT kode FROM kawasan.wilayah_administrasi
                 WHERE tingkat = 'kecamatan' AND (induk_kode = :r OR kode = :r))
           ORDER BY w.kode"""
    ), {"r": region, "batas": batas}).all()


def _point(row: Any) -> dict[str, Any] | None:
    if row.bujur is None:
        return None
    return {"type": "Point", "coordinates": [float(row.bujur), float(row.lintang)]}


def feature_collection(conn: Connection, region: str, sk: Skema, *, bentuk: str = "titik") -> str:
    """Every village under ``region`` as a Feature (id = its code), as GeoJSON text. ``bentuk="batas"`` gives
    the boundary where one was imported (the point otherwise), copied as stored. Properties: code, name,
    kecamatan, population (from ``desa_ringkasan``, ``null`` before the first count), the latest year's IDM
    status (desa only), where the point came from and whether there is a boundary."""
    idm = status_terakhir(conn, region, sk)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    features = []
    for row in _villages(conn, region, batas=bentuk == "batas"):
        terakhir = idm.get(row.kode)
        properties = {
            "kode": row.kode, "nama": row.nama, "jenis": row.jenis,
            "kecamatan": {"kode": row.kec_kode, "nama": row.kec_nama},
            "penduduk": row.penduduk_hidup,
            "idm": {**terakhir, "skema": sk.kode, "status_label": LABEL[terakhir["status"]]} if terakhir else None,
            "sumber_titik": row.sumber_titik,
            "ada_batas": row.ada_batas,
        }
        geometry = row.batas_json or dumps(_point(row))
        features.append(f'{{"type":"Feature","id":{dumps(row.kode)},"geometry":{geometry},'
                        f'"properties":{dumps(properties)}}}')
    return f'{{"type":"FeatureCollection","wilayah":{dumps(region)},"features":[{",".join(features)}]}}'


def titik_publik(conn: Connection, region: str) -> dict[str, Any]:
    """The public layer: each village's code, name and point, nothing else."""
    return {
        "type": "FeatureCollection",
        "wilayah": region,
        "features": [
            {"type": "Feature", "id": r.kode, "geometry": _point(r),
             "properties": {"kode": r.kode, "nama": r.nama, "jenis": r.jenis, "sumber_titik": r.sumber_titik}}
            for r in _villages(conn, region)
        ],
    }
