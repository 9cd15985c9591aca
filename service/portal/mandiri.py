"""Layanan Mandiri: a resident requests a letter for self or family (types requestable online only), uploads
its attachments, follows it through every level, downloads the PDF once issued and cancels while it is open.

Reads and writes are the API's own views (:func:`service.portal.web.call_api`) over the surat state machine, so
the rules (family only, mandiri types, attachments by content and size) are the same for the app and the page.
"""

from __future__ import annotations

import uuid

from flask import current_app, flash, g, redirect, request, url_for

from service.audit.services import record
from service.auth.resources import OwnData
from service.portal.surat import LENCANA
from service.portal.web import ApiRefused, PortalBlueprint, call_api, form_data, nav_item, render_page
from service.surat import katalog, services
from service.surat.resources import JenisList, Lampiran, PermohonanList, _permohonan_or_404, _view
from service.tenancy import current_desa, desa_db

bp = PortalBlueprint("portal_mandiri", __name__, url_prefix="/mandiri")

#: Where a request stands, in words a resident understands.
KETERANGAN = {
    services.BELUM_LENGKAP: "Lengkapi lampiran yang diminta agar permohonan bisa diperiksa.",
    services.SEDANG_DIPERIKSA: "Sedang diperiksa perangkat desa.",
    services.MENUNGGU_TANDATANGAN: "Menunggu tanda tangan kepala desa.",
    services.MENUNGGU_KECAMATAN: "Sudah ditandatangani desa; menunggu persetujuan camat.",
    services.MENUNGGU_KABUPATEN: "Menunggu persetujuan kabupaten.",
    services.SIAP_DIAMBIL: "Surat sudah terbit. Unduh PDF-nya atau ambil di kantor desa.",
    services.SUDAH_DIAMBIL: "Surat sudah diambil.",
    services.DITOLAK: "Permohonan ditolak.",
    services.DIKEMBALIKAN: "Permohonan dikembalikan untuk diperbaiki.",
    services.DIBATALKAN: "Permohonan dibatalkan.",
}


#: Statuses in which the request waits on the village or an upper level (the page refreshes itself).
MENUNGGU = (services.SEDANG_DIPERIKSA, services.MENUNGGU_TANDATANGAN, services.MENUNGGU_KECAMATAN,
            services.MENUNGGU_KABUPATEN)


def _engine():
    return current_app.extensions["kawasan"].engine


@bp.route("")
@bp.requires(warga=True)
def beranda():
    """My and my family's requests, newest first."""
    rows = call_api(PermohonanList, "get", {"limit": 50})
    return render_page("portal/mandiri/beranda.html", rows=rows, lencana=LENCANA, keterangan=KETERANGAN)


def _anggota() -> list[tuple[str, str]]:
    data = call_api(OwnData, "get")  # audited read of the resident's own family
    return [(data["saya"]["id"], f"{data['saya']['nama']} (saya sendiri)")] + [
        (m["id"], f"{m['nama']} ({m['hubungan_keluarga']})".replace(" (None)", "")) for m in data["keluarga"]
    ]


@bp.route("/ajukan", methods=["GET", "POST"])
@bp.requires(warga=True)
def ajukan():
    """Request a letter: pick the type, then whom it is for and the fields that type asks for."""
    daftar = call_api(JenisList, "get")  # only the types this desa offers online
    by_kode = {j["kode"]: j for j in daftar}
    data = form_data() if request.method == "POST" else {"jenis": request.args.get("jenis", "")}
    jenis = by_kode.get(data.get("jenis", ""))
    errors: dict[str, str] = {}
    status = 200
    anggota = _anggota() if jenis else []
    if request.method == "POST":
        if jenis is None:
            errors["jenis"] = "pilih jenis surat"
        else:
            if data.get("untuk") not in {a[0] for a in anggota}:
                errors["untuk"] = "pilih untuk siapa surat ini"
            for isian in jenis["isian"]:
                if isian["wajib"] and not data.get(f"isian_{isian['kode']}"):
                    errors[f"isian_{isian['kode']}"] = f"{isian['nama']} wajib diisi"
                elif isian["tipe"] == "number" and not data.get(f"isian_{isian['kode']}", "0").isdigit():
                    errors[f"isian_{isian['kode']}"] = "harus berupa angka"
        if not errors:
            isian = {i["kode"]: data[f"isian_{i['kode']}"] for i in jenis["isian"] if data.get(f"isian_{i['kode']}")}
            try:
                made, _ = call_api(PermohonanList, "post", {"jenis": jenis["kode"], "isian": isian,
                                                             "penduduk_id": uuid.UUID(data["untuk"])})
            except ApiRefused as exc:
                errors = {k.replace("isian.", "isian_"): v for k, v in exc.errors.items()} or {"jenis": exc.pesan}
            else:
                flash("Permohonan terkirim." + (" Unggah lampirannya agar bisa diperiksa."
                                                if made["lampiran_kurang"] else ""), "ok")
                return redirect(url_for("portal_mandiri.rincian", permohonan_id=made["id"]), 303)
        status = 422
    return render_page("portal/mandiri/ajukan.html", http_status=status, jenis=jenis,
                       pilihan_jenis=[(j["kode"], j["nama"]) for j in daftar],
                       anggota=anggota, data=data, errors=errors)


