"""The village public site (``/desa/<slug>/…``, or ``/…`` on its own host name) and its content screens
(``/desa/<slug>/kelola/situs/…``).

Public pages are the same for every anonymous visitor, so their HTML is kept in Redis per desa (a hash
``kawasan:situs:html:<kode>`` of path → page, dropped whenever the desa's content changes, otherwise good for
:data:`SIMPAN_DETIK`) and sent with an ETag and a short ``Cache-Control``. A signed-in visitor always gets a
fresh page (it carries their navigation and is marked ``no-store`` by the portal). Forms that write (comments,
the content screens) carry the portal's CSRF token; comments also need the CAPTCHA and pass a per-address
rate limit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
import uuid
from datetime import date
from typing import Any

from flask import abort, current_app, flash, g, redirect, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import text

from service.auth.policy import may_reach
from service.auth.ratelimit import RateLimited, hit
from service.auth.roles import DESA_STAFF
from service.penduduk.buku import tanggal_panjang
from service.penduduk.statistik import statistik_desa
from service.portal.web import PortalBlueprint, form_data, nav_item, render_page
from service.situs import captcha, grafik, services
from service.situs.host import ENVIRON_PREFIX, HostSitus, tautan
from service.situs.models import DISETUJUI, DITOLAK, MENUNGGU, Artikel, KategoriArtikel, PerangkatDesa, TeksBerjalan
from service.tenancy import current_desa, desa_db
from tenants.localnames import sebutan

bp = PortalBlueprint("situs", __name__)
kelola = PortalBlueprint("situs_kelola", __name__, url_prefix="/kelola/situs")

STAF = tuple(p.value for p in DESA_STAFF)
SIMPAN_DETIK = 300
HALAMAN_DISIMPAN = 20
#: Comments: per address and desa; CAPTCHA images: per address (each image costs a Redis key for 10 min).
BATAS_KOMENTAR = (5, 600)
BATAS_CAPTCHA = (40, 600)


def _runtime():
    return current_app.extensions["kawasan"]


def _redis():
    return _runtime().redis


def _install_host_routing(state) -> None:
    app = state.app
    if not isinstance(app.wsgi_app, HostSitus):
        app.wsgi_app = HostSitus(app.wsgi_app, lambda: app.extensions["kawasan"].engine)


bp.record_once(_install_host_routing)


@bp.app_template_global()
def situs_url(endpoint: str, **values: Any) -> str:
    """``url_for`` for links on the public site: without ``/desa/<slug>`` on the village's own host name."""
    return tautan(url_for(endpoint, **values), request.environ)


