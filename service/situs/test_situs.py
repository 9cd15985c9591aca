"""The village public site and its content screens, through the Flask test client against the real database."""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from service.situs import services
from service.situs.models import Artikel, Komentar
from tenants.session import desa_session
from tests.fixtures import csrf_of, sign_in_staff

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

MUARA_BUAT, BUAT = "15.08.14.2001", "15.08.14.2002"
SITUS = "/desa/muara-buat"


def png(width: int = 40, height: int = 30, color=(10, 120, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x8825] = {2: (6.0, 10.0, 0.0)}  # GPSInfo: latitude
    exif[0x010F] = "PonselMurah"  # Make
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _lupakan(runtime, kode=MUARA_BUAT):
    runtime.redis.delete(f"kawasan:situs:html:{kode}")


@pytest.fixture(name="konten")
def konten_fixture(engine, runtime):
    """Content of Muara Buat written through the services: published and draft articles, comments in every
    state, an official with a photo, running text. Unique words per test, because the session database is shared."""
    tag = uuid.uuid4().hex[:8]
    with desa_session(engine, MUARA_BUAT) as session:
        kat_values, _ = services.periksa_kategori(session, {"nama": f"Pengumuman {tag}"})
        kat = services.simpan_kategori(session, None, kat_values)
        foto = services.simpan_gambar(session, png())
        values, errors = services.periksa_artikel(session, {
            "judul": f"Gotong royong {tag}", "naskah": "Warga membersihkan parit.\n\nTerima kasih semua.",
            "kategori_id": str(kat.id), "boleh_komentar": "1"})
        assert not errors
        terbit = services.simpan_artikel(session, None, values, gambar=foto, penulis="Operator")
        services.ubah_status_artikel(terbit, True)
        draf_values, _ = services.periksa_artikel(session, {"judul": f"Rancangan rahasia {tag}",
                                                            "naskah": "Belum boleh dibaca siapa pun di luar kantor."})
        draf = services.simpan_artikel(session, None, draf_values, gambar=None, penulis="Operator")
        services.kirim_komentar(session, terbit, nama="Pak Tani", isi=f"Setuju sekali {tag}")
        disetujui = services.kirim_komentar(session, terbit, nama="Bu Guru", isi=f"Mantap {tag}")
        services.moderasi_komentar(session, disetujui.id, "setujui", "Operator")
        perangkat_values, _ = services.periksa_perangkat({"nama": f"Datuk {tag}", "jabatan": "Rio", "aktif": "1"})
        services.simpan_perangkat(session, None, perangkat_values, foto=services.simpan_gambar(session, png()))
        teks_values, _ = services.periksa_teks({"teks": f"Posyandu hari Sabtu {tag}", "aktif": "1"})
        services.simpan_teks(session, None, teks_values)
        session.commit()
        data = {"tag": tag, "slug": terbit.slug, "draf_slug": draf.slug, "kategori": kat.slug,
                "gambar": str(foto.public_id), "artikel_id": terbit.id, "draf_id": draf.id}
    _lupakan(runtime)
    return data


def test_public_pages_show_the_village_in_its_own_words_and_only_published_content(client, konten):
    tag = konten["tag"]
    home = client.get(f"{SITUS}/")
    assert home.status_code == 200
    html = home.text
    # Bungo's local names: the desa is a "Dusun", its head the "Rio".
    assert "Dusun Muara Buat" in html and "Kecamatan Bathin III Ulu" in html
    assert f"Datuk {tag}" in html and ">Rio<" in html
    assert f"Posyandu hari Sabtu {tag}" in html  # running text
    assert f"Gotong royong {tag}" in html and f"Rancangan rahasia {tag}" not in html
    assert 'action="/desa/muara-buat/cek-surat"' in html

    article = client.get(f"{SITUS}/artikel/{konten['slug']}")
    assert article.status_code == 200
    assert "<p>Warga membersihkan parit.</p><p>Terima kasih semua.</p>" in article.text
    assert f"Mantap {tag}" in article.text  # approved comment
    assert f"Setuju sekali {tag}" not in article.text  # still waiting for the operator
    assert f"/desa/muara-buat/gambar/{konten['gambar']}" in article.text

    assert client.get(f"{SITUS}/artikel/{konten['draf_slug']}").status_code == 404
    assert client.get(f"{SITUS}/artikel/{konten['draf_slug']}/komentar").status_code == 404
    listing = client.get(f"{SITUS}/artikel").text
    assert f"Gotong royong {tag}" in listing and f"Rancangan rahasia {tag}" not in listing
    by_category = client.get(f"{SITUS}/kategori/{konten['kategori']}")
    assert by_category.status_code == 200 and f"Gotong royong {tag}" in by_category.text
    assert client.get(f"{SITUS}/kategori/tidak-ada-{tag}").status_code == 404

    officials = client.get(f"{SITUS}/pemerintah")
    assert "Pemerintah Dusun Muara Buat" in officials.text and f"Datuk {tag}" in officials.text

    image = client.get(f"{SITUS}/gambar/{konten['gambar']}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert "immutable" in image.headers["Cache-Control"]
    assert client.get(f"{SITUS}/gambar/{uuid.uuid4()}").status_code == 404


def test_public_pages_are_cached_with_an_etag_and_refreshed_after_an_edit(client, konten, engine, runtime):
    first = client.get(f"{SITUS}/artikel/{konten['slug']}")
    etag = first.headers["ETag"]
    assert "public" in first.headers["Cache-Control"]
    again = client.get(f"{SITUS}/artikel/{konten['slug']}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    with desa_session(engine, MUARA_BUAT) as session:
        session.get(Artikel, konten["artikel_id"]).judul = f"Judul baru {konten['tag']}"
        session.commit()
    # Written behind the site's back: the cached page is still served until the cache is dropped...
    assert f"Judul baru {konten['tag']}" not in client.get(f"{SITUS}/artikel/{konten['slug']}").text
    _lupakan(runtime)  # ...which every content screen does after its commit
    fresh = client.get(f"{SITUS}/artikel/{konten['slug']}", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and f"Judul baru {konten['tag']}" in fresh.text


def test_statistics_are_charts_of_counts_only(client, make_family, relay, work, engine):
    make_family(MUARA_BUAT, 3)
    relay.run_once()
    work()  # the worker recounts the desa; the charts follow its summary
    with engine.connect() as conn:
        hidup = conn.scalar(text("SELECT penduduk_hidup FROM kawasan.desa_ringkasan WHERE desa_kode = :d"),
                            {"d": MUARA_BUAT})
    assert hidup >= 3
    page = client.get(f"{SITUS}/statistik")
    assert page.status_code == 200
    html = page.text
    assert f"<strong>{hidup:,}</strong> penduduk".replace(",", ".") in html
    assert html.count("<svg") >= 5 and "Piramida penduduk menurut kelompok umur" in html
    # Each chart carries its figures as text for screen readers (a real <desc>, not escaped markup).
    assert html.count("<desc>") == html.count("<svg") and "&lt;desc&gt;" not in html
    assert "Penduduk menurut jenis kelamin" in html
    assert not re.search(r"\b\d{16}\b", html)  # never a NIK or KK number


def _captcha_answer(runtime, token: str) -> str:
    ident = token.split(".", 1)[0]
    return json.loads(runtime.redis.get(f"kawasan:captcha:{ident}"))["jawaban"]


def _comment_form(client, slug: str, **environ):
    page = client.get(f"{SITUS}/artikel/{slug}/komentar", environ_base=environ)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    token = re.search(r'name="captcha" value="([^"]+)"', page.text).group(1)
    return csrf_of(page.text), token


def _count_comments(engine, artikel_id: int) -> int:
    with desa_session(engine, MUARA_BUAT) as session:
        return session.scalar(select(func.count()).select_from(Komentar).where(Komentar.artikel_id == artikel_id))


def test_a_comment_needs_the_captcha_answer_and_each_challenge_works_once(client, konten, engine, runtime):
    slug, before = konten["slug"], _count_comments(engine, konten["artikel_id"])
    csrf, token = _comment_form(client, slug)
    image = client.get(f"{SITUS}/captcha/{token}.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    right = _captcha_answer(runtime, token)

    wrong = client.post(f"{SITUS}/artikel/{slug}/komentar", data={
        "csrf_token": csrf, "captcha": token, "nama": "Pak RT", "komentar": "Komentar tanpa jawaban benar",
        "jawaban": str(int(right) + 1)})
    assert wrong.status_code == 422
    assert "Jawaban soal hitungan salah" in wrong.text and 'aria-invalid="true"' in wrong.text
    assert "Komentar tanpa jawaban benar" in wrong.text  # what was typed is kept
    assert _count_comments(engine, konten["artikel_id"]) == before

    # The same challenge again, now with the right answer: already spent.
    replay = client.post(f"{SITUS}/artikel/{slug}/komentar", data={
        "csrf_token": csrf, "captcha": token, "nama": "Pak RT", "komentar": "Komentar kedua", "jawaban": right})
    assert replay.status_code == 422 and _count_comments(engine, konten["artikel_id"]) == before
    assert client.get(f"{SITUS}/captcha/{token}.png").status_code == 404

    # A forged token (right shape, wrong signature) is refused.
    forged = token.split(".")[0] + "." + "0" * 32
    forged_answer = client.post(f"{SITUS}/artikel/{slug}/komentar", data={
        "csrf_token": csrf, "captcha": forged, "nama": "Pak RT", "komentar": "Palsu", "jawaban": right})
    assert forged_answer.status_code == 422

    csrf, token = _comment_form(client, slug)
    missing_fields = client.post(f"{SITUS}/artikel/{slug}/komentar", data={
        "csrf_token": csrf, "captcha": token, "nama": "", "komentar": "", "jawaban": ""})
    assert missing_fields.status_code == 422
    assert "Nama wajib diisi." in missing_fields.text and "Komentar wajib diisi." in missing_fields.text

    csrf, token = _comment_form(client, slug)
    sent = client.post(f"{SITUS}/artikel/{slug}/komentar", data={
        "csrf_token": csrf, "captcha": token, "nama": "Pak RT", "komentar": f"Komentar sah {konten['tag']}",
        "jawaban": _captcha_answer(runtime, token)})
    assert sent.status_code == 303 and "terkirim=1" in sent.headers["Location"]
    assert "setelah disetujui operator" in client.get(sent.headers["Location"]).text
    assert _count_comments(engine, konten["artikel_id"]) == before + 1
    _lupakan(runtime)
    assert f"Komentar sah {konten['tag']}" not in client.get(f"{SITUS}/artikel/{slug}").text  # pending

    # Without the CSRF token nothing is even checked.
    csrf, token = _comment_form(client, slug)
    no_csrf = client.post(f"{SITUS}/artikel/{slug}/komentar", data={
        "captcha": token, "nama": "Pak RT", "komentar": "Tanpa token", "jawaban": _captcha_answer(runtime, token)})
    assert no_csrf.status_code == 403 and _count_comments(engine, konten["artikel_id"]) == before + 1


def test_comments_from_one_address_are_rate_limited(client, konten, engine, runtime):
    address = {"REMOTE_ADDR": "203.0.113.77"}
    slug = konten["slug"]
    statuses = []
    for _ in range(6):
        csrf, token = _comment_form(client, slug, **address)
        answer = client.post(f"{SITUS}/artikel/{slug}/komentar", environ_base=address, data={
            "csrf_token": csrf, "captcha": token, "nama": "Bot", "komentar": "Promo murah sekali",
            "jawaban": _captcha_answer(runtime, token)})
        statuses.append(answer.status_code)
    assert statuses == [303] * 5 + [429]
    assert "Terlalu banyak komentar" in answer.text
    # Another address is not affected.
    csrf, token = _comment_form(client, slug, REMOTE_ADDR="203.0.113.78")
    other = client.post(f"{SITUS}/artikel/{slug}/komentar", environ_base={"REMOTE_ADDR": "203.0.113.78"}, data={
        "csrf_token": csrf, "captcha": token, "nama": "Warga", "komentar": "Komentar biasa",
        "jawaban": _captcha_answer(runtime, token)})
    assert other.status_code == 303


def test_uploads_are_checked_by_content_and_size():
    assert services.periksa_gambar(png())[0] == "image/png"
    webp = io.BytesIO()
    Image.new("RGB", (8, 8)).save(webp, "WEBP")
    assert services.periksa_gambar(webp.getvalue())[0] == "image/webp"
    mime, _, _, cleaned = services.periksa_gambar(jpeg_with_gps())
    assert mime == "image/jpeg" and b"PonselMurah" not in cleaned  # EXIF (and the GPS position) is dropped
    big = services.periksa_gambar(png(3000, 100))
    assert (big[1], big[2]) == (1600, 53)
    for bad, message in [
        (b"<?php echo 'halo'; ?>", "bukan gambar"),
        (b"GIF89a" + bytes(40), "bukan gambar"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "rusak"),
        (b"", "kosong"),
        (b"\xff\xd8\xff" + bytes(services.GAMBAR_MAKS_BYTE), "terlalu besar"),
    ]:
        with pytest.raises(services.GambarTidakSah, match=message):
            services.periksa_gambar(bad)


def _signed_in(client, make_staff, role="operator_desa", desa=MUARA_BUAT):
    username, password, _ = make_staff((role, desa))
    assert sign_in_staff(client, username, password).status_code == 303
    return client


def test_operator_writes_publishes_and_moderates(client, make_staff, engine, runtime):
    _signed_in(client, make_staff)
    tag = uuid.uuid4().hex[:8]
    form = client.get(f"{SITUS}/kelola/situs/artikel/baru")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    csrf = csrf_of(form.text)

    def count_articles():
        with desa_session(engine, MUARA_BUAT) as session:
            return session.scalar(select(func.count()).select_from(Artikel).where(Artikel.judul.contains(tag)))

    not_an_image = client.post(f"{SITUS}/kelola/situs/artikel/baru", content_type="multipart/form-data", data={
        "csrf_token": csrf, "judul": f"Panen raya {tag}", "naskah": "Panen padi tahun ini melimpah ruah sekali.",
        "gambar": (io.BytesIO(b"MZ\x90\x00 this is an exe"), "foto.jpg", "image/jpeg")})
    assert not_an_image.status_code == 422
    assert "Berkas bukan gambar JPEG, PNG atau WebP." in not_an_image.text
    assert f"Panen raya {tag}" in not_an_image.text and count_articles() == 0

    short = client.post(f"{SITUS}/kelola/situs/artikel/baru", data={"csrf_token": csrf, "judul": "Ha", "naskah": ""})
    assert short.status_code == 422 and "Judul paling sedikit 5 karakter." in short.text
    assert "Isi artikel wajib diisi." in short.text and count_articles() == 0

    saved = client.post(f"{SITUS}/kelola/situs/artikel/baru", content_type="multipart/form-data", data={
        "csrf_token": csrf, "judul": f"Panen raya {tag}", "naskah": "Panen padi tahun ini melimpah ruah sekali.",
        "boleh_komentar": "1", "gambar": (io.BytesIO(png()), "panen.png", "image/png")})
    assert saved.status_code == 303 and count_articles() == 1
    with desa_session(engine, MUARA_BUAT) as session:
        item = session.scalar(select(Artikel).where(Artikel.judul.contains(tag)))
        slug, artikel_id, status = item.slug, item.id, item.status
    assert status == "draf"
    assert client.get(f"{SITUS}/artikel/{slug}").status_code == 404  # a draft is not public
    preview = client.get(f"{SITUS}/kelola/situs/artikel/{artikel_id}/pratinjau")
    assert preview.status_code == 200 and f"Panen raya {tag}" in preview.text and "masih draf" in preview.text
    assert client.application.test_client().get(f"{SITUS}/kelola/situs/artikel/{artikel_id}/pratinjau"
                                                 ).status_code in (302, 303)  # staff only

    listing = client.get(f"{SITUS}/kelola/situs/artikel")
    published = client.post(f"{SITUS}/kelola/situs/artikel/{artikel_id}/status",
                            data={"csrf_token": csrf_of(listing.text), "terbit": "1"})
    assert published.status_code == 303
    public = client.get(f"{SITUS}/artikel/{slug}")
    assert public.status_code == 200 and f"Panen raya {tag}" in public.text
    assert public.headers["Cache-Control"] == "no-store"  # signed in: never from or into the shared cache

    with desa_session(engine, MUARA_BUAT) as session:
        komentar = services.kirim_komentar(session, session.get(Artikel, artikel_id), nama="Warga",
                                           isi=f"Menunggu {tag}")
        session.commit()
        komentar_id = komentar.id
    queue = client.get(f"{SITUS}/kelola/situs/komentar")
    assert f"Menunggu {tag}" in queue.text
    approved = client.post(f"{SITUS}/kelola/situs/komentar/{komentar_id}",
                           data={"csrf_token": csrf_of(queue.text), "aksi": "setujui"})
    assert approved.status_code == 303
    anonymous = client.application.test_client()
    assert f"Menunggu {tag}" in anonymous.get(f"{SITUS}/artikel/{slug}").text

    withdrawn = client.post(f"{SITUS}/kelola/situs/artikel/{artikel_id}/status",
                            data={"csrf_token": csrf_of(listing.text), "terbit": "0"})
    assert withdrawn.status_code == 303
    assert anonymous.get(f"{SITUS}/artikel/{slug}").status_code == 404  # the cache was dropped too

    no_csrf = client.post(f"{SITUS}/kelola/situs/artikel/{artikel_id}/status", data={"terbit": "1"})
    assert no_csrf.status_code == 403 and "Formulir kedaluwarsa" in no_csrf.text


def test_officials_running_text_and_categories_validate_inline(client, make_staff, engine):
    _signed_in(client, make_staff, role="sekdes")
    page = client.get(f"{SITUS}/kelola/situs/perangkat/baru")
    csrf = csrf_of(page.text)
    assert "Rio" in page.text  # the help text speaks the village's words
    bad = client.post(f"{SITUS}/kelola/situs/perangkat/baru", data={
        "csrf_token": csrf, "nama": "", "jabatan": "Kaur", "nip": "12ab", "urut": "x"})
    assert bad.status_code == 422
    for message in ("Nama wajib diisi.", "NIP harus 18 angka", "Urutan harus bilangan"):
        assert message in bad.text
    tag = uuid.uuid4().hex[:6]
    ok = client.post(f"{SITUS}/kelola/situs/perangkat/baru", content_type="multipart/form-data", data={
        "csrf_token": csrf, "nama": f"Siti {tag}", "jabatan": "Sekretaris Dusun", "urut": "2", "aktif": "1",
        "foto": (io.BytesIO(jpeg_with_gps()), "siti.jpg", "image/jpeg")})
    assert ok.status_code == 303
    assert f"Siti {tag}" in client.application.test_client().get(f"{SITUS}/pemerintah").text

    teks_bad = client.post(f"{SITUS}/kelola/situs/teks-berjalan", data={
        "csrf_token": csrf, "teks": "", "tautan": "javascript:alert(1)"})
    assert teks_bad.status_code == 422
    assert "Teks wajib diisi." in teks_bad.text and "Tautan harus diawali https://" in teks_bad.text

    name = f"Kabar {tag}"
    assert client.post(f"{SITUS}/kelola/situs/kategori", data={"csrf_token": csrf, "nama": name}).status_code == 303
    dup = client.post(f"{SITUS}/kelola/situs/kategori", data={"csrf_token": csrf, "nama": name.upper()})
    assert dup.status_code == 422 and "Kategori dengan nama ini sudah ada." in dup.text


def test_another_desa_operator_gets_the_403_page(client, make_staff):
    _signed_in(client, make_staff, desa=BUAT)
    for path in ("/kelola/situs/artikel", "/kelola/situs/komentar", "/kelola/situs/artikel/baru"):
        answer = client.get(SITUS + path)
        assert answer.status_code == 403 and answer.mimetype == "text/html"
        assert "Anda tidak berwenang membuka halaman ini." in answer.text
    # Their own village's screens open.
    assert client.get("/desa/buat/kelola/situs/artikel").status_code == 200
    anonymous = client.application.test_client()
    assert anonymous.get(f"{SITUS}/kelola/situs/artikel").status_code in (302, 303)  # to the sign-in page


def test_images_of_drafts_and_hidden_officials_are_for_the_desa_staff_only(client, make_staff, engine, konten):
    with desa_session(engine, MUARA_BUAT) as session:
        draf = session.get(Artikel, konten["draf_id"])
        gambar_draf = services.simpan_gambar(session, png(color=(200, 10, 10)))
        draf.gambar_id = gambar_draf.id
        values, _ = services.periksa_perangkat({"nama": f"Mantan {konten['tag']}", "jabatan": "Kaur"})
        foto_tersembunyi = services.simpan_gambar(session, png(color=(10, 10, 200)))
        services.simpan_perangkat(session, None, values, foto=foto_tersembunyi)
        session.commit()
        paths = [f"{SITUS}/gambar/{g.public_id}" for g in (gambar_draf, foto_tersembunyi)]

    anonymous = client.application.test_client()
    for path in paths:  # the random id is no secret (it is in the admin pages): visitors still get nothing
        assert anonymous.get(path).status_code == 404
    assert anonymous.get(f"{SITUS}/gambar/{konten['gambar']}").status_code == 200  # a published article's

    other = _signed_in(client.application.test_client(), make_staff, desa=BUAT)
    assert other.get(paths[0]).status_code == 404  # another village's staff are visitors here

    staff = _signed_in(client, make_staff)
    for path in paths:
        seen = staff.get(path)
        assert seen.status_code == 200 and seen.data.startswith(b"\x89PNG")
        assert seen.headers["Cache-Control"] == "private, no-store"  # never into a shared cache

    with desa_session(engine, MUARA_BUAT) as session:
        services.ubah_status_artikel(session.get(Artikel, konten["draf_id"]), True)
        session.commit()
    published = anonymous.get(paths[0])
    assert published.status_code == 200 and "immutable" in published.headers["Cache-Control"]


def test_the_village_host_name_serves_its_site_at_the_root(client, konten, engine, app):
    host = f"muarabuat-{konten['tag']}.desa.id"
    with engine.begin() as conn:
        conn.execute(text("UPDATE kawasan.tenant SET nama_host = :h WHERE kode = :k"), {"h": host, "k": MUARA_BUAT})
    app.wsgi_app.lupakan()
    try:
        home = client.get("/", headers={"Host": host})
        assert home.status_code == 200 and "Dusun Muara Buat" in home.text
        assert f'href="/artikel/{konten["slug"]}"' in home.text  # links without /desa/<slug>
        article = client.get(f"/artikel/{konten['slug']}", headers={"Host": host})
        assert article.status_code == 200 and f"Gotong royong {konten['tag']}" in article.text
        assert client.get("/statistik", headers={"Host": host}).status_code == 200
        # Another host still gets the platform's root, and paths outside the site are not rewritten.
        assert client.get("/", headers={"Host": "kawasan.example"}).get_json()["name"] == "Kawasan"
        assert client.get("/api/v1/desa/15.08.14.2002", headers={"Host": host}).get_json()["nama"] == "Buat"
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE kawasan.tenant SET nama_host = NULL WHERE kode = :k"), {"k": MUARA_BUAT})
        app.wsgi_app.lupakan()


def test_letter_check_form_leads_to_the_verification_page(client):
    answer = client.get(f"{SITUS}/cek-surat?kode=AbC_123-x")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/verifikasi/AbC_123-x")
    bad = client.get(f"{SITUS}/cek-surat?kode=<script>")
    assert bad.status_code == 422 and "Kode verifikasi tidak sah." in bad.text


def test_demo_content_fills_a_village_once(engine, runtime, client):
    from service.situs.demo import seed_situs_demo

    # Buat (15.08.14.2002) may already have content from another test; the demo fills only empty villages.
    first = seed_situs_demo(engine, "15.08.14")
    assert first >= 1 and seed_situs_demo(engine, "15.08.14") == 0
    _lupakan(runtime, "15.08.14.2003")
    home = client.get("/desa/15.08.14.2003/")
    assert home.status_code == 200 and "Gotong royong membersihkan saluran irigasi Dusun" in home.text
    assert ">Rio<" in home.text and "Selamat datang di situs resmi Dusun" in home.text
    with desa_session(engine, "15.08.14.2003") as session:
        assert session.scalar(select(func.count()).select_from(Komentar).where(Komentar.status == "menunggu")) == 1
