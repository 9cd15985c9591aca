"""Village admin: settings as pages. The desa's local names (*sebutan*, :mod:`tenants.localnames`), its letter
number format and verification chain (:mod:`service.surat.pengaturan`, the same rules and schema as the API),
and PIN resets for Layanan Mandiri (:func:`service.auth.services.issue_pin`).

Everyone on the desa's staff may read the settings and reset a PIN (as in the API); only the sekdes and the
kepala desa may change settings (the API's ``EDITORS``). Every change is audited; a new PIN is shown once, on
the answer to the POST, and never stored or logged in clear.
"""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import current_app, flash, g, redirect, request, url_for

from service.audit.services import record
from service.auth import services as auth_services
from service.auth.roles import DESA_STAFF
from service.auth.schemas import NikArgs
from service.penduduk import services as penduduk_services
from service.penduduk.models import Penduduk
from service.penduduk.nik import normalize
from service.portal.web import PortalBlueprint, field_errors, indonesian, nav_item, render_page
from service.surat import pengaturan as surat_pengaturan
from service.surat.pengaturan_resources import EDITORS, SuratPengaturanArgs
from service.surat.services import InvalidRequest
from service.tenancy import current_desa, desa_db
from tenants.localnames import MAX_SEBUTAN, NATIONAL_DEFAULTS, InvalidSebutan, save_sebutan, sebutan

bp = PortalBlueprint("portal_pengaturan", __name__, url_prefix="/kelola/pengaturan")

LABEL_SEBUTAN = {
    "sebutan_desa": "Sebutan desa",
    "sebutan_kepala_desa": "Sebutan kepala desa",
    "sebutan_dusun": "Sebutan dusun (wilayah di bawah desa)",
    "sebutan_camat": "Sebutan camat",
}
LABEL_SURAT = {
    "format_nomor": "Format nomor surat",
    "nomor_per": "Urutan nomor",
    "skema_klasifikasi": "Kode klasifikasi",
    "kode_desa": "Kode desa pada nomor",
    "rantai_verifikasi": "Urutan pemeriksaan",
}
NAMA_PERAN = {"operator_desa": "Operator", "sekdes": "Sekretaris desa", "kepala_desa": "Kepala desa"}
PILIHAN_NOMOR_PER = [("klasifikasi", "Satu urutan per kode klasifikasi"), ("tahun", "Satu urutan per tahun")]
PILIHAN_SKEMA = [("83", "Permendagri 83/2022"), ("78", "Permendagri 78/2012")]


def _engine():
    return current_app.extensions["kawasan"].engine


def _audit(aksi: str, objek: str | None = None, detail: dict[str, Any] | None = None) -> None:
    record(_engine(), aksi, aktor=g.principal, desa_kode=current_desa().kode, objek=objek, detail=detail)


def _boleh_ubah() -> bool:
    return g.principal.has_role(EDITORS, current_desa().kode)


def _render(*, http_status: int = 200, form: str | None = None, errors: dict[str, str] | None = None,
            nilai: dict[str, Any] | None = None, galat: str | None = None, pin_baru: dict[str, str] | None = None):
    session = desa_db()
    surat = surat_pengaturan.effective_settings(session)
    nama = sebutan(session)
    return render_page(
        "portal/pengaturan/index.html", http_status=http_status, form=form, errors=errors or {},
        nilai=nilai or {}, galat=galat, pin_baru=pin_baru, nama_lokal=nama, label_sebutan=LABEL_SEBUTAN,
        max_sebutan=MAX_SEBUTAN, surat=surat, label_surat=LABEL_SURAT, nama_peran=NAMA_PERAN,
        pilihan_nomor_per=PILIHAN_NOMOR_PER, pilihan_skema=PILIHAN_SKEMA, boleh_ubah=_boleh_ubah(),
    )


@bp.route("")
@bp.requires(*DESA_STAFF)
def index():
    """The desa's settings: local names, letter numbering and verification chain, PIN resets."""
    return _render()


