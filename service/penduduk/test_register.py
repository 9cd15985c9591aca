import json
from datetime import date

import pytest
from sqlalchemy import text

from tests.fixtures import bearer, new_nik, new_no_kk, nik_birth_date

DESA = "15.08.14.2001"
BASE = f"/api/v1/desa/{DESA}"


@pytest.fixture
def operator(token_for):
    return bearer(token_for(("operator_desa", DESA)))


@pytest.fixture
def family(client, operator):
    response = client.post(f"{BASE}/keluarga", json={"no_kk": new_no_kk(), "alamat": "Dusun Ilir"}, headers=operator)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def register(client, headers, **fields):
    nik = fields.pop("nik", None) or new_nik(female=fields.get("sex") == 2)
    body = {"nik": nik, "nama": "Budi Santoso", "sex": 1, "tanggal_lahir": nik_birth_date(nik), "agama_id": 1,
            **fields}
    return client.post(f"{BASE}/penduduk", json=body, headers=headers)


def test_register_a_resident_and_read_it_back(client, operator, family):
    response = register(client, operator, nama="Ahmad Fauzi", keluarga_id=family["id"], kk_level=1,
                        pekerjaan_id="9", tanggal_lahir=None, nik="1508140304850777")
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "tanggal_lahir"
    response = register(client, operator, nama="Ahmad Fauzi", keluarga_id=family["id"], kk_level=1,
                        pekerjaan_id="9", nik="1508140304850777", tanggal_lahir="03-04-1985")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["ETag"] == 'W/"1"'
    assert body["data"]["pekerjaan_id_label"] == "PETANI/PEKEBUN"
    assert body["data"]["tanggal_lahir"] == "1985-04-03" and body["keluarga"]["no_kk"] == family["no_kk"]
    detail = client.get(f"{BASE}/penduduk/{body['id']}", headers=operator)
    assert detail.get_json()["data"]["nama"] == "Ahmad Fauzi"
    keluarga = client.get(f"{BASE}/keluarga/{family['id']}", headers=operator).get_json()
    assert keluarga["kepala"] == body["id"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"nik": "150814030485"}, "nik"), ({"nik": "1508140304850000"}, "nik"), ({"agama_id": 42}, "agama_id"),
     ({"tanggal_lahir": "31-02-1990"}, "tanggal_lahir"), ({"sex": "X"}, "sex"), ({"hamil": 1}, "hamil")],
)
def test_bad_data_is_422_naming_the_field_and_writes_nothing(client, operator, engine, fields, field):
    with engine.connect() as conn:
        before = conn.scalar(text("SELECT count(*) FROM desa_1508142001.penduduk"))
    response = register(client, operator, **fields)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM desa_1508142001.penduduk")) == before


def test_duplicate_nik_is_409_naming_the_existing_record(client, operator):
    first = register(client, operator).get_json()
    again = register(client, operator, nik=first["data"]["nik"])
    assert again.status_code == 409 and first["id"] in again.get_json()["detail"]


def test_nik_alive_in_another_desa_is_flagged(client, operator, token_for):
    first = register(client, operator).get_json()
    other = bearer(token_for(("operator_desa", "15.08.14.2002")))
    nik = first["data"]["nik"]
    response = client.post("/api/v1/desa/15.08.14.2002/penduduk",
                           json={"nik": nik, "nama": "Budi", "sex": 1, "tanggal_lahir": nik_birth_date(nik)},
                           headers=other)
    assert response.status_code == 201
    assert "15.08.14.2001" in response.get_json()["peringatan"]["nik"]


def test_lookup_by_nik_is_a_post_body(client, operator, app):
    created = register(client, operator).get_json()
    found = client.post(f"{BASE}/penduduk/cari", json={"nik": created["data"]["nik"]}, headers=operator)
    assert found.status_code == 200 and found.get_json()["id"] == created["id"]
    missing = client.post(f"{BASE}/penduduk/cari", json={"nik": "1508140101990009"}, headers=operator)
    assert missing.status_code == 404
    assert not any("nik" in rule.rule for rule in app.url_map.iter_rules())


