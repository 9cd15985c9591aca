"""The portal foundation without a browser: pages under the one policy layer, sign-in, CSRF, error pages."""

from __future__ import annotations

import re

import pytest

from tests.browser import PHONE, browser_fixture  # noqa: F401
from tests.fixtures import csrf_of, sign_in_staff

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

MUARA_BUAT, BUAT = "15.08.14.2001", "15.08.14.2002"


def test_slugs_are_given_to_provisioned_desa_and_resolve_like_codes(engine):
    from sqlalchemy import text

    with engine.connect() as conn:
        slugs = dict(conn.execute(text("SELECT kode, slug FROM kawasan.tenant")).all())
    assert slugs[MUARA_BUAT] == "muara-buat" and slugs[BUAT] == "buat"
    assert len(set(slugs.values())) == len(slugs) and all(slugs.values())


def test_slug_collisions_get_the_kecamatan_then_the_code(db_conn):
    from sqlalchemy import text

    # Two more villages named like Muara Buat (the registry is edited only inside this rolled-back test).
    db_conn.execute(text(
        "INSERT INTO kawasan.wilayah_administrasi (kode, tingkat, nama, induk_kode) "
        "SELECT '15.08.14.2998', tingkat, nama, induk_kode FROM kawasan.wilayah_administrasi WHERE kode = :k "
        "UNION ALL SELECT '15.08.14.2999', tingkat, nama, induk_kode FROM kawasan.wilayah_administrasi "
        "WHERE kode = :k"), {"k": MUARA_BUAT})
    first = db_conn.scalar(text("SELECT kawasan.slug_desa('15.08.14.2998')"))
    assert first == "muara-buat-bathin-iii-ulu"
    db_conn.execute(text("UPDATE kawasan.tenant SET nama_host = NULL WHERE kode = :k"), {"k": BUAT})
    db_conn.execute(text("INSERT INTO kawasan.tenant (kode, schema_name, role_name, slug) "
                         "VALUES ('15.08.14.2998', 'x_2998', 'x_2998', :s)"), {"s": first})
    assert db_conn.scalar(text("SELECT kawasan.slug_desa('15.08.14.2999')")) == "muara-buat-1508142999"


def test_staff_sign_in_lands_on_their_desk_and_sign_out_ends_the_session(client, make_staff):
    username, password, _ = make_staff(("operator_desa", MUARA_BUAT))
    answer = sign_in_staff(client, username, password)
    # The first page the navigation offers them: one of their village's pages.
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/desa/muara-buat/")
    page = client.get("/desa/muara-buat/surat")
    assert page.status_code == 200 and "<h1>Layanan surat</h1>" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert 'lang="id"' in page.text and "Lewati ke isi utama" in page.text
    # The same desk by the 10-digit code.
    assert client.get("/desa/1508142001/surat").status_code == 200
    signed_out = client.post("/keluar", data={"csrf_token": csrf_of(page.text)})
    assert signed_out.status_code == 303
    assert client.get("/desa/muara-buat/surat").status_code == 303


def test_another_villages_admin_page_is_a_403_page_without_data(client, make_staff):
    username, password, _ = make_staff(("operator_desa", BUAT))
    sign_in_staff(client, username, password)
    page = client.get("/desa/muara-buat/surat")
    assert page.status_code == 403
    assert page.mimetype == "text/html"
    assert "Anda tidak berwenang membuka halaman ini." in page.text
    assert "Muara Buat" not in page.text  # not even the other village's name


def test_anonymous_page_redirects_to_sign_in_with_a_safe_next(client, make_staff):
    answer = client.get("/desa/muara-buat/surat?status=Ditolak")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/masuk?next=%2Fdesa%2Fmuara-buat%2Fsurat%3Fstatus%3DDitolak"
    username, password, _ = make_staff(("sekdes", MUARA_BUAT))
    assert sign_in_staff(client, username, password, "/desa/muara-buat/surat?status=Ditolak").headers[
        "Location"] == "/desa/muara-buat/surat?status=Ditolak"
    client.post("/keluar", data={"csrf_token": csrf_of(client.get("/beranda").text)})
    # A next that leaves the site is ignored.
    assert sign_in_staff(client, username, password, "//evil.example/x").headers["Location"].startswith(
        "/desa/muara-buat/")


