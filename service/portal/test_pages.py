"""Letter pages without a browser: who may open which page, and refusals shown beside the field with nothing
written (the browser journey is tests/test_portal_journey.py)."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select, text

from tests.fixtures import csrf_of, sign_in_staff

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

MUARA_BUAT, KECAMATAN = "15.08.14.2001", "15.08.14"


def sign_in_warga(client, nik: str, pin: str):
    page = client.get("/masuk/warga")
    return client.post("/masuk/warga", data={"csrf_token": csrf_of(page.text), "desa": "muara-buat", "nik": nik,
                                             "pin": pin})


def _staff(role: str, scope: str):
    from service.auth.principal import Kind, Principal
    from service.auth.roles import make_grant

    return Principal(kind=Kind.STAFF, subject=f"staff:{role}", name=f"Uji {role}", grants=(make_grant(role, scope),))


@pytest.fixture
def letter_at_kecamatan(engine, make_family, relay, work):
    """An S-04 request signed by the Rio and placed in the kecamatan's inbox; returns (public id, inbox id)."""
    from service.auth.principal import Kind, Principal
    from service.penduduk.models import Penduduk
    from service.surat import services
    from tenants.session import DesaSession

    (_, _, penduduk_id), = make_family(MUARA_BUAT, 1)
    warga = Principal(kind=Kind.WARGA, subject=f"warga:{MUARA_BUAT}:{penduduk_id}", name="Warga",
                      desa_kode=MUARA_BUAT, penduduk_id=penduduk_id)
    with DesaSession(engine, MUARA_BUAT) as session:
        penduduk = session.get(Penduduk, penduduk_id)
        p = services.ajukan(session, actor=warga, jenis_kode="S-04", penduduk=penduduk,
                            isian={"alamat_tujuan": "Muara Bungo", "alasan": "Bekerja"})
        for nama in ("Fotokopi KK", "Fotokopi KTP"):
            services.tambah_lampiran(session, p, nama=nama, nama_berkas="a.png", mime="image/png",
                                     isi=b"\x89PNG\r\n\x1a\nx", actor=warga)
        for role in ("operator_desa", "sekdes"):
            services.verifikasi(session, p, _staff(role, MUARA_BUAT))
        services.tandatangani(session, p, _staff("kepala_desa", MUARA_BUAT), base_url="http://uji")
        session.commit()
        public_id = str(p.public_id)
    relay.run_once()
    work()
    with engine.connect() as conn:
        item_id = conn.scalar(text("SELECT id FROM kawasan.kotak_masuk WHERE permohonan_id = CAST(:p AS uuid)"),
                              {"p": public_id})
    return public_id, item_id


def test_pages_of_other_people_and_places_are_403_pages(client, make_family, make_staff):
    (nik, pin, _), = make_family(MUARA_BUAT, 1)
    sign_in_warga(client, nik, pin)
    assert client.get("/desa/muara-buat/mandiri").status_code == 200
    for path in ("/desa/muara-buat/surat", "/desa/buat/mandiri", f"/kecamatan/{KECAMATAN}/kotak-masuk"):
        page = client.get(path)
        assert page.status_code == 403 and "Anda tidak berwenang" in page.text, path
    client.post("/keluar", data={"csrf_token": csrf_of(client.get("/beranda").text)})

    username, password, _ = make_staff(("camat", "15.08.01"))
    sign_in_staff(client, username, password)
    assert client.get("/kecamatan/15.08.01/kotak-masuk").status_code == 200
    assert client.get(f"/kecamatan/{KECAMATAN}/kotak-masuk").status_code == 403
    assert client.get("/desa/muara-buat/mandiri").status_code == 403  # staff are not residents
    assert client.get("/kecamatan/15.08/kotak-masuk").status_code == 403  # authorization comes first
    client.post("/keluar", data={"csrf_token": csrf_of(client.get("/beranda").text)})

    username, password, _ = make_staff(("staf_kabupaten", "15.08"))
    sign_in_staff(client, username, password)
    assert client.get("/kabupaten/15.08/sla").status_code == 200
    assert client.get(f"/kecamatan/{KECAMATAN}/sla").status_code == 200  # the kabupaten sees its kecamatan
    assert client.get("/kecamatan/15.08/kotak-masuk").status_code == 404  # a kabupaten code in a kecamatan URL
    assert client.get(f"/kabupaten/{KECAMATAN}/sla").status_code == 404


def test_unknown_page_urls_are_pages_and_the_api_keeps_problem_json(client):
    page = client.get("/desa/muara-buat/tidak-ada")
    assert page.status_code == 404 and page.mimetype == "text/html" and "Halaman tidak ditemukan." in page.text
    api = client.get("/api/v1/tidak-ada")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


