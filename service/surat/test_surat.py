import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from tests.fixtures import bearer

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

DESA = "15.08.14.2005"
KEC = "15.08.14"
BASE = f"/api/v1/desa/{DESA}/surat"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def staff(token_for):
    return {
        "operator": bearer(token_for(("operator_desa", DESA))),
        "sekdes": bearer(token_for(("sekdes", DESA))),
        "rio": bearer(token_for(("kepala_desa", DESA))),
        "staf_kec": bearer(token_for(("staf_kecamatan", KEC))),
        "camat": bearer(token_for(("camat", KEC))),
        "camat_lain": bearer(token_for(("camat", "15.08.01"))),
        "kab": bearer(token_for(("admin_kabupaten", "15.08"))),
    }


@pytest.fixture
def warga(client, make_family):
    family = make_family(desa=DESA, size=2)
    nik, pin, _ = family[0]
    token = client.post("/api/v1/auth/login", json={"desa": DESA, "nik": nik, "pin": pin}).get_json()["access_token"]
    return bearer(token)


def _sign_off_in_desa(client, staff, permohonan_id):
    for who, action in (("operator", "verifikasi"), ("sekdes", "verifikasi"), ("rio", "tandatangani")):
        response = client.post(f"{BASE}/permohonan/{permohonan_id}/{action}", headers=staff[who])
        assert response.status_code == 200, (who, response.get_json())
    return response.get_json()


def test_a_desa_only_letter_from_request_to_verified_pdf(client, warga, staff):
    created = client.post(f"{BASE}/permohonan", json={"jenis": "DOM", "isian": {"keperluan": "melamar kerja"}},
                          headers=warga)
    assert created.status_code == 201, created.get_json()
    pid = created.get_json()["id"]
    assert created.get_json()["status"] == "Sedang Diperiksa"
    # The signer cannot skip the operator's and sekdes' steps.
    early = client.post(f"{BASE}/permohonan/{pid}/tandatangani", headers=staff["rio"])
    assert early.status_code == 409 and "Sedang Diperiksa" in early.get_json()["detail"]
    wrong_role = client.post(f"{BASE}/permohonan/{pid}/verifikasi", headers=staff["sekdes"])
    assert wrong_role.status_code == 403
    issued = _sign_off_in_desa(client, staff, pid)
    assert issued["status"] == "Siap Diambil"
    classification, number, desa_code, month, year = issued["nomor"].split("/")
    assert (classification, desa_code) == ("400.12.2.1", "2005") and len(number) == 3 and number.isdigit()
    assert month in ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII") and len(year) == 4
    assert [h["aksi"] for h in issued["riwayat"]] == ["diajukan", "diverifikasi", "diverifikasi", "ditandatangani"]
    pdf = client.get(f"{BASE}/permohonan/{pid}/pdf", headers=warga)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # The QR page names type, number, signers and the PDF's hash, and nothing personal.
    from tenants.session import DesaSession

    with DesaSession(client.application.extensions["kawasan"].engine, DESA) as session:
        token = session.scalar(text("SELECT token_verifikasi FROM permohonan_surat WHERE public_id = :p"), {"p": pid})
    page = client.get(f"/verifikasi/{token}?format=json").get_json()
    assert page["nomor"] == issued["nomor"] and page["pdf_sha256"] == hashlib.sha256(pdf.data).hexdigest()
    assert page["penandatangan"][0]["jabatan"].startswith("Rio")
    html = client.get(f"/verifikasi/{token}").get_data(as_text=True)
    assert issued["nomor"] in html and issued["penduduk"]["nama"] not in html
    assert client.get("/verifikasi/tidak-ada").status_code == 404


