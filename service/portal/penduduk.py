"""Village admin: the population register as pages (list, search, resident and family detail, create and edit,
life events, import with a progress bar, export). For the desa's operator, sekdes and kepala desa.

Every page calls the register's own services (:mod:`service.penduduk.services`, ``impor_tasks``) and the one
validation (:func:`service.penduduk.validasi.check_penduduk`); nothing here re-implements a rule. Personal data
stays out of URLs: residents and families are addressed by public id, and the list's filters, name search,
cursor and the NIK search travel in POST bodies. Reads and changes are audited as the API audits them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import marshmallow as ma
from flask import abort, current_app, flash, g, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from service.audit.services import record
from service.auth.models import AkunWarga
from service.auth.roles import DESA_STAFF
from service.penduduk import impor, schemas, services
from service.penduduk.impor_tasks import FINISHED, daftar_impor, status_impor, terima_berkas
from service.penduduk.models import Keluarga, Penduduk, Wilayah
from service.penduduk.nik import normalize
from service.penduduk.referensi import JENIS_PINDAH, LISTS, PERISTIWA, label
from service.penduduk.validasi import check_penduduk, parse_date
from service.portal.web import PortalBlueprint, field_errors, form_data, indonesian, nav_item, render_page
from service.tenancy import current_desa, desa_db

bp = PortalBlueprint("portal_penduduk", __name__, url_prefix="/kelola")

PER_HALAMAN = 50
FILTERS = ("q", "wilayah_id", "sex", "umur_min", "umur_max", "status_dasar", "agama_id", "pendidikan_kk_id",
           "pekerjaan_id", "status_kawin")
JENIS_KELUAR = {"mati": services.MATI, "pindah_keluar": services.PINDAH_KELUAR, "hilang": services.HILANG,
                "pergi": services.PERGI}
DETAIL_KELUAR = {"mati": ("sebab", "tempat"), "pindah_keluar": ("jenis_pindah", "tujuan")}
JUDUL_KELUAR = {"mati": "Kematian", "pindah_keluar": "Pindah keluar", "hilang": "Hilang", "pergi": "Pergi"}
PERISTIWA_MASUK = {"lahir": services.LAHIR, "datang": services.DATANG}
BUKAN_HIDUP = "Penduduk ini sudah tidak berstatus hidup di desa ini; peristiwa tidak dicatat."


# --- the resident form ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Isian:
    name: str
    label: str
    kind: str = "text"  # text, date, select, textarea, email, tel
    required: bool = False
    help: str | None = None


BAGIAN: list[tuple[str, list[Isian]]] = [
    ("Identitas", [
        Isian("nik", "NIK", required=True, help="16 angka sesuai KTP/KK"),
        Isian("nama", "Nama lengkap", required=True),
        Isian("sex", "Jenis kelamin", "select", required=True),
        Isian("tempat_lahir", "Tempat lahir"),
        Isian("tanggal_lahir", "Tanggal lahir", "date", required=True),
        Isian("agama_id", "Agama", "select"),
        Isian("warganegara_id", "Kewarganegaraan", "select"),
        Isian("golongan_darah_id", "Golongan darah", "select"),
        Isian("suku", "Suku"),
        Isian("status_penduduk", "Status penduduk", "select"),
    ]),
    ("Keluarga dan perkawinan", [
        Isian("kk_level", "Hubungan dalam keluarga", "select"),
        Isian("status_kawin", "Status perkawinan", "select"),
        Isian("akta_perkawinan", "Nomor akta perkawinan"),
        Isian("tanggal_perkawinan", "Tanggal perkawinan", "date"),
        Isian("akta_perceraian", "Nomor akta perceraian"),
        Isian("tanggal_perceraian", "Tanggal perceraian", "date"),
        Isian("nik_ayah", "NIK ayah"),
        Isian("nama_ayah", "Nama ayah"),
        Isian("nik_ibu", "NIK ibu"),
        Isian("nama_ibu", "Nama ibu"),
    ]),
    ("Pendidikan dan pekerjaan", [
        Isian("pendidikan_kk_id", "Pendidikan (dalam KK)", "select"),
        Isian("pendidikan_sedang_id", "Pendidikan yang sedang ditempuh", "select"),
        Isian("pekerjaan_id", "Pekerjaan", "select"),
    ]),
    ("Dokumen", [
        Isian("akta_lahir", "Nomor akta kelahiran"),
        Isian("ktp_el", "KTP-el", "select"),
        Isian("status_rekam", "Status perekaman KTP-el", "select"),
        Isian("dokumen_pasport", "Nomor paspor"),
        Isian("dokumen_kitas", "Nomor KITAS/KITAP"),
    ]),
    ("Kesehatan", [
        Isian("cacat_id", "Disabilitas", "select"),
        Isian("hamil", "Kehamilan", "select"),
    ]),
    ("Alamat dan kontak", [
        Isian("wilayah_id", "Wilayah (dusun / RW / RT)", "select"),
        Isian("alamat_sekarang", "Alamat sekarang", "textarea"),
        Isian("alamat_sebelumnya", "Alamat sebelumnya", "textarea"),
        Isian("telepon", "Telepon", "tel"),
        Isian("email", "Surel", "email"),
    ]),
]
ISIAN = [isian for _, fields in BAGIAN for isian in fields]
LABEL = {isian.name: isian.label for isian in ISIAN}
#: NOT NULL columns with a default: a blank choice keeps the current value (or takes the default).
TETAP_BILA_KOSONG = ("warganegara_id", "status_penduduk")


def _engine():
    return current_app.extensions["kawasan"].engine


def _audit(aksi: str, objek: str | None = None, **detail: Any) -> None:
    record(_engine(), aksi, aktor=g.principal, desa_kode=current_desa().kode, objek=objek, detail=detail)


def _pesan(errors: dict[str, str]) -> dict[str, str]:
    return {field: indonesian(message) for field, message in errors.items()}


def _wilayah_pilihan(session) -> list[tuple[int, str]]:
    """Dusun → RW → RT as indented choices, in the desa's order (read once per request)."""
    cached = g.get("wilayah_pilihan")
    if cached is not None:
        return cached
    rows = session.scalars(select(Wilayah).order_by(Wilayah.urut, Wilayah.nama, Wilayah.id)).all()
    children: dict[int | None, list[Wilayah]] = {}
    for w in rows:
        children.setdefault(w.induk_id, []).append(w)
    out: list[tuple[int, str]] = []

    def walk(parent: int | None, depth: int) -> None:
        for w in children.get(parent, []):
            name = w.nama if w.tingkat == "dusun" else f"{w.tingkat.upper()} {w.nama}"
            out.append((w.id, "\u2003" * depth + name))
            walk(w.id, depth + 1)

    walk(None, 0)
    g.wilayah_pilihan = out
    return out


