"""Village site content: reads for the public pages, checked writes for the admin screens (no Flask here).

Every function takes the caller's :class:`~tenants.session.DesaSession` and runs in its transaction; the
caller commits. Form checks return ``(values, errors)`` with Indonesian messages per field, so a screen can
show them inline and write nothing.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Connection, delete, func, select, text, update

from service.penduduk.models import Wilayah
from service.situs.models import (
    DISETUJUI,
    DITOLAK,
    DRAF,
    MENUNGGU,
    TERBIT,
    Artikel,
    Gambar,
    KategoriArtikel,
    Komentar,
    PerangkatDesa,
    TeksBerjalan,
)
from tenants.session import DesaSession

#: Uploads above this are refused before decoding (phones send 3–8 MB photos: they must shrink them first).
GAMBAR_MAKS_BYTE = 2 * 1024 * 1024
#: Longest side kept; larger pictures are scaled down so that pages stay light on slow connections.
GAMBAR_MAKS_SISI = 1600
#: Decoding bombs: a small file claiming a huge canvas is refused before its pixels are read.
GAMBAR_MAKS_PIKSEL = 40_000_000
#: Content type by magic bytes; WebP is ``RIFF<size>WEBP``.
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}

ARTIKEL_PER_HALAMAN = 10
KOMENTAR_MAKS = 1000


class GambarTidakSah(ValueError):
    """The upload is not an acceptable image; the message is for the form field."""


Errors = dict[str, str]


# --- images -----------------------------------------------------------------------------------------------


def jenis_gambar(data: bytes) -> str | None:
    """The image content type by magic bytes (never by file name or the browser's claim)."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def periksa_gambar(data: bytes) -> tuple[str, int, int, bytes]:
    """Check an upload and re-encode it: ``(mime, width, height, bytes)``.

    Re-encoding drops EXIF (phone photos carry the GPS position of whoever took them) and anything appended
    after the image data, and scales large pictures down.
    """
    if not data:
        raise GambarTidakSah("Berkas gambar kosong.")
    if len(data) > GAMBAR_MAKS_BYTE:
        raise GambarTidakSah(f"Gambar terlalu besar ({len(data) // 1024} kB); paling besar 2 MB.")
    mime = jenis_gambar(data)
    if mime is None:
        raise GambarTidakSah("Berkas bukan gambar JPEG, PNG atau WebP.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != _PIL_FORMAT[mime]:
                raise GambarTidakSah("Isi berkas tidak cocok dengan jenis gambarnya.")
            if probe.width * probe.height > GAMBAR_MAKS_PIKSEL:
                raise GambarTidakSah("Ukuran gambar (piksel) terlalu besar.")
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img.thumbnail((GAMBAR_MAKS_SISI, GAMBAR_MAKS_SISI))
            out = io.BytesIO()
            if mime == "image/jpeg":
                img.convert("RGB").save(out, "JPEG", quality=82, optimize=True, progressive=True)
            elif mime == "image/png":
                img.save(out, "PNG", optimize=True)
            else:
                img.save(out, "WEBP", quality=80)
            return mime, img.width, img.height, out.getvalue()
    except GambarTidakSah:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise GambarTidakSah("Gambar rusak atau tidak dapat dibaca.") from exc


def simpan_gambar(session: DesaSession, data: bytes) -> Gambar:
    mime, lebar, tinggi, isi = periksa_gambar(data)
    gambar = Gambar(mime=mime, lebar=lebar, tinggi=tinggi, ukuran=len(isi), isi=isi,
                    sha256=hashlib.sha256(isi).hexdigest())
    session.add(gambar)
    session.flush()
    return gambar


def ambil_gambar(session: DesaSession, public_id: Any) -> tuple[Gambar, bool] | None:
    """The image and whether something public shows it (a published article, an official on the site): the
    site serves only those to visitors, so a draft's picture stays private though its id is in the admin pages."""
    tampil = (select(Artikel.id).where(Artikel.gambar_id == Gambar.id, Artikel.status == TERBIT).exists()
              | select(PerangkatDesa.id).where(PerangkatDesa.foto_id == Gambar.id, PerangkatDesa.aktif).exists())
    row = session.execute(select(Gambar, tampil).where(Gambar.public_id == public_id)).first()
    return (row[0], row[1]) if row else None


def public_id_gambar(session: DesaSession, gambar_id: int | None) -> Any:
    """The public id of an image row (None for none), for ``/gambar/<uuid>`` links on the admin screens."""
    return session.scalar(select(Gambar.public_id).where(Gambar.id == gambar_id)) if gambar_id else None


# --- small helpers ------------------------------------------------------------------------------------------


def slugify(text: str, maks: int = 80) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:maks].rstrip("-") or "tanpa-judul"


def _teks(form: dict[str, Any], name: str, *, baris: bool = False) -> str:
    """A text field trimmed; runs of whitespace collapsed unless it keeps its lines (comments, article bodies)."""
    raw = str(form.get(name) or "")
    return raw.replace("\r\n", "\n").strip() if baris else " ".join(raw.split())


def _panjang(errors: Errors, name: str, value: str, label: str, *, minimal: int = 0, maksimal: int,
             wajib: bool = True) -> None:
    if not value:
        if wajib:
            errors[name] = f"{label} wajib diisi."
    elif len(value) < minimal:
        errors[name] = f"{label} paling sedikit {minimal} karakter."
    elif len(value) > maksimal:
        errors[name] = f"{label} paling banyak {maksimal} karakter."


def _bilangan(errors: Errors, form: dict[str, Any], name: str, label: str, *, maksimal: int = 999) -> int:
    raw = str(form.get(name) or "0").strip()
    if not raw.isdigit() or int(raw) > maksimal:
        errors[name] = f"{label} harus bilangan 0–{maksimal}."
        return 0
    return int(raw)


def _centang(form: dict[str, Any], name: str) -> bool:
    return str(form.get(name) or "").lower() in ("1", "on", "true", "ya")


# --- public reads ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Halaman:
    items: list[Any]
    halaman: int
    jumlah_halaman: int


_PROFIL = text("""
SELECT w.kode, w.nama, kec.nama AS kecamatan, kab.nama AS kabupaten, prov.nama AS provinsi,
       r.penduduk_hidup, r.keluarga_aktif, r.laki_laki, r.perempuan
FROM kawasan.wilayah_administrasi w
JOIN kawasan.wilayah_administrasi kec ON kec.kode = w.induk_kode
JOIN kawasan.wilayah_administrasi kab ON kab.kode = kec.induk_kode
JOIN kawasan.wilayah_administrasi prov ON prov.kode = kab.induk_kode
LEFT JOIN kawasan.desa_ringkasan r ON r.desa_kode = w.kode
WHERE w.kode = :kode
""")

# Tables unqualified: a desa session's transaction has search_path set to the desa schema only.
_BINGKAI = text("""
SELECT (SELECT coalesce(json_agg(json_build_object('teks', teks, 'tautan', tautan) ORDER BY urut, id), '[]')
          FROM teks_berjalan WHERE aktif) AS teks_berjalan,
       (SELECT coalesce(json_agg(json_build_object('id', id, 'nama', nama, 'slug', slug) ORDER BY urut, nama), '[]')
          FROM kategori_artikel) AS kategori
""")


def profil_desa(conn: Connection, kode: str) -> dict[str, Any]:
    """The desa's names up to the province and its register summary (one statement on a shared connection)."""
    return dict(conn.execute(_PROFIL, {"kode": kode}).one()._mapping)


def bingkai(session: DesaSession) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What every public page shows around its content: active running text and the categories, in one
    round trip (each a list of plain dicts)."""
    row = session.execute(_BINGKAI).one()
    return row.teks_berjalan, row.kategori


def daftar_perangkat(session: DesaSession, *, aktif_saja: bool) -> list[tuple[PerangkatDesa, Any]]:
    """Officials in display order (only those shown on the site with ``aktif_saja``), each with its photo's
    public id (or None)."""
    query = (select(PerangkatDesa, Gambar.public_id).outerjoin(Gambar, Gambar.id == PerangkatDesa.foto_id)
             .order_by(PerangkatDesa.urut, PerangkatDesa.id))
    if aktif_saja:
        query = query.where(PerangkatDesa.aktif)
    return [(p, foto) for p, foto in session.execute(query).all()]


def daftar_dusun(session: DesaSession) -> list[tuple[str, str | None]]:
    """The desa's dusun (name, head's name) in their order."""
    return [tuple(r) for r in session.execute(
        select(Wilayah.nama, Wilayah.kepala_nama).where(Wilayah.tingkat == "dusun")
        .order_by(Wilayah.urut, Wilayah.nama)).all()]


def kategori_semua(session: DesaSession) -> list[KategoriArtikel]:
    return list(session.scalars(select(KategoriArtikel).order_by(KategoriArtikel.urut, KategoriArtikel.nama)))


def _artikel():
    """An article with its category and its picture's public id, in one statement."""
    return (
        select(Artikel, KategoriArtikel, Gambar.public_id)
        .outerjoin(KategoriArtikel, KategoriArtikel.id == Artikel.kategori_id)
        .outerjoin(Gambar, Gambar.id == Artikel.gambar_id)
    )


