"""The settings pages through the portal session: local names and letter settings saved and read back (sekdes and
kepala desa only), PIN resets shown once and audited, another village's staff refused with the 403 page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from service.audit.models import AuditLog
from service.auth.models import AkunWarga
from service.auth.secrets import verify_secret
from service.penduduk import services
from service.surat import pengaturan as surat_pengaturan
from tenants.localnames import sebutan
from tenants.session import DesaSession
from tests.fixtures import csrf_of, new_nik, sign_in_staff

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

DESA = "15.08.14.2003"
PAGE = "/desa/1508142003/kelola/pengaturan"


def signed_in(client, make_staff, role: str, desa: str = DESA):
    username, password, _ = make_staff((role, desa))
    assert sign_in_staff(client, username, password).status_code == 303
    return client


def audit_rows(engine, aksi: str) -> list[AuditLog]:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditLog).where(AuditLog.aksi == aksi, AuditLog.desa_kode == DESA)
                                 .order_by(AuditLog.id)).all())


@pytest.fixture
def restore_settings(engine):
    """Put this desa's names and letter settings back afterwards (other tests read them)."""
    with DesaSession(engine, DESA) as session:
        names = sebutan(session)
    yield
    from tenants.localnames import save_sebutan

    with DesaSession(engine, DESA) as session:
        save_sebutan(session, names)
        surat_pengaturan.save_settings(session, {"format_nomor": None, "nomor_per": None, "rantai_verifikasi": None,
                                                 "kode_desa": None, "skema_klasifikasi": None})
        session.commit()


def test_local_names_are_saved_and_read_back(client, make_staff, engine, restore_settings):
    signed_in(client, make_staff, "sekdes")
    page = client.get(PAGE)
    assert page.status_code == 200 and 'value="Kampung"' in page.text  # Bungo's default for the dusun
    token = csrf_of(page.text)
    form = {"csrf_token": token, "sebutan_desa": "Dusun", "sebutan_kepala_desa": "Rio", "sebutan_dusun": "Kampung",
            "sebutan_camat": "Camat"}

    too_long = client.post(f"{PAGE}/sebutan", data={**form, "sebutan_dusun": "K" * 51})
    assert too_long.status_code == 422 and 'id="sebutan_dusun-galat"' in too_long.text
    assert "paling panjang 50 karakter" in too_long.text
    odd = client.post(f"{PAGE}/sebutan", data={**form, "sebutan_kepala_desa": "<b>Rio</b>"})
    assert odd.status_code == 422 and 'id="sebutan_kepala_desa-galat"' in odd.text
    with DesaSession(engine, DESA) as session:
        assert sebutan(session)["sebutan_dusun"] == "Kampung"

    saved = client.post(f"{PAGE}/sebutan", data={**form, "sebutan_dusun": "  Kampung   Adat ", "sebutan_camat": ""})
    assert saved.status_code == 303
    again = client.get(PAGE)
    assert "Sebutan tersimpan." in again.text and 'value="Kampung Adat"' in again.text
    with DesaSession(engine, DESA) as session:
        names = sebutan(session)
    assert names["sebutan_dusun"] == "Kampung Adat" and names["sebutan_camat"] == "Camat"
    assert audit_rows(engine, "pengaturan_desa_diubah")[-1].detail == {"diubah": ["sebutan_dusun"]}
    # The portal's own pages use the new name at once.
    assert "Kampung Adat / RW / RT" in client.get("/desa/1508142003/kelola/penduduk").text


def test_letter_settings_are_saved_and_read_back(client, make_staff, engine, restore_settings):
    signed_in(client, make_staff, "kepala_desa")
    page = client.get(PAGE)
    token = csrf_of(page.text)
    default = re.search(r'id="contoh-nomor">([^<]+)<', page.text).group(1)
    form = {"csrf_token": token, "format_nomor": "[kode_klasifikasi]/[nomor,3]/[kode_desa]/[bulan_romawi]/[tahun]",
            "nomor_per": "klasifikasi", "skema_klasifikasi": "83", "kode_desa": "", "rantai": ["operator_desa",
                                                                                             "sekdes"]}

    unknown = client.post(f"{PAGE}/surat", data={**form, "format_nomor": "[nomor]/[desa]/[tahun]"})
    assert unknown.status_code == 422 and 'id="format_nomor-galat"' in unknown.text
    assert "[desa]: bagian tidak dikenal" in unknown.text
    no_year = client.post(f"{PAGE}/surat", data={**form, "format_nomor": "[nomor]/[kode_desa]", "nomor_per": "tahun"})
    assert no_year.status_code == 422 and "format harus memuat [tahun]" in no_year.text
    with DesaSession(engine, DESA) as session:
        assert surat_pengaturan.effective_settings(session)["contoh_nomor"] == default

    saved = client.post(f"{PAGE}/surat", data={**form, "format_nomor": "[nomor,4]/DS-[kode_desa]/[tahun]",
                                                "nomor_per": "tahun", "kode_desa": "BTH", "rantai": ["sekdes"]})
    assert saved.status_code == 303
    again = client.get(PAGE)
    assert "Pengaturan surat tersimpan." in again.text
    with DesaSession(engine, DESA) as session:
        settings = surat_pengaturan.effective_settings(session)
    assert settings["format_nomor"] == "[nomor,4]/DS-[kode_desa]/[tahun]" and settings["nomor_per"] == "tahun"
    assert settings["rantai_verifikasi"] == ["sekdes", "kepala_desa"] and settings["kode_desa"] == "BTH"
    assert f'id="contoh-nomor">{settings["contoh_nomor"]}<' in again.text and "/DS-BTH/" in settings["contoh_nomor"]
    assert re.search(r'value="sekdes" checked', again.text) and not re.search(r'value="operator_desa" checked',
                                                                               again.text)
    detail = audit_rows(engine, "pengaturan_surat_diubah")[-1].detail
    assert set(detail["diubah"]) == {"format_nomor", "nomor_per", "kode_desa", "rantai_verifikasi"}


