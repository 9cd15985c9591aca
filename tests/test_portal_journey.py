"""The portal in a real browser (system Chromium through Playwright, the app behind a real HTTP server).

The letter journey across every level: a resident on a phone requests a letter that needs the camat, the
village verifies and the Rio signs, the camat approves in the kecamatan workspace, the resident downloads the
PDF and its QR page verifies it, and a kabupaten analyst sees it in the SLA table. Screenshots of each step go
to ``test-artifacts/journey/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.browser import DESKTOP, PHONE, Screenshots, browser_fixture, live_server_fixture, sha256  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_rate_limits")]

MUARA_BUAT = "15.08.14.2001"
KECAMATAN, KABUPATEN = "15.08.14", "15.08"
#: The smallest thing the attachment check accepts as a PNG (it checks content, not the name).
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def staff_page(browser, base: str, username: str, password: str):
    context = browser.new_context(base_url=base, **DESKTOP)
    page = context.new_page()
    page.goto("/masuk")
    page.get_by_label("Nama pengguna atau surel").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()
    return page


def resident_page(browser, base: str, nik: str, pin: str):
    context = browser.new_context(base_url=base, **PHONE)
    page = context.new_page()
    page.goto("/desa/muara-buat/mandiri")  # not signed in: the residents' sign-in page, desa chosen
    expect(page).to_have_url(re.compile(r"/masuk/warga\?"))
    expect(page.get_by_label("Desa")).to_have_value("muara-buat")
    page.get_by_label("NIK (16 angka)").fill(nik)
    page.get_by_label("PIN (6 angka)").fill(pin)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Layanan Mandiri", exact=True)).to_be_visible()
    return page


def test_letter_journey_from_a_phone_to_the_kabupaten(browser, live_server, make_family, make_staff,
                                                      engine, relay, work):
    shot = Screenshots("journey")
    (nik, pin, _), (_, _, anak_id) = make_family(MUARA_BUAT, 2)
    operator = make_staff(("operator_desa", MUARA_BUAT))
    sekdes = make_staff(("sekdes", MUARA_BUAT))
    rio = make_staff(("kepala_desa", MUARA_BUAT))
    camat = make_staff(("camat", KECAMATAN))
    analis = make_staff(("staf_kabupaten", KABUPATEN))

    # 1. The resident, on a 360 px phone, asks for a Surat Keterangan Pindah Antar Kecamatan for a child.
    warga = resident_page(browser, live_server, nik, pin)
    shot(warga, "warga-masuk")
    warga.get_by_role("link", name="Ajukan surat").first.click()
    warga.get_by_label("Jenis surat").select_option("S-04")  # htmx brings the type's fields in place
    expect(warga).to_have_url(re.compile(r"/mandiri/ajukan\?jenis=S-04$"))
    warga.get_by_label("Untuk").select_option(index=2)  # 0: "pilih", 1: self, 2: the child
    warga.get_by_label("Alamat tujuan").fill("Jl. Lintas Sumatera No. 5, Muara Bungo")
    warga.get_by_label("Alasan pindah").fill("Melanjutkan sekolah")
    shot(warga, "warga-ajukan")
    warga.get_by_role("button", name="Kirim permohonan").click()
    expect(warga.locator("#status-permohonan")).to_have_text("Belum Lengkap")
    permohonan_id = warga.url.rstrip("/").rsplit("/", 1)[1]
    for lampiran in ("Fotokopi KK", "Fotokopi KTP"):
        warga.get_by_label(re.compile(r"^Lampiran")).select_option(lampiran)
        warga.set_input_files("#berkas", files=[{"name": "foto.png", "mimeType": "image/png", "buffer": PNG}])
        warga.get_by_role("button", name="Unggah").click()
        expect(warga.get_by_text(f"Lampiran \u201c{lampiran}\u201d terunggah.")).to_be_visible()
    expect(warga.locator("#status-permohonan")).to_have_text("Sedang Diperiksa")
    assert warga.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    shot(warga, "warga-lampiran-lengkap")

    # 2. The village: the operator and the sekdes verify, the Rio signs and sends it to the kecamatan.
    desk = staff_page(browser, live_server, *operator[:2])
    desk.goto("/desa/muara-buat/surat")
    expect(desk.locator(f'#antrian a[href$="/surat/{permohonan_id}"]')).to_be_visible()
    shot(desk, "operator-antrian")
    desk.goto(f"/desa/muara-buat/surat/{permohonan_id}")
    desk.get_by_role("button", name="Verifikasi").click()
    expect(desk.get_by_text("Permohonan diverifikasi.")).to_be_visible()
    shot(desk, "operator-verifikasi")
    desk = staff_page(browser, live_server, *sekdes[:2])
    desk.goto(f"/desa/muara-buat/surat/{permohonan_id}")
    desk.get_by_role("button", name="Verifikasi").click()
    expect(desk.locator("#status-permohonan")).to_have_text("Menunggu Tandatangan")
    desk = staff_page(browser, live_server, *rio[:2])
    desk.goto(f"/desa/muara-buat/surat/{permohonan_id}")
    desk.get_by_role("button", name="Tandatangani dan kirim ke kecamatan").click()
    expect(desk.locator("#status-permohonan")).to_have_text("Menunggu Kecamatan")
    shot(desk, "rio-tandatangan")
    relay.run_once()
    work()  # surat.naik: the request lands in the kecamatan's inbox

    # 3. The camat approves in the kecamatan workspace, the draft PDF beside the decision.
    with engine.connect() as conn:
        item_id = conn.scalar(text("SELECT id FROM kawasan.kotak_masuk WHERE permohonan_id = CAST(:p AS uuid)"),
                              {"p": permohonan_id})
    assert item_id is not None
    inbox = staff_page(browser, live_server, *camat[:2])
    inbox.goto(f"/kecamatan/{KECAMATAN}/kotak-masuk")
    inbox.locator(f'#kotak-masuk a[href$="/kotak-masuk/{item_id}"]').click()
    draft = inbox.context.request.get(inbox.locator("#draf").get_attribute("src"))
    assert draft.status == 200 and draft.body().startswith(b"%PDF")
    assert draft.headers["x-frame-options"] == "SAMEORIGIN"
    shot(inbox, "camat-kotak-masuk")
    inbox.get_by_label("Setujui dan tandatangani").check()
    inbox.get_by_role("button", name="Simpan keputusan").click()
    expect(inbox.get_by_text("Keputusan tersimpan: disetujui.")).to_be_visible()
    shot(inbox, "camat-setuju")
    relay.run_once()
    work()  # surat.keputusan: the desa issues the letter (number, PDF with QR)

    # 4. The resident downloads the PDF; the QR page says it is genuine, with the same fingerprint.
    warga.reload()
    expect(warga.locator("#status-permohonan")).to_have_text("Siap Diambil")
    shot(warga, "warga-surat-terbit")
    with warga.expect_download() as download:
        warga.get_by_role("link", name="Unduh PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    warga.get_by_role("link", name="Cek keaslian").click()
    expect(warga.get_by_text("Surat ini asli")).to_be_visible()
    expect(warga.locator("code")).to_have_text(sha256(pdf))
    shot(warga, "verifikasi-qr")

    # 5. A kabupaten analyst sees the letter's time at the kecamatan in the SLA table.
    sla = staff_page(browser, live_server, *analis[:2])
    sla.goto(f"/kabupaten/{KABUPATEN}/sla")
    row = sla.locator("#sla-per-desa tbody tr", has_text="Muara Buat").filter(has_text="Kecamatan")
    expect(row).to_have_count(1)
    assert int(row.locator("td.angka").first.inner_text()) >= 1
    shot(sla, "kabupaten-sla")
    assert len(list(shot.dir.glob("*.png"))) == shot.n


def test_invalid_request_form_shows_inline_indonesian_messages_and_saves_nothing(
        browser, live_server, make_family, engine):
    (nik, pin, _), = make_family(MUARA_BUAT, 1)
    schema = "desa_" + MUARA_BUAT.replace(".", "")
    with engine.connect() as conn:
        before = conn.scalar(text(f"SELECT count(*) FROM {schema}.permohonan_surat"))
    warga = resident_page(browser, live_server, nik, pin)
    warga.goto("/desa/muara-buat/mandiri/ajukan?jenis=S-04")
    warga.get_by_role("button", name="Kirim permohonan").click()
    expect(warga.locator("#isian_alamat_tujuan-galat")).to_have_text("Alamat tujuan wajib diisi")
    expect(warga.locator("#untuk-galat")).to_have_text("pilih untuk siapa surat ini")
    expect(warga.get_by_label("Alamat tujuan")).to_have_attribute("aria-invalid", "true")
    Screenshots("form-galat")(warga, "isian-wajib")
    with engine.connect() as conn:
        assert conn.scalar(text(f"SELECT count(*) FROM {schema}.permohonan_surat")) == before