def test_edits_need_the_current_etag(client, operator):
    created = register(client, operator, nama="Siti Rahma", sex=2)
    etag = created.headers["ETag"]
    url = f"{BASE}/penduduk/{created.get_json()['id']}"
    assert client.patch(url, json={"telepon": "0812"}, headers=operator).status_code == 428
    first = client.patch(url, json={"telepon": "081234", "nama": "Siti Rahmawati"},
                         headers={**operator, "If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] == 'W/"2"'
    stale = client.patch(url, json={"telepon": "0899"}, headers={**operator, "If-Match": etag})
    assert stale.status_code == 412
    log = client.get(f"{BASE}/mutasi?kode_peristiwa=7&limit=20", headers=operator).get_json()
    mine = next(e for e in log if e["penduduk_id"] == created.get_json()["id"])
    assert mine["data"]["sebelum"]["nama"] == "Siti Rahma" and mine["data"]["sesudah"]["nama"] == "Siti Rahmawati"


def test_death_leaves_the_living_register_and_is_logged(client, operator):
    created = register(client, operator, nama="Kakek Tua").get_json()
    url = f"{BASE}/penduduk/{created['id']}/peristiwa"
    died = client.post(url, json={"jenis": "mati", "tanggal": date.today().isoformat(), "sebab": "sakit"},
                       headers=operator)
    assert died.status_code == 201 and died.get_json()["peristiwa"] == "MATI"
    again = client.post(url, json={"jenis": "mati", "tanggal": date.today().isoformat()}, headers=operator)
    assert again.status_code == 409
    detail = client.get(f"{BASE}/penduduk/{created['id']}", headers=operator).get_json()
    assert detail["data"]["status_dasar"] == 2
    moved = client.post(url, json={"jenis": "pindah_keluar", "tanggal": "2026-01-01"}, headers=operator)
    assert moved.status_code == 422  # jenis_pindah missing


def test_birth_joins_the_family_and_pecah_then_gabung_kk(client, operator, family):
    father = register(client, operator, nama="Bapak", keluarga_id=family["id"], kk_level=1).get_json()
    mother = register(client, operator, nama="Ibu", sex=2, keluarga_id=family["id"], kk_level=3).get_json()
    baby_nik = new_nik()
    baby = client.post(f"{BASE}/penduduk", headers=operator, json={
        "nik": baby_nik, "nama": "Bayi", "sex": 1, "tanggal_lahir": nik_birth_date(baby_nik),
        "keluarga_id": family["id"], "kk_level": 4, "peristiwa": "lahir", "nama_ibu": "Ibu"})
    assert baby.status_code == 201
    births = client.get(f"{BASE}/mutasi?kode_peristiwa=1&limit=50", headers=operator).get_json()
    assert baby.get_json()["id"] in {e["penduduk_id"] for e in births}
    new_kk = new_no_kk()
    split = client.post(f"{BASE}/keluarga/{family['id']}/pecah", headers=operator, json={
        "anggota": [mother["id"], baby.get_json()["id"]], "kepala": mother["id"], "no_kk_baru": new_kk,
        "tanggal": date.today().isoformat()})
    assert split.status_code == 201, split.get_json()
    new_family = split.get_json()
    assert new_family["kepala"] == mother["id"] and len(new_family["anggota"]) == 2
    old = client.get(f"{BASE}/keluarga/{family['id']}", headers=operator).get_json()
    assert [m["id"] for m in old["anggota"]] == [father["id"]]
    joined = client.post(f"{BASE}/keluarga/{family['id']}/gabung", headers=operator, json={
        "anggota": [mother["id"]], "kk_level": 3, "tanggal": date.today().isoformat()})
    assert joined.status_code == 200 and len(joined.get_json()["anggota"]) == 2


def test_kk_number_change_keeps_the_history(client, operator, family):
    url = f"{BASE}/keluarga/{family['id']}"
    etag = client.get(url, headers=operator).headers["ETag"]
    new_kk = new_no_kk()
    assert client.patch(url, json={"no_kk": new_kk}, headers={**operator, "If-Match": etag}).status_code == 422
    changed = client.patch(url, json={"no_kk": new_kk, "sebab": "kepala keluarga meninggal"},
                           headers={**operator, "If-Match": etag})
    assert changed.status_code == 200
    history = changed.get_json()["riwayat_no_kk"]
    assert [h["no_kk"] for h in history] == [family["no_kk"], new_kk]
    assert history[0]["berlaku_sampai"] is not None and history[1]["sebab"] == "kepala keluarga meninggal"


def test_list_filters_search_and_keyset_pagination(client, operator, token_for):
    operator3 = bearer(token_for(("operator_desa", "15.08.14.2003")))
    base3 = "/api/v1/desa/15.08.14.2003"
    dusun = client.post(f"{base3}/wilayah", json={"tingkat": "dusun", "nama": "Dusun Uji"}, headers=operator3)
    assert dusun.status_code == 201
    rw = client.post(f"{base3}/wilayah", json={"tingkat": "rw", "nama": "001", "induk_id": dusun.get_json()["id"]},
                     headers=operator3).get_json()
    rt = client.post(f"{base3}/wilayah", json={"tingkat": "rt", "nama": "002", "induk_id": rw["id"]},
                     headers=operator3).get_json()
    names = ["Zulkifli Abdullah", "Zubaidah Yusuf", "Zainal Arifin", "Zahra Putri", "Zaitun Hasanah"]
    for i, name in enumerate(names):
        female = name in ("Zubaidah Yusuf", "Zahra Putri", "Zaitun Hasanah")
        nik = new_nik(female=female)
        assert client.post(f"{base3}/penduduk", headers=operator3, json={
            "nik": nik, "nama": name, "sex": 2 if female else 1, "tanggal_lahir": nik_birth_date(nik),
            "agama_id": 1, "wilayah_id": rt["id"] if i < 3 else None}).status_code == 201
    found = client.get(f"{base3}/penduduk?q=zai", headers=operator3).get_json()["items"]
    assert sorted(p["nama"] for p in found) == ["Zainal Arifin", "Zaitun Hasanah"]
    women = client.get(f"{base3}/penduduk?q=z&sex=2", headers=operator3)
    assert women.status_code == 422  # q needs 2 characters
    in_dusun = client.get(f"{base3}/penduduk?wilayah_id={dusun.get_json()['id']}&limit=200",
                          headers=operator3).get_json()["items"]
    assert {p["nama"] for p in in_dusun} == set(names[:3])
    tree = client.get(f"{base3}/wilayah", headers=operator3).get_json()
    node = next(n for n in tree if n["nama"] == "Dusun Uji")
    assert node["penduduk"] == 3 and node["anak"][0]["anak"][0]["nama"] == "002"
    seen, after = [], None
    while True:
        url = f"{base3}/penduduk?limit=2" + (f"&after={after}" if after else "")
        page = client.get(url, headers=operator3).get_json()
        seen += [p["id"] for p in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) and len(seen) >= 5
    young = client.get(f"{base3}/penduduk?umur_min=0&umur_max=10", headers=operator3).get_json()["items"]
    assert not {p["nama"] for p in young} & set(names)  # all born 1960-1999


def test_changes_mark_the_desa_dirty_once(client, operator, engine):
    register(client, operator)
    register(client, operator)
    with engine.connect() as conn:
        pending = conn.scalar(text("SELECT count(*) FROM kawasan.outbox WHERE topic = 'penduduk.berubah' "
                                   "AND desa_kode = :d AND status = 'pending'"), {"d": DESA})
    assert pending == 1


def test_personal_data_reads_are_audited_without_niks(client, operator, engine):
    created = register(client, operator).get_json()
    client.get(f"{BASE}/penduduk/{created['id']}", headers=operator)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT aksi, objek, detail FROM kawasan.audit_log WHERE desa_kode = :d "
                                 "ORDER BY id DESC LIMIT 5"), {"d": DESA}).all()
    assert ("baca_data_pribadi", f"penduduk:{created['id']}") in [(r.aksi, r.objek) for r in rows]
    assert created["data"]["nik"] not in json.dumps([list(r) for r in rows], default=str)


def test_the_village_summary_follows_the_register(client, operator, relay, work):
    before = client.get(f"/api/v1/desa/{DESA}").get_json()["penduduk"]
    register(client, operator, sex=2, nik=new_nik(female=True))
    register(client, operator)
    relay.run_once()
    work()
    after = client.get(f"/api/v1/desa/{DESA}").get_json()["penduduk"]
    assert after["penduduk_hidup"] == before["penduduk_hidup"] + 2
    assert after["perempuan"] == before["perempuan"] + 1
