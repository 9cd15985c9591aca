import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.fixtures import bearer

DESA = "15.08.14.2007"
OTHER_DESA = "15.08.14.2008"
KAB = "15.08"
KEC = "15.08.14"
BASE = f"/api/v1/desa/{DESA}/surat"
SETTINGS = f"{BASE}/pengaturan"


@pytest.fixture(scope="module")
def app(runtime):
    """The app with this module's blueprints (registered here too until service/app.py lists them)."""
    from service.app import create_app
    from service.surat.pengaturan_resources import blp, kabupaten_blp

    app = create_app(runtime.settings)
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    for blueprint in (blp, kabupaten_blp):
        if blueprint.name not in app.blueprints:
            api.register_blueprint(blueprint)
    app.testing = True
    return app


@pytest.fixture(autouse=True)
def restored(engine, runtime):
    """Every test leaves the desa's letter settings and the kabupaten's overrides as it found them."""
    from tenants.session import DesaSession

    for key in runtime.redis.scan_iter("kawasan:rl:*"):
        runtime.redis.delete(key)
    mine = "kunci LIKE 'surat\\_%' OR kunci IN ('webhook_url', 'webhook_secret')"
    with DesaSession(engine, DESA) as session:
        saved = session.execute(text(f"SELECT kunci, nilai FROM pengaturan WHERE {mine}")).all()
    with engine.connect() as conn:
        overrides = conn.execute(
            text("SELECT * FROM kawasan.jenis_surat_kabupaten WHERE kabupaten_kode = :k"), {"k": KAB}
        ).mappings().all()
    yield
    with DesaSession(engine, DESA) as session:
        session.execute(text(f"DELETE FROM pengaturan WHERE {mine}"))
        for kunci, nilai in saved:
            session.execute(text("INSERT INTO pengaturan (kunci, nilai) VALUES (:k, CAST(:v AS jsonb))"),
                            {"k": kunci, "v": json.dumps(nilai)})
        session.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM kawasan.jenis_surat_kabupaten WHERE kabupaten_kode = :k"), {"k": KAB})
        for row in overrides:
            conn.execute(
                text("INSERT INTO kawasan.jenis_surat_kabupaten (kabupaten_kode, jenis_kode, rantai, mandiri, "
                     "diubah_oleh, diubah_pada) VALUES (:kabupaten_kode, :jenis_kode, :rantai, :mandiri, "
                     ":diubah_oleh, :diubah_pada)"),
                dict(row),
            )


@pytest.fixture
def staff(token_for):
    return {
        "operator": bearer(token_for(("operator_desa", DESA))),
        "sekdes": bearer(token_for(("sekdes", DESA))),
        "rio": bearer(token_for(("kepala_desa", DESA))),
        "sekdes_lain": bearer(token_for(("sekdes", OTHER_DESA))),
        "camat": bearer(token_for(("camat", KEC))),
        "staf_kab": bearer(token_for(("staf_kabupaten", KAB))),
        "kab": bearer(token_for(("admin_kabupaten", KAB))),
        "kab_lain": bearer(token_for(("admin_kabupaten", "15.09"))),
    }


@pytest.fixture
def resident(engine, make_family):
    from tenants.session import DesaSession

    [(_, _, penduduk_id)] = make_family(desa=DESA, size=1)
    with DesaSession(engine, DESA) as session:
        return str(session.scalar(text("SELECT public_id FROM penduduk WHERE id = :i"), {"i": penduduk_id}))


def _request(client, staff, resident, jenis="DOM", isian=None):
    created = client.post(f"{BASE}/permohonan", headers=staff["operator"], json={
        "jenis": jenis, "penduduk_id": resident, "isian": isian or {"keperluan": "melamar kerja"}})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def _sign_off(client, staff, permohonan_id, steps):
    for who, action in steps:
        response = client.post(f"{BASE}/permohonan/{permohonan_id}/{action}", headers=staff[who])
        assert response.status_code == 200, (who, response.get_json())
    return response.get_json()


FULL_CHAIN = (("operator", "verifikasi"), ("sekdes", "verifikasi"), ("rio", "tandatangani"))