def test_forms_without_the_csrf_token_are_refused_as_a_page(client, make_staff):
    username, password, _ = make_staff(("operator_desa", MUARA_BUAT))
    refused = client.post("/masuk", data={"username": username, "password": password})
    assert refused.status_code == 403 and "Formulir kedaluwarsa" in refused.text
    sign_in_staff(client, username, password)
    assert client.post("/keluar").status_code == 403
    assert client.get("/desa/muara-buat/surat").status_code == 200  # still signed in


def test_invalid_sign_in_form_shows_indonesian_messages_beside_the_fields(client):
    page = client.get("/masuk")
    answer = client.post("/masuk", data={"csrf_token": csrf_of(page.text), "username": "", "password": ""})
    assert answer.status_code == 422
    assert re.search(r'id="username"[^>]*aria-invalid="true"', answer.text)
    assert '<p class="galat-isian" id="username-galat">wajib diisi</p>' in answer.text
    wrong = client.post("/masuk", data={"csrf_token": csrf_of(page.text), "username": "nobody", "password": "x"})
    assert wrong.status_code == 401 and "Data masuk salah" in wrong.text


def test_unknown_desa_and_wrong_level_are_404_pages(client, make_staff):
    username, password, _ = make_staff(("operator_desa", MUARA_BUAT))
    sign_in_staff(client, username, password)
    page = client.get("/desa/tidak-ada-desa-ini/surat")
    assert page.status_code == 404 and "Halaman tidak ditemukan." in page.text


def test_the_api_still_answers_problem_json(client):
    answer = client.get(f"/api/v1/desa/{MUARA_BUAT}/surat/permohonan")
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"


def test_warga_sign_in_forces_the_first_pin_change(client, make_family):
    (nik, pin, _), = make_family(MUARA_BUAT, 1, must_change=True)
    page = client.get("/masuk/warga?desa=muara-buat")
    assert '<option value="muara-buat" selected>' in page.text
    answer = client.post("/masuk/warga", data={"csrf_token": csrf_of(page.text), "desa": "muara-buat",
                                                "nik": nik, "pin": pin})
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/masuk/ganti-pin")
    form = client.get(answer.headers["Location"])
    assert "Buat PIN sendiri" in form.text
    token = csrf_of(form.text)
    mismatch = client.post("/masuk/ganti-pin", data={"csrf_token": token, "pin_lama": pin, "pin_baru": "246810",
                                                      "pin_ulang": "246811"})
    assert mismatch.status_code == 422 and "PIN baru tidak sama" in mismatch.text
    done = client.post("/masuk/ganti-pin", data={"csrf_token": token, "pin_lama": pin, "pin_baru": "246810",
                                                  "pin_ulang": "246810"})
    assert done.status_code == 303
    # The old PIN no longer works; the new one does, without another forced change.
    client.post("/keluar", data={"csrf_token": csrf_of(client.get("/beranda").text)})
    again = client.post("/masuk/warga", data={"csrf_token": csrf_of(client.get("/masuk/warga").text),
                                              "desa": "muara-buat", "nik": nik, "pin": "246810"})
    assert again.status_code == 303 and not again.headers["Location"].startswith("/masuk/ganti-pin")


def test_static_files_are_served_and_versioned(client):
    page = client.get("/masuk")
    css = re.search(r'href="(/static/portal/app\.css\?v=[0-9a-f]+)"', page.text)
    js = re.search(r'src="(/static/portal/vendor/htmx/htmx\.min\.js\?v=[0-9a-f]+)"', page.text)
    assert css and js
    total = sum(len(client.get(u.group(1)).data) for u in (css, js))
    assert total <= 300 * 1024  # the first-load budget of JS + CSS