def test_desk_refusals_are_shown_beside_the_action_and_change_nothing(client, make_staff, engine, make_family):
    from service.auth.principal import Kind, Principal
    from service.penduduk.models import Penduduk
    from service.surat import services
    from service.surat.models import PermohonanSurat
    from tenants.session import DesaSession

    (_, _, penduduk_id), = make_family(MUARA_BUAT, 1)
    with DesaSession(engine, MUARA_BUAT) as session:
        warga = Principal(kind=Kind.WARGA, subject=f"warga:{MUARA_BUAT}:{penduduk_id}", name="W",
                          desa_kode=MUARA_BUAT, penduduk_id=penduduk_id)
        p = services.ajukan(session, actor=warga, jenis_kode="DOM", penduduk=session.get(Penduduk, penduduk_id),
                            isian={"keperluan": "Melamar kerja"})
        session.commit()
        public_id = str(p.public_id)
    username, password, _ = make_staff(("sekdes", MUARA_BUAT))
    sign_in_staff(client, username, password)
    page = client.get(f"/desa/muara-buat/surat/{public_id}")
    assert re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d WIB", page.text)  # times in the village's own zone
    token = csrf_of(page.text)
    no_reason = client.post(f"/desa/muara-buat/surat/{public_id}/tolak", data={"csrf_token": token, "alasan": ""})
    assert no_reason.status_code == 422
    assert '<p class="galat-isian" id="alasan-galat">alasan wajib diisi (paling sedikit 3 huruf)</p>' in no_reason.text
    not_my_turn = client.post(f"/desa/muara-buat/surat/{public_id}/verifikasi", data={"csrf_token": token})
    assert not_my_turn.status_code == 422 and "langkah ini untuk operator_desa" in not_my_turn.text
    with DesaSession(engine, MUARA_BUAT) as session:
        row = session.scalar(select(PermohonanSurat).where(PermohonanSurat.public_id == p.public_id))
        assert (row.status, row.langkah, row.alasan) == (services.SEDANG_DIPERIKSA, 0, None)


def test_an_upload_that_is_not_a_pdf_or_image_is_refused_beside_the_field(client, make_family, engine):
    from sqlalchemy import func

    from service.surat.models import LampiranPermohonan
    from tenants.session import DesaSession

    (nik, pin, _), = make_family(MUARA_BUAT, 1)
    sign_in_warga(client, nik, pin)
    form = client.get("/desa/muara-buat/mandiri/ajukan?jenis=S-04")
    untuk = re.search(r'<option value="([0-9a-f-]{36})"', form.text).group(1)
    made = client.post("/desa/muara-buat/mandiri/ajukan", data={
        "csrf_token": csrf_of(form.text), "jenis": "S-04", "untuk": untuk, "isian_alamat_tujuan": "Bungo",
        "isian_alasan": "Kerja"})
    assert made.status_code == 303
    detail = made.headers["Location"]
    page = client.get(detail)
    with DesaSession(engine, MUARA_BUAT) as session:
        before = session.scalar(select(func.count()).select_from(LampiranPermohonan))
    refused = client.post(f"{detail}/lampiran", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(page.text), "nama": "Fotokopi KK",
        "berkas": (io.BytesIO(b"#!/bin/sh\necho bukan gambar\n"), "ktp.png")})
    assert refused.status_code == 422
    assert '<p class="galat-isian" id="berkas-galat">hanya PDF, JPEG atau PNG</p>' in refused.text
    with DesaSession(engine, MUARA_BUAT) as session:
        assert session.scalar(select(func.count()).select_from(LampiranPermohonan)) == before


def test_decisions_need_a_reason_to_reject_and_only_the_camat_approves(client, make_staff, letter_at_kecamatan,
                                                                       engine):
    _, item_id = letter_at_kecamatan
    username, password, _ = make_staff(("staf_kecamatan", KECAMATAN))
    sign_in_staff(client, username, password)
    page = client.get(f"/kecamatan/{KECAMATAN}/kotak-masuk/{item_id}")
    assert page.status_code == 200 and 'id="draf"' in page.text
    token = csrf_of(page.text)
    no_reason = client.post(f"/kecamatan/{KECAMATAN}/kotak-masuk/{item_id}",
                            data={"csrf_token": token, "keputusan": "tolak"})
    assert no_reason.status_code == 422
    assert 'id="alasan-galat">alasan wajib untuk tolak/kembalikan</p>' in no_reason.text
    not_camat = client.post(f"/kecamatan/{KECAMATAN}/kotak-masuk/{item_id}",
                            data={"csrf_token": token, "keputusan": "setuju"})
    assert not_camat.status_code == 422 and "hanya camat yang menyetujui" in not_camat.text
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT status FROM kawasan.kotak_masuk WHERE id = :i"), {"i": item_id}) == "menunggu"
    draft = client.get(f"/kecamatan/{KECAMATAN}/kotak-masuk/{item_id}/draf")
    assert draft.status_code == 200 and draft.data.startswith(b"%PDF")
    assert draft.headers["X-Frame-Options"] == "SAMEORIGIN"
    # The staff member may still return it, with a reason.
    returned = client.post(f"/kecamatan/{KECAMATAN}/kotak-masuk/{item_id}",
                           data={"csrf_token": token, "keputusan": "kembalikan", "alasan": "Alamat tujuan kurang"})
    assert returned.status_code == 303
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT keputusan FROM kawasan.kotak_masuk WHERE id = :i"), {"i": item_id}) == \
            "kembalikan"