def _last_audit(engine, aksi):
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT * FROM kawasan.audit_log WHERE aksi = :a ORDER BY id DESC LIMIT 1"), {"a": aksi}
        ).mappings().first()


# --- desa settings --------------------------------------------------------------------------------------


def test_defaults_are_shown_and_the_secret_is_write_only(client, staff, engine):
    got = client.get(SETTINGS, headers=staff["operator"])
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["format_nomor"] == "[kode_klasifikasi]/[nomor,3]/[kode_desa]/[bulan_romawi]/[tahun]"
    assert (body["nomor_per"], body["skema_klasifikasi"], body["kode_desa"]) == ("klasifikasi", "83", "2007")
    assert body["rantai_verifikasi"] == ["operator_desa", "sekdes", "kepala_desa"]
    assert body["klasifikasi"]["DOM"] == "400.12.2.1" and body["webhook_secret_diatur"] is False
    assert re.fullmatch(r"100\.2\.2\.5/\d{3}/2007/[IVX]+/\d{4}", body["contoh_nomor"]), body["contoh_nomor"]

    saved = client.put(SETTINGS, headers=staff["sekdes"], json={
        "skema_klasifikasi": 78, "klasifikasi": {"DOM": "470.1"},
        "webhook_url": "https://contoh.id/kabar?token=rahasia-di-url", "webhook_secret": "s3cr3t-yang-panjang-sekali"})
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["skema_klasifikasi"] == "78" and body["klasifikasi"]["DOM"] == "470.1"
    assert body["klasifikasi"]["S-02"] == "470" and body["klasifikasi_khusus"] == {"DOM": "470.1"}
    assert body["webhook_secret_diatur"] is True and "webhook_secret" not in body
    assert "s3cr3t" not in json.dumps(client.get(SETTINGS, headers=staff["operator"]).get_json())
    audit = _last_audit(engine, "pengaturan_surat_diubah")
    assert audit["desa_kode"] == DESA and audit["detail"]["webhook_secret"] == "diatur"
    assert "s3cr3t" not in json.dumps(audit["detail"]) and "rahasia-di-url" not in json.dumps(audit["detail"])
    # null goes back to the default
    reset = client.put(SETTINGS, headers=staff["rio"], json={"klasifikasi": {"DOM": None}, "skema_klasifikasi": None,
                                                              "webhook_url": None, "webhook_secret": None})
    assert reset.status_code == 200, reset.get_json()
    assert reset.get_json()["klasifikasi"]["DOM"] == "400.12.2.1" and not reset.get_json()["webhook_secret_diatur"]
    client.put(SETTINGS, headers=staff["rio"], json={"klasifikasi": {"DOM": "470.1", "BM": "474.2"}})
    cleared = client.put(SETTINGS, headers=staff["rio"], json={"klasifikasi": None}).get_json()
    assert cleared["klasifikasi_khusus"] == {} and cleared["klasifikasi"]["BM"] == "400.12.3.2"


def test_a_saved_number_format_and_chain_are_used_by_the_next_letter(client, staff, resident, engine):
    saved = client.put(SETTINGS, headers=staff["sekdes"], json={
        "format_nomor": "SKT/[nomor,4]/[kode_desa]/[bulan]/[tahun]", "nomor_per": "tahun", "kode_desa": "BTH-07",
        "rantai_verifikasi": ["sekdes", "kepala_desa"]})
    assert saved.status_code == 200, saved.get_json()
    now = datetime.now(UTC)
    sample = saved.get_json()["contoh_nomor"]
    assert re.fullmatch(rf"SKT/\d{{4}}/BTH-07/{now.month:02d}/{now.year}", sample), sample
    assert saved.get_json()["rantai_verifikasi"] == ["sekdes", "kepala_desa"]

    permohonan = _request(client, staff, resident)
    # the operator's step is gone from this desa's chain: the sekdes verifies, the Rio signs
    refused = client.post(f"{BASE}/permohonan/{permohonan['id']}/verifikasi", headers=staff["operator"])
    assert refused.status_code == 403
    issued = _sign_off(client, staff, permohonan["id"], (("sekdes", "verifikasi"), ("rio", "tandatangani")))
    assert issued["status"] == "Siap Diambil"
    assert issued["nomor"] == sample  # the sample showed the very number the next letter got

    # The preview's sample context has the shape of the real letter's context.
    from service.surat import katalog, pdf
    from service.surat.models import PermohonanSurat
    from service.surat.pengaturan import sample_context
    from tenants.session import DesaSession

    with DesaSession(engine, DESA) as session:
        row = session.scalar(text("SELECT id FROM permohonan_surat WHERE public_id = :p"), {"p": permohonan["id"]})
        real = pdf.letter_context(session, session.get(PermohonanSurat, row), "Rio")
        sample_ctx = sample_context(session, katalog.BY_KODE["DOM"])
    assert {k: sorted(v) for k, v in real.items()} == {k: sorted(v) for k, v in sample_ctx.items()}