def test_approving_twice_is_idempotent(client, warga, staff):
    pid = client.post(f"{BASE}/permohonan", json={"jenis": "BM", "isian": {"keperluan": "nikah"}},
                      headers=warga).get_json()["id"]
    assert client.get(f"{BASE}/permohonan/{pid}", headers=warga).get_json()["status"] == "Belum Lengkap"
    bad = client.post(f"{BASE}/permohonan/{pid}/lampiran", headers=warga,
                      data={"nama": "Surat Pengantar RT/RW", "berkas": (io.BytesIO(b"hello"), "a.txt")})
    assert bad.status_code == 415
    big = client.post(f"{BASE}/permohonan/{pid}/lampiran", headers=warga,
                      data={"nama": "Surat Pengantar RT/RW", "berkas": (io.BytesIO(PNG + b"0" * 2_100_000), "a.png")})
    assert big.status_code == 413
    ok = client.post(f"{BASE}/permohonan/{pid}/lampiran", headers=warga,
                     data={"nama": "Surat Pengantar RT/RW", "berkas": (io.BytesIO(PNG), "pengantar.png")})
    assert ok.status_code == 201 and ok.get_json()["status"] == "Sedang Diperiksa"
    first = client.post(f"{BASE}/permohonan/{pid}/verifikasi", headers=staff["operator"])
    again = client.post(f"{BASE}/permohonan/{pid}/verifikasi", headers=staff["operator"])
    assert first.status_code == again.status_code == 200
    assert [h["aksi"] for h in again.get_json()["riwayat"]].count("diverifikasi") == 1


def test_a_letter_that_needs_the_camat(client, warga, staff, relay, work):
    pid = client.post(f"{BASE}/permohonan", headers=staff["operator"], json={
        "jenis": "S-04", "penduduk_id": _my_id(client, warga),
        "isian": {"alamat_tujuan": "Kecamatan Pelepat", "alasan": "pekerjaan"}}).get_json()["id"]
    for name in ("Fotokopi KK", "Fotokopi KTP"):
        client.post(f"{BASE}/permohonan/{pid}/lampiran", headers=staff["operator"],
                    data={"nama": name, "berkas": (io.BytesIO(PNG), "x.png")})
    signed = _sign_off_in_desa(client, staff, pid)
    assert signed["status"] == "Menunggu Kecamatan" and signed["nomor"] is None
    relay.run_once()
    work()
    inbox = client.get(f"/api/v1/wilayah/{KEC}/kotak-masuk", headers=staff["staf_kec"]).get_json()
    item = next(i for i in inbox if i["permohonan"] == pid)
    assert item["tingkat"] == "kecamatan" and not item["terlambat"]
    detail = client.get(f"/api/v1/wilayah/{KEC}/kotak-masuk/{item['id']}", headers=staff["camat"]).get_json()
    assert detail["permohonan_detail"]["isian"]["alasan"] == "pekerjaan"
    attachment = detail["permohonan_detail"]["lampiran"][0]
    opened = client.get(f"/api/v1/wilayah/{KEC}/kotak-masuk/{item['id']}/lampiran/{attachment['id']}",
                        headers=staff["camat"])
    assert opened.status_code == 200 and opened.data == PNG
    draft = client.get(f"/api/v1/wilayah/{KEC}/kotak-masuk/{item['id']}/draf", headers=staff["camat"])
    assert draft.status_code == 200 and draft.data.startswith(b"%PDF")
    assert client.get(f"/api/v1/wilayah/15.08.01/kotak-masuk/{item['id']}/draf", headers=staff["camat_lain"]
                      ).status_code == 404
    assert client.get(f"/api/v1/wilayah/15.08.01/kotak-masuk/{item['id']}", headers=staff["camat_lain"]
                      ).status_code == 404
    assert client.get(f"/api/v1/wilayah/{KEC}/kotak-masuk", headers=staff["camat_lain"]).status_code == 403
    url = f"/api/v1/wilayah/{KEC}/kotak-masuk/{item['id']}/keputusan"
    assert client.post(url, json={"keputusan": "setuju"}, headers=staff["staf_kec"]).status_code == 403
    assert client.post(url, json={"keputusan": "tolak"}, headers=staff["camat"]).status_code == 422  # no reason
    approved = client.post(url, json={"keputusan": "setuju"}, headers=staff["camat"])
    assert approved.status_code == 200
    assert client.post(url, json={"keputusan": "setuju"}, headers=staff["camat"]).status_code == 200  # idempotent
    assert client.post(url, json={"keputusan": "tolak", "alasan": "salah"}, headers=staff["camat"]).status_code == 409
    relay.run_once()
    work()
    relay.run_once()  # redelivered decisions change nothing
    work()
    final = client.get(f"{BASE}/permohonan/{pid}", headers=warga).get_json()
    assert final["status"] == "Siap Diambil" and final["nomor"]
    assert [s["tingkat"] for s in final["penandatangan"]] == ["desa", "kecamatan"]
    assert [h["tingkat"] for h in final["riwayat"]].count("kecamatan") == 1
    sla = client.get(f"/api/v1/wilayah/{KEC}/sla", headers=staff["camat"]).get_json()
    assert any(r["tingkat"] == "kecamatan" and r["jumlah"] >= 1 for r in sla["ringkasan"])


