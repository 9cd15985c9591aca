"""Statistics and the buku administrasi penduduk (B.1, B.2) against the real database.

Residents are built in 15.08.14.2003, which other tests leave alone; figures are asserted as differences from a
baseline taken first, or on rows this module made itself (its own wilayah, its own names).
"""

from __future__ import annotations

import io
import random
import re
import uuid
import zlib
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from service.audit.models import AuditLog
from service.auth.principal import Kind, Principal
from service.auth.roles import Grant, Peran
from service.penduduk import services
from service.penduduk.models import Wilayah
from service.penduduk.statistik import statistik_desa
from tenants.session import DesaSession
from tests.fixtures import bearer, new_no_kk

DESA = "15.08.14.2003"
OTHER_DESA = "15.08.14.2001"
BASE = f"/api/v1/desa/{DESA}"
TODAY = date.today()
BAND_0_4, BAND_40_44, BAND_75 = 0, 8, 15


# --- fixtures -------------------------------------------------------------------------------------------



@pytest.fixture
def http(app):
    return app.test_client()


@pytest.fixture
def tokens(app):
    return app.extensions["kawasan_auth"].tokens


def staff_token(tokens, *grants: tuple[str, str]) -> dict[str, str]:
    principal = Principal(kind=Kind.STAFF, subject=f"staff:{uuid.uuid4().int % 10**9}", name="Uji Laporan",
                          grants=tuple(Grant(Peran(r), s) for r, s in grants))
    return bearer(tokens.issue(principal)[0])


def client_token(tokens, desa: str, *scopes: str) -> dict[str, str]:
    principal = Principal(kind=Kind.CLIENT, subject=f"client:uji-{uuid.uuid4().hex[:8]}", name="Integrasi Uji",
                          grants=(Grant(Peran.INTEGRASI, desa),), desa_kode=desa, scopes=frozenset(scopes))
    return bearer(tokens.issue(principal)[0])


def birth(years_ago: int) -> date:
    """1 January: the age at any day of this year is exactly ``years_ago``."""
    return date(TODAY.year - years_ago, 1, 1)


def nik_for(born: date, *, female: bool) -> str:
    day = born.day + (40 if female else 0)
    return f"150814{day:02d}{born.month:02d}{born.year % 100:02d}{random.randint(1, 9999):04d}"


@pytest.fixture(scope="module")
def village(engine):
    """A small, fully controlled population in DESA (with its own dusun → RW → RT), the statistics taken
    before it was added, and one death today."""
    with DesaSession(engine, DESA) as session:
        before = statistik_desa(session)
        tag = uuid.uuid4().hex[:6].upper()
        dusun = Wilayah(tingkat="dusun", nama=f"UJI {tag}")
        session.add(dusun)
        session.flush()
        rw = Wilayah(tingkat="rw", nama="001", induk_id=dusun.id)
        session.add(rw)
        session.flush()
        rt = Wilayah(tingkat="rt", nama="002", induk_id=rw.id)
        session.add(rt)
        session.flush()
        k1 = services.create_keluarga(session, no_kk=new_no_kk(), alamat="Jl. Lintas Bungo", wilayah_id=rt.id)
        k2 = services.create_keluarga(session, no_kk=new_no_kk())

        def add(key, years, sex, keluarga, kk_level, peristiwa=None, **extra):
            born = birth(years)
            raw = {"nik": nik_for(born, female=sex == 2), "nama": f"Uji {key} {tag}", "sex": sex,
                   "tanggal_lahir": born, "keluarga_id": keluarga.id, "kk_level": kk_level,
                   "tempat_lahir": "Muara Bungo", **extra}
            return services.add_penduduk(session, raw, actor="test", peristiwa=peristiwa, tanggal=TODAY).penduduk

        people = {
            # married farmer with KTP-el and a birth certificate, at the RT
            "A": add("A", 40, 1, k1, 1, agama_id=1, pekerjaan_id=9, status_kawin=2, ktp_el=2, akta_lahir="AL-1",
                     wilayah_id=rt.id, pendidikan_kk_id=5),
            # his wife: recorded (status_rekam 3) but no card yet, at the RT
            "B": add("B", 38, 2, k1, 3, agama_id=1, pekerjaan_id=2, status_kawin=2, status_rekam=3, akta_lahir="AL-2",
                     wilayah_id=rt.id),
            # a toddler born today (LAHIR), registered at the dusun itself
            "C": add("C", 2, 2, k1, 4, agama_id=1, status_kawin=1, wilayah_id=dusun.id, peristiwa=services.LAHIR),
            # married at 16: must hold a KTP-el, has none; no wilayah
            "D": add("D", 16, 1, k2, 1, agama_id=1, status_kawin=2, ktp_el=1),
            # 20, single, not recorded yet; no wilayah
            "E": add("E", 20, 2, k2, 4, agama_id=3, status_kawin=1, ktp_el=1, status_rekam=2),
            # 80, dies today
            "F": add("F", 80, 1, k2, 7, agama_id=4, status_kawin=4),
        }
        services.peristiwa_keluar(session, people["F"], services.MATI, tanggal=TODAY, actor="test",
                                  data={"tempat": "Rumah", "sebab": "Sakit tua"})
        session.commit()
        info = {"before": before, "people": {k: (p.id, p.nik, p.nama) for k, p in people.items()},
                "dusun": dusun.id, "rw": rw.id, "rt": rt.id, "tag": tag}
    return info