INVALID = [
    ({"format_nomor": "[kode_klasifikasi]/[kode_desa]/[tahun]"}, "format_nomor"),  # no counter
    ({"format_nomor": "[kode_klasifikasi]/[nomor,7]/[tahun]"}, "format_nomor"),
    ({"format_nomor": "[kode_klasifikasi]/[nomor,0]/[tahun]"}, "format_nomor"),
    ({"format_nomor": "[kode_klasifikasi]/[nomor]/[rt]/[tahun]"}, "format_nomor"),  # unknown placeholder
    ({"format_nomor": "[kode_klasifikasi]/[nomor]/[tahun"}, "format_nomor"),
    ({"format_nomor": "[kode_klasifikasi]/[nomor]/\n[tahun]"}, "format_nomor"),
    ({"format_nomor": "[nomor]/[kode_desa]/[tahun]"}, "format_nomor"),  # per-classification counters collide
    ({"format_nomor": "[kode_klasifikasi]/[nomor]/[bulan]"}, "format_nomor"),  # numbers restart every year
    ({"format_nomor": "[kode_klasifikasi]/[nomor]/[tahun]/" + "x" * 80}, "format_nomor"),
    ({"nomor_per": "bulan"}, "nomor_per"),
    ({"rantai_verifikasi": []}, "rantai_verifikasi"),
    ({"rantai_verifikasi": ["operator_desa", "sekdes"]}, "rantai_verifikasi"),  # the signer is never optional
    ({"rantai_verifikasi": ["sekdes", "operator_desa", "kepala_desa"]}, "rantai_verifikasi"),
    ({"rantai_verifikasi": ["camat", "kepala_desa"]}, "rantai_verifikasi"),
    ({"rantai_verifikasi": ["kepala_desa", "kepala_desa"]}, "rantai_verifikasi"),
    ({"rantai_verifikasi": "kepala_desa"}, "rantai_verifikasi"),
    ({"skema_klasifikasi": "2012"}, "skema_klasifikasi"),
    ({"kode_desa": ""}, "kode_desa"),
    ({"kode_desa": "BTH/07"}, "kode_desa"),
    ({"kode_desa": "X" * 21}, "kode_desa"),
    ({"klasifikasi": {"S-99": "470"}}, "klasifikasi.S-99"),
    ({"klasifikasi": {"DOM": "47a.1"}}, "klasifikasi.DOM"),
    ({"webhook_url": "ftp://contoh.id/kabar"}, "webhook_url"),
    ({"webhook_url": "javascript:alert(1)"}, "webhook_url"),
    ({"webhook_url": "https://contoh.id/kabar"}, "webhook_secret"),  # an unsigned webhook
    ({"webhook_secret": "pendek"}, "webhook_secret"),
    ({"warna": "merah"}, "warna"),
    ({"kode_desa": "BOLEH", "nomor_per": "minggu"}, "nomor_per"),  # one bad field: nothing at all is saved
    ({"nomor_per": "tahun", "kode_desa": "OK", "format_nomor": "[kode_klasifikasi]/[nomor,9]/[tahun]"},
     "format_nomor"),
]


