import json

import pytest


def test_list_villages_of_a_kecamatan_paginated(client):
    response = client.get("/api/v1/desa?kecamatan=15.08.14&page_size=4")
    assert response.status_code == 200
    page = response.get_json()
    assert [d["kode"] for d in page] == ["15.08.14.2001", "15.08.14.2002", "15.08.14.2003", "15.08.14.2004"]
    assert page[0]["nama"] == "Muara Buat"
    assert page[0]["kecamatan"] == {"kode": "15.08.14", "nama": "Bathin III Ulu"}
    assert page[0]["kabupaten"] == {"kode": "15.08", "nama": "Kabupaten Bungo"}
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 9 and pagination["last_page"] == 3
    last = client.get("/api/v1/desa?kecamatan=150814&page_size=4&page=3").get_json()
    assert [d["kode"] for d in last] == ["15.08.14.2009"]


def test_filter_by_kabupaten_and_name(client):
    everything = client.get("/api/v1/desa?kabupaten=1508&page_size=100").get_json()
    assert {d["kecamatan"]["kode"] for d in everything} == {"15.08.14", "15.08.01"}
    named = client.get("/api/v1/desa?kabupaten=15.08&q=buat").get_json()
    assert sorted(d["nama"] for d in named) == ["Buat", "Muara Buat"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("kecamatan=15.8", "kecamatan"), ("kecamatan=15.08", "kecamatan"), ("kabupaten=15.08.14", "kabupaten"),
     ("q=a", "q"), ("page_size=0", "page_size")],
)
def test_bad_filters_are_problems_naming_the_field(client, query, field):
    response = client.get(f"/api/v1/desa?{query}")
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == response.status_code
    assert field in [e["field"] for e in body["errors"]]


@pytest.mark.parametrize("kode", ["15.08.14.2001", "1508142001"])
def test_profile_by_either_code_form(client, kode):
    response = client.get(f"/api/v1/desa/{kode}")
    assert response.status_code == 200
    profile = response.get_json()
    assert profile["kode"] == "15.08.14.2001" and profile["nama"] == "Muara Buat"
    # Read from the desa's own schema: Bungo's local names.
    assert profile["sebutan"]["desa"] == "Dusun" and profile["sebutan"]["kepala_desa"] == "Rio"
    assert profile["jumlah_wilayah"] == {"dusun": 0, "rw": 0, "rt": 0}


@pytest.mark.parametrize(
    ("kode", "mentions"),
    [("15.08.14.9999", "15.08.14.9999"), ("15.08.02.2001", "15.08.02.2001"), ("15.08.14", "15.08.14"),
     ("bukan-kode", "bukan-kode")],
)
def test_unknown_unprovisioned_or_malformed_desa_is_404_naming_it(client, kode, mentions):
    response = client.get(f"/api/v1/desa/{kode}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert mentions in body["detail"] and body["errors"][0]["field"] == "kode"


def test_openapi_documents_the_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "Kawasan API"
    assert {"/api/v1/desa", "/api/v1/desa/{kode}", "/healthz", "/readyz"} <= set(spec["paths"])
    detail = spec["paths"]["/api/v1/desa/{kode}"]["get"]
    assert "404" in detail["responses"]
    assert any(p["name"] == "kode" and p["in"] == "path" for p in spec["paths"]["/api/v1/desa/{kode}"]["parameters"])


def test_interactive_docs_are_served_without_a_cdn(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