def test_kabupaten_chain_and_return_for_correction(client, warga, staff, relay, work):
    pid = client.post(f"{BASE}/permohonan", headers=staff["operator"], json={
        "jenis": "S-06", "penduduk_id": _my_id(client, warga),
        "isian": {"alamat_tujuan": "Kota Jambi", "alasan": "kuliah"}}).get_json()["id"]
    for name in ("Fotokopi KK", "Fotokopi KTP"):
        client.post(f"{BASE}/permohonan/{pid}/lampiran", headers=staff["operator"],
                    data={"nama": name, "berkas": (io.BytesIO(PNG), "x.png")})
    _sign_off_in_desa(client, staff, pid)
    relay.run_once()
    work()
    item = next(i for i in client.get(f"/api/v1/wilayah/{KEC}/kotak-masuk", headers=staff["camat"]).get_json()
                if i["permohonan"] == pid)
    returned = client.post(f"/api/v1/wilayah/{KEC}/kotak-masuk/{item['id']}/keputusan", headers=staff["camat"],
                           json={"keputusan": "kembalikan", "alasan": "alamat tujuan kurang lengkap"})
    assert returned.status_code == 200
    relay.run_once()
    work()
    back = client.get(f"{BASE}/permohonan/{pid}", headers=warga).get_json()
    assert back["status"] == "Dikembalikan" and back["alasan"] == "alamat tujuan kurang lengkap"
    resubmitted = client.post(f"{BASE}/permohonan/{pid}/ajukan-ulang", headers=warga,
                              json={"isian": {"alamat_tujuan": "Jl. Sudirman 1, Kota Jambi"}})
    assert resubmitted.status_code == 200 and resubmitted.get_json()["putaran"] == 2
    _sign_off_in_desa(client, staff, pid)
    relay.run_once()
    work()
    item = next(i for i in client.get(f"/api/v1/wilayah/{KEC}/kotak-masuk", headers=staff["camat"]).get_json()
                if i["permohonan"] == pid)
    assert item["putaran"] == 2
    client.post(f"/api/v1/wilayah/{KEC}/kotak-masuk/{item['id']}/keputusan", headers=staff["camat"],
                json={"keputusan": "setuju"})
    for _ in range(2):  # the decision comes down, then the request climbs to the kabupaten
        relay.run_once()
        work()
    assert client.get(f"{BASE}/permohonan/{pid}", headers=warga).get_json()["status"] == "Menunggu Kabupaten"
    kab_item = next(i for i in client.get("/api/v1/wilayah/15.08/kotak-masuk", headers=staff["kab"]).get_json()
                    if i["permohonan"] == pid)
    assert client.post(f"/api/v1/wilayah/15.08/kotak-masuk/{kab_item['id']}/keputusan", headers=staff["kab"],
                       json={"keputusan": "setuju"}).status_code == 200
    relay.run_once()
    work()
    final = client.get(f"{BASE}/permohonan/{pid}", headers=warga).get_json()
    assert final["status"] == "Siap Diambil"
    assert [s["tingkat"] for s in final["penandatangan"]] == ["desa", "kecamatan", "kabupaten"]