@pytest.mark.parametrize(("payload", "field"), INVALID, ids=[f"{i}-{f}" for i, (_, f) in enumerate(INVALID)])
def test_each_invalid_setting_is_rejected_and_nothing_saved(client, staff, engine, payload, field):
    before = client.get(SETTINGS, headers=staff["sekdes"]).get_json()
    audits = _count_audits(engine)
    rejected = client.put(SETTINGS, headers=staff["sekdes"], json=payload)
    assert rejected.status_code == 422, rejected.get_json()
    assert rejected.mimetype == "application/problem+json"
    assert field in [e["field"] for e in rejected.get_json()["errors"]], rejected.get_json()
    assert client.get(SETTINGS, headers=staff["sekdes"]).get_json() == before
    assert _count_audits(engine) == audits


def _count_audits(engine):
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM kawasan.audit_log WHERE aksi = 'pengaturan_surat_diubah'"))


def test_who_may_read_and_change_the_settings(client, staff):
    assert client.put(SETTINGS, headers=staff["operator"], json={"kode_desa": "OPR"}).status_code == 403
    assert client.get(SETTINGS, headers=staff["operator"]).status_code == 200
    assert client.get(SETTINGS, headers=staff["sekdes_lain"]).status_code == 403
    assert client.put(SETTINGS, headers=staff["sekdes_lain"], json={"kode_desa": "LAIN"}).status_code == 403
    assert client.get(SETTINGS, headers=staff["camat"]).status_code == 403
    assert client.get(SETTINGS).status_code == 401
    changed = client.put(SETTINGS, headers=staff["rio"], json={"kode_desa": "RIO"})
    assert changed.status_code == 200 and changed.get_json()["kode_desa"] == "RIO"
    assert client.get(SETTINGS, headers=staff["operator"]).get_json()["kode_desa"] == "RIO"


# --- templates ------------------------------------------------------------------------------------------

GOOD = """<p>Yang bertanda tangan di bawah ini {{ penandatangan.jabatan }} menerangkan bahwa
<strong>{{ penduduk.nama|upper }}</strong> (NIK {{ penduduk.nik }}) berdomisili di {{ desa.sebutan_desa }}
{{ desa.nama }}{% if isian.keperluan %}, untuk keperluan {{ isian.keperluan }}{% endif %}.</p>"""

BROKEN = [
    ("<p>baris satu</p>\n{% if penduduk.nama %}<p>tanpa penutup</p>", "baris 2"),  # syntax error, with the line
    ("<p>{{ penduduk.nama }</p>", "baris 1"),
    ("<p>{{ penduduk.gelar }}</p>", "penduduk.gelar"),  # unknown field
    ("<p>\n\n{{ nama_kepala }}</p>", "baris 3"),  # unknown variable
    ("<p>{{ isian.alasan }}</p>", "isian.alasan"),  # a field of another letter type
    ("{% if penduduk.agama == 'x' %}{{ penduduk.suku }}{% endif %}", "penduduk.suku"),  # even in a branch not taken
    ("<p>{{ ''.__class__ }}</p>", "unsafe"),  # sandbox
    ("<p>{{ ''.__class__.__mro__[1].__subclasses__() }}</p>", "unsafe"),
    ("<p>{{ cycler.__init__.__globals__ }}</p>", "unsafe"),
    ("<p>{{ 9 ** (9 ** 9) }}</p>", "**"),  # would stall the compiler
    ("<p>{{ isian.keperluan * (isian.keperluan|length) }}</p>", "1000"),
    ("<p>{{ isian.keperluan|center(100000) }}</p>", "1000"),
    ('<p><img src="file:///etc/passwd"></p>', "sumber luar"),  # WeasyPrint would read the server's files
    ("<p style=\"background: url('http://169.254.169.254/')\">x</p>", "sumber luar"),
    ('<p class="{{ isian.keperluan }}">x</p>', "tag HTML"),
    ("{% include 'lain.html' %}", "loader"),
    ("<p>" + "x" * (20 * 1024) + "</p>", "20480"),  # over 20 kB
]