def _pilihan(session) -> dict[str, list[tuple[Any, str]]]:
    options: dict[str, list[tuple[Any, str]]] = {name: list(codes.items()) for name, codes in LISTS.items()}
    options["wilayah_id"] = _wilayah_pilihan(session)
    options["jenis_pindah"] = list(JENIS_PINDAH.items())
    return options


def _wilayah_nama(session) -> dict[int, str]:
    return {wid: name.strip("\u2003") for wid, name in _wilayah_pilihan(session)}


def _penduduk_or_404(penduduk_id: uuid.UUID) -> Penduduk:
    try:
        return services.get_penduduk(desa_db(), penduduk_id)
    except services.NotFound:
        abort(404, "penduduk tidak ditemukan")


def _keluarga_or_404(keluarga_id: uuid.UUID) -> Keluarga:
    try:
        return services.get_keluarga(desa_db(), keluarga_id)
    except services.NotFound:
        abort(404, "keluarga tidak ditemukan")


def _nilai(penduduk: Penduduk) -> dict[str, str]:
    """A resident's stored values as the form shows them."""
    out = {}
    for isian in ISIAN:
        value = getattr(penduduk, isian.name)
        out[isian.name] = "" if value is None else value.isoformat() if isinstance(value, date) else str(value)
    return out