@pytest.mark.browser
def test_phone_layout_wide_tables_scroll_in_place_and_warnings_look_like_warnings(browser):
    """The real app.css on a 360 px phone: a wide table in a two-column page scrolls inside its box instead of
    pushing the page sideways; a phone-number field looks like the other text fields; a warning is not an info."""
    from service.portal.web import STATIC_DIR

    wide = "<tr>" + "".join(f"<td>Kolom{i}PanjangSekali</td>" for i in range(12)) + "</tr>"
    html = ("<!doctype html><html><head><meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<style>{(STATIC_DIR / 'app.css').read_text()}</style></head><body>"
            f"<main class='wadah'><div class='dua-kolom'><section><div class='tabel-wadah'><table>{wide}</table>"
            "</div></section><section><input type='text' id='teks'><input type='tel' id='telepon'></section></div>"
            "<p class='kabar kabar-info' id='info'>i</p><p class='kabar kabar-peringatan' id='awas'>!</p>"
            "</main></body></html>")
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.set_content(html)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        box = page.evaluate("(() => { const w = document.querySelector('.tabel-wadah');"
                            " return [w.clientWidth, w.scrollWidth]; })()")
        assert box[0] <= 360 < box[1]  # the table scrolls inside its own box
        style = "(id => { const s = getComputedStyle(document.getElementById(id)); return [s.borderTopWidth, " \
                "s.borderTopColor, s.paddingLeft, s.minHeight, s.width]; })"
        assert page.evaluate(f"{style}('telepon')") == page.evaluate(f"{style}('teks')")
        colours = "(id => { const s = getComputedStyle(document.getElementById(id)); " \
                  "return [s.backgroundColor, s.borderLeftColor]; })"
        info, awas = page.evaluate(f"{colours}('info')"), page.evaluate(f"{colours}('awas')")
        assert info[0] != awas[0] and info[1] != awas[1]
    finally:
        context.close()


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_the_front_page_lists_the_kabupatens_villages_in_one_query(client, engine):
    from sqlalchemy import event

    statements = []

    def count(*_args):
        statements.append(1)

    client.get("/", headers={"Accept": BROWSER_ACCEPT})  # the host-name middleware reads its map every 30 s
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert len(statements) == 1  # the tenants with their kecamatan and kabupaten, nothing else
    assert "<h1>Kabupaten Bungo</h1>" in page.text and 'lang="id"' in page.text
    assert "Dusun di Kabupaten Bungo" in page.text  # the kabupaten's own word for a desa
    assert "Kecamatan Bathin III Ulu</strong> (9)" in page.text and "Kecamatan Tanah Tumbuh</strong> (1)" in page.text
    links = re.findall(r'<a href="(/desa/[^"]+)">([^<]+)</a>', page.text)
    assert ("/desa/muara-buat/", "Muara Buat") in links and len(links) == 10  # the provisioned villages only
    assert client.get("/desa/muara-buat/").status_code == 200  # the link opens the village's site
    assert 'href="/masuk/warga"' in page.text and 'href="/masuk"' in page.text
    assert page.headers["Cache-Control"] == "public, max-age=60" and "Accept" in page.headers["Vary"]


def test_api_clients_still_get_the_json_index_at_the_root(client):
    for accept in (None, "*/*", "application/json", "application/json, text/plain, */*"):
        answer = client.get("/", headers={"Accept": accept} if accept else {})
        assert answer.mimetype == "application/json", accept
        assert answer.get_json()["api"] == "/api/v1/openapi.json"
        assert "Accept" in answer.headers["Vary"]


def test_signed_in_visitors_get_their_desk_link_on_the_front_page(client, make_staff):
    username, password, _ = make_staff(("operator_desa", MUARA_BUAT))
    sign_in_staff(client, username, password)
    page = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200 and 'href="/beranda"' in page.text and 'href="/masuk/warga"' not in page.text
    assert page.headers["Cache-Control"] == "no-store"  # it names the person
