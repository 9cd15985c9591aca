"""The IDM API: who may read and change which region, entry by hand, upload, distribution and per-desa table.

These tests commit to the session database, so each uses years of its own (2031–2039) and filters on them;
those years are deleted when the module is done.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from tests.fixtures import bearer

KAB, KEC, OTHER_KEC = "15.08", "15.08.14", "15.08.01"


@pytest.fixture(scope="module", autouse=True)
def _test_years_removed_afterwards(engine):
    """The years these tests (and test_commands.py) commit would become the region's latest IDM year on the
    dashboards, whose tests run later in the same session: removed when the module is done."""
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM kawasan.indeks_desa WHERE tahun BETWEEN 2031 AND 2039"))


def _put(client, token, desa, tahun, **skor):
    return client.put(f"/api/v1/wilayah/{KAB}/idm/desa/{desa}/{tahun}", json=skor, headers=bearer(token))


def test_admin_kabupaten_enters_scores_and_gets_the_computed_status(client, token_for, engine):
    admin = token_for(("admin_kabupaten", KAB))
    at = _put(client, admin, "15.08.14.2001", 2031, iks=0.7072, ike=0.7072, ikl=0.7072)
    assert at.status_code == 200, at.get_json()
    assert at.get_json().items() >= {"nilai": "0.7072", "status": "berkembang", "status_label": "Berkembang",
                                  "iks": "0.7072", "sumber": "manual", "tahun": 2031, "skema": "IDM-2016"}.items()
    above = _put(client, admin, "15.08.14.2001", 2031, iks="0,7073", ike="0.7073", ikl=0.7073)  # corrected
    assert above.get_json()["status"] == "maju"
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT nilai, status, diubah_oleh FROM kawasan.indeks_desa "
                                 "WHERE desa_kode = '15.08.14.2001' AND tahun = 2031")).all()
        audit = conn.scalar(text("SELECT count(*) FROM kawasan.audit_log WHERE aksi = 'ubah_idm' "
                                 "AND objek = 'idm:15.08.14.2001:2031'"))
    assert len(rows) == 1 and str(rows[0].nilai) == "0.7073" and rows[0].status == "maju"
    assert rows[0].diubah_oleh.startswith("staff:") and audit == 2

    gone = client.delete(f"/api/v1/wilayah/{KAB}/idm/desa/15.08.14.2001/2031", headers=bearer(admin))
    assert gone.status_code == 204
    assert client.delete(f"/api/v1/wilayah/{KAB}/idm/desa/15.08.14.2001/2031",
                         headers=bearer(admin)).status_code == 404


def test_bad_scores_and_codes_are_refused_naming_the_field(client, token_for):
    admin = token_for(("admin_kabupaten", KAB))
    too_big = _put(client, admin, "15.08.14.2001", 2032, iks=0.5, ike=1.5, ikl=0.5)
    assert too_big.status_code == 422 and too_big.get_json()["errors"][0]["field"] == "ike"
    missing = _put(client, admin, "15.08.14.2001", 2032, iks=0.5, ike=0.5)
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "ikl"
    wrong_dim = _put(client, admin, "15.08.14.2001", 2032, iks=0.5, ike=0.5, ikl=0.5, dld=0.5)
    assert wrong_dim.status_code == 422 and wrong_dim.get_json()["errors"][0]["field"] == "dld"
    scheme_2024 = _put(client, admin, "15.08.14.2001", 2032, skema="ID-2024", dld=0.5, ds=0.5, de=0.5, dl=0.5,
                       da=0.5, dtkpd=0.5)
    assert scheme_2024.status_code == 422 and scheme_2024.get_json()["errors"][0]["field"] == "skema"
    kelurahan = _put(client, admin, "15.08.03.1006", 2032, iks=0.5, ike=0.5, ikl=0.5)
    assert kelurahan.status_code == 422 and "kelurahan" in kelurahan.get_json()["detail"]
    for desa in ("15.08.14.2099", "15.09.01.2001", "15.08.14", "abc"):
        response = _put(client, admin, desa, 2032, iks=0.5, ike=0.5, ikl=0.5)
        assert response.status_code == 404, desa
        assert response.get_json()["errors"][0]["field"] == "desa"
    assert _put(client, admin, "15.08.14.2001", 1999, iks=0.5, ike=0.5, ikl=0.5).status_code == 404


def test_only_kabupaten_admins_change_and_kecamatan_and_kabupaten_staff_read(client, token_for):
    for grant in (("staf_kabupaten", KAB), ("camat", KEC), ("staf_kecamatan", KEC), ("kepala_desa", "15.08.14.2001")):
        response = _put(client, token_for(grant), "15.08.14.2002", 2033, iks=0.5, ike=0.5, ikl=0.5)
        assert response.status_code == 403, grant
    platform = token_for(("admin_platform", None))
    assert _put(client, platform, "15.08.14.2002", 2033, iks=0.5, ike=0.5, ikl=0.5).status_code == 200

    url = "/api/v1/wilayah/{}/idm/distribusi?dari=2033&sampai=2033"
    camat = token_for(("camat", KEC))
    assert client.get(url.format(KEC), headers=bearer(camat)).status_code == 200
    assert client.get(url.format(OTHER_KEC), headers=bearer(camat)).status_code == 403  # another kecamatan
    assert client.get(url.format(KAB), headers=bearer(camat)).status_code == 403  # the kabupaten above
    staf_kab = token_for(("staf_kabupaten", KAB))
    for region in (KAB, KEC, OTHER_KEC):
        assert client.get(url.format(region), headers=bearer(staf_kab)).status_code == 200
    assert client.get(url.format("15.09"), headers=bearer(staf_kab)).status_code == 403  # another kabupaten
    for unknown in ("15.08.99", "99.99", "15.08.14.2001", "x"):
        response = client.get(url.format(unknown), headers=bearer(staf_kab))
        assert response.status_code == 404 and response.get_json()["errors"][0]["field"] == "wilayah"
    assert client.get(url.format(KEC)).status_code == 401
    desa_staff = token_for(("kepala_desa", "15.08.14.2001"))
    assert client.get(url.format(KEC), headers=bearer(desa_staff)).status_code == 403


def test_distribution_and_history_per_kecamatan_and_kabupaten(client, token_for):
    admin = token_for(("admin_kabupaten", KAB))
    scores = {  # desa → (2034 score, 2035 score), the same value for the three indices
        "15.08.14.2003": ("0.7073", "0.8156"), "15.08.14.2004": ("0.5000", "0.6000"),
        "15.08.14.2005": ("0.4907", "0.4908"), "15.08.01.2001": ("0.7500", "0.7500"),
    }
    for desa, per_year in scores.items():
        for tahun, value in zip((2034, 2035), per_year, strict=True):
            assert _put(client, admin, desa, tahun, iks=value, ike=value, ikl=value).status_code == 200

    camat = token_for(("camat", KEC))
    kec = client.get(f"/api/v1/wilayah/{KEC}/idm/distribusi?dari=2034&sampai=2035", headers=bearer(camat)).get_json()
    assert kec["jumlah_desa"] == 9
    years = {y["tahun"]: y for y in kec["tahun"]}
    assert years[2034]["jumlah"] == {"sangat_tertinggal": 1, "tertinggal": 1, "berkembang": 0, "maju": 1,
                                     "mandiri": 0}
    assert years[2035]["jumlah"] == {"sangat_tertinggal": 0, "tertinggal": 1, "berkembang": 1, "maju": 0,
                                     "mandiri": 1}
    assert years[2034]["diukur"] == 3 and years[2034]["belum_diukur"] == 6  # the other kecamatan is not here

    kab = client.get(f"/api/v1/wilayah/{KAB}/idm/distribusi?dari=2034&sampai=2034&per_kecamatan=true",
                     headers=bearer(token_for(("staf_kabupaten", KAB)))).get_json()
    assert kab["jumlah_desa"] == 141  # Bungo's desa; its 12 kelurahan are not measured by the IDM
    assert kab["tahun"][0]["jumlah"]["maju"] == 2
    per_kec = {k["kode"]: k for k in kab["per_kecamatan"]}
    assert len(per_kec) == 17 and per_kec[KEC]["jumlah_desa"] == 9
    assert per_kec[OTHER_KEC]["tahun"] == [{"tahun": 2034, "jumlah": {
        "sangat_tertinggal": 0, "tertinggal": 0, "berkembang": 0, "maju": 1, "mandiri": 0}}]

    table = client.get(f"/api/v1/wilayah/{KEC}/idm/desa?tahun=2035", headers=bearer(camat)).get_json()
    assert table["tahun"] == 2035 and len(table["desa"]) == 9
    row = next(d for d in table["desa"] if d["kode"] == "15.08.14.2003")
    assert row["tahun_ini"]["status"] == "mandiri"
    assert [(h["tahun"], h["status"]) for h in row["riwayat"] if h["tahun"] in (2034, 2035)] == [
        (2034, "maju"), (2035, "mandiri")]
    maju_2034 = client.get(f"/api/v1/wilayah/{KAB}/idm/desa?tahun=2034&status=maju&kecamatan={OTHER_KEC}",
                           headers=bearer(admin)).get_json()
    assert [d["kode"] for d in maju_2034["desa"]] == ["15.08.01.2001"]
    elsewhere = client.get(f"/api/v1/wilayah/{KEC}/idm/desa?kecamatan={OTHER_KEC}", headers=bearer(camat))
    assert elsewhere.status_code == 422 and elsewhere.get_json()["errors"][0]["field"] == "kecamatan"

    one = client.get(f"/api/v1/wilayah/{KEC}/idm/desa/15.08.14.2005", headers=bearer(camat)).get_json()
    assert [(h["tahun"], h["status"]) for h in one["riwayat"] if h["tahun"] in (2034, 2035)] == [
        (2035, "tertinggal"), (2034, "sangat_tertinggal")]
    assert client.get(f"/api/v1/wilayah/{KEC}/idm/desa/15.08.01.2001", headers=bearer(camat)).status_code == 404


def test_upload_is_all_or_nothing_with_a_row_level_report(client, token_for, engine):
    admin = token_for(("admin_kabupaten", KAB))
    bad = (b"KODE DESA,IKS 2036,IKE 2036,IKL 2036\n"
           b"1508142006,0.6,0.6,0.6\n"
           b"1508142099,0.6,0.6,0.6\n"
           b"1509012001,0.6,0.6,0.6\n"
           b"1508142007,0.6,x,0.6\n")
    response = client.post(f"/api/v1/wilayah/{KAB}/idm/impor", data={"berkas": (io.BytesIO(bad),
                           "idm.csv")}, headers=bearer(admin), content_type="multipart/form-data")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "KODE DESA"), (4, "KODE DESA"), (5, "IKE 2036")]
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM kawasan.indeks_desa WHERE tahun = 2036")) == 0

    good = b"kode_desa;iks;ike;ikl\n1508142006;0,8;0,8;0,8\n1508142007;0,6;0,6;0,6\n"
    ok = client.post(f"/api/v1/wilayah/{KEC}/idm/impor?tahun=2036", data={"berkas": (io.BytesIO(good),
                     "idm.csv")}, headers=bearer(admin), content_type="multipart/form-data")
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json().items() >= {"inserted": 2, "updated": 0, "rejected": False, "tahun": [2036]}.items()
    unreadable = client.post(f"/api/v1/wilayah/{KAB}/idm/impor", data={"berkas": (io.BytesIO(b"x,y\n"),
                             "idm.csv")}, headers=bearer(admin), content_type="multipart/form-data")
    assert unreadable.status_code == 422 and unreadable.get_json()["errors"][0]["field"] == "berkas"
    camat = token_for(("camat", KEC))
    forbidden = client.post(f"/api/v1/wilayah/{KEC}/idm/impor?tahun=2036", data={"berkas": (
        io.BytesIO(good), "idm.csv")}, headers=bearer(camat), content_type="multipart/form-data")
    assert forbidden.status_code == 403


def test_the_schemes_are_public(client):
    body = client.get("/api/v1/idm/skema").get_json()
    idm = next(s for s in body["skema"] if s["kode"] == "IDM-2016")
    assert [a["nilai_maks"] for a in idm["ambang"]] == ["0.4907", "0.5989", "0.7072", "0.8155", None]
    assert next(s for s in body["skema"] if s["kode"] == "ID-2024")["tersedia"] is False


def test_the_table_exports_as_csv_and_xlsx_that_import_back(client, token_for):
    import csv

    from openpyxl import load_workbook

    admin, camat = token_for(("admin_kabupaten", KAB)), token_for(("camat", KEC))
    for desa, tahun, value in (("15.08.14.2006", 2038, "0.5000"), ("15.08.14.2006", 2039, "0.6000"),
                               ("15.08.14.2007", 2039, "0.8200")):
        assert _put(client, admin, desa, tahun, iks=value, ike=value, ikl=value).status_code == 200
    url = f"/api/v1/wilayah/{KEC}/idm/ekspor"

    answer = client.get(f"{url}?format=csv&tahun=2039", headers=bearer(camat))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == "attachment; filename=idm_150814_2039.csv"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.data.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheets need to read UTF-8
    header, *rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert header == ["KODE DESA", "NAMA DESA", "KODE KECAMATAN", "KECAMATAN", "IKS 2039", "IKE 2039", "IKL 2039",
                      "NILAI IDM 2039", "STATUS IDM 2039"]
    table = client.get(f"/api/v1/wilayah/{KEC}/idm/desa?tahun=2039", headers=bearer(camat)).get_json()
    assert [r[0] for r in rows] == [d["kode"] for d in table["desa"]]  # the same desa as the table, all 9
    by_kode = {r[0]: r for r in rows}
    six = next(d for d in table["desa"] if d["kode"] == "15.08.14.2006")["tahun_ini"]  # the table's own values
    assert by_kode["15.08.14.2006"][2:] == [KEC, "Bathin III Ulu", six["iks"], six["ike"], six["ikl"], "0.6000",
                                            "Berkembang"]
    assert by_kode["15.08.14.2007"][-2:] == ["0.8200", "Mandiri"]
    assert by_kode["15.08.14.2001"][4:] == [""] * 5  # not measured that year: empty, not zero
    mandiri = client.get(f"{url}?format=csv&tahun=2039&status=mandiri", headers=bearer(camat))
    assert [line.split(",")[0] for line in mandiri.data.decode("utf-8-sig").splitlines()[1:]] == ["15.08.14.2007"]

    xlsx = client.get(f"{url}?format=xlsx", headers=bearer(camat))
    assert xlsx.status_code == 200 and xlsx.headers["Content-Disposition"].endswith("idm_150814.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True)["IDM"]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    position = {name: i for i, name in enumerate(cells[0])}
    row_2006 = next(r for r in cells if r[0] == "15.08.14.2006")
    assert row_2006[position["NILAI IDM 2038"]] == 0.5 and row_2006[position["STATUS IDM 2038"]] == "Tertinggal"
    assert row_2006[position["IKS 2039"]] == 0.6  # a number a spreadsheet can sum, not text
    # Every year of the region side by side: the Kemendes layout, which the import reads back without a remark.
    back = client.post(f"/api/v1/wilayah/{KAB}/idm/impor?periksa=true", headers=bearer(admin),
                       data={"berkas": (io.BytesIO(xlsx.data), "idm.xlsx")}, content_type="multipart/form-data")
    assert back.status_code == 200, back.get_json()
    report = back.get_json()
    assert not report["rejected"] and report["errors"] == [] and report["warnings"] == []
    assert {2038, 2039} <= set(report["tahun"])

    # The table's read policy: another kecamatan's camat 403, no token 401, and bad input names its field.
    assert client.get(f"/api/v1/wilayah/{OTHER_KEC}/idm/ekspor", headers=bearer(camat)).status_code == 403
    assert client.get(url).status_code == 401
    bad = client.get(f"{url}?format=pdf", headers=bearer(camat))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "format"
    outside = client.get(f"{url}?kecamatan={OTHER_KEC}", headers=bearer(camat))
    assert outside.status_code == 422 and outside.get_json()["errors"][0]["field"] == "kecamatan"