def _rincian(penduduk: Penduduk, wilayah_nama: dict[int, str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The resident's filled fields as the detail page shows them (labels for codes, dates as dd-mm-yyyy); empty
    ones are left out, so the page stays short on a phone."""
    out = []
    for judul, fields in BAGIAN:
        rows = []
        for isian in fields:
            value = getattr(penduduk, isian.name)
            if value is None or value == "":
                continue
            if isian.name == "wilayah_id":
                shown = wilayah_nama.get(value, "—")
            elif isian.name in LISTS:
                shown = label(isian.name, value) or str(value)
            elif isinstance(value, date):
                shown = value.strftime("%d-%m-%Y")
            else:
                shown = str(value)
            rows.append((isian.label, shown))
        if rows:
            out.append((judul, rows))
    return out


def _flash_peringatan(warnings: dict[str, str]) -> None:
    for field, message in warnings.items():
        flash(f"Peringatan — {LABEL.get(field, field)}: {indonesian(message)}", "peringatan")


def _stale_message(current: int) -> str:
    return (f"Data ini sudah diubah petugas lain sejak Anda membukanya (sekarang versi {current}). Tidak ada yang "
            "disimpan. Buka ulang halaman ini untuk melihat data terbaru, lalu ulangi perubahan Anda.")


# --- list and search ------------------------------------------------------------------------------------


def _umur(lahir: date, today: date) -> int:
    """Age in whole years on ``today``."""
    return today.year - lahir.year - ((today.month, today.day) < (lahir.month, lahir.day))


def _filter_args(raw) -> tuple[dict[str, Any], dict[str, str]]:
    """The list's filters through the API's own schema (same names, same rules, same defaults)."""
    data = {name: value.strip() for name in (*FILTERS, "after") if (value := raw.get(name, "")) and value.strip()}
    try:
        return schemas.PendudukListArgs().load(data), {}
    except ma.ValidationError as exc:
        return {}, field_errors(exc)


@bp.route("/penduduk", methods=["GET", "POST"])
@bp.requires(*DESA_STAFF)
def daftar():
    """Residents, filtered and searched; filters, name and cursor are POSTed (names never in a URL)."""
    session = desa_db()
    raw = request.form if request.method == "POST" else {}
    args, errors = _filter_args(raw)
    page = None
    if not errors:
        try:
            page = services.daftar_penduduk(session, args, limit=PER_HALAMAN)
        except services.InvalidData as exc:
            errors = _pesan(exc.errors)
    umur: dict[int, int] = {}
    if page is not None:
        _audit("baca_data_pribadi", objek="penduduk", jumlah=len(page.items))
        today = date.today()
        umur = {r.id: _umur(r.tanggal_lahir, today) for r in page.items}
    context = {"page": page, "errors": errors, "filter": {k: raw.get(k, "") for k in FILTERS},
               "pilihan": _pilihan(session), "wilayah_nama": _wilayah_nama(session), "label": label,
               "nik_errors": {}, "umur": umur}
    status = 422 if errors else 200
    if request.headers.get("HX-Request") and request.method == "POST":
        # htmx swaps only 2xx answers: the fragment carries its own inline messages.
        return render_page("portal/penduduk/_hasil.html", **context)
    return render_page("portal/penduduk/daftar.html", http_status=status, **context)


@bp.route("/penduduk/cari", methods=["POST"])
@bp.requires(*DESA_STAFF)
def cari_nik():
    """Find one resident by NIK (POSTed, never in a URL); audited as ``cari_nik``."""
    session = desa_db()
    data = form_data()
    try:
        args = schemas.NikLookupArgs().load({"nik": data["nik"]} if "nik" in data else {})
    except ma.ValidationError as exc:
        nik_errors, status = field_errors(exc), 422
    else:
        penduduk = services.find_by_nik(session, normalize(args["nik"]))
        _audit("cari_nik", berhasil=penduduk is not None)
        if penduduk is not None:
            return redirect(url_for(".detail", penduduk_id=penduduk.public_id), 303)
        nik_errors, status = {"nik": "NIK tidak terdaftar di desa ini"}, 404
    return render_page("portal/penduduk/daftar.html", http_status=status, page=None, errors={}, nik_errors=nik_errors,
                       nik=data.get("nik", ""), filter={}, pilihan=_pilihan(session),
                       wilayah_nama=_wilayah_nama(session), label=label)


# --- resident detail ------------------------------------------------------------------------------------


def _akun_warga(session, penduduk: Penduduk) -> dict[str, Any] | None:
    akun = session.get(AkunWarga, penduduk.id)
    if akun is None:
        return None
    return {"terkunci": akun.terkunci_pada is not None, "wajib_ganti_pin": akun.wajib_ganti_pin,
            "pin_diterbitkan_pada": akun.pin_diterbitkan_pada}


@bp.route("/penduduk/<uuid:penduduk_id>")
@bp.requires(*DESA_STAFF)
def detail(penduduk_id: uuid.UUID):
    """One resident (audited read), with the family, the life events and the Layanan Mandiri account."""
    session = desa_db()
    penduduk = _penduduk_or_404(penduduk_id)
    keluarga = session.get(Keluarga, penduduk.keluarga_id) if penduduk.keluarga_id else None
    _audit("baca_data_pribadi", objek=f"penduduk:{penduduk.public_id}")
    return render_page("portal/penduduk/detail.html", p=penduduk, keluarga=keluarga, label=label,
                       rincian=_rincian(penduduk, _wilayah_nama(session)),
                       mutasi=services.mutasi_penduduk(session, penduduk), peristiwa=PERISTIWA,
                       akun=_akun_warga(session, penduduk), hidup=penduduk.status_dasar == services.HIDUP)


# --- create and edit ------------------------------------------------------------------------------------


def _form_values() -> dict[str, str]:
    """Every resident field of the submitted form, blank as ``""`` (a blank field clears the value)."""
    return {isian.name: request.form.get(isian.name, "").strip() for isian in ISIAN}


def _register_input(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form text → what the register's services take: the wilayah is an id (``check_penduduk`` passes it through
    as given, the API's schema makes it a number), everything else goes to ``check_penduduk`` as typed."""
    raw: dict[str, Any] = dict(values)
    errors: dict[str, str] = {}
    if raw.get("wilayah_id"):
        try:
            raw["wilayah_id"] = int(raw["wilayah_id"])
        except ValueError:
            errors["wilayah_id"] = "pilih wilayah dari daftar"
    return raw, errors


def _render_form(*, penduduk: Penduduk | None, nilai: dict[str, str], errors: dict[str, str], status: int = 200,
                 galat: str | None = None, keluarga: Keluarga | None = None, extra: dict[str, str] | None = None):
    session = desa_db()
    return render_page("portal/penduduk/form.html", http_status=status, p=penduduk, nilai=nilai, errors=errors,
                       galat=galat, bagian=BAGIAN, pilihan=_pilihan(session), keluarga=keluarga,
                       extra=extra or {}, label_isian={**LABEL, "no_kk": "Nomor KK", "tanggal_peristiwa":
                                                       "Tanggal peristiwa", "keluarga_baru": "KK baru"})


@bp.route("/penduduk/baru", methods=["GET", "POST"])
@bp.requires(*DESA_STAFF)
def baru():
    """Register a resident, optionally as a birth (lahir) or an arrival (datang), into a family."""
    session = desa_db()
    keluarga = None
    wanted = request.values.get("keluarga", "")
    if wanted:
        try:
            keluarga = _keluarga_or_404(uuid.UUID(wanted))
        except ValueError:
            abort(404, "keluarga tidak ditemukan")
    if request.method == "GET":
        peristiwa = request.args.get("peristiwa", "") if request.args.get("peristiwa") in PERISTIWA_MASUK else ""
        nilai = {isian.name: "" for isian in ISIAN}
        if keluarga is not None:
            nilai.update(wilayah_id=str(keluarga.wilayah_id or ""), alamat_sekarang=keluarga.alamat or "",
                         kk_level="4" if peristiwa == "lahir" else "")
        if peristiwa == "lahir":
            nilai["tanggal_lahir"] = date.today().isoformat()
        return _render_form(penduduk=None, nilai=nilai, errors={}, keluarga=keluarga,
                            extra={"peristiwa": peristiwa, "tanggal_peristiwa": date.today().isoformat()})

    nilai = _form_values()
    extra = {k: request.form.get(k, "").strip() for k in ("peristiwa", "tanggal_peristiwa", "catatan", "no_kk")}
    extra["keluarga_baru"] = "1" if request.form.get("keluarga_baru") else ""
    raw, errors = _register_input({k: v for k, v in nilai.items() if v != ""})
    checked = check_penduduk(raw)
    errors.update(_pesan(checked.errors))
    peristiwa = PERISTIWA_MASUK.get(extra["peristiwa"])
    if extra["peristiwa"] and peristiwa is None:
        errors["peristiwa"] = "pilih lahir, datang atau kosong"
    tanggal = None
    if peristiwa is not None:
        try:
            tanggal = parse_date(extra["tanggal_peristiwa"]) if extra["tanggal_peristiwa"] else date.today()
        except ValueError as exc:
            errors["tanggal_peristiwa"] = indonesian(str(exc))
    baru_kk = None
    if keluarga is None and extra["no_kk"]:
        found = session.scalar(select(Keluarga).where(Keluarga.no_kk == normalize(extra["no_kk"])))
        if found is None and not extra["keluarga_baru"]:
            errors["no_kk"] = "Nomor KK belum terdaftar; centang “Buat KK baru” untuk membuat keluarganya"
        elif found is not None and extra["keluarga_baru"]:
            errors["no_kk"] = "Nomor KK sudah terdaftar; hapus centang “Buat KK baru” untuk bergabung ke keluarga itu"
        elif found is not None:
            keluarga = found
        else:
            baru_kk = extra["no_kk"]
    elif extra["keluarga_baru"] and keluarga is None:
        errors["no_kk"] = "isi Nomor KK untuk keluarga baru"
    if errors:
        return _render_form(penduduk=None, nilai=nilai, errors=errors, status=422, keluarga=keluarga, extra=extra)
    try:
        if baru_kk is not None:
            keluarga = services.create_keluarga(session, no_kk=baru_kk, alamat=raw.get("alamat_sekarang"),
                                                wilayah_id=checked.values.get("wilayah_id"))
        if keluarga is not None:
            raw["keluarga_id"] = keluarga.id
        saved = services.add_penduduk(session, raw, actor=g.principal.subject, peristiwa=peristiwa, tanggal=tanggal,
                                      catatan=extra["catatan"] or None)
    except services.InvalidData as exc:
        session.rollback()
        errors = _pesan({("no_kk" if k == "keluarga_id" else k): v for k, v in exc.errors.items()})
        return _render_form(penduduk=None, nilai=nilai, errors=errors, status=422,
                            keluarga=None if baru_kk else keluarga, extra=extra)
    except services.DuplicateNik:
        session.rollback()
        return _render_form(penduduk=None, nilai=nilai, errors={"nik": "NIK sudah terdaftar di desa ini"},
                            status=409, keluarga=None if baru_kk else keluarga, extra=extra)
    session.commit()
    public_id = saved.penduduk.public_id
    if baru_kk is not None:
        _audit("ubah_data_pribadi", objek=f"keluarga:{keluarga.public_id}", aksi_register="keluarga_baru")
    _audit("ubah_data_pribadi", objek=f"penduduk:{public_id}", aksi_register="tambah")
    flash("Penduduk tersimpan.", "ok")
    _flash_peringatan(saved.warnings)
    return redirect(url_for(".detail", penduduk_id=public_id), 303)


@bp.route("/penduduk/<uuid:penduduk_id>/ubah", methods=["GET", "POST"])
@bp.requires(*DESA_STAFF)
def ubah(penduduk_id: uuid.UUID):
    """Correct a resident's data (koreksi). The form carries the version it was loaded at: a stale form saves
    nothing and says so."""
    session = desa_db()
    penduduk = _penduduk_or_404(penduduk_id)
    if request.method == "GET":
        return _render_form(penduduk=penduduk, nilai=_nilai(penduduk), errors={},
                            extra={"versi": str(penduduk.versi), "catatan": ""})
    nilai = _form_values()
    extra = {"versi": request.form.get("versi", ""), "catatan": request.form.get("catatan", "").strip()}
    if extra["versi"] != str(penduduk.versi):
        return _render_form(penduduk=penduduk, nilai=nilai, errors={}, status=409, extra=extra,
                            galat=_stale_message(penduduk.versi))
    raw, errors = _register_input({k: v for k, v in nilai.items() if not (k in TETAP_BILA_KOSONG and v == "")})
    checked = check_penduduk(raw)  # the whole form: required fields may not be blanked
    errors.update(_pesan(checked.errors))
    if errors:
        return _render_form(penduduk=penduduk, nilai=nilai, errors=errors, status=422, extra=extra)
    try:
        saved = services.koreksi(session, penduduk, raw, actor=g.principal.subject, catatan=extra["catatan"] or None)
        session.commit()
    except services.InvalidData as exc:
        session.rollback()
        return _render_form(penduduk=penduduk, nilai=nilai, errors=_pesan(exc.errors), status=422, extra=extra)
    except services.DuplicateNik:
        session.rollback()
        return _render_form(penduduk=penduduk, nilai=nilai, errors={"nik": "NIK sudah terdaftar di desa ini"},
                            status=409, extra=extra)
    except StaleDataError:
        # Someone saved between our read and our write: the version column refused the update.
        session.rollback()
        current = _penduduk_or_404(penduduk_id)
        return _render_form(penduduk=current, nilai=nilai, errors={}, status=409, extra=extra,
                            galat=_stale_message(current.versi))
    _audit("ubah_data_pribadi", objek=f"penduduk:{penduduk.public_id}", aksi_register="koreksi")
    flash("Perubahan tersimpan.", "ok")
    _flash_peringatan(saved.warnings)
    return redirect(url_for(".detail", penduduk_id=penduduk.public_id), 303)


# --- life events (leaving the register) -----------------------------------------------------------------


@bp.route("/penduduk/<uuid:penduduk_id>/peristiwa", methods=["GET", "POST"])
@bp.requires(*DESA_STAFF)
def peristiwa(penduduk_id: uuid.UUID):
    """Record a death, a move out (to another desa, kecamatan, kabupaten or provinsi), a disappearance or a
    departure: the resident leaves the living register and the mutation log records it."""
    session = desa_db()
    penduduk = _penduduk_or_404(penduduk_id)
    jenis = request.values.get("jenis", "")
    nilai = {"jenis": jenis if jenis in JENIS_KELUAR else "", "tanggal": date.today().isoformat(),
             "versi": str(penduduk.versi)}
    errors: dict[str, str] = {}
    galat, status = None, 200
    if request.method == "POST":
        data = form_data()
        nilai = {**{k: "" for k in ("sebab", "tempat", "jenis_pindah", "tujuan", "catatan", "tanggal")}, **data}
        if data.get("versi") != str(penduduk.versi):
            galat, status = _stale_message(penduduk.versi), 409
        else:
            try:
                # Only the details of the chosen event (a cause of death typed before switching to "pindah"
                # is not kept).
                own = ("jenis", "tanggal", "catatan", *DETAIL_KELUAR.get(data.get("jenis", ""), ()))
                args = schemas.PeristiwaArgs().load({k: v for k, v in data.items() if k in own})
            except ma.ValidationError as exc:
                errors, status = field_errors(exc), 422
            else:
                extra = {k: args[k] for k in ("sebab", "tempat", "jenis_pindah", "tujuan") if k in args}
                try:
                    services.peristiwa_keluar(session, penduduk, JENIS_KELUAR[args["jenis"]], tanggal=args["tanggal"],
                                              actor=g.principal.subject, catatan=args.get("catatan"), data=extra)
                    session.commit()
                except services.InvalidData as exc:
                    session.rollback()
                    errors, status = _pesan(exc.errors), 422
                except services.WrongState:
                    session.rollback()
                    galat, status = BUKAN_HIDUP, 409
                except StaleDataError:
                    session.rollback()
                    galat, status = _stale_message(_penduduk_or_404(penduduk_id).versi), 409
                else:
                    _audit("peristiwa_penduduk", objek=f"penduduk:{penduduk.public_id}", peristiwa=args["jenis"])
                    flash(f"{JUDUL_KELUAR[args['jenis']]} tercatat.", "ok")
                    return redirect(url_for(".detail", penduduk_id=penduduk.public_id), 303)
    return render_page("portal/penduduk/peristiwa.html", http_status=status, p=penduduk, nilai=nilai, errors=errors,
                       galat=galat, jenis_keluar=JUDUL_KELUAR, jenis_pindah=list(JENIS_PINDAH.items()),
                       hidup=penduduk.status_dasar == services.HIDUP, label=label)


# --- families -------------------------------------------------------------------------------------------


@bp.route("/keluarga", methods=["GET", "POST"])
@bp.requires(*DESA_STAFF)
def daftar_keluarga():
    """Active families by head's name; the search and cursor are POSTed."""
    session = desa_db()
    raw = request.form if request.method == "POST" else {}
    data = {k: v.strip() for k in ("q", "wilayah_id", "after") if (v := raw.get(k, "")) and v.strip()}
    page, errors = None, {}
    try:
        args = schemas.KeluargaListArgs().load(data)
        page = services.daftar_keluarga(session, args, limit=PER_HALAMAN)
    except ma.ValidationError as exc:
        errors = field_errors(exc)
    except services.InvalidData as exc:
        errors = _pesan(exc.errors)
    if page is not None:
        _audit("baca_data_pribadi", objek="keluarga", jumlah=len(page.items))
    context = {"page": page, "errors": errors, "filter": {k: raw.get(k, "") for k in ("q", "wilayah_id")},
               "pilihan": _pilihan(session), "wilayah_nama": _wilayah_nama(session)}
    status = 422 if errors else 200
    if request.headers.get("HX-Request") and request.method == "POST":
        # htmx swaps only 2xx answers: the fragment carries its own inline messages.
        return render_page("portal/penduduk/_hasil_keluarga.html", **context)
    return render_page("portal/penduduk/keluarga_daftar.html", http_status=status, **context)


def _render_keluarga(keluarga: Keluarga, *, status: int = 200, errors: dict[str, str] | None = None,
                     galat: str | None = None, form: str | None = None, nilai: dict[str, Any] | None = None):
    session = desa_db()
    anggota = services.anggota_keluarga(session, keluarga)
    return render_page("portal/penduduk/keluarga.html", http_status=status, k=keluarga, anggota=anggota,
                       riwayat=services.riwayat_no_kk(session, keluarga), label=label,
                       wilayah_nama=_wilayah_nama(session), errors=errors or {}, galat=galat, form=form,
                       nilai=nilai or {}, hubungan=[(c, n) for c, n in LISTS["kk_level"].items() if c != 1],
                       hidup=services.HIDUP, today=date.today().isoformat())


@bp.route("/keluarga/<uuid:keluarga_id>")
@bp.requires(*DESA_STAFF)
def keluarga(keluarga_id: uuid.UUID):
    """A family (audited read): members, every KK number it has had, split and join forms."""
    found = _keluarga_or_404(keluarga_id)
    _audit("baca_data_pribadi", objek=f"keluarga:{found.public_id}")
    return _render_keluarga(found)


@bp.route("/keluarga/<uuid:keluarga_id>/pecah", methods=["POST"])
@bp.requires(*DESA_STAFF)
def pecah(keluarga_id: uuid.UUID):
    """Pecah KK: chosen members leave and form a new family with its own KK number."""
    session = desa_db()
    asal = _keluarga_or_404(keluarga_id)
    data = form_data()
    nilai = {**data, "anggota": request.form.getlist("anggota")}
    raw = {"anggota": nilai["anggota"], "kepala": data.get("kepala"), "no_kk_baru": data.get("no_kk_baru"),
           "tanggal": data.get("tanggal_pecah"), "alamat": data.get("alamat_baru")}
    names = {"tanggal": "tanggal_pecah", "alamat": "alamat_baru"}
    try:
        args = schemas.PecahArgs().load({k: v for k, v in raw.items() if v})
    except ma.ValidationError as exc:
        errors = {names.get(k, k): v for k, v in field_errors(exc).items()}
        return _render_keluarga(asal, status=422, errors=errors, form="pecah", nilai=nilai)
    people = session.scalars(select(Penduduk).where(Penduduk.public_id.in_(args["anggota"]))).all()
    kepala = next((p for p in people if p.public_id == args["kepala"]), None)
    errors = {}
    if len(people) != len(set(args["anggota"])):
        errors["anggota"] = "ada anggota yang tidak ditemukan"
    elif kepala is None:
        errors["kepala"] = "kepala keluarga baru harus salah satu anggota yang dipilih"
    if errors:
        return _render_keluarga(asal, status=422, errors=errors, form="pecah", nilai=nilai)
    try:
        baru_kk = services.pecah_kk(session, asal, list(people), kepala, no_kk_baru=args["no_kk_baru"],
                                    actor=g.principal.subject, tanggal=args["tanggal"], alamat=args.get("alamat"))
        session.commit()
    except services.InvalidData as exc:
        session.rollback()
        errors = {{"no_kk": "no_kk_baru"}.get(k, k): indonesian(v) for k, v in exc.errors.items()}
        return _render_keluarga(_keluarga_or_404(keluarga_id), status=422, errors=errors, form="pecah", nilai=nilai)
    _audit("peristiwa_penduduk", objek=f"keluarga:{baru_kk.public_id}", peristiwa="pecah_kk", jumlah=len(people))
    flash(f"Pecah KK tercatat: {len(people)} anggota pindah ke KK baru.", "ok")
    return redirect(url_for(".keluarga", keluarga_id=baru_kk.public_id), 303)


@bp.route("/keluarga/<uuid:keluarga_id>/gabung", methods=["POST"])
@bp.requires(*DESA_STAFF)
def gabung(keluarga_id: uuid.UUID):
    """Gabung KK: a resident (found by NIK, in the form body) joins this family."""
    session = desa_db()
    tujuan = _keluarga_or_404(keluarga_id)
    data = form_data()
    errors: dict[str, str] = {}
    person = None
    if not data.get("nik_gabung"):
        errors["nik_gabung"] = "wajib diisi"
    else:
        person = services.find_by_nik(session, normalize(data["nik_gabung"]))
        if person is None:
            errors["nik_gabung"] = "NIK tidak terdaftar di desa ini"
    raw = {"kk_level": data.get("kk_level_gabung"), "tanggal": data.get("tanggal_gabung")}
    try:
        args = schemas.GabungArgs(only=("kk_level", "tanggal")).load({k: v for k, v in raw.items() if v})
    except ma.ValidationError as exc:
        errors.update({f"{k}_gabung": v for k, v in field_errors(exc).items()})
    if errors:
        return _render_keluarga(tujuan, status=422, errors=errors, form="gabung", nilai=data)
    try:
        services.gabung_kk(session, tujuan, [person], kk_level=args["kk_level"], actor=g.principal.subject,
                           tanggal=args["tanggal"])
        session.commit()
    except (services.InvalidData, services.WrongState) as exc:
        session.rollback()
        message = next(iter(exc.errors.values())) if isinstance(exc, services.InvalidData) else str(exc)
        return _render_keluarga(_keluarga_or_404(keluarga_id), status=422 if isinstance(exc, services.InvalidData)
                                else 409, errors={"nik_gabung": indonesian(message)}, form="gabung", nilai=data)
    _audit("peristiwa_penduduk", objek=f"keluarga:{tujuan.public_id}", peristiwa="gabung_kk", jumlah=1)
    flash("Gabung KK tercatat.", "ok")
    return redirect(url_for(".keluarga", keluarga_id=tujuan.public_id), 303)


@bp.route("/keluarga/<uuid:keluarga_id>/nomor", methods=["POST"])
@bp.requires(*DESA_STAFF)
def ganti_nomor(keluarga_id: uuid.UUID):
    """A new KK number (the old one stays in the history, with the reason). Carries the family's version: a
    stale form saves nothing."""
    session = desa_db()
    found = _keluarga_or_404(keluarga_id)
    data = form_data()
    if data.get("versi") != str(found.versi):
        return _render_keluarga(found, status=409, galat=_stale_message(found.versi), form="nomor", nilai=data)
    errors = {name: "wajib diisi" for name in ("no_kk_ganti", "sebab_ganti") if not data.get(name)}
    if len(data.get("sebab_ganti", "")) > 100:
        errors["sebab_ganti"] = "paling panjang 100 karakter"
    if errors:
        return _render_keluarga(found, status=422, errors=errors, form="nomor", nilai=data)
    try:
        services.ganti_no_kk(session, found, data["no_kk_ganti"], sebab=data["sebab_ganti"])
        session.commit()
    except services.InvalidData as exc:
        session.rollback()
        errors = {"no_kk_ganti": indonesian(next(iter(exc.errors.values())))}
        return _render_keluarga(_keluarga_or_404(keluarga_id), status=422, errors=errors, form="nomor", nilai=data)
    except StaleDataError:
        session.rollback()
        current = _keluarga_or_404(keluarga_id)
        return _render_keluarga(current, status=409, galat=_stale_message(current.versi), form="nomor", nilai=data)
    _audit("ubah_data_pribadi", objek=f"keluarga:{found.public_id}", aksi_register="ubah_keluarga")
    flash("Nomor KK diganti; nomor lama tersimpan di riwayat.", "ok")
    return redirect(url_for(".keluarga", keluarga_id=found.public_id), 303)


# --- import and export ----------------------------------------------------------------------------------


@bp.route("/penduduk/impor", methods=["GET", "POST"])
@bp.requires(*DESA_STAFF)
def impor_berkas():
    """Upload an OpenSID/OpenDK workbook or a CSV; the import runs in a worker (``penduduk.impor``)."""
    session = desa_db()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        upload = request.files.get("berkas")
        if upload is None or not upload.filename:
            errors["berkas"], status = "pilih berkas xlsx atau CSV", 422
        else:
            data = upload.stream.read(impor.MAX_BYTES + 1)  # one byte more than allowed tells "too large"
            try:
                row = terima_berkas(session, data, nama_berkas=upload.filename, oleh=g.principal.subject)
            except impor.BerkasTidakValid as exc:
                errors["berkas"], status = indonesian(str(exc)), exc.status
            else:
                session.commit()
                _audit("impor_penduduk", objek=f"impor_penduduk:{row.public_id}", format=row.format,
                       ukuran=len(data))
                return redirect(url_for(".impor_status", impor_id=row.public_id), 303)
    return render_page("portal/penduduk/impor.html", http_status=status, errors=errors, riwayat=daftar_impor(session),
                       batas_mb=impor.MAX_BYTES // (1024 * 1024))


@bp.route("/penduduk/impor/<uuid:impor_id>")
@bp.requires(*DESA_STAFF)
def impor_status(impor_id: uuid.UUID):
    """Progress of an import (htmx polls the status part until it is finished), then its report."""
    row = status_impor(desa_db(), impor_id)
    if row is None:
        abort(404, "impor tidak ditemukan")
    selesai = row["status"] in (*FINISHED, "gagal")
    template = "portal/penduduk/_impor_status.html" if request.headers.get("HX-Request") else \
        "portal/penduduk/impor_status.html"
    return render_page(template, impor=row, selesai=selesai, laporan=row["laporan"] or {}, indonesian=indonesian)


nav_item("Penduduk", "portal_penduduk.daftar", "desa", urutan=20)
nav_item("Keluarga", "portal_penduduk.daftar_keluarga", "desa", urutan=21)
nav_item("Impor", "portal_penduduk.impor_berkas", "desa", urutan=22)
