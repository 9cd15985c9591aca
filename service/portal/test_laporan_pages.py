"""The village admin's reports page through the portal session (Flask test client, real database, real jobs):
small books and exports download at once, long ones become a background report with a progress bar and then a
download link; every download is audited; another village's staff get the 403 page."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from service.audit.models import AuditLog
from service.penduduk import services
from service.penduduk.models import Penduduk
from tenants.session import DesaSession
from tests.browser import browser_fixture, live_server_fixture  # noqa: F401
from tests.fixtures import csrf_of, sign_in_staff

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

DESA, OTHER = "15.08.14.2008", "15.08.14.2009"
BASE = "/desa/1508142008/kelola"
PAGE = f"{BASE}/laporan"


def signed_in(client, make_staff, role: str = "operator_desa", desa: str = DESA):
    username, password, _ = make_staff((role, desa))
    assert sign_in_staff(client, username, password).status_code == 303
    return client


@pytest.fixture
def operator(client, make_staff):
    return signed_in(client, make_staff)


def exports(engine, objek: str | None = None) -> list[AuditLog]:
    with engine.connect() as conn:
        query = select(AuditLog).where(AuditLog.aksi == "ekspor_data_pribadi", AuditLog.desa_kode == DESA)
        if objek:
            query = query.where(AuditLog.objek == objek)
        return list(conn.execute(query.order_by(AuditLog.id)).all())


def living(engine) -> int:
    with DesaSession(engine, DESA) as session:
        return session.scalar(select(func.count()).select_from(Penduduk).where(Penduduk.status_dasar == 1))


@pytest.fixture
def warga(engine):
    """Three residents of DESA with a tag of their own (other tests add more)."""
    tag = f"Lap{uuid.uuid4().hex[:6]}"
    people = []
    with DesaSession(engine, DESA) as session:
        for i, (nama, female) in enumerate((("Siti", True), ("Budi", False), ("Wati", True))):
            born = date(1980 + i, 3, 10 + i)
            nik = None
            while nik is None or services.find_by_nik(session, nik) is not None:  # the same dates every test
                nik = f"150814{born.day + (40 if female else 0):02d}{born.month:02d}{born.year % 100:02d}" \
                      f"{uuid.uuid4().int % 9000 + 1000:04d}"
            saved = services.add_penduduk(session, {"nik": nik, "nama": f"{nama} {tag}", "sex": 2 if female else 1,
                                                    "tanggal_lahir": born}, actor="test")
            people.append((saved.penduduk.nama, nik))
        session.commit()
    return {"tag": tag, "people": people}


def post(client, path: str, **form):
    token = csrf_of(client.get(PAGE).text)
    return client.post(f"{PAGE}{path}", data={"csrf_token": token, **form})


def status_path(answer) -> str:
    assert answer.status_code == 303, answer.text
    location = answer.headers["Location"]
    # The desa's slug and the report's UUID: nothing else reaches the URL.
    assert re.fullmatch(r"(http://[^/]+)?/desa/[a-z0-9-]+/kelola/laporan/[0-9a-f-]{36}", location), location
    return location


def download_link(html: str) -> str:
    match = re.search(r'id="unduh" class="tombol" href="([^"]+)"', html)
    assert match, "no download link"
    return match.group(1)


def test_the_register_screens_link_the_reports_page(operator):
    register = operator.get(f"{BASE}/penduduk")
    assert re.search(r'<a href="/desa/[^/"]+/kelola/laporan">Laporan</a>', register.text)  # the nav entry
    page = operator.get(PAGE)
    assert page.status_code == 200 and "<h1>Laporan penduduk</h1>" in page.text
    assert page.headers["Cache-Control"] == "no-store"


def test_a_small_buku_induk_downloads_at_once_and_is_audited(operator, warga, engine):
    before = len(exports(engine, "buku:B.1"))
    answer = post(operator, "/buku-induk", format="xlsx")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    assert answer.headers["Cache-Control"] == "no-store"
    rows = list(load_workbook(io.BytesIO(answer.data), read_only=True).worksheets[0].iter_rows(values_only=True))
    cells = {str(c) for row in rows for c in row if c is not None}
    for nama, nik in warga["people"]:
        assert nama.upper() in cells and nik in cells  # the form writes names in capitals
    entries = exports(engine, "buku:B.1")
    assert len(entries) == before + 1
    assert entries[-1].detail["format"] == "xlsx" and entries[-1].detail["baris"] == living(engine)


def test_a_long_buku_induk_pdf_becomes_a_job_with_a_progress_bar_then_a_link(relay, work, operator, warga, engine,
                                                                            monkeypatch, runtime):
    # (relay first: it empties Redis, where the portal session lives)
    from service.penduduk import laporan_resources
    from service.penduduk.laporan_tasks import kemajuan

    monkeypatch.setattr(laporan_resources, "PDF_MAX_BARIS", 1)
    before = len(exports(engine))
    path = status_path(post(operator, "/buku-induk", format="pdf"))
    page = operator.get(path)
    assert page.status_code == 200 and "Buku Induk Penduduk (PDF)" in page.text
    assert '<progress id="kemajuan" max="100" value="0">' in page.text and "Menunggu giliran" in page.text
    assert 'hx-trigger="every 1s"' in page.text and '<meta http-equiv="refresh"' in page.text  # htmx, and no JS
    assert 'id="unduh"' not in page.text
    part = operator.get(path, headers={"HX-Request": "true"})
    assert part.text.lstrip().startswith("<section") and "<html" not in part.text and "<progress" in part.text
    assert len(exports(engine)) == before  # nothing handed out yet

    relay.run_once()
    work()
    done = operator.get(path, headers={"HX-Request": "true"})
    assert "Selesai" in done.text and 'value="100"' in done.text and "hx-get" not in done.text  # polling stops
    assert kemajuan(runtime.redis, path.rsplit("/", 1)[1]) >= 20  # rows read, then the layout's estimate
    link = download_link(operator.get(path).text)
    assert link.endswith("/berkas") and DESA in link
    pdf = operator.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    [entry] = exports(engine)[before:]
    assert entry.objek == "buku:B.1" and entry.detail["format"] == "pdf" and entry.detail["baris"] == living(engine)
    assert "Buku Induk Penduduk (PDF)" in operator.get(PAGE).text  # listed among the latest reports
    assert operator.get(f"{PAGE}/{uuid.uuid4()}").status_code == 404


def test_a_failed_job_says_so_and_keeps_polling_slower(relay, work, operator, warga, engine, monkeypatch):
    from service.penduduk import buku, laporan_resources

    monkeypatch.setattr(laporan_resources, "PDF_MAX_BARIS", 1)
    path = status_path(post(operator, "/buku-induk", format="pdf"))

    def broken(*args, **kwargs):
        raise RuntimeError("layout failed")

    monkeypatch.setattr(buku, "render", broken)
    relay.run_once()
    work()
    part = operator.get(path, headers={"HX-Request": "true"}).text
    assert "Gagal, akan dicoba lagi" in part and 'hx-trigger="every 5s"' in part and 'id="unduh"' not in part
    assert "layout failed" not in part


def test_a_large_register_export_becomes_a_job_reporting_progress(relay, work, operator, warga, engine, monkeypatch,
                                                                  runtime):
    from service.penduduk import impor
    from service.penduduk.laporan_tasks import kemajuan
    from service.portal import laporan

    monkeypatch.setattr(laporan, "EKSPOR_SEKETIKA_MAKS", 1)
    monkeypatch.setattr(impor, "PROGRESS_EVERY", 1)
    before = len(exports(engine))
    path = status_path(post(operator, "/ekspor", format="xlsx"))
    page = operator.get(path)
    assert "Ekspor data penduduk (XLSX)" in page.text and "<progress" in page.text and 'id="unduh"' not in page.text

    relay.run_once()
    work()
    laporan_id = path.rsplit("/", 1)[1]
    assert kemajuan(runtime.redis, laporan_id) >= 90  # the job reported its way through the rows
    link = download_link(operator.get(path).text)
    xlsx = operator.get(link)
    assert xlsx.status_code == 200 and xlsx.headers["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True)["Data Penduduk"]
    niks = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c}
    assert all(nik in niks for _, nik in warga["people"])
    [entry] = exports(engine)[before:]
    assert entry.objek == "penduduk:register" and entry.detail["format"] == "xlsx"  # as GET /penduduk/ekspor
    with DesaSession(engine, DESA) as session:
        assert entry.detail["baris"] == session.scalar(select(func.count()).select_from(Penduduk))


def test_a_small_register_export_downloads_at_once(operator, warga, engine):
    before = len(exports(engine, "penduduk:register"))
    answer = post(operator, "/ekspor", format="csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert all(nik in answer.get_data(as_text=True) for _, nik in warga["people"])
    assert len(exports(engine, "penduduk:register")) == before + 1


def test_buku_mutasi_takes_a_period_and_refuses_a_reversed_one(operator, warga, engine):
    before = len(exports(engine))
    today = date.today()
    refused = post(operator, "/buku-mutasi", format="xlsx", dari=today.isoformat(),
                   sampai=(today - timedelta(days=3)).isoformat())
    assert refused.status_code == 422 and 'id="dari-galat"' in refused.text and "sebelum" in refused.text
    missing = post(operator, "/buku-mutasi", format="xlsx", dari=today.isoformat())
    assert missing.status_code == 422 and 'id="sampai-galat"' in missing.text
    assert len(exports(engine)) == before  # nothing exported
    answer = post(operator, "/buku-mutasi", format="xlsx", dari=today.replace(day=1).isoformat(),
                  sampai=today.isoformat())
    assert answer.status_code == 200 and answer.data[:4] == b"PK\x03\x04"
    [entry] = exports(engine)[before:]
    assert entry.objek == "buku:B.2" and entry.detail["dari"] == today.replace(day=1).isoformat()


@pytest.mark.parametrize("role", ["sekdes", "kepala_desa"])
def test_sekdes_and_kepala_desa_open_it_too(client, make_staff, role):
    assert signed_in(client, make_staff, role).get(PAGE).status_code == 200


def test_another_desas_operator_gets_the_403_page(client, make_staff, warga, engine, monkeypatch):
    from service.penduduk import laporan_resources

    # A report of this desa exists; the other village's operator must not reach it nor learn anything.
    monkeypatch.setattr(laporan_resources, "PDF_MAX_BARIS", 1)
    owner = client.application.test_client()
    signed_in(owner, make_staff)
    path = status_path(post(owner, "/buku-induk", format="pdf"))

    signed_in(client, make_staff, "operator_desa", OTHER)
    before = len(exports(engine))
    api = f"/api/v1/desa/{DESA}/laporan/{path.rsplit('/', 1)[1]}"
    for url in (PAGE, path, api, f"{api}/berkas"):
        assert client.get(url).status_code == 403, url
    page = client.get(PAGE)
    assert "Anda tidak berwenang" in page.text and warga["tag"] not in page.text
    token = csrf_of(client.get("/beranda").text)
    refused = client.post(f"{PAGE}/buku-induk", data={"csrf_token": token, "format": "xlsx"})
    assert refused.status_code == 403 and warga["tag"] not in refused.text
    assert len(exports(engine)) == before


# --- in a real browser: the bar follows the job, then the link ----------------------------------------------


@pytest.mark.browser
def test_in_a_browser_the_progress_bar_follows_a_long_pdf_to_its_link(browser, live_server, relay, work, make_staff,
                                                                       warga, monkeypatch):
    from playwright.sync_api import expect

    from service.penduduk import laporan_resources
    from tests.browser import PHONE, Screenshots

    monkeypatch.setattr(laporan_resources, "PDF_MAX_BARIS", 1)
    shot = Screenshots("laporan")
    username, password, _ = make_staff(("operator_desa", DESA))
    page = browser.new_context(base_url=live_server, **PHONE).new_page()
    page.goto(PAGE)
    page.get_by_label("Nama pengguna atau surel").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Laporan penduduk")).to_be_visible()
    shot(page, "laporan")
    induk = page.locator("section", has=page.get_by_role("heading", name="B.1 Buku Induk Penduduk"))
    induk.get_by_role("button", name="Unduh PDF").click()
    expect(page.locator("#status-teks")).to_have_text("Menunggu giliran")
    expect(page.locator("progress#kemajuan")).to_have_attribute("value", "0")
    shot(page, "menunggu")
    assert relay.run_once() >= 1
    work()
    expect(page.locator("#status-teks")).to_have_text("Selesai", timeout=10_000)  # htmx swapped it in, no reload
    expect(page.locator("progress#kemajuan")).to_have_attribute("value", "100")
    with page.expect_download() as download:
        page.locator("#unduh").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")
    shot(page, "selesai")
