"""The register's admin pages through the portal session (Flask test client, real database): list, search and
filters, detail, create and edit with inline messages, stale edits, life events, families, import with its
progress bar, export. Another village's staff get the 403 page."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select, text

from service.audit.models import AuditLog
from service.penduduk import services
from service.penduduk.models import Keluarga, MutasiPenduduk, Penduduk, Wilayah
from service.penduduk.test_impor import csv_bytes, families
from tenants.session import DesaSession
from tests.browser import browser_fixture, live_server_fixture  # noqa: F401
from tests.fixtures import csrf_of, new_nik, new_no_kk, nik_birth_date, sign_in_staff

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

DESA, OTHER = "15.08.14.2003", "15.08.14.2002"
BASE = "/desa/1508142003/kelola"


def signed_in(client, make_staff, role: str = "operator_desa", desa: str = DESA):
    username, password, _ = make_staff((role, desa))
    assert sign_in_staff(client, username, password).status_code == 303
    return client


@pytest.fixture
def operator(client, make_staff):
    return signed_in(client, make_staff)


def csrf(client, path: str = f"{BASE}/penduduk") -> str:
    return csrf_of(client.get(path).text)


def nik_born(born: date, *, female: bool = False) -> str:
    day = born.day + (40 if female else 0)
    return f"150814{day:02d}{born.month:02d}{born.year % 100:02d}{uuid.uuid4().int % 9000 + 1000:04d}"


def add(engine, nama: str, *, born: date, female: bool = False, keluarga_id: int | None = None, **fields) -> Penduduk:
    with DesaSession(engine, DESA) as session:
        # Every call for the same birth date shares the first 12 digits: draw serials this desa has not used.
        nik = nik_born(born, female=female)
        while services.find_by_nik(session, nik) is not None:
            nik = nik_born(born, female=female)
        saved = services.add_penduduk(session, {
            "nik": nik, "nama": nama, "sex": 2 if female else 1, "tanggal_lahir": born,
            "keluarga_id": keluarga_id, **fields}, actor="test")
        session.commit()
        session.refresh(saved.penduduk)
        session.expunge(saved.penduduk)
        return saved.penduduk


def years(n: int) -> date:
    return date.today().replace(day=1) - timedelta(days=int(n * 365.25) + 40)


def names_in(html: str) -> set[str]:
    return set(re.findall(r'/kelola/penduduk/[0-9a-f-]{36}">([^<]+)</a>', html))


def audits(engine, aksi: str, objek: str | None = None) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(AuditLog).where(AuditLog.aksi == aksi, AuditLog.desa_kode == DESA)
        if objek:
            query = query.where(AuditLog.objek == objek)
        return conn.scalar(query)


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(text(f"SELECT count(*) FROM desa_1508142003.{table}"))


@pytest.fixture
def warga(engine):
    """Five residents with a tag of their own (other tests share the desa): a woman of 30 in a new dusun's RT, a
    girl of 10 in the same dusun, a man of 70 elsewhere, and a dead man."""
    tag = f"Uji{uuid.uuid4().hex[:6]}"
    with DesaSession(engine, DESA) as session:
        dusun = Wilayah(tingkat="dusun", nama=f"Dusun {tag}")
        session.add(dusun)
        session.flush()
        rt = Wilayah(tingkat="rt", nama="007", induk_id=dusun.id)
        session.add(rt)
        session.commit()
        dusun_id, rt_id = dusun.id, rt.id
    people = {
        "siti": add(engine, f"Siti {tag}", born=years(30), female=True, wilayah_id=rt_id, agama_id=1, pekerjaan_id=9),
        "citra": add(engine, f"Citra {tag}", born=years(10), female=True, wilayah_id=dusun_id, agama_id=1),
        "budi": add(engine, f"Budi {tag}", born=years(70), agama_id=2),
        "darto": add(engine, f"Darto {tag}", born=years(50), agama_id=1),
    }
    with DesaSession(engine, DESA) as session:
        darto = services.get_penduduk(session, people["darto"].public_id)
        services.peristiwa_keluar(session, darto, services.MATI, tanggal=date.today(), actor="test")
        session.commit()
    return {"tag": tag, "dusun": dusun_id, "people": people}


def search(client, token: str, **filters) -> tuple[int, str]:
    answer = client.post(f"{BASE}/penduduk", data={"csrf_token": token, **filters})
    return answer.status_code, answer.text


# --- list, search, filters ------------------------------------------------------------------------------


def test_list_search_and_filters_show_the_right_residents(operator, warga, engine, monkeypatch):
    tag = warga["tag"]
    page = operator.get(f"{BASE}/penduduk")
    assert page.status_code == 200 and "<h1>Penduduk</h1>" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    token = csrf_of(page.text)
    before = audits(engine, "baca_data_pribadi", "penduduk")

    def shown(**filters) -> set[str]:
        status, html = search(operator, token, **{"q": tag, **filters})
        assert status == 200, html
        return {name.split()[0] for name in names_in(html) if tag in name}

    assert shown() == {"Siti", "Citra", "Budi"}  # the living, by name search
    assert shown(sex="2") == {"Siti", "Citra"}
    assert shown(umur_min="20", umur_max="40") == {"Siti"}
    assert shown(wilayah_id=str(warga["dusun"])) == {"Siti", "Citra"}  # the RT under the dusun counts
    assert shown(status_dasar="2") == {"Darto"}
    assert shown(agama_id="2") == {"Budi"}
    assert shown(pekerjaan_id="9") == {"Siti"}
    assert shown(q=f"sit {tag[:5]}") == {"Siti"}  # word prefixes, the API's full-text search
    assert audits(engine, "baca_data_pribadi", "penduduk") == before + 8

    # Keyset pages: the cursor travels in the form, never in the URL.
    monkeypatch.setattr("service.portal.penduduk.PER_HALAMAN", 2)
    first = operator.post(f"{BASE}/penduduk", data={"csrf_token": token, "q": tag}, headers={"HX-Request": "true"})
    assert first.status_code == 200 and "<html" not in first.text  # htmx gets the results part only
    assert [n.split()[0] for n in re.findall(r'">([^<]+)</a>', first.text)] == ["Budi", "Citra"]
    after = re.search(r'name="after" value="([^"]+)"', first.text).group(1)
    second = operator.post(f"{BASE}/penduduk", data={"csrf_token": token, "q": tag, "after": after})
    assert {n.split()[0] for n in names_in(second.text)} == {"Siti"} and 'name="after"' not in second.text
    # The age column: whole years today (the fixture's birth dates are n years and about 40 days ago).
    age = rf'">(\w+) {tag}</a></td>\s*<td>\d+</td>\s*<td>[LP]</td>\s*<td class="angka">(\d+)</td>'
    assert dict(re.findall(age, first.text + second.text)) == {"Budi": "70", "Citra": "10", "Siti": "30"}


def test_bad_filters_are_inline_indonesian_messages(operator):
    token = csrf(operator)
    status, html = search(operator, token, umur_min="tua")
    assert status == 422 and 'id="umur_min-galat"' in html and "harus berupa angka" in html
    status, html = search(operator, token, after="bukan-kursor")
    assert status == 422 and "cursor tidak sah" in html


def test_nik_search_is_a_post_and_leads_to_the_audited_detail(operator, warga, engine):
    siti = warga["people"]["siti"]
    token = csrf(operator)
    answer = operator.post(f"{BASE}/penduduk/cari", data={"csrf_token": token, "nik": siti.nik})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/kelola/penduduk/{siti.public_id}")
    assert siti.nik not in answer.headers["Location"]
    assert audits(engine, "cari_nik") >= 1
    before = audits(engine, "baca_data_pribadi", f"penduduk:{siti.public_id}")
    detail = operator.get(answer.headers["Location"])
    assert detail.status_code == 200 and siti.nama in detail.text and siti.nik in detail.text
    assert "PEREMPUAN" in detail.text and "ISLAM" in detail.text and "RT 007" in detail.text
    assert audits(engine, "baca_data_pribadi", f"penduduk:{siti.public_id}") == before + 1

    unknown = operator.post(f"{BASE}/penduduk/cari", data={"csrf_token": token, "nik": new_nik()})
    assert unknown.status_code == 404 and "NIK tidak terdaftar di desa ini" in unknown.text
    short = operator.post(f"{BASE}/penduduk/cari", data={"csrf_token": token, "nik": "123"})
    assert short.status_code == 422 and 'id="nik-galat"' in short.text


@pytest.mark.parametrize(("role", "scope"), [
    ("operator_desa", OTHER), ("kepala_desa", OTHER), ("staf_kecamatan", "15.08.14"), ("camat", "15.08.14"),
])
def test_staff_of_another_desa_or_level_get_the_403_page_without_data(client, make_staff, warga, role, scope):
    signed_in(client, make_staff, role, scope)
    siti = warga["people"]["siti"]
    for path in ("/penduduk", f"/penduduk/{siti.public_id}", f"/penduduk/{siti.public_id}/ubah", "/keluarga",
                 "/penduduk/impor", "/laporan"):
        page = client.get(BASE + path)
        assert page.status_code == 403, path
        assert "Anda tidak berwenang" in page.text and siti.nama not in page.text and siti.nik not in page.text
    token = csrf_of(client.get("/beranda").text)
    refused = client.post(f"{BASE}/penduduk/cari", data={"csrf_token": token, "nik": siti.nik})
    assert refused.status_code == 403 and siti.nama not in refused.text


@pytest.mark.parametrize("role", ["sekdes", "kepala_desa"])
def test_sekdes_and_kepala_desa_work_the_register_too(client, make_staff, warga, role):
    signed_in(client, make_staff, role)
    assert client.get(f"{BASE}/penduduk/{warga['people']['budi'].public_id}").status_code == 200


def test_anonymous_is_sent_to_sign_in(client):
    answer = client.get(f"{BASE}/penduduk")
    assert answer.status_code == 303 and "/masuk" in answer.headers["Location"]


# --- create and edit ------------------------------------------------------------------------------------


def form_for(nik: str, nama: str, **extra) -> dict[str, str]:
    born = nik_birth_date(nik) if len(nik) == 16 else "1990-01-01"
    return {"nik": nik, "nama": nama, "sex": "1", "tanggal_lahir": born, "warganegara_id": "1",
            "status_penduduk": "1", **extra}


def test_create_with_an_invalid_nik_shows_the_inline_message_and_writes_nothing(operator, engine):
    token = csrf(operator, f"{BASE}/penduduk/baru")
    before = {t: count(engine, t) for t in ("penduduk", "keluarga", "mutasi_penduduk")}
    answer = operator.post(f"{BASE}/penduduk/baru", data={"csrf_token": token, **form_for("12345", "Orang Salah")})
    assert answer.status_code == 422
    assert 'id="nik-galat"' in answer.text and "NIK harus 16 digit angka" in answer.text
    assert 'aria-invalid="true"' in answer.text and "Orang Salah" in answer.text  # the form keeps what was typed
    missing = operator.post(f"{BASE}/penduduk/baru", data={"csrf_token": token, "nik": new_nik()})
    assert missing.status_code == 422 and 'id="nama-galat"' in missing.text and "wajib diisi" in missing.text
    unknown_kk = operator.post(f"{BASE}/penduduk/baru", data={"csrf_token": token, **form_for(new_nik(), "Tanpa KK"),
                                                            "no_kk": new_no_kk()})
    assert unknown_kk.status_code == 422 and 'id="no_kk-galat"' in unknown_kk.text and "Buat KK baru" in unknown_kk.text
    assert {t: count(engine, t) for t in before} == before


def test_create_into_a_new_family_shows_warnings_without_blocking(operator, engine):
    token = csrf(operator, f"{BASE}/penduduk/baru")
    nik, no_kk = new_nik(), new_no_kk()
    form = form_for(nik, "Rahmat Baru", tanggal_lahir="1980-02-03", no_kk=no_kk, keluarga_baru="1", kk_level="1")
    answer = operator.post(f"{BASE}/penduduk/baru", data={"csrf_token": token, **form})
    assert answer.status_code == 303, answer.text
    assert nik not in answer.headers["Location"]
    detail = operator.get(answer.headers["Location"])
    assert "Penduduk tersimpan." in detail.text
    # A warning only, shown as one (amber kabar-peringatan, not the blue kabar-info of plain notices).
    assert re.search(r'<p class="kabar kabar-peringatan" role="status">Peringatan — [^<]*tanggal lahir tidak cocok '
                     r'dengan NIK', detail.text)
    with DesaSession(engine, DESA) as session:
        saved = services.find_by_nik(session, nik)
        keluarga = session.get(Keluarga, saved.keluarga_id)
        assert keluarga.no_kk == no_kk and keluarga.kepala_id == saved.id
    assert audits(engine, "ubah_data_pribadi", f"penduduk:{saved.public_id}") == 1


def test_a_stale_edit_is_refused_and_saves_nothing(operator, engine):
    person = add(engine, "Yusuf Lama", born=date(1975, 5, 6))
    form_page = operator.get(f"{BASE}/penduduk/{person.public_id}/ubah")
    assert form_page.status_code == 200 and 'name="versi" value="1"' in form_page.text
    token = csrf_of(form_page.text)
    fields = dict(re.findall(r'<input id="([a-z_]+)" name="\1" type="(?:text|date|email)"(?: value="([^"]*)")?',
                             form_page.text))
    assert fields["nik"] == person.nik and fields["nama"] == "Yusuf Lama"
    # Another operator saves first.
    with DesaSession(engine, DESA) as session:
        services.koreksi(session, services.get_penduduk(session, person.public_id), {"tempat_lahir": "Jambi"},
                         actor="lain")
        session.commit()
    edit = {"csrf_token": token, "versi": "1", **form_for(person.nik, "Yusuf Baru", tanggal_lahir="1975-05-06"),
            "tempat_lahir": ""}
    stale = operator.post(f"{BASE}/penduduk/{person.public_id}/ubah", data=edit)
    assert stale.status_code == 409
    assert "sudah diubah petugas lain" in stale.text and "Tidak ada yang disimpan" in stale.text
    with DesaSession(engine, DESA) as session:
        now = services.get_penduduk(session, person.public_id)
        assert (now.nama, now.tempat_lahir, now.versi) == ("Yusuf Lama", "Jambi", 2)

    blanked = operator.post(f"{BASE}/penduduk/{person.public_id}/ubah", data={**edit, "versi": "2", "nama": ""})
    assert blanked.status_code == 422 and 'id="nama-galat"' in blanked.text

    fresh = operator.post(f"{BASE}/penduduk/{person.public_id}/ubah", data={**edit, "versi": "2",
                                                                            "catatan": "salah ketik"})
    assert fresh.status_code == 303
    with DesaSession(engine, DESA) as session:
        now = services.get_penduduk(session, person.public_id)
        assert (now.nama, now.tempat_lahir, now.versi) == ("Yusuf Baru", None, 3)
        log = session.scalars(select(MutasiPenduduk).where(MutasiPenduduk.penduduk_id == now.id)
                              .order_by(MutasiPenduduk.id.desc())).first()
        assert log.kode_peristiwa == services.KOREKSI and log.data["sesudah"]["nama"] == "Yusuf Baru"
        assert log.catatan == "salah ketik"
    assert "Perubahan tersimpan." in operator.get(fresh.headers["Location"]).text


class _Form(HTMLParser):
    """What a browser would submit for the page's first POST form: inputs, checked boxes, selected options."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._first = False
        self._textarea: str | None = None
        self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("checkbox", "radio", "file"):
            self.fields[a["name"]] = a.get("value") or ""
        elif tag == "input" and a.get("name") and "checked" in a:
            self.fields[a["name"]] = a.get("value") or "on"
        elif tag == "select":
            self._select, self._first = a["name"], True
        elif tag == "option" and self._select:
            if self._first or "selected" in a:  # no option selected: the first one is
                self.fields[self._select] = a.get("value", "")
            self._first = False
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._done = True