def _find(items, **match):
    return next(i for i in items if all(i[k] == v for k, v in match.items()))


def _node(tree, wilayah_id):
    for node in tree:
        if node["id"] == wilayah_id:
            return node
        found = _node(node["anak"], wilayah_id)
        if found:
            return found
    return None


def _living_count(engine) -> int:
    with DesaSession(engine, DESA) as session:
        return session.scalar(text("SELECT count(*) FROM penduduk WHERE status_dasar = 1"))


# --- statistics -----------------------------------------------------------------------------------------


def test_statistics_count_exactly_what_was_added(engine, village):
    with DesaSession(engine, DESA) as session:
        after = statistik_desa(session)
    before = village["before"]

    def delta(path):
        a, b = after, before
        for key in path:
            a, b = a[key], b[key]
        return a - b

    assert (delta(["total", "jumlah"]), delta(["total", "laki_laki"]), delta(["total", "perempuan"])) == (5, 2, 3)
    assert [x["jumlah"] for x in after["jenis_kelamin"]] == [after["total"]["laki_laki"], after["total"]["perempuan"]]
    # age bands: the toddler in 0-4, the farmer in 40-44, the deceased 80-year-old nowhere
    for band, expected in ((BAND_0_4, (1, 0, 1)), (BAND_40_44, (1, 1, 0)), (BAND_75, (0, 0, 0))):
        a, b = after["kelompok_umur"][band], before["kelompok_umur"][band]
        assert tuple(a[k] - b[k] for k in ("jumlah", "laki_laki", "perempuan")) == expected, a["kelompok"]
    assert after["kelompok_umur"][BAND_0_4]["kelompok"] == "0-4"
    assert after["kelompok_umur"][BAND_75]["kelompok"] == "75+"
    islam_a, islam_b = _find(after["agama"], kode=1), _find(before["agama"], kode=1)
    assert islam_a["label"] == "ISLAM" and islam_a["jumlah"] - islam_b["jumlah"] == 4
    katholik_a, katholik_b = _find(after["agama"], kode=3), _find(before["agama"], kode=3)
    assert katholik_a["label"] == "KATHOLIK"
    assert katholik_a["perempuan"] - katholik_b["perempuan"] == 1
    assert katholik_a["laki_laki"] - katholik_b["laki_laki"] == 0
    assert _find(after["agama"], kode=4)["jumlah"] == _find(before["agama"], kode=4)["jumlah"]  # the dead one
    petani = _find(after["pekerjaan"], kode=9)
    assert petani["label"] == "PETANI/PEKEBUN"
    assert petani["laki_laki"] - _find(before["pekerjaan"], kode=9)["laki_laki"] == 1
    kawin = _find(after["status_kawin"], kode=2)
    assert kawin["label"] == "KAWIN" and kawin["jumlah"] - _find(before["status_kawin"], kode=2)["jumlah"] == 3
    assert _find(after["pendidikan_kk"], kode=None)["label"] == "BELUM MENGISI"
    assert after["jumlah_kk"] - before["jumlah_kk"] == 2
    # KTP-el: A, B, D, E must hold one; A (card) and B (recorded) do
    assert (delta(["ktp_el", "wajib"]), delta(["ktp_el", "memiliki"]), delta(["ktp_el", "belum"])) == (4, 2, 2)
    assert (delta(["akta_lahir", "jumlah"]), delta(["akta_lahir", "memiliki"])) == (5, 2)
    # wilayah: this module's own dusun → RW → RT
    dusun, rw, rt = (_node(after["wilayah"], village[k]) for k in ("dusun", "rw", "rt"))
    assert (dusun["jumlah"], dusun["laki_laki"], dusun["perempuan"]) == (3, 1, 2)
    assert (rw["jumlah"], rt["jumlah"], rt["tingkat"]) == (2, 2, "rt")
    assert dusun["anak"][0]["id"] == village["rw"] and rw["anak"][0]["id"] == village["rt"]
    unknown_a, unknown_b = after["wilayah"][-1], before["wilayah"][-1]
    assert unknown_a["id"] is None and unknown_a["nama"] == "TIDAK DIKETAHUI"
    assert unknown_a["jumlah"] - unknown_b["jumlah"] == 2  # D and E
    # mutations this month: one birth, one death
    assert len(after["mutasi_per_bulan"]) == 12
    month_a, month_b = after["mutasi_per_bulan"][-1], before["mutasi_per_bulan"][-1]
    assert month_a["bulan"] == TODAY.strftime("%Y-%m")

    def kode_count(month, kode):
        return next((p["jumlah"] for p in month["peristiwa"] if p["kode"] == kode), 0)

    assert kode_count(month_a, services.MATI) - kode_count(month_b, services.MATI) == 1
    assert kode_count(month_a, services.LAHIR) - kode_count(month_b, services.LAHIR) == 1
    assert _find(month_a["peristiwa"], kode=services.MATI)["label"] == "MATI"
    assert month_a["jumlah"] - month_b["jumlah"] == 2


