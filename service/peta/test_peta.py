"""Village maps: boundary import checked with shapely (all or nothing), the dashboards' GeoJSON, the public layer."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape
from sqlalchemy import text

from service.idm.services import status_terakhir
from service.idm.skema import IDM_2016
from service.peta.demo import seed_titik_demo
from service.peta.services import periksa
from tests.fixtures import bearer

KAB, KEC = "15.08", "15.08.14"


def _square(x: float, y: float, d: float = 0.02) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def _feature(props: dict, geometry) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _fc(*features, **extra) -> dict:
    return {"type": "FeatureCollection", "features": list(features), **extra}


def test_every_feature_is_checked_and_reported(db_conn):
    bowtie = {"type": "Polygon", "coordinates": [[[101.7, -1.6], [101.72, -1.58], [101.72, -1.6], [101.7, -1.58],
                                                  [101.7, -1.6]]]}
    doc = _fc(
        _feature({"kode": "15.08.14.2001"}, _square(101.70, -1.60)),  # 1 fine
        _feature({"KDEPUM": "1508142002"}, bowtie),  # 2 self-intersecting
        _feature({"kode_desa": "15.08.14.2003"}, {"type": "LineString", "coordinates": [[101.7, -1.6], [101.8, -1.6]]}),
        _feature({"kode": "15.08.14.2004"}, _square(812000.0, 9820000.0, 1000)),  # 4 UTM metres, not lon/lat
        _feature({"kode": "15.08.14.2005"}, _square(-1.60, 101.70)),  # 5 latitude and longitude swapped
        _feature({"kode": "15.08.14.2099"}, _square(101.70, -1.60)),  # 6 unknown village
        _feature({"kode": "15.09.01.2001"}, _square(102.30, -1.40)),  # 7 another kabupaten
        _feature({"nama": "tanpa kode"}, _square(101.70, -1.60)),  # 8 no code
        _feature({"kode": "15.08.14.2001"}, _square(101.71, -1.61)),  # 9 the same village again
        _feature({"kode": "15.08.14.2006"}, {"type": "Polygon", "coordinates": [[[101.7, -1.6], [101.8]]]}),  # 10
    )
    laporan, rows = periksa(doc, db_conn, wilayah=KAB)
    assert laporan.rejected and laporan.fitur_total == 10
    problems = {e.fitur: (e.kode, e.field) for e in laporan.errors}
    assert problems == {
        2: ("15.08.14.2002", "geometry"), 3: ("15.08.14.2003", "geometry.type"),
        4: ("15.08.14.2004", "geometry.coordinates"), 5: ("15.08.14.2005", "geometry.coordinates"),
        6: ("15.08.14.2099", "properties.kode"), 7: ("15.09.01.2001", "properties.kode"), 8: (None, "properties.kode"),
        9: ("15.08.14.2001", "properties.kode"), 10: ("15.08.14.2006", "geometry.coordinates"),
    }
    messages = {e.fitur: e.message for e in laporan.errors}
    assert "Self-intersection" in messages[2] and "di luar Indonesia" in messages[4]
    assert "di luar wilayah" in messages[7]


@pytest.mark.parametrize("crs", ["urn:ogc:def:crs:EPSG::32748", "EPSG:23830"])
def test_a_projected_crs_is_refused(db_conn, crs):
    doc = _fc(_feature({"kode": "15.08.14.2001"}, _square(101.70, -1.60)),
              crs={"type": "name", "properties": {"name": crs}})
    laporan, rows = periksa(doc, db_conn, wilayah=KAB)
    assert laporan.rejected and laporan.errors[0].field == "crs" and rows == []


@pytest.fixture
def uploaded(engine):
    """What the upload test stores (boundaries, two IDM years) is removed afterwards: other modules' maps and
    dashboards count the kecamatan's villages."""
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM kawasan.peta_desa WHERE desa_kode IN "
                          "('15.08.14.2007', '15.08.14.2008', '15.08.14.2009')"))
        conn.execute(text("DELETE FROM kawasan.indeks_desa WHERE desa_kode = '15.08.14.2007' AND tahun >= 2098"))