@bp.route("/<permohonan_id>")
@bp.requires(warga=True)
def rincian(permohonan_id: str):
    """A request's status at every level, its attachments (upload what is missing) and the letter."""
    return _rincian_page(_permohonan_or_404(permohonan_id))


def _rincian_page(permohonan, *, errors=None, http_status=200):
    data = _view(desa_db(), permohonan)
    return render_page("portal/mandiri/rincian.html", http_status=http_status, p=data, lencana=LENCANA,
                       keterangan=KETERANGAN, jenis=katalog.BY_KODE[permohonan.jenis_kode], errors=errors or {},
                       pilihan_lampiran=[(nama, nama) for nama in data["lampiran_kurang"]],
                       token=permohonan.token_verifikasi, menunggu=MENUNGGU,
                       boleh_batal=permohonan.status in services.OPEN | {services.DIKEMBALIKAN}
                       and permohonan.pemohon == g.principal.subject,
                       boleh_unggah=permohonan.status in (services.BELUM_LENGKAP, services.SEDANG_DIPERIKSA,
                                                          services.DIKEMBALIKAN))


@bp.route("/<permohonan_id>/lampiran", methods=["POST"])
@bp.requires(warga=True)
def unggah(permohonan_id: str):
    """Upload one attachment (checked by content and size by the API's own view)."""
    permohonan = _permohonan_or_404(permohonan_id)
    errors: dict[str, str] = {}
    if not request.form.get("nama"):
        errors["nama"] = "pilih lampiran yang diunggah"
    upload = request.files.get("berkas")
    if upload is None or not upload.filename:
        errors["berkas"] = "pilih berkas (PDF, JPG atau PNG, paling besar 2 MB)"
    if not errors:
        try:
            call_api(Lampiran, "post", permohonan_id)
        except ApiRefused as exc:
            errors = exc.errors or {"berkas": exc.pesan}
            desa_db().rollback()
        else:
            flash(f"Lampiran \u201c{request.form['nama']}\u201d terunggah.", "ok")
            return redirect(url_for("portal_mandiri.rincian", permohonan_id=permohonan_id), 303)
    return _rincian_page(_permohonan_or_404(permohonan_id) if errors else permohonan, errors=errors,
                         http_status=422)


@bp.route("/<permohonan_id>/batalkan", methods=["POST"])
@bp.requires(warga=True)
def batalkan(permohonan_id: str):
    """The requester cancels before the letter is issued."""
    session = desa_db()
    permohonan = _permohonan_or_404(permohonan_id)
    try:
        if permohonan.pemohon != g.principal.subject:
            raise services.NotAllowed("hanya pemohon yang dapat membatalkan")
        services.batalkan(session, permohonan, g.principal)
    except (services.WrongState, services.NotAllowed) as exc:
        session.rollback()
        return _rincian_page(_permohonan_or_404(permohonan_id), errors={"aksi": str(exc).split(" / ")[0]},
                             http_status=409)
    session.commit()
    record(_engine(), "surat_batalkan", aktor=g.principal, desa_kode=current_desa().kode,
           objek=f"permohonan:{permohonan.public_id}")
    flash("Permohonan dibatalkan.", "ok")
    return redirect(url_for("portal_mandiri.rincian", permohonan_id=permohonan_id), 303)


nav_item("Layanan Mandiri", "portal_mandiri.beranda", level="desa", urutan=10)
nav_item("Ajukan surat", "portal_mandiri.ajukan", level="desa", urutan=11)