@pytest.mark.parametrize(("source", "says"), BROKEN, ids=[f"{i}" for i in range(len(BROKEN))])
def test_a_broken_template_is_rejected_when_saved(client, staff, source, says):
    url = f"{BASE}/jenis/DOM/template"
    rejected = client.put(url, headers=staff["sekdes"], json={"template": source})
    assert rejected.status_code == 422, rejected.get_json()
    problem = rejected.get_json()
    assert problem["errors"][0]["field"] == "template" and says in problem["detail"], problem["detail"]
    assert client.get(url, headers=staff["operator"]).get_json()["khusus"] is False


def test_a_template_is_checked_saved_previewed_and_removed(client, staff, engine):
    url = f"{BASE}/jenis/DOM/template"
    assert client.put(url, headers=staff["operator"], json={"template": GOOD}).status_code == 403
    saved = client.put(url, headers=staff["sekdes"], json={"template": GOOD})
    assert saved.status_code == 200, saved.get_json()
    preview = saved.get_json()["pratinjau_html"]
    assert "BUDI SANTOSO" in preview and "Contoh keperluan" in preview and "Rio " in preview
    stored = client.get(url, headers=staff["operator"]).get_json()
    assert stored["khusus"] is True and stored["template"] == GOOD and "keperluan" in stored["variabel"]["isian"]
    assert client.get(SETTINGS, headers=staff["operator"]).get_json()["template_khusus"] == ["DOM"]
    audit = _last_audit(engine, "template_surat_diubah")
    assert audit["objek"] == "jenis_surat:DOM" and audit["detail"]["ukuran"] == len(GOOD.encode())
    from tenants.session import DesaSession

    with DesaSession(engine, DESA) as session:
        assert session.scalar(text("SELECT nilai FROM pengaturan WHERE kunci = 'surat_template:DOM'")) == GOOD

    pratinjau = f"{BASE}/jenis/DOM/pratinjau"
    pdf = client.post(pratinjau, headers=staff["operator"])  # the stored template
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    submitted = client.post(pratinjau, headers=staff["operator"], json={"template": "<p>{{ desa.nama }}</p>"})
    assert submitted.status_code == 200 and submitted.data.startswith(b"%PDF")
    broken = client.post(pratinjau, headers=staff["operator"], json={"template": "<p>{{ desa.camat }}</p>"})
    assert broken.status_code == 422 and broken.get_json()["errors"][0]["field"] == "template"
    assert client.get(url, headers=staff["operator"]).get_json()["template"] == GOOD  # a preview saves nothing

    removed = client.delete(url, headers=staff["rio"])
    assert removed.status_code == 200 and removed.get_json()["khusus"] is False
    assert client.get(url, headers=staff["operator"]).get_json()["khusus"] is False
    assert client.put(f"{BASE}/jenis/S-99/template", headers=staff["sekdes"], json={"template": GOOD}
                      ).status_code == 404


def test_an_issued_letter_is_rendered_with_the_desas_template(client, staff, resident, monkeypatch):
    import inspect

    from service.surat import pdf

    if "surat_template" not in inspect.getsource(pdf.render_letter):
        pytest.skip("render_letter does not read the desa's stored template yet (service/surat/pdf.py)")
    assert client.put(f"{BASE}/jenis/DOM/template", headers=staff["sekdes"], json={"template": GOOD}).status_code == 200
    used = []
    check = pdf.check_template
    monkeypatch.setattr(pdf, "check_template", lambda source, context: used.append(source) or check(source, context))
    permohonan = _request(client, staff, resident)
    assert _sign_off(client, staff, permohonan["id"], FULL_CHAIN)["status"] == "Siap Diambil"
    assert used == [GOOD]