@bp.app_template_filter("paragraf")
def paragraf(text: str | None) -> Markup:
    """Plain text as paragraphs (blank line) and line breaks, escaped: article bodies hold no HTML."""
    blocks = [b.strip() for b in (text or "").replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("".join(f"<p>{escape(b).replace(chr(10), Markup('<br>'))}</p>" for b in blocks))


@bp.app_template_filter("tanggal_id")
def tanggal_id(value) -> str:
    return tanggal_panjang(value) if value is not None else ""


# --- page cache -------------------------------------------------------------------------------------------


def _cache_key(kode: str) -> str:
    return f"kawasan:situs:html:{kode}"


def lupakan_halaman(kode: str) -> None:
    """Drop the desa's cached public pages (after any content change)."""
    _redis().delete(_cache_key(kode))


def _answer(html: str, etag: str, status: int = 200):
    headers = {"ETag": f'"{etag}"', "Cache-Control": f"public, max-age=60, stale-while-revalidate={SIMPAN_DETIK}"}
    if status == 200 and request.if_none_match.contains(etag):
        return "", 304, headers
    return html, status, headers


def halaman_publik(view):
    """Serve an anonymous GET from the desa's page cache, or render and keep it."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        halaman = request.args.get("halaman", "")
        # Only known arguments go into the key, and only a few pages of a list: a stream of made-up query strings
        # or page numbers must not fill Redis (such requests are simply rendered).
        if (g.get("principal") is not None or request.method != "GET"
                or (halaman and not (halaman.isdigit() and int(halaman) <= HALAMAN_DISIMPAN))):
            return view(*args, **kwargs)
        field = "|".join((request.environ.get(ENVIRON_PREFIX, ""), request.path, halaman))
        key = _cache_key(current_desa().kode)
        client = _redis()
        raw = client.hget(key, field)
        if raw is not None:
            stored_at, etag, html = raw.decode().split("\n", 2)
            if time.time() - float(stored_at) < SIMPAN_DETIK:
                return _answer(html, etag)
        result = view(*args, **kwargs)
        html, status = result if isinstance(result, tuple) else (result, 200)
        if status != 200 or not isinstance(html, str):
            return result
        etag = hashlib.sha256(html.encode()).hexdigest()[:32]
        pipe = client.pipeline()
        pipe.hset(key, field, f"{time.time()}\n{etag}\n{html}")
        pipe.expire(key, 2 * SIMPAN_DETIK)
        pipe.execute()
        return _answer(html, etag)

    return wrapper


# --- public site ----------------------------------------------------------------------------------------------


def _halaman(template: str, **context: Any):
    teks_berjalan, kategori_semua = services.bingkai(desa_db())
    return render_page(template, teks_berjalan=teks_berjalan, kategori_semua=kategori_semua, **context)


@bp.get("/")
@bp.public
@halaman_publik
def beranda():
    """The village's home: who it is, its running text, latest news, its head, figures, letter check."""
    session = desa_db()
    with _runtime().engine.connect() as conn:
        profil = services.profil_desa(conn, current_desa().kode)
    terbaru = services.daftar_artikel(session, per_halaman=5, hitung=False)
    perangkat = services.daftar_perangkat(session, aktif_saja=True)
    return _halaman("situs/beranda.html", profil=profil, terbaru=terbaru.items, perangkat=perangkat[:3],
                    jumlah_perangkat=len(perangkat), dusun=services.daftar_dusun(session))


def _nomor_halaman() -> int:
    raw = request.args.get("halaman", "1")
    return int(raw) if raw.isdigit() and len(raw) < 5 else 1


@bp.get("/artikel")
@bp.public
@halaman_publik
def daftar_artikel():
    """Published news and articles, newest first."""
    hasil = services.daftar_artikel(desa_db(), halaman=_nomor_halaman())
    return _halaman("situs/daftar_artikel.html", hasil=hasil, kategori=None)


@bp.get("/kategori/<kategori>")
@bp.public
@halaman_publik
def kategori(kategori: str):
    session = desa_db()
    found = services.kategori_dengan_slug(session, kategori)
    if found is None:
        return render_page("portal/galat.html", http_status=404, kode=404, pesan="Kategori tidak ditemukan.",
                           keterangan=None)
    hasil = services.daftar_artikel(session, kategori=found, halaman=_nomor_halaman())
    return _halaman("situs/daftar_artikel.html", hasil=hasil, kategori=found)


def _artikel_atau_404(slug: str):
    found = services.artikel_terbit(desa_db(), slug)
    if found is None:
        return None, render_page("portal/galat.html", http_status=404, kode=404, pesan="Artikel tidak ditemukan.",
                                 keterangan="Artikel ini tidak ada atau belum diterbitkan.")
    return found, None


@bp.get("/artikel/<artikel>")
@bp.public
@halaman_publik
def artikel(artikel: str):
    """One published article with its approved comments (a draft is a 404 here)."""
    found, galat = _artikel_atau_404(artikel)
    if galat:
        return galat
    item, kat, gambar = found
    return _halaman("situs/artikel.html", artikel=item, kategori=kat, gambar=gambar,
                    komentar=services.komentar_disetujui(desa_db(), item.id))


def _ip() -> str:
    return request.remote_addr or "-"


def _captcha_baru() -> str:
    return captcha.buat(_redis(), _runtime().settings.secret_key, current_desa().kode)


@bp.route("/artikel/<artikel>/komentar", methods=["GET", "POST"])
@bp.public
def komentar(artikel: str):
    """The comment form (not cached: it carries a fresh CAPTCHA and the visitor's CSRF token)."""
    found, galat = _artikel_atau_404(artikel)
    if galat:
        return galat
    item = found[0]
    if not item.boleh_komentar:
        return render_page("portal/galat.html", http_status=404, kode=404, pesan="Komentar ditutup untuk artikel ini.",
                           keterangan=None)
    errors: dict[str, str] = {}
    galat_form, status, values = None, 200, {}
    if request.method == "POST":
        kode = current_desa().kode
        values = form_data()
        try:
            hit(_redis(), "situs-komentar", f"{kode}|{_ip()}", limit=BATAS_KOMENTAR[0], window=BATAS_KOMENTAR[1])
        except RateLimited as exc:
            galat_form = (f"Terlalu banyak komentar dari alamat ini. Coba lagi dalam "
                          f"{max(1, -(-exc.retry_after // 60))} menit.")
            status = 429
        else:
            bersih, errors = services.periksa_komentar(values)
            jawaban_benar = captcha.periksa(_redis(), _runtime().settings.secret_key, kode,
                                            request.form.get("captcha", ""), request.form.get("jawaban", ""))
            if not jawaban_benar and "jawaban" not in errors:
                errors["jawaban"] = "Jawaban soal hitungan salah atau soalnya sudah kedaluwarsa. Jawab soal yang baru."
            if errors:
                status = 422
            else:
                services.kirim_komentar(desa_db(), item, **bersih)
                desa_db().commit()
                return redirect(situs_url("situs.komentar", artikel=item.slug, terkirim=1), 303)
        values.pop("jawaban", None)
    html, status = _halaman("situs/komentar.html", artikel=item, errors=errors, galat=galat_form, nilai=values,
                            token=_captcha_baru(), terkirim=request.args.get("terkirim") == "1", http_status=status)
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/captcha/<token>.png")
@bp.public
def captcha_gambar(token: str):
    try:
        hit(_redis(), "situs-captcha", _ip(), limit=BATAS_CAPTCHA[0], window=BATAS_CAPTCHA[1])
    except RateLimited:
        return "", 429, {"Cache-Control": "no-store"}
    png = captcha.gambar(_redis(), _runtime().settings.secret_key, current_desa().kode, token)
    if png is None:
        return "", 404, {"Cache-Control": "no-store"}
    return png, 200, {"Content-Type": "image/png", "Cache-Control": "no-store"}


@bp.get("/pemerintah")
@bp.public
@halaman_publik
def pemerintah():
    """The village's officials."""
    return _halaman("situs/pemerintah.html", perangkat=services.daftar_perangkat(desa_db(), aktif_saja=True))


def _statistik() -> dict[str, Any]:
    """The desa's figures (aggregates only), kept in Redis until the worker's next recount of the desa."""
    kode = current_desa().kode
    with _runtime().engine.connect() as conn:
        dihitung = conn.scalar(_DIHITUNG, {"d": kode})
    key = f"kawasan:situs:statistik:{kode}:{dihitung.isoformat() if dihitung else '-'}"
    client = _redis()
    raw = client.get(key)
    if raw is not None:
        return json.loads(raw)
    stat = statistik_desa(desa_db())
    client.set(key, json.dumps(stat), ex=6 * 3600)
    return stat


_DIHITUNG = text("SELECT dihitung_pada FROM kawasan.desa_ringkasan WHERE desa_kode = :d")


def _baris(items: list[dict[str, Any]], limit: int | None = None) -> list[tuple[str, int]]:
    rows = [((i.get("label") or str(i.get("kode"))).title(), i["jumlah"]) for i in items if i["jumlah"]]
    if limit is not None and len(rows) > limit:
        rows = sorted(rows, key=lambda r: -r[1])
        rows = rows[:limit - 1] + [("Lainnya", sum(v for _, v in rows[limit - 1:]))]
    return rows


@bp.get("/statistik")
@bp.public
@halaman_publik
def statistik():
    """Population charts: sex, age, religion, education, work, marital status, by dusun (counts only)."""
    stat = _statistik()
    sebutan_dusun = _sebutan_dusun()
    grafik_list = [
        ("Jenis kelamin", grafik.batang("Penduduk menurut jenis kelamin",
                                        [(i["label"].title(), i["jumlah"]) for i in stat["jenis_kelamin"]])),
        ("Kelompok umur", grafik.piramida("Piramida penduduk menurut kelompok umur",
                                          [(k["kelompok"], k["laki_laki"], k["perempuan"])
                                           for k in stat["kelompok_umur"]])),
        ("Agama", grafik.batang("Penduduk menurut agama", _baris(stat["agama"]))),
        ("Pendidikan dalam KK", grafik.batang("Penduduk menurut pendidikan", _baris(stat["pendidikan_kk"]))),
        ("Pekerjaan", grafik.batang("Penduduk menurut pekerjaan (10 terbanyak)", _baris(stat["pekerjaan"], 10))),
        ("Status perkawinan", grafik.batang("Penduduk menurut status perkawinan", _baris(stat["status_kawin"]))),
    ]
    per_dusun = [(w["nama"], w["jumlah"]) for w in stat["wilayah"] if w["jumlah"]]
    if per_dusun:
        grafik_list.append((f"Per {sebutan_dusun}", grafik.batang(f"Penduduk per {sebutan_dusun}", per_dusun)))
    return _halaman("situs/statistik.html", stat=stat, grafik=grafik_list, tanggal=date.fromisoformat(stat["tanggal"]),
                    tabel={
        "Kelompok umur": [(k["kelompok"], k["laki_laki"], k["perempuan"], k["jumlah"]) for k in stat["kelompok_umur"]],
        f"Per {sebutan_dusun}": [(w["nama"], w["laki_laki"], w["perempuan"], w["jumlah"]) for w in stat["wilayah"]
                                 if w["jumlah"]],
    })


def _sebutan_dusun() -> str:
    return sebutan(desa_db())["sebutan_dusun"]


@bp.get("/gambar/<uuid:gambar_id>")
@bp.public
def gambar(gambar_id: uuid.UUID):
    """An uploaded image, with the type found by its content when it was uploaded; never changes. Visitors get
    only images the site shows; the desa's staff also those of drafts (their preview), never into shared caches."""
    found, tampil = services.ambil_gambar(desa_db(), gambar_id) or (None, False)
    # "Staff" is whoever may open the content screens here: the same policy, not a second list of roles.
    if found is None or not (tampil or may_reach(current_app, "situs_kelola.artikel_daftar", g.get("principal"),
                                                 current_desa().kode)):
        return "", 404
    headers = {"Content-Type": found.mime, "ETag": f'"{found.sha256[:32]}"', "Content-Disposition": "inline",
               "Cache-Control": "public, max-age=31536000, immutable" if tampil else "private, no-store"}
    if request.if_none_match.contains(found.sha256[:32]):
        return "", 304, headers
    return found.isi, 200, headers


@bp.get("/cek-surat")
@bp.public
def cek_surat():
    """The letter check form (the QR code on a letter leads straight to ``/verifikasi/<token>``)."""
    token = "".join((request.args.get("kode") or "").split())
    if token:
        if len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token):
            return redirect(url_for("verifikasi.verifikasi", token=token), 303)
        return _halaman("situs/cek_surat.html", errors={"kode": "Kode verifikasi tidak sah."}, kode=token[:64],
                        http_status=422)
    return _halaman("situs/cek_surat.html", errors={}, kode="")