def test_ages_are_taken_at_the_given_date(engine, village):
    with DesaSession(engine, DESA) as session:
        now = statistik_desa(session)
        earlier = statistik_desa(session, tanggal=date(TODAY.year - 1, 12, 31))
    # A year earlier the farmer (40 now) was 39: one fewer in 40-44; the month window moves too.
    assert now["kelompok_umur"][BAND_40_44]["laki_laki"] - earlier["kelompok_umur"][BAND_40_44]["laki_laki"] >= 1
    assert earlier["mutasi_per_bulan"][-1]["bulan"] == f"{TODAY.year - 1}-12"
    assert earlier["total"] == now["total"]


@pytest.mark.parametrize(("tanggal", "born", "band"), [
    (date(2025, 6, 15), date(2020, 6, 15), 1),  # fifth birthday today: 5-9
    (date(2025, 6, 15), date(2020, 6, 16), 0),  # tomorrow: still 4
    (date(2025, 6, 15), date(1950, 6, 15), 15),  # 75 today
    (date(2025, 6, 15), date(1950, 6, 16), 14),  # 74
    (date(2025, 6, 15), date(2025, 6, 15), 0),  # born today
    (date(2025, 6, 15), date(2026, 1, 1), 0),  # born after the date asked for
    (date(2024, 2, 29), date(2019, 2, 28), 1),  # 29 February: 5 on the 28th of a common year
    (date(2024, 2, 29), date(2019, 3, 1), 0),
])
def test_age_band_limits(engine, tanggal, born, band):
    from service.penduduk.statistik import _band_limits

    with engine.connect() as conn:
        got = conn.scalar(text("SELECT 15 - width_bucket(CAST(:b AS date), CAST(:limits AS date[]))"),
                          {"b": born, "limits": _band_limits(tanggal)})
    assert got == band