def test_the_catalogue_templates_pass_the_check_and_preview(client, staff, engine):
    from jinja2.sandbox import SandboxedEnvironment

    from service.surat import katalog, pengaturan
    from tenants.session import DesaSession

    with DesaSession(engine, DESA) as session:
        for jenis in katalog.KATALOG:  # the static rules, for every type
            pengaturan._html_rules(jenis.template, source=True)
            pengaturan._static_rules(SandboxedEnvironment().parse(jenis.template), pengaturan.sample_context(session,
                                                                                                              jenis))
    # a type that goes up to the kabupaten: three signature blocks on the sample
    pdf = client.post(f"{BASE}/jenis/S-06/pratinjau", headers=staff["sekdes"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


# --- kabupaten overrides --------------------------------------------------------------------------------


def test_a_kabupaten_override_changes_new_requests_but_not_those_in_flight(client, staff, resident, engine):
    catalogue = client.get(f"/api/v1/wilayah/{KAB}/surat/jenis", headers=staff["staf_kab"])
    assert catalogue.status_code == 200, catalogue.get_json()
    s13 = next(j for j in catalogue.get_json() if j["kode"] == "S-13")
    assert (s13["rantai"], s13["mandiri"], s13["khusus"]["rantai"]) == ("desa", True, None)
    assert client.get(f"/api/v1/wilayah/{KEC}/surat/jenis", headers=staff["camat"]).status_code == 200

    in_flight = _request(client, staff, resident, "S-13", {"barang": "dompet"})
    assert in_flight["rantai"] == "desa"
    url = f"/api/v1/wilayah/{KAB}/surat/jenis/S-13"
    changed = client.put(url, headers=staff["kab"], json={"rantai": "kecamatan", "mandiri": False})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["rantai"], changed.get_json()["mandiri"]) == ("kecamatan", False)
    audit = _last_audit(engine, "jenis_surat_kabupaten_diubah")
    assert audit["objek"] == f"jenis_surat:{KAB}:S-13" and audit["detail"]["sesudah"]["rantai"] == "kecamatan"
    in_desa = client.get(f"{BASE}/jenis", headers=staff["operator"]).get_json()
    assert next(j for j in in_desa if j["kode"] == "S-13")["rantai"] == "kecamatan"

    new = _request(client, staff, resident, "S-13", {"barang": "KTP"})
    assert new["rantai"] == "kecamatan"
    assert _sign_off(client, staff, in_flight["id"], FULL_CHAIN)["status"] == "Siap Diambil"  # kept its chain
    climbing = _sign_off(client, staff, new["id"], FULL_CHAIN)
    assert climbing["status"] == "Menunggu Kecamatan" and climbing["nomor"] is None

    only_mandiri = client.put(url, headers=staff["kab"], json={"mandiri": None})
    assert only_mandiri.status_code == 200
    assert (only_mandiri.get_json()["rantai"], only_mandiri.get_json()["mandiri"]) == ("kecamatan", True)
    reset = client.put(url, headers=staff["kab"], json={"rantai": None})
    assert reset.status_code == 200 and reset.get_json()["rantai"] == "desa"
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM kawasan.jenis_surat_kabupaten WHERE kabupaten_kode = :k "
                                "AND jenis_kode = 'S-13'"), {"k": KAB}) == 0


def test_only_the_kabupaten_admin_of_that_kabupaten_overrides(client, staff):
    url = f"/api/v1/wilayah/{KAB}/surat/jenis/S-13"
    for who in ("kab_lain", "staf_kab", "camat", "sekdes"):
        assert client.put(url, headers=staff[who], json={"rantai": "kecamatan"}).status_code == 403, who
    assert client.get(f"/api/v1/wilayah/{KAB}/surat/jenis", headers=staff["kab_lain"]).status_code == 403
    assert client.get(f"/api/v1/wilayah/{KAB}/surat/jenis", headers=staff["operator"]).status_code == 403
    kecamatan = client.put(f"/api/v1/wilayah/{KEC}/surat/jenis/S-13", headers=staff["kab"], json={"rantai": "desa"})
    assert kecamatan.status_code == 422 and kecamatan.get_json()["errors"][0]["field"] == "wilayah"
    unknown = client.put(f"/api/v1/wilayah/{KAB}/surat/jenis/S-99", headers=staff["kab"], json={"rantai": "desa"})
    assert unknown.status_code == 404
    bad = client.put(url, headers=staff["kab"], json={"rantai": "provinsi"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "rantai"
    assert client.put(url, headers=staff["kab"], json={"mandiri": "ya"}).status_code == 422
    assert client.put(url, headers=staff["kab"], json={}).status_code == 422
