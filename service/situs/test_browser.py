"""The village public site on a phone in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from service.situs.test_situs import konten_fixture  # noqa: F401 - fixture
from tests.browser import PHONE, Screenshots, browser_fixture, live_server_fixture  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_rate_limits")]


def test_a_visitor_on_a_phone_reads_news_and_leaves_a_comment(browser, live_server, konten, runtime):
    shots = Screenshots("situs-ponsel")
    context = browser.new_context(**PHONE)
    page = context.new_page()
    loaded: dict[str, int] = {}
    page.on("response", lambda r: loaded.__setitem__(r.url, len(r.body())) if r.ok and r.request.resource_type
            in ("script", "stylesheet") else None)
    page.goto(f"{live_server}/desa/muara-buat/")
    expect(page.locator("h1").first).to_have_text("Dusun Muara Buat")
    expect(page.get_by_role("region", name="Pengumuman")).to_be_visible()
    # Phone first: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert sum(loaded.values()) <= 300_000
    shots(page, "beranda")

    page.get_by_role("link", name=f"Gotong royong {konten['tag']}").first.click()
    page.wait_for_url(f"**/artikel/{konten['slug']}")
    expect(page.get_by_text(f"Mantap {konten['tag']}")).to_be_visible()
    assert page.evaluate("document.querySelector('img.utama').naturalWidth") > 0
    shots(page, "artikel")

    page.get_by_role("link", name="Tulis komentar").click()
    page.wait_for_url("**/komentar")  # waits for the load event: the CAPTCHA image is in
    page.get_by_label("Nama").fill("Ibu Rina")
    page.get_by_label("Komentar").fill(f"Semoga rutin setiap bulan {konten['tag']}")
    captcha = page.locator(".captcha img")
    assert page.evaluate("(img) => img.naturalWidth", captcha.element_handle()) == 180
    token = page.locator("input[name=captcha]").input_value()
    jawaban = json.loads(runtime.redis.get(f"kawasan:captcha:{token.split('.')[0]}"))["jawaban"]
    page.get_by_label("Berapa hasil hitungan pada gambar?").fill(str(int(jawaban) + 1))
    page.get_by_role("button", name="Kirim komentar").click()
    expect(page.get_by_text("Jawaban soal hitungan salah").first).to_be_visible()
    expect(page.get_by_label("Komentar")).to_have_value(f"Semoga rutin setiap bulan {konten['tag']}")
    shots(page, "komentar-salah")

    token = page.locator("input[name=captcha]").input_value()
    jawaban = json.loads(runtime.redis.get(f"kawasan:captcha:{token.split('.')[0]}"))["jawaban"]
    page.get_by_label("Berapa hasil hitungan pada gambar?").fill(jawaban)
    page.get_by_role("button", name="Kirim komentar").click()
    expect(page.get_by_role("status").filter(has_text="setelah disetujui operator")).to_be_visible()
    shots(page, "komentar-terkirim")

    page.get_by_role("link", name="Statistik").click()
    page.wait_for_url("**/statistik")
    # One card per chart (an empty register shows "Belum ada data." in each instead of a chart).
    assert page.locator(".kartu-grafik").count() >= 6
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shots(page, "statistik")
    context.close()