def test_the_operator_reads_settings_but_may_not_change_them(client, make_staff, engine):
    signed_in(client, make_staff, "operator_desa")
    page = client.get(PAGE)
    assert page.status_code == 200 and "hanya dapat diubah oleh sekretaris desa" in page.text
    refused = client.post(f"{PAGE}/sebutan", data={"csrf_token": csrf_of(page.text), "sebutan_dusun": "Jorong"})
    assert refused.status_code == 403 and "Anda tidak berwenang" in refused.text
    with DesaSession(engine, DESA) as session:
        assert sebutan(session)["sebutan_dusun"] != "Jorong"


@pytest.mark.parametrize(("role", "scope"), [("sekdes", "15.08.14.2002"), ("camat", "15.08.14")])
def test_another_villages_staff_get_the_403_page(client, make_staff, role, scope):
    signed_in(client, make_staff, role, scope)
    page = client.get(PAGE)
    assert page.status_code == 403 and "Anda tidak berwenang" in page.text and "contoh-nomor" not in page.text
    token = csrf_of(client.get("/beranda").text)
    assert client.post(f"{PAGE}/pin", data={"csrf_token": token, "nik": new_nik()}).status_code == 403


def test_a_pin_reset_shows_the_new_pin_once_and_is_audited(client, make_staff, make_family, engine):
    (nik, old_pin, penduduk_id), _ = make_family(DESA, 2)
    with DesaSession(engine, DESA) as session:
        public_id = session.get(services.Penduduk, penduduk_id).public_id
        akun = session.get(AkunWarga, penduduk_id)
        akun.gagal, akun.terkunci_pada = 5, func.now()  # locked out after wrong PINs
        session.commit()
    signed_in(client, make_staff, "operator_desa")
    token = csrf_of(client.get(PAGE).text)
    before = len(audit_rows(engine, "pin_diterbitkan"))

    bad = client.post(f"{PAGE}/pin", data={"csrf_token": token, "nik": "1234"})
    assert bad.status_code == 422 and 'id="nik-galat"' in bad.text
    unknown = client.post(f"{PAGE}/pin", data={"csrf_token": token, "nik": new_nik()})
    assert unknown.status_code == 404 and "NIK tidak terdaftar di desa ini" in unknown.text

    answer = client.post(f"{PAGE}/pin", data={"csrf_token": token, "nik": nik})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    pin = re.search(r'<strong id="pin"[^>]*>(\d+)</strong>', answer.text).group(1)
    assert pin != old_pin
    with DesaSession(engine, DESA) as session:
        akun = session.get(AkunWarga, penduduk_id)
        assert verify_secret(akun.pin_hash, pin) and not verify_secret(akun.pin_hash, old_pin)
        assert akun.wajib_ganti_pin and akun.terkunci_pada is None and akun.gagal == 0
    rows = audit_rows(engine, "pin_diterbitkan")
    assert len(rows) == before + 1 and rows[-1].objek == f"penduduk:{public_id}"
    assert pin not in str(rows[-1].detail) and nik not in str(rows[-1].detail)
    assert pin not in client.get(PAGE).text  # shown once: not on the next visit

    # The same from the resident's page (the public id in the body, never the NIK in a URL).
    detail = client.get(f"/desa/1508142003/kelola/penduduk/{public_id}")
    assert "Atur ulang PIN" in detail.text
    again = client.post(f"{PAGE}/pin", data={"csrf_token": csrf_of(detail.text), "penduduk": str(public_id)})
    assert again.status_code == 200
    second = re.search(r'<strong id="pin"[^>]*>(\d+)</strong>', again.text).group(1)
    with DesaSession(engine, DESA) as session:
        assert verify_secret(session.get(AkunWarga, penduduk_id).pin_hash, second)
    assert len(audit_rows(engine, "pin_diterbitkan")) == before + 2