# --- content screens ----------------------------------------------------------------------------------------


def _oleh() -> str:
    principal = g.principal
    return (principal.name or principal.subject)[:150]


def _selesai(pesan: str, endpoint: str, **values: Any):
    desa_db().commit()
    lupakan_halaman(current_desa().kode)
    flash(pesan, "ok")
    return redirect(url_for(endpoint, **values), 303)


def _unggahan(name: str, errors: dict[str, str]) -> bytes | None:
    """The bytes of an uploaded image field (None when none was chosen); checked, not yet stored."""
    berkas = request.files.get(name)
    if berkas is None or not berkas.filename:
        return None
    data = berkas.stream.read(services.GAMBAR_MAKS_BYTE + 1)
    try:
        services.periksa_gambar(data)
    except services.GambarTidakSah as exc:
        errors[name] = f"{exc} Pilih berkas lagi."
        return None
    return data


def _kelola(template: str, **context: Any):
    return render_page(template, menunggu=services.jumlah_komentar_menunggu(desa_db()), **context)


def _cari(model, ident: int):
    found = desa_db().get(model, ident)
    if found is None:
        abort(404)
    return found


@kelola.get("")
@kelola.requires(*STAF)
def indeks():
    return redirect(url_for("situs_kelola.artikel_daftar"), 303)