def test_statistics_endpoint_for_staff_and_desa_read_clients_without_personal_data(http, tokens, engine, village):
    for headers in (staff_token(tokens, ("operator_desa", DESA)), staff_token(tokens, ("kepala_desa", DESA)),
                    client_token(tokens, DESA, "desa:read")):
        response = http.get(f"{BASE}/statistik", headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["desa"]["kode"] == DESA and body["total"]["jumlah"] == _living_count(engine)
        raw = response.get_data(as_text=True)
        for _pid, nik, nama in village["people"].values():
            assert nik not in raw and nama not in raw
    assert http.get(f"{BASE}/statistik?tanggal=2024-02-30",
                    headers=staff_token(tokens, ("sekdes", DESA))).status_code == 422


# --- B.1 Buku Induk ---------------------------------------------------------------------------------------


def _audits(engine, subject: str) -> list[AuditLog]:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditLog).where(AuditLog.aktor == subject,
                                                        AuditLog.aksi == "ekspor_data_pribadi")).all())


def _sheet_rows(content: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    return list(wb.worksheets[0].iter_rows(values_only=True))


def test_buku_induk_xlsx_has_the_form_columns_and_one_row_per_living_resident(http, tokens, engine, village):
    subject_headers = staff_token(tokens, ("operator_desa", DESA))
    response = http.get(f"{BASE}/buku-induk?format=xlsx", headers=subject_headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype.endswith("spreadsheetml.sheet") and response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "1508142003" in disposition
    assert not re.search(r"\d{16}", disposition)

    rows = _sheet_rows(response.data)
    assert rows[0][0] == "PEMERINTAH KABUPATEN BUNGO" and rows[1][0] == "KECAMATAN BATHIN III ULU"
    assert rows[2][0] == "DUSUN LAMAN PANJANG"  # sebutan desa in Bungo
    assert rows[4][0] == "B.1 BUKU INDUK PENDUDUK"
    top = next(i for i, r in enumerate(rows) if r and r[0] == "NOMOR URUT")
    assert [c for c in rows[top] if c] == [
        "NOMOR URUT", "NAMA LENGKAP / PANGGILAN", "JENIS KELAMIN", "STATUS PERKAWINAN", "TEMPAT & TANGGAL LAHIR",
        "AGAMA", "PENDIDIKAN TERAKHIR", "PEKERJAAN", "DAPAT MEMBACA HURUF", "KEWARGANEGARAAN", "ALAMAT LENGKAP",
        "KEDUDUKAN DALAM KELUARGA", "NIK", "NOMOR KK", "KET"]
    assert [c for c in rows[top + 1] if c] == ["TEMPAT LAHIR", "TANGGAL"]
    assert list(rows[top + 2]) == list(range(1, 17))
    data = [r for r in rows[top + 3:] if r and isinstance(r[0], int)]
    living = _living_count(engine)
    assert len(data) == living and [r[0] for r in data] == list(range(1, living + 1))

    _, nik_a, nama_a = village["people"]["A"]
    a = next(r for r in data if r[13] == nik_a)
    assert a[1] == nama_a.upper() and a[2] == "L" and a[3] == "KAWIN" and a[4] == "MUARA BUNGO"
    assert a[5].date() == birth(40) and a[6] == "ISLAM" and a[8] == "PETANI/PEKEBUN" and a[9] == "LATIN"
    assert a[10] == "WNI" and a[12] == "KEPALA KELUARGA" and len(a[14]) == 16
    assert a[11] == f"JL. LINTAS BUNGO RT 002 / RW 001 KAMPUNG UJI {village['tag']}"
    assert not any(r[13] == village["people"]["F"][1] for r in data)  # the dead are not in B.1

    [entry] = [x for x in _audits(engine, _subject(subject_headers, tokens))]
    assert entry.desa_kode == DESA and entry.detail == {"buku": "B.1", "baris": living, "format": "xlsx"}
    assert not re.search(r"\d{16}", str(entry.detail))


def _subject(headers: dict[str, str], tokens) -> str:
    return tokens.verify(headers["Authorization"].split(" ", 1)[1]).subject


def _pdf_objects(content: bytes) -> bytes:
    """The PDF's object text, with its (Flate-compressed) object streams opened."""
    parts = [content]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


def _pdf_pages(content: bytes) -> int:
    found = re.search(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", _pdf_objects(content))
    return int(found.group(1)) if found else 0


def _pdf_landscape_a4(content: bytes) -> bool:
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", _pdf_objects(content))
    width, height = float(box.group(1)), float(box.group(2))
    return abs(width - 841.89) < 1 and abs(height - 595.28) < 1


def test_buku_induk_pdf_renders(http, tokens, engine, village):
    headers = staff_token(tokens, ("sekdes", DESA))
    response = http.get(f"{BASE}/buku-induk?format=pdf", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert _pdf_pages(response.data) >= 1 and _pdf_landscape_a4(response.data)
    assert "1508142003" in response.headers["Content-Disposition"]
    [entry] = _audits(engine, _subject(headers, tokens))
    assert entry.detail["format"] == "pdf" and entry.detail["baris"] == _living_count(engine)


def test_a_pdf_too_long_for_a_request_is_made_by_a_worker(http, tokens, engine, village, monkeypatch, relay, work):
    from service.penduduk import laporan_resources

    monkeypatch.setattr(laporan_resources, "PDF_MAX_BARIS", 1)
    headers = staff_token(tokens, ("operator_desa", DESA))
    response = http.get(f"{BASE}/buku-induk?format=pdf", headers=headers)
    assert response.status_code == 202
    queued = response.get_json()
    assert http.get(queued["status_url"], headers=headers).get_json()["status"] == "menunggu"
    assert http.get(queued["berkas_url"], headers=headers).status_code == 409  # not ready yet
    assert _audits(engine, _subject(headers, tokens)) == []  # nothing exported yet
    relay.run_once()
    work()
    status = http.get(queued["status_url"], headers=headers).get_json()
    assert status["status"] == "selesai" and status["baris"] == _living_count(engine)
    pdf = http.get(queued["berkas_url"], headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and _pdf_landscape_a4(pdf.data)
    [entry] = _audits(engine, _subject(headers, tokens))
    assert entry.detail["format"] == "pdf"
    other = staff_token(tokens, ("operator_desa", "15.08.14.2004"))
    assert http.get(queued["status_url"].replace(DESA, "15.08.14.2004"), headers=other).status_code == 404


# --- B.2 Buku Mutasi --------------------------------------------------------------------------------------


def test_buku_mutasi_lists_births_and_deaths_of_the_period(http, tokens, engine, village):
    headers = staff_token(tokens, ("kepala_desa", DESA))
    period = f"dari={TODAY.replace(day=1).isoformat()}&sampai={TODAY.isoformat()}"
    response = http.get(f"{BASE}/buku-mutasi?format=xlsx&{period}", headers=headers)
    assert response.status_code == 200, response.get_json()
    rows = _sheet_rows(response.data)
    assert rows[4][0] == "B.2 BUKU MUTASI PENDUDUK DESA"
    top = next(i for i, r in enumerate(rows) if r and r[0] == "NOMOR URUT")
    assert [c for c in rows[top] if c] == ["NOMOR URUT", "NAMA LENGKAP / PANGGILAN", "TEMPAT & TANGGAL LAHIR",
                                           "JENIS KELAMIN", "KEWARGANEGARAAN", "PENAMBAHAN", "PENGURANGAN", "KET"]
    assert [c for c in rows[top + 1] if c] == ["TEMPAT LAHIR", "TANGGAL", "DATANG DARI", "TANGGAL", "PINDAH KE",
                                               "TANGGAL", "MENINGGAL", "TANGGAL"]
    data = [r for r in rows[top + 3:] if r and isinstance(r[0], int)]
    with DesaSession(engine, DESA) as session:
        expected = session.scalar(text(
            "SELECT count(*) FROM mutasi_penduduk WHERE kode_peristiwa IN (1, 2, 3, 4, 5, 6) "
            "AND tanggal_peristiwa BETWEEN :a AND :b"), {"a": TODAY.replace(day=1), "b": TODAY})
    assert len(data) == expected >= 2
    dead = next(r for r in data if r[1] == village["people"]["F"][2].upper())
    assert dead[10] == "RUMAH" and dead[11].date() == TODAY and dead[8] is None and "SEBAB: SAKIT TUA" in dead[12]
    born = next(r for r in data if r[1] == village["people"]["C"][2].upper())
    assert born[7].date() == TODAY and born[12] == "LAHIR" and born[10] is None
    [entry] = _audits(engine, _subject(headers, tokens))
    assert entry.detail == {"buku": "B.2", "baris": expected, "format": "xlsx",
                            "dari": TODAY.replace(day=1).isoformat(), "sampai": TODAY.isoformat()}

    pdf = http.get(f"{BASE}/buku-mutasi?format=pdf&{period}", headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and _pdf_pages(pdf.data) >= 1
    empty = http.get(f"{BASE}/buku-mutasi?format=pdf&dari=1990-01-01&sampai=1990-01-31", headers=headers)
    assert empty.status_code == 200 and empty.data.startswith(b"%PDF")


@pytest.mark.parametrize(("query", "status", "field"), [
    ("format=docx", 422, "format"),
    ("format=pdf&sampai=2025-01-31", 422, "dari"),
    ("format=pdf&dari=2025-13-01&sampai=2025-01-31", 422, "dari"),
    ("format=xlsx&dari=2025-02-01&sampai=2025-01-31", 400, "dari"),
])
def test_bad_parameters_are_4xx_naming_the_field(http, tokens, query, status, field):
    headers = staff_token(tokens, ("operator_desa", DESA))
    response = http.get(f"{BASE}/buku-mutasi?{query}", headers=headers)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_buku_induk_bad_format_names_the_field(http, tokens):
    response = http.get(f"{BASE}/buku-induk?format=csv", headers=staff_token(tokens, ("operator_desa", DESA)))
    assert 400 <= response.status_code < 500
    assert "format" in [e["field"] for e in response.get_json()["errors"]]


# --- who may ----------------------------------------------------------------------------------------------


def test_only_desa_staff_of_this_desa_get_the_books(http, tokens, engine, village):
    pid = village["people"]["A"][0]
    warga = bearer(tokens.issue(Principal(kind=Kind.WARGA, subject=f"warga:{DESA}:{pid}", name="Warga",
                                          desa_kode=DESA, penduduk_id=pid))[0])
    other_operator = staff_token(tokens, ("operator_desa", OTHER_DESA))
    camat = staff_token(tokens, ("camat", "15.08.14"))
    reader = client_token(tokens, DESA, "desa:read")
    other_reader = client_token(tokens, OTHER_DESA, "desa:read")
    period = "dari=2025-01-01&sampai=2025-01-31"
    for headers in (warga, other_operator, camat):
        for path in ("statistik", "buku-induk?format=xlsx", f"buku-mutasi?format=xlsx&{period}"):
            assert http.get(f"{BASE}/{path}", headers=headers).status_code == 403, path
    assert http.get(f"{BASE}/statistik", headers=reader).status_code == 200
    assert http.get(f"{BASE}/statistik", headers=other_reader).status_code == 403
    assert http.get(f"{BASE}/buku-induk?format=xlsx", headers=reader).status_code == 403
    assert http.get(f"{BASE}/buku-mutasi?format=xlsx&{period}", headers=reader).status_code == 403
    assert http.get(f"{BASE}/buku-induk").status_code == 401
    for subject in ("client", "warga"):
        with engine.connect() as conn:
            assert not conn.execute(select(AuditLog.id).where(AuditLog.aksi == "ekspor_data_pribadi",
                                                              AuditLog.aktor.like(f"{subject}:%"))).first()