@bp.route("/sebutan", methods=["POST"])
@bp.requires(*EDITORS)
def simpan_sebutan():
    """The desa's own names for its levels (a blank one goes back to the kabupaten's default)."""
    session = desa_db()
    changes = {key: request.form.get(key, "") for key in NATIONAL_DEFAULTS if key in request.form}
    try:
        diubah = save_sebutan(session, changes)
    except InvalidSebutan as exc:
        session.rollback()
        return _render(http_status=422, form="sebutan", errors={exc.field: indonesian(str(exc))}, nilai=changes)
    session.commit()
    if diubah:
        _audit("pengaturan_desa_diubah", objek="pengaturan:sebutan", detail={"diubah": sorted(diubah)})
        flash("Sebutan tersimpan.", "ok")
    else:
        flash("Tidak ada perubahan.", "info")
    return redirect(url_for(".index"), 303)


def _surat_changes(current: dict[str, Any]) -> dict[str, Any]:
    """The letter settings the form changes, in the API's shapes (blank text → back to the default)."""
    form = request.form
    submitted: dict[str, Any] = {
        "format_nomor": form.get("format_nomor", "").strip() or None,
        "nomor_per": form.get("nomor_per") or None,
        "skema_klasifikasi": form.get("skema_klasifikasi") or None,
        "kode_desa": form.get("kode_desa", "").strip() or None,
        # The chain always ends with the kepala desa, who signs; the form only chooses the steps before.
        "rantai_verifikasi": [r for r in surat_pengaturan.VILLAGE_ROLES if r in form.getlist("rantai")
                              or r == "kepala_desa"],
    }
    return {name: value for name, value in submitted.items() if value != current.get(name)}


@bp.route("/surat", methods=["POST"])
@bp.requires(*EDITORS)
def simpan_surat():
    """Letter number format, numbering sequence, classification scheme and the village verification chain."""
    session = desa_db()
    current = surat_pengaturan.effective_settings(session)
    changes = _surat_changes(current)
    nilai = {**current, **{k: v for k, v in changes.items() if v is not None},
             **{k: request.form.get(k, "") for k in ("format_nomor", "kode_desa")}}
    if not changes:
        flash("Tidak ada perubahan.", "info")
        return redirect(url_for(".index"), 303)
    try:
        args = SuratPengaturanArgs().load(changes)
        detail = surat_pengaturan.save_settings(session, args)
    except ma.ValidationError as exc:
        session.rollback()
        return _render(http_status=422, form="surat", errors=field_errors(exc), nilai=nilai)
    except InvalidRequest as exc:
        session.rollback()
        return _render(http_status=422, form="surat", errors={exc.field: indonesian(str(exc))}, nilai=nilai)
    session.commit()
    _audit("pengaturan_surat_diubah", objek="pengaturan:surat", detail=detail)
    flash("Pengaturan surat tersimpan.", "ok")
    return redirect(url_for(".index"), 303)


@bp.route("/pin", methods=["POST"])
@bp.requires(*DESA_STAFF)
def reset_pin():
    """Issue or reset a resident's Layanan Mandiri PIN (NIK or the resident's public id in the body, never in a
    URL). The new PIN is shown once on this answer; the resident must change it at the next sign-in."""
    session = desa_db()
    penduduk: Penduduk | None = None
    if request.form.get("penduduk"):
        try:
            penduduk = penduduk_services.get_penduduk(session, uuid.UUID(request.form["penduduk"]))
        except (ValueError, penduduk_services.NotFound):
            return _render(http_status=404, form="pin", errors={"nik": "penduduk tidak ditemukan"})
    else:
        nik = normalize(request.form.get("nik", ""))
        try:
            NikArgs().load({"nik": nik} if nik else {})
        except ma.ValidationError as exc:
            return _render(http_status=422, form="pin", errors=field_errors(exc), nilai={"nik": nik})
        penduduk = penduduk_services.find_by_nik(session, nik)
        if penduduk is None:
            return _render(http_status=404, form="pin", errors={"nik": "NIK tidak terdaftar di desa ini"},
                           nilai={"nik": nik})
    if penduduk.status_dasar != penduduk_services.HIDUP:
        return _render(http_status=409, form="pin", errors={"nik": "hanya untuk penduduk yang hidup di desa ini"})
    pin = auth_services.issue_pin(session, penduduk.nik)
    session.commit()
    _audit("pin_diterbitkan", objek=f"penduduk:{penduduk.public_id}")
    return _render(pin_baru={"pin": pin, "nama": penduduk.nama, "public_id": str(penduduk.public_id)})


nav_item("Pengaturan", "portal_pengaturan.index", "desa", urutan=80)