@pytest.mark.usefixtures("uploaded")
def test_upload_writes_all_or_nothing_and_the_dashboard_map_shows_it(client, token_for, engine):
    admin = token_for(("admin_kabupaten", KAB))
    url = f"/api/v1/wilayah/{KEC}/peta/batas"
    multi = {"type": "MultiPolygon", "coordinates": [_square(101.80, -1.70)["coordinates"],
                                                      _square(101.83, -1.70)["coordinates"]]}
    good = _fc(_feature({"kode": "15.08.14.2007"}, _square(101.70, -1.60)),
               _feature({"kode_desa": 1508142008.0}, multi),
               _feature({"kode": "15.08.14.2009"}, {"type": "Point", "coordinates": [101.75, -1.65]}),
               crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}})
    bad = _fc(*good["features"], _feature({"kode": "15.08.01.2001"}, _square(101.9, -1.4)))
    refused = client.put(url, data=json.dumps(bad), headers=bearer(admin) | {"Content-Type": "application/geo+json"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert [(e["fitur"], e["kode"]) for e in refused.get_json()["errors"]] == [(4, "15.08.01.2001")]
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM kawasan.peta_desa WHERE desa_kode IN "
                                "('15.08.14.2007', '15.08.14.2008', '15.08.14.2009')")) == 0
    camat = token_for(("camat", KEC))
    assert client.put(url, json=good, headers=bearer(camat)).status_code == 403
    stored = client.put(url, json=good, headers=bearer(admin))
    assert stored.status_code == 200, stored.get_json()
    assert stored.get_json()["batas"] == 2 and stored.get_json()["titik"] == 1

    # The population comes from the register summary, the status from the latest IDM year.
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO kawasan.desa_ringkasan (desa_kode, penduduk_hidup) VALUES ('15.08.14.2007', 0) "
                          "ON CONFLICT DO NOTHING"))
        penduduk = conn.scalar(text("SELECT penduduk_hidup FROM kawasan.desa_ringkasan "
                                    "WHERE desa_kode = '15.08.14.2007'"))
    for tahun, value in ((2098, "0.5"), (2099, "0.75")):
        assert client.put(f"/api/v1/wilayah/{KAB}/idm/desa/15.08.14.2007/{tahun}", json={
            "iks": value, "ike": value, "ikl": value}, headers=bearer(admin)).status_code == 200

    peta = client.get(f"/api/v1/wilayah/{KEC}/peta?bentuk=batas", headers=bearer(camat))
    assert peta.status_code == 200 and peta.mimetype == "application/geo+json"
    doc = peta.get_json()
    features = {f["id"]: f for f in doc["features"]}
    assert doc["type"] == "FeatureCollection" and len(features) == 9  # every village of the kecamatan
    polygon = features["15.08.14.2007"]
    assert polygon["geometry"]["type"] == "Polygon" and polygon["properties"]["ada_batas"] is True
    assert polygon["properties"]["penduduk"] == penduduk
    assert polygon["properties"]["idm"] | {} == {"tahun": 2099, "nilai": "0.7500", "status": "maju",
                                                  "status_label": "Maju", "skema": "IDM-2016"}
    assert features["15.08.14.2008"]["geometry"]["type"] == "MultiPolygon"
    assert features["15.08.14.2009"]["geometry"] == {"type": "Point", "coordinates": [101.75, -1.65]}

    points = client.get(f"/api/v1/wilayah/{KEC}/peta", headers=bearer(camat)).get_json()
    point = next(f for f in points["features"] if f["id"] == "15.08.14.2007")
    assert point["geometry"]["type"] == "Point" and point["properties"]["sumber_titik"] == "batas"
    assert shape(polygon["geometry"]).contains(shape(point["geometry"]))  # the representative point is inside


def test_map_follows_the_region_policies_and_the_public_layer_is_points_only(client, token_for):
    camat = token_for(("camat", KEC))
    assert client.get("/api/v1/wilayah/15.08.01/peta", headers=bearer(camat)).status_code == 403
    assert client.get(f"/api/v1/wilayah/{KAB}/peta", headers=bearer(camat)).status_code == 403
    assert client.get("/api/v1/wilayah/15.08.99/peta", headers=bearer(camat)).status_code == 404
    assert client.get(f"/api/v1/wilayah/{KEC}/peta").status_code == 401
    kab = client.get(f"/api/v1/wilayah/{KAB}/peta", headers=bearer(token_for(("staf_kabupaten", KAB))))
    assert kab.status_code == 200 and len(kab.get_json()["features"]) == 153

    public = client.get(f"/api/v1/peta/desa?wilayah={KEC}")
    assert public.status_code == 200 and public.mimetype == "application/geo+json"
    assert all(set(f["properties"]) == {"kode", "nama", "jenis", "sumber_titik"} for f in public.get_json()["features"])
    assert client.get("/api/v1/peta/desa?wilayah=15.08.99").status_code == 404
    assert client.get("/api/v1/peta/desa?wilayah=15.08.14.2001").status_code == 404
    assert client.get("/api/v1/peta/desa").status_code == 422


def test_demo_points_are_inside_bungo_and_never_replace_real_ones(fresh_database):
    fresh = fresh_database()
    with fresh.engine.begin() as conn:
        conn.execute(text("INSERT INTO kawasan.peta_desa (desa_kode, bujur, lintang, sumber_titik) "
                          "VALUES ('15.08.14.2001', 101.7, -1.6, 'impor:kantor.geojson')"))
    assert seed_titik_demo(fresh.engine) == 152
    assert seed_titik_demo(fresh.engine) == 0
    with fresh.engine.connect() as conn:
        rows = conn.execute(text("SELECT desa_kode, bujur, lintang, sumber_titik FROM kawasan.peta_desa")).all()
        assert status_terakhir(conn, KAB, IDM_2016) == {}
    assert len(rows) == 153
    kept = next(r for r in rows if r.desa_kode == "15.08.14.2001")
    assert kept.sumber_titik == "impor:kantor.geojson" and float(kept.bujur) == 101.7
    synthetic = [r for r in rows if r.sumber_titik == "sintetis"]
    # Kabupaten Bungo lies within roughly 101.5–102.5 E, 1.0–2.0 S
    assert all(101.5 < float(r.bujur) < 102.6 and -2.0 < float(r.lintang) < -1.0 for r in synthetic)
    assert len({(r.bujur, r.lintang) for r in synthetic}) == 152