def _artikel_terbit():
    return _artikel().where(Artikel.status == TERBIT)


def daftar_artikel(session: DesaSession, *, kategori: KategoriArtikel | None = None, halaman: int = 1,
                   per_halaman: int = ARTIKEL_PER_HALAMAN, hitung: bool = True) -> Halaman:
    """Published articles, newest first (a draft never appears). ``hitung=False``: the first page only, without
    counting pages (the home page's latest news)."""
    query = _artikel_terbit()
    count = select(func.count()).select_from(Artikel).where(Artikel.status == TERBIT)
    if kategori is not None:
        query = query.where(Artikel.kategori_id == kategori.id)
        count = count.where(Artikel.kategori_id == kategori.id)
    total = (session.scalar(count) or 0) if hitung else 0
    pages = max(1, -(-total // per_halaman))
    halaman = min(max(1, halaman), pages)
    rows = session.execute(query.order_by(Artikel.terbit_pada.desc(), Artikel.id.desc())
                           .offset((halaman - 1) * per_halaman).limit(per_halaman)).all()
    return Halaman([tuple(r) for r in rows], halaman, pages)


def artikel_terbit(session: DesaSession, slug: str) -> tuple[Artikel, KategoriArtikel | None, Any] | None:
    row = session.execute(_artikel_terbit().where(Artikel.slug == slug)).first()
    return tuple(row) if row else None


def artikel_dengan_id(session: DesaSession, artikel_id: int) -> tuple[Artikel, KategoriArtikel | None, Any] | None:
    """Any article, draft or not (the staff's preview), shaped like :func:`artikel_terbit`."""
    row = session.execute(_artikel().where(Artikel.id == artikel_id)).first()
    return tuple(row) if row else None


def kategori_dengan_slug(session: DesaSession, slug: str) -> KategoriArtikel | None:
    return session.scalar(select(KategoriArtikel).where(KategoriArtikel.slug == slug))


def komentar_disetujui(session: DesaSession, artikel_id: int) -> list[Komentar]:
    return list(session.scalars(select(Komentar).where(Komentar.artikel_id == artikel_id,
                                                       Komentar.status == DISETUJUI)
                                .order_by(Komentar.dibuat_pada, Komentar.id)))


# --- comments -------------------------------------------------------------------------------------------------


def periksa_komentar(form: dict[str, Any]) -> tuple[dict[str, str], Errors]:
    errors: Errors = {}
    # Form fields are never called "isi": the portal layout's <main> has that id (labels would point at it).
    nama, isi = _teks(form, "nama"), _teks(form, "komentar", baris=True)
    _panjang(errors, "nama", nama, "Nama", minimal=2, maksimal=80)
    _panjang(errors, "komentar", isi, "Komentar", minimal=3, maksimal=KOMENTAR_MAKS)
    if not str(form.get("jawaban") or "").strip():
        errors["jawaban"] = "Jawab soal hitungan pada gambar."
    return {"nama": nama, "isi": isi}, errors


def kirim_komentar(session: DesaSession, artikel: Artikel, *, nama: str, isi: str) -> Komentar:
    """A visitor's comment waits for the operator (never shown before approval)."""
    komentar = Komentar(artikel_id=artikel.id, nama=nama, isi=isi, status=MENUNGGU)
    session.add(komentar)
    session.flush()
    return komentar


def antrean_komentar(session: DesaSession, status: str = MENUNGGU, limit: int = 100) -> list[tuple[Komentar, str]]:
    rows = session.execute(
        select(Komentar, Artikel.judul).join(Artikel, Artikel.id == Komentar.artikel_id)
        .where(Komentar.status == status).order_by(Komentar.dibuat_pada, Komentar.id).limit(limit)
    ).all()
    return [(k, judul) for k, judul in rows]


def jumlah_komentar_menunggu(session: DesaSession) -> int:
    return session.scalar(select(func.count()).select_from(Komentar).where(Komentar.status == MENUNGGU)) or 0


def moderasi_komentar(session: DesaSession, komentar_id: int, aksi: str, oleh: str) -> bool:
    """``setujui``, ``tolak`` or ``hapus``; False when the comment does not exist."""
    if aksi == "hapus":
        return bool(session.execute(delete(Komentar).where(Komentar.id == komentar_id)).rowcount)
    status = {"setujui": DISETUJUI, "tolak": DITOLAK}[aksi]
    result = session.execute(update(Komentar).where(Komentar.id == komentar_id).values(
        status=status, dimoderasi_pada=func.now(), dimoderasi_oleh=oleh))
    return bool(result.rowcount)


# --- articles ---------------------------------------------------------------------------------------------------


def periksa_artikel(session: DesaSession, form: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    judul, ringkasan, isi = _teks(form, "judul"), _teks(form, "ringkasan"), _teks(form, "naskah", baris=True)
    _panjang(errors, "judul", judul, "Judul", minimal=5, maksimal=200)
    _panjang(errors, "ringkasan", ringkasan, "Ringkasan", maksimal=300, wajib=False)
    _panjang(errors, "naskah", isi, "Isi artikel", minimal=20, maksimal=50_000)
    kategori_id = None
    raw_kategori = str(form.get("kategori_id") or "").strip()
    if raw_kategori:
        if not raw_kategori.isdigit() or session.get(KategoriArtikel, int(raw_kategori)) is None:
            errors["kategori_id"] = "Kategori tidak dikenal."
        else:
            kategori_id = int(raw_kategori)
    values = {"judul": judul, "ringkasan": ringkasan or None, "isi": isi, "kategori_id": kategori_id,
              "boleh_komentar": _centang(form, "boleh_komentar"), "hapus_gambar": _centang(form, "hapus_gambar")}
    return values, errors


def _slug_unik(session: DesaSession, model, base: str, kecuali: int | None = None) -> str:
    taken = set(session.scalars(select(model.slug).where(model.slug.like(f"{base}%"),
                                                         model.id != (kecuali or 0))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base[:110]}-{n}", n + 1
    return slug


def simpan_artikel(session: DesaSession, artikel: Artikel | None, values: dict[str, Any], *,
                   gambar: Gambar | None, penulis: str) -> Artikel:
    """Create or update an article (a new one starts as a draft; its slug never changes afterwards)."""
    if artikel is None:
        artikel = Artikel(slug=_slug_unik(session, Artikel, slugify(values["judul"], 110)), status=DRAF,
                          penulis=penulis)
        session.add(artikel)
    for key in ("judul", "ringkasan", "isi", "kategori_id", "boleh_komentar"):
        setattr(artikel, key, values[key])
    if gambar is not None:
        artikel.gambar_id = gambar.id
    elif values.get("hapus_gambar"):
        artikel.gambar_id = None
    artikel.diubah_pada = datetime.now(UTC)
    session.flush()
    return artikel


def ubah_status_artikel(artikel: Artikel, terbit: bool) -> None:
    artikel.status = TERBIT if terbit else DRAF
    if terbit and artikel.terbit_pada is None:
        artikel.terbit_pada = datetime.now(UTC)


def semua_artikel(session: DesaSession, limit: int = 200) -> list[tuple[Artikel, str | None, int]]:
    """For the admin list: every article with its category name and number of comments waiting."""
    menunggu = (select(func.count()).select_from(Komentar)
                .where(Komentar.artikel_id == Artikel.id, Komentar.status == MENUNGGU).scalar_subquery())
    rows = session.execute(
        select(Artikel, KategoriArtikel.nama, menunggu)
        .outerjoin(KategoriArtikel, KategoriArtikel.id == Artikel.kategori_id)
        .order_by(Artikel.diubah_pada.desc(), Artikel.id.desc()).limit(limit)
    ).all()
    return [tuple(r) for r in rows]


# --- categories --------------------------------------------------------------------------------------------------


def periksa_kategori(session: DesaSession, form: dict[str, Any], kecuali: int | None = None
                     ) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    nama = _teks(form, "nama")
    _panjang(errors, "nama", nama, "Nama kategori", minimal=2, maksimal=60)
    urut = _bilangan(errors, form, "urut", "Urutan")
    slug = slugify(nama, 80)
    if "nama" not in errors and session.scalar(select(KategoriArtikel.id).where(
            KategoriArtikel.slug == slug, KategoriArtikel.id != (kecuali or 0))):
        errors["nama"] = "Kategori dengan nama ini sudah ada."
    return {"nama": nama, "urut": urut, "slug": slug}, errors


def simpan_kategori(session: DesaSession, kategori: KategoriArtikel | None, values: dict[str, Any]) -> KategoriArtikel:
    if kategori is None:
        kategori = KategoriArtikel()
        session.add(kategori)
    kategori.nama, kategori.urut, kategori.slug = values["nama"], values["urut"], values["slug"]
    session.flush()
    return kategori


# --- officials -----------------------------------------------------------------------------------------------------


def periksa_perangkat(form: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    nama, jabatan, nip = _teks(form, "nama"), _teks(form, "jabatan"), _teks(form, "nip").replace(" ", "")
    _panjang(errors, "nama", nama, "Nama", minimal=2, maksimal=150)
    _panjang(errors, "jabatan", jabatan, "Jabatan", minimal=2, maksimal=100)
    if nip and not (nip.isdigit() and len(nip) == 18):
        errors["nip"] = "NIP harus 18 angka (kosongkan bila tidak ada)."
    urut = _bilangan(errors, form, "urut", "Urutan")
    return {"nama": nama, "jabatan": jabatan, "nip": nip or None, "urut": urut,
            "aktif": _centang(form, "aktif"), "hapus_foto": _centang(form, "hapus_foto")}, errors


def simpan_perangkat(session: DesaSession, perangkat: PerangkatDesa | None, values: dict[str, Any], *,
                     foto: Gambar | None) -> PerangkatDesa:
    if perangkat is None:
        perangkat = PerangkatDesa()
        session.add(perangkat)
    for key in ("nama", "jabatan", "nip", "urut", "aktif"):
        setattr(perangkat, key, values[key])
    if foto is not None:
        perangkat.foto_id = foto.id
    elif values.get("hapus_foto"):
        perangkat.foto_id = None
    session.flush()
    return perangkat


# --- running text ---------------------------------------------------------------------------------------------------


def periksa_teks(form: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    teks, tautan = _teks(form, "teks"), _teks(form, "tautan")
    _panjang(errors, "teks", teks, "Teks", minimal=3, maksimal=300)
    if tautan and (len(tautan) > 300 or not re.match(r"^(https?://[^\s/]+|/)[^\s]*$", tautan)):
        errors["tautan"] = "Tautan harus diawali https:// atau / (paling banyak 300 karakter)."
    urut = _bilangan(errors, form, "urut", "Urutan")
    return {"teks": teks, "tautan": tautan or None, "urut": urut, "aktif": _centang(form, "aktif")}, errors


def simpan_teks(session: DesaSession, teks: TeksBerjalan | None, values: dict[str, Any]) -> TeksBerjalan:
    if teks is None:
        teks = TeksBerjalan()
        session.add(teks)
    for key in ("teks", "tautan", "urut", "aktif"):
        setattr(teks, key, values[key])
    session.flush()
    return teks


def semua_teks(session: DesaSession) -> list[TeksBerjalan]:
    return list(session.scalars(select(TeksBerjalan).order_by(TeksBerjalan.urut, TeksBerjalan.id)))