@kelola.get("/artikel")
@kelola.requires(*STAF)
def artikel_daftar():
    return _kelola("situs/kelola/artikel_daftar.html", artikel=services.semua_artikel(desa_db()))


@kelola.route("/artikel/baru", methods=["GET", "POST"], defaults={"artikel_id": None})
@kelola.route("/artikel/<int:artikel_id>", methods=["GET", "POST"])
@kelola.requires(*STAF)
def artikel_ubah(artikel_id: int | None):
    session = desa_db()
    item = _cari(Artikel, artikel_id) if artikel_id is not None else None
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = services.periksa_artikel(session, request.form)
        data = _unggahan("gambar", errors)
        if not errors:
            foto = services.simpan_gambar(session, data) if data else None
            item = services.simpan_artikel(session, item, values, gambar=foto, penulis=_oleh())
            if request.form.get("terbitkan") == "1":
                services.ubah_status_artikel(item, True)
            return _selesai("Artikel disimpan.", "situs_kelola.artikel_ubah", artikel_id=item.id)
        nilai = dict(request.form)
        nilai["boleh_komentar"] = "boleh_komentar" in request.form
        status = 422
    else:
        nilai = ({"judul": item.judul, "ringkasan": item.ringkasan or "", "naskah": item.isi,
                  "kategori_id": item.kategori_id or "", "boleh_komentar": item.boleh_komentar}
                 if item else {"boleh_komentar": True})
        status = 200
    gambar_id = services.public_id_gambar(session, item.gambar_id if item else None)
    return _kelola("situs/kelola/artikel_ubah.html", artikel=item, nilai=nilai, errors=errors, gambar_id=gambar_id,
                   kategori=[(k.id, k.nama) for k in services.kategori_semua(session)], http_status=status)