def browser_form(html: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(html[html.index("<form method=\"post\" novalidate"):])
    return parser.fields


def test_the_edit_form_sent_back_unchanged_records_nothing_and_a_new_wilayah_is_one_correction(operator, engine):
    with DesaSession(engine, DESA) as session:
        dusun = Wilayah(tingkat="dusun", nama=f"Dusun Sunting {uuid.uuid4().hex[:4]}")
        session.add(dusun)
        session.commit()
        dusun_id = dusun.id
    person = add(engine, "Nurul Sunting", born=date(1990, 4, 5), female=True, agama_id=1, pekerjaan_id=9,
                 alamat_sekarang="Jl. Lama 1", telepon="0812")
    path = f"{BASE}/penduduk/{person.public_id}/ubah"
    fields = browser_form(operator.get(path).text)
    assert fields["nama"] == "Nurul Sunting" and fields["agama_id"] == "1" and fields["wilayah_id"] == ""
    assert fields["warganegara_id"] == "1" and fields["alamat_sekarang"] == "Jl. Lama 1"
    unchanged = operator.post(path, data=fields)
    assert unchanged.status_code == 303
    moved = operator.post(path, data={**browser_form(operator.get(path).text), "wilayah_id": str(dusun_id)})
    assert moved.status_code == 303
    with DesaSession(engine, DESA) as session:
        now = services.get_penduduk(session, person.public_id)
        log = session.scalars(select(MutasiPenduduk).where(MutasiPenduduk.penduduk_id == now.id)).all()
    assert now.wilayah_id == dusun_id and now.versi == 2
    assert [(e.kode_peristiwa, e.data) for e in log] == [
        (services.KOREKSI, {"sebelum": {"wilayah_id": None}, "sesudah": {"wilayah_id": dusun_id}})]


# --- life events and families ---------------------------------------------------------------------------


def test_a_life_event_changes_the_status_and_the_mutation_log(operator, engine):
    person = add(engine, "Amran Pindah", born=date(1966, 7, 8))
    path = f"{BASE}/penduduk/{person.public_id}/peristiwa"
    token = csrf(operator, path)
    base = {"csrf_token": token, "versi": "1", "tanggal": date.today().isoformat()}

    no_kind = operator.post(path, data={**base, "jenis": "pindah_keluar", "tujuan": "Muara Bungo"})
    assert no_kind.status_code == 422 and 'id="jenis_pindah-galat"' in no_kind.text
    assert "wajib untuk pindah keluar" in no_kind.text
    future = operator.post(path, data={**base, "jenis": "mati", "tanggal": (date.today() + timedelta(days=2))
                                       .isoformat()})
    assert future.status_code == 422 and "tanggal di masa depan" in future.text
    assert count_status(engine, person) == 1

    done = operator.post(path, data={**base, "jenis": "pindah_keluar", "jenis_pindah": "3",
                                     "tujuan": "Kota Jambi", "sebab": "tidak disimpan untuk pindah"})
    assert done.status_code == 303
    detail = operator.get(done.headers["Location"])
    assert "Pindah keluar tercatat." in detail.text and ">PINDAH</span>" in detail.text
    with DesaSession(engine, DESA) as session:
        now = services.get_penduduk(session, person.public_id)
        entry = session.scalars(select(MutasiPenduduk).where(MutasiPenduduk.penduduk_id == now.id)).one()
    assert now.status_dasar == 3
    assert (entry.kode_peristiwa, entry.data) == (services.PINDAH_KELUAR, {"jenis_pindah": 3, "tujuan": "Kota Jambi"})
    assert audits(engine, "peristiwa_penduduk", f"penduduk:{person.public_id}") == 1

    again = operator.post(path, data={**base, "versi": str(now.versi), "jenis": "mati"})
    assert again.status_code in (200, 409) and "hanya untuk penduduk yang hidup" in again.text


def count_status(engine, person: Penduduk) -> int:
    with DesaSession(engine, DESA) as session:
        return services.get_penduduk(session, person.public_id).status_dasar


def test_birth_arrival_split_and_join_through_the_family_page(operator, engine):
    with DesaSession(engine, DESA) as session:
        keluarga = services.create_keluarga(session, no_kk=new_no_kk(), alamat="Jl. Uji 1")
        session.commit()
        kk_id, kk_public = keluarga.id, keluarga.public_id
    ayah = add(engine, "Hasan Ayah", born=date(1980, 1, 2), keluarga_id=kk_id, kk_level=1)
    anak = add(engine, "Rudi Anak", born=date(2001, 3, 4), keluarga_id=kk_id, kk_level=4)
    istri = add(engine, "Wati Istri", born=date(2002, 5, 6), female=True)
    family_path = f"{BASE}/keluarga/{kk_public}"
    page = operator.get(family_path)
    assert page.status_code == 200 and "Hasan Ayah" in page.text and "Riwayat nomor KK" in page.text
    token = csrf_of(page.text)

    # A birth into the family: the form opened from the family page.
    born_nik = nik_born(date.today() - timedelta(days=3))
    birth_form = operator.get(f"{BASE}/penduduk/baru?keluarga={kk_public}&peristiwa=lahir")
    assert "Catat kelahiran" in birth_form.text and f'value="{kk_public}"' in birth_form.text
    born = operator.post(f"{BASE}/penduduk/baru", data={
        "csrf_token": token, "keluarga": str(kk_public), "peristiwa": "lahir",
        "tanggal_peristiwa": (date.today() - timedelta(days=3)).isoformat(), "kk_level": "4",
        **form_for(born_nik, "Bayi Hasan", tanggal_lahir=(date.today() - timedelta(days=3)).isoformat())})
    assert born.status_code == 303, born.text

    # Pecah KK: the son leaves with a KK of his own.
    no_kk_baru = new_no_kk()
    bad = operator.post(f"{family_path}/pecah", data={"csrf_token": token, "anggota": [str(anak.public_id)],
                                                      "kepala": str(ayah.public_id), "no_kk_baru": no_kk_baru,
                                                      "tanggal_pecah": date.today().isoformat()})
    assert bad.status_code == 422 and "kepala keluarga baru harus salah satu anggota" in bad.text
    split = operator.post(f"{family_path}/pecah", data={"csrf_token": token, "anggota": [str(anak.public_id)],
                                                        "kepala": str(anak.public_id), "no_kk_baru": no_kk_baru,
                                                        "tanggal_pecah": date.today().isoformat()})
    assert split.status_code == 303
    new_family = operator.get(split.headers["Location"])
    assert "Pecah KK tercatat" in new_family.text and no_kk_baru in new_family.text and "Rudi Anak" in new_family.text

    # Gabung KK: his wife joins his new family, found by her NIK in the form.
    unknown = operator.post(f"{split.headers['Location']}/gabung", data={
        "csrf_token": token, "nik_gabung": new_nik(), "kk_level_gabung": "3",
        "tanggal_gabung": date.today().isoformat()})
    assert unknown.status_code == 422 and "NIK tidak terdaftar di desa ini" in unknown.text
    joined = operator.post(f"{split.headers['Location']}/gabung", data={
        "csrf_token": token, "nik_gabung": istri.nik, "kk_level_gabung": "3",
        "tanggal_gabung": date.today().isoformat()})
    assert joined.status_code == 303
    assert "Wati Istri" in operator.get(joined.headers["Location"]).text

    with DesaSession(engine, DESA) as session:
        codes = {p: set(session.scalars(select(MutasiPenduduk.kode_peristiwa).join(Penduduk).where(
            Penduduk.public_id == p))) for p in (anak.public_id, istri.public_id)}
        bayi = session.scalars(select(Penduduk).where(Penduduk.nama == "Bayi Hasan")).one()
        bayi_codes = set(session.scalars(select(MutasiPenduduk.kode_peristiwa).where(
            MutasiPenduduk.penduduk_id == bayi.id)))
    assert codes == {anak.public_id: {services.PECAH_KK}, istri.public_id: {services.GABUNG_KK}}
    assert bayi_codes == {services.LAHIR} and bayi.keluarga_id == kk_id


def test_a_new_kk_number_keeps_the_old_one_in_the_history_and_a_stale_form_saves_nothing(operator, engine):
    old_kk = new_no_kk()
    with DesaSession(engine, DESA) as session:
        keluarga = services.create_keluarga(session, no_kk=old_kk)
        session.commit()
        kk_id, kk_public = keluarga.id, keluarga.public_id
    add(engine, "Marni Kepala", born=date(1970, 1, 1), female=True, keluarga_id=kk_id, kk_level=1)
    path = f"{BASE}/keluarga/{kk_public}"
    page = operator.get(path).text
    versi = re.search(r'name="versi" value="(\d+)"', page).group(1)
    form = {"csrf_token": csrf_of(page), "versi": versi, "no_kk_ganti": new_no_kk(), "sebab_ganti": "pindah alamat"}

    invalid = operator.post(f"{path}/nomor", data={**form, "no_kk_ganti": "99"})
    assert invalid.status_code == 422 and 'id="no_kk_ganti-galat"' in invalid.text
    assert "Nomor KK harus 16 digit angka" in invalid.text
    no_reason = operator.post(f"{path}/nomor", data={**form, "sebab_ganti": ""})
    assert no_reason.status_code == 422 and 'id="sebab_ganti-galat"' in no_reason.text

    changed = operator.post(f"{path}/nomor", data=form)
    assert changed.status_code == 303
    page = operator.get(path).text
    assert "Nomor KK diganti" in page and form["no_kk_ganti"] in page and old_kk in page
    stale = operator.post(f"{path}/nomor", data={**form, "no_kk_ganti": new_no_kk()})  # the version before
    assert stale.status_code == 409 and "sudah diubah petugas lain" in stale.text
    with DesaSession(engine, DESA) as session:
        history = [(h.no_kk, h.sebab) for h in services.riwayat_no_kk(session, services.get_keluarga(session,
                                                                                                   kk_public))]
    assert history == [(old_kk, "keluarga baru"), (form["no_kk_ganti"], "pindah alamat")]


# --- import and export ----------------------------------------------------------------------------------


def status_part(client, path: str) -> str:
    answer = client.get(path, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "<html" not in answer.text
    return answer.text


def test_import_shows_progress_then_the_report(client, make_staff, engine, relay, work):
    signed_in(client, make_staff)  # after the relay fixture, which empties this session's Redis
    page = client.get(f"{BASE}/penduduk/impor")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    token = csrf_of(page.text)

    png = client.post(f"{BASE}/penduduk/impor", data={"csrf_token": token, "berkas": (
        io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(64)), "foto.png")}, content_type="multipart/form-data")
    assert png.status_code == 415 and 'id="berkas-galat"' in png.text

    rows = families(2)
    rows[1]["tanggallahir"] = "kemarin"
    before = count(engine, "penduduk")
    uploaded = client.post(f"{BASE}/penduduk/impor", data={"csrf_token": token, "berkas": (
        io.BytesIO(csv_bytes(rows)), "data.csv")}, content_type="multipart/form-data")
    assert uploaded.status_code == 303
    status_path = uploaded.headers["Location"]
    assert all(r["nik"] not in status_path for r in rows)

    waiting = client.get(status_path)
    assert waiting.status_code == 200 and '<progress id="kemajuan" max="100" value="0">' in waiting.text
    assert 'hx-trigger="every 1s"' in waiting.text and "Menunggu giliran" in waiting.text
    with engine.begin() as conn:  # as the job reports it while running
        conn.execute(text("UPDATE desa_1508142003.impor_penduduk SET status = 'berjalan', persen = 40 "
                          "WHERE public_id = :p"), {"p": status_path.rsplit("/", 1)[1]})
    running = status_part(client, status_path)
    assert 'value="40"' in running and "Sedang diimpor" in running and 'hx-trigger="every 1s"' in running
    with engine.begin() as conn:
        conn.execute(text("UPDATE desa_1508142003.impor_penduduk SET status = 'menunggu', persen = 0 "
                          "WHERE public_id = :p"), {"p": status_path.rsplit("/", 1)[1]})

    assert relay.run_once() >= 1
    work()
    rejected = status_part(client, status_path)
    assert 'value="100"' in rejected and "hx-trigger" not in rejected  # finished: the polling stops
    assert "Berkas ditolak" in rejected and "Tidak ada data yang disimpan" in rejected
    table = re.search(r'<table id="laporan-kesalahan">.*?</table>', rejected, re.S).group(0)
    assert re.search(r"<td class=\"angka\">3</td><td>tanggallahir</td><td>[^<]+</td>", table), table
    assert count(engine, "penduduk") == before

    good = families(2)
    uploaded = client.post(f"{BASE}/penduduk/impor", data={"csrf_token": token, "berkas": (
        io.BytesIO(csv_bytes(good)), "benar.csv")}, content_type="multipart/form-data")
    relay.run_once()
    work()
    done = client.get(uploaded.headers["Location"]).text
    assert "Impor selesai: 6 baris — 6 penduduk baru" in done and "hx-trigger" not in done
    assert count(engine, "penduduk") == before + 6
    assert audits(engine, "impor_penduduk") >= 2
    history = client.get(f"{BASE}/penduduk/impor").text
    assert "benar.csv" in history and "data.csv" in history


def test_the_import_page_sends_exports_to_the_reports_page(operator):
    """One way to export from the portal: the reports page (a big register becomes a job with a progress bar)."""
    page = operator.get(f"{BASE}/penduduk/impor")
    assert page.status_code == 200 and "/kelola/laporan#ekspor" in page.text
    assert operator.get(f"{BASE}/penduduk/ekspor?format=csv").status_code == 404


# --- in a real browser: htmx search and the live progress bar -------------------------------------------


@pytest.mark.browser
def test_in_a_browser_the_search_swaps_in_place_and_the_progress_bar_follows_the_import(
        browser, live_server, make_staff, engine, warga, relay, work, tmp_path):
    from playwright.sync_api import expect

    from tests.browser import PHONE, Screenshots

    shot = Screenshots("penduduk-admin")
    username, password, _ = make_staff(("operator_desa", DESA))
    page = browser.new_context(base_url=live_server, **PHONE).new_page()
    page.goto(f"{BASE}/penduduk")
    page.get_by_label("Nama pengguna atau surel").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Penduduk", exact=True)).to_be_visible()

    # The name search answers in place (htmx): the URL stays the list's, names never appear in it.
    page.get_by_label("Nama", exact=True).fill(warga["tag"])
    page.get_by_text("Saring menurut wilayah").click()
    page.get_by_label("Jenis kelamin").select_option("2")
    page.get_by_role("button", name="Tampilkan").click()
    results = page.locator("#hasil table tbody tr")
    expect(results).to_have_count(2)
    expect(page.locator("#hasil")).to_contain_text(f"Siti {warga['tag']}")
    assert page.url.endswith(f"{BASE}/penduduk") and warga["tag"] not in page.url
    shot(page, "cari")

    # An import: the page polls the job and the <progress> bar moves to the report without a reload.
    rows = families(2)
    rows[0]["nik"] = "12345"
    berkas = tmp_path / "penduduk.csv"
    berkas.write_bytes(csv_bytes(rows))
    page.goto(f"{BASE}/penduduk/impor")
    page.get_by_label("Berkas data penduduk").set_input_files(str(berkas))
    page.get_by_role("button", name="Unggah dan impor").click()
    expect(page.locator("#status-teks")).to_have_text("Menunggu giliran")
    expect(page.locator("progress#kemajuan")).to_have_attribute("value", "0")
    shot(page, "impor-menunggu")
    assert relay.run_once() >= 1
    work()
    expect(page.locator("#status-teks")).to_have_text("Ditolak", timeout=10_000)
    expect(page.locator("progress#kemajuan")).to_have_attribute("value", "100")
    expect(page.locator("#laporan-kesalahan tbody tr").first).to_contain_text("nik")
    shot(page, "impor-ditolak")