def test_warga_asks_only_for_self_or_family(client, warga, staff, make_family):
    stranger = make_family(desa=DESA, size=1)
    from tenants.session import DesaSession

    with DesaSession(client.application.extensions["kawasan"].engine, DESA) as session:
        other = session.scalar(text("SELECT public_id FROM penduduk WHERE id = :i"), {"i": stranger[0][2]})
    refused = client.post(f"{BASE}/permohonan", headers=warga,
                          json={"jenis": "DOM", "penduduk_id": str(other), "isian": {"keperluan": "x"}})
    assert refused.status_code == 403
    unknown_field = client.post(f"{BASE}/permohonan", headers=warga, json={"jenis": "DOM", "isian": {"x": 1}})
    assert unknown_field.status_code == 422
    counter_only = client.post(f"{BASE}/permohonan", headers=warga,
                               json={"jenis": "S-21", "isian": {"tanggal_meninggal": "2026-01-01", "sebab": "sakit"}})
    assert counter_only.status_code == 422


def test_concurrent_issues_get_distinct_consecutive_numbers(app, engine, make_family):
    from service.surat import services
    from service.surat.models import PermohonanSurat
    from tenants.session import DesaSession

    [(nik, _, penduduk_id)] = make_family(desa="15.08.14.2006", size=1)
    with DesaSession(engine, "15.08.14.2006") as session:
        session.execute(text("INSERT INTO pengaturan (kunci, nilai) VALUES ('surat_nomor_per', '\"tahun\"') "
                             "ON CONFLICT (kunci) DO UPDATE SET nilai = EXCLUDED.nilai"))
        ids = []
        for _ in range(50):
            p = PermohonanSurat(jenis_kode="S-02", penduduk_id=penduduk_id, pemohon="test", isian={"keperluan": "x"},
                                status=services.MENUNGGU_TANDATANGAN, rantai="desa")
            session.add(p)
            session.flush()
            ids.append(p.id)
        session.commit()
    barrier = threading.Barrier(10)

    def issue(pid):
        with app.app_context(), DesaSession(engine, "15.08.14.2006") as session:
            permohonan = session.get(PermohonanSurat, pid)
            if pid <= ids[9]:
                barrier.wait(timeout=30)
            services.terbitkan(session, permohonan, base_url="http://test")
            session.commit()
            return permohonan.nomor_urut

    with ThreadPoolExecutor(max_workers=10) as pool:
        numbers = list(pool.map(issue, ids))
    assert sorted(numbers) == list(range(min(numbers), min(numbers) + 50))


def _my_id(client, warga):
    return client.get("/api/v1/desa/15.08.14.2005/warga/saya", headers=warga).get_json()["saya"]["id"]


def test_a_chain_change_does_not_reroute_requests_midway(client, warga, staff, engine):
    from tenants.session import DesaSession

    pid = client.post(f"{BASE}/permohonan", json={"jenis": "DOM", "isian": {"keperluan": "x"}},
                      headers=warga).get_json()["id"]
    assert client.post(f"{BASE}/permohonan/{pid}/verifikasi", headers=staff["operator"]).status_code == 200
    with DesaSession(engine, DESA) as session:  # the desa drops the sekdes step from now on
        session.execute(text("INSERT INTO pengaturan (kunci, nilai) VALUES ('surat_rantai_verifikasi', "
                             "'[\"operator_desa\", \"kepala_desa\"]') ON CONFLICT (kunci) DO UPDATE "
                             "SET nilai = EXCLUDED.nilai"))
        session.commit()
    try:
        assert client.post(f"{BASE}/permohonan/{pid}/tandatangani", headers=staff["rio"]).status_code == 409
        assert client.post(f"{BASE}/permohonan/{pid}/verifikasi", headers=staff["sekdes"]).status_code == 200
        new = client.post(f"{BASE}/permohonan", json={"jenis": "DOM", "isian": {"keperluan": "y"}},
                          headers=warga).get_json()["id"]
        client.post(f"{BASE}/permohonan/{new}/verifikasi", headers=staff["operator"])
        assert client.get(f"{BASE}/permohonan/{new}", headers=warga).get_json()["status"] == "Menunggu Tandatangan"
    finally:
        with DesaSession(engine, DESA) as session:
            session.execute(text("DELETE FROM pengaturan WHERE kunci = 'surat_rantai_verifikasi'"))
            session.commit()