@kelola.get("/artikel/<int:artikel_id>/pratinjau")
@kelola.requires(*STAF)
def artikel_pratinjau(artikel_id: int):
    """A draft as the public will see it once published (never cached: staff only)."""
    session = desa_db()
    found = services.artikel_dengan_id(session, artikel_id)
    if found is None:
        abort(404)
    item, kat, gambar_id = found
    return _halaman("situs/artikel.html", artikel=item, kategori=kat, gambar=gambar_id, pratinjau=True,
                    komentar=services.komentar_disetujui(session, item.id))


@kelola.post("/artikel/<int:artikel_id>/status")
@kelola.requires(*STAF)
def artikel_status(artikel_id: int):
    item = _cari(Artikel, artikel_id)
    terbit = request.form.get("terbit") == "1"
    services.ubah_status_artikel(item, terbit)
    return _selesai("Artikel diterbitkan." if terbit else "Artikel ditarik dari situs (kembali menjadi draf).",
                    "situs_kelola.artikel_daftar")


@kelola.post("/artikel/<int:artikel_id>/hapus")
@kelola.requires(*STAF)
def artikel_hapus(artikel_id: int):
    desa_db().delete(_cari(Artikel, artikel_id))
    return _selesai("Artikel dihapus.", "situs_kelola.artikel_daftar")


@kelola.route("/kategori", methods=["GET", "POST"])
@kelola.route("/kategori/<int:kategori_id>", methods=["GET", "POST"])
@kelola.requires(*STAF)
def kategori_daftar(kategori_id: int | None = None):
    session = desa_db()
    item = _cari(KategoriArtikel, kategori_id) if kategori_id is not None else None
    errors: dict[str, str] = {}
    nilai: dict[str, Any] = {"nama": item.nama, "urut": item.urut} if item else {"urut": 0}
    status = 200
    if request.method == "POST":
        values, errors = services.periksa_kategori(session, request.form, kecuali=item.id if item else None)
        if not errors:
            services.simpan_kategori(session, item, values)
            return _selesai("Kategori disimpan.", "situs_kelola.kategori_daftar")
        nilai, status = dict(request.form), 422
    return _kelola("situs/kelola/kategori.html", kategori=services.kategori_semua(session), item=item, nilai=nilai,
                   errors=errors, http_status=status)


@kelola.post("/kategori/<int:kategori_id>/hapus")
@kelola.requires(*STAF)
def kategori_hapus(kategori_id: int):
    desa_db().delete(_cari(KategoriArtikel, kategori_id))
    return _selesai("Kategori dihapus; artikelnya kini tanpa kategori.", "situs_kelola.kategori_daftar")


@kelola.get("/perangkat")
@kelola.requires(*STAF)
def perangkat_daftar():
    return _kelola("situs/kelola/perangkat_daftar.html",
                   perangkat=services.daftar_perangkat(desa_db(), aktif_saja=False))


@kelola.route("/perangkat/baru", methods=["GET", "POST"], defaults={"perangkat_id": None})
@kelola.route("/perangkat/<int:perangkat_id>", methods=["GET", "POST"])
@kelola.requires(*STAF)
def perangkat_ubah(perangkat_id: int | None):
    session = desa_db()
    item = _cari(PerangkatDesa, perangkat_id) if perangkat_id is not None else None
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values, errors = services.periksa_perangkat(request.form)
        data = _unggahan("foto", errors)
        if not errors:
            foto = services.simpan_gambar(session, data) if data else None
            services.simpan_perangkat(session, item, values, foto=foto)
            return _selesai("Data perangkat disimpan.", "situs_kelola.perangkat_daftar")
        nilai = dict(request.form)
        nilai["aktif"] = "aktif" in request.form
        status = 422
    else:
        nilai = ({"nama": item.nama, "jabatan": item.jabatan, "nip": item.nip or "", "urut": item.urut,
                  "aktif": item.aktif} if item else {"urut": 0, "aktif": True})
    return _kelola("situs/kelola/perangkat_ubah.html", item=item, nilai=nilai, errors=errors, http_status=status)


@kelola.post("/perangkat/<int:perangkat_id>/hapus")
@kelola.requires(*STAF)
def perangkat_hapus(perangkat_id: int):
    desa_db().delete(_cari(PerangkatDesa, perangkat_id))
    return _selesai("Perangkat dihapus.", "situs_kelola.perangkat_daftar")


@kelola.route("/teks-berjalan", methods=["GET", "POST"])
@kelola.route("/teks-berjalan/<int:teks_id>", methods=["GET", "POST"])
@kelola.requires(*STAF)
def teks_daftar(teks_id: int | None = None):
    session = desa_db()
    item = _cari(TeksBerjalan, teks_id) if teks_id is not None else None
    errors: dict[str, str] = {}
    nilai: dict[str, Any] = ({"teks": item.teks, "tautan": item.tautan or "", "urut": item.urut, "aktif": item.aktif}
                             if item else {"urut": 0, "aktif": True})
    status = 200
    if request.method == "POST":
        values, errors = services.periksa_teks(request.form)
        if not errors:
            services.simpan_teks(session, item, values)
            return _selesai("Teks berjalan disimpan.", "situs_kelola.teks_daftar")
        nilai = dict(request.form)
        nilai["aktif"] = "aktif" in request.form
        status = 422
    return _kelola("situs/kelola/teks.html", daftar=services.semua_teks(session), item=item, nilai=nilai,
                   errors=errors, http_status=status)


@kelola.post("/teks-berjalan/<int:teks_id>/hapus")
@kelola.requires(*STAF)
def teks_hapus(teks_id: int):
    desa_db().delete(_cari(TeksBerjalan, teks_id))
    return _selesai("Teks berjalan dihapus.", "situs_kelola.teks_daftar")


_STATUS_KOMENTAR = {"menunggu": MENUNGGU, "disetujui": DISETUJUI, "ditolak": DITOLAK}
_PESAN_MODERASI = {"setujui": "Komentar disetujui dan kini tampil.", "tolak": "Komentar ditolak.",
                   "hapus": "Komentar dihapus."}


@kelola.get("/komentar")
@kelola.requires(*STAF)
def komentar_antrean():
    saring = _STATUS_KOMENTAR.get(request.args.get("status", "menunggu"), MENUNGGU)
    return _kelola("situs/kelola/komentar.html", daftar=services.antrean_komentar(desa_db(), saring), saring=saring)


@kelola.post("/komentar/<int:komentar_id>")
@kelola.requires(*STAF)
def komentar_moderasi(komentar_id: int):
    aksi = request.form.get("aksi", "")
    if aksi not in _PESAN_MODERASI:
        abort(400)
    if not services.moderasi_komentar(desa_db(), komentar_id, aksi, _oleh()):
        abort(404)
    return _selesai(_PESAN_MODERASI[aksi], "situs_kelola.komentar_antrean",
                    status=request.form.get("kembali", "menunggu"))


nav_item("Konten situs", "situs_kelola.artikel_daftar", level="desa", urutan=60)
