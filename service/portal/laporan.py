"""The village admin's reports page: B.1 Buku Induk and B.2 Buku Mutasi Penduduk (xlsx or PDF) and the register
export (xlsx or CSV). For the desa's operator, sekdes and kepala desa.

A small result is the download itself. A long one becomes a background report (``berkas_laporan``): a Buku PDF
past ``laporan_resources.PDF_MAX_BARIS`` rows (the API's own 202), or a register export of more than
:data:`EKSPOR_SEKETIKA_MAKS` residents (``penduduk.ekspor``). Its status page shows a ``<progress>`` bar that htmx
polls (a ``<noscript>`` refresh without JavaScript) and then the download link, which is the API's
``/laporan/<id>/berkas`` (the cookie authenticates it; it audits ``ekspor_data_pribadi``). Every file goes
through the API views' own code (:func:`call_api`), so the page and the API export and audit alike. The forms
are POSTed: only a report's UUID ever reaches a URL.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import marshmallow as ma
from flask import abort, redirect, request, url_for
from sqlalchemy import text

from service.auth.roles import DESA_STAFF
from service.penduduk.impor_resources import EksporArgs, EksporView
from service.penduduk.laporan_resources import (
    BackgroundReport,
    BukuInduk,
    BukuIndukArgs,
    BukuMutasi,
    BukuMutasiArgs,
    queue_report,
)
from service.penduduk.laporan_tasks import REGISTER
from service.portal.web import ApiRefused, PortalBlueprint, call_api, field_errors, form_data, nav_item, render_page
from service.tenancy import current_desa, desa_db

bp = PortalBlueprint("portal_laporan", __name__, url_prefix="/kelola/laporan")

#: The register export is written in the request up to this many residents (about 3 s as xlsx; 100,000 take
#: ~30 s, too close to the web worker's timeout); a larger register is exported by a worker.
EKSPOR_SEKETIKA_MAKS = 10_000

JUDUL = {"B.1": "Buku Induk Penduduk", "B.2": "Buku Mutasi Penduduk", REGISTER: "Ekspor data penduduk"}


def _riwayat(limit: int = 10) -> list[dict[str, Any]]:
    """The desa's latest background reports (no content, no parameters beyond the period)."""
    rows = desa_db().execute(text(
        "SELECT public_id AS id, buku, format, parameter, status, baris, dibuat_pada, selesai_pada "
        "FROM berkas_laporan ORDER BY dibuat_pada DESC, id DESC LIMIT :n"), {"n": limit}).mappings().all()
    return [dict(r) for r in rows]


def _index(*, errors: dict[str, str] | None = None, nilai: dict[str, str] | None = None, status: int = 200):
    today = date.today()
    nilai = {"dari": today.replace(day=1).isoformat(), "sampai": today.isoformat(), **(nilai or {})}
    return render_page("portal/laporan/index.html", http_status=status, errors=errors or {}, nilai=nilai,
                       riwayat=_riwayat(), judul=JUDUL)


@bp.route("")
@bp.requires(*DESA_STAFF)
def index():
    """The forms and the latest background reports."""
    return _index()


def _deliver(result):
    """The API view's answer: the file itself, or a queued report (202) → its status page."""
    if isinstance(result, tuple) and result[1] == 202:
        return redirect(url_for(".status", laporan_id=result[0]["id"]), 303)
    return result


@bp.route("/buku-induk", methods=["POST"])
@bp.requires(*DESA_STAFF)
def buku_induk():
    """B.1 as xlsx or PDF (audited by the API view)."""
    try:
        args = BukuIndukArgs().load(form_data())
    except ma.ValidationError as exc:
        return _index(errors=field_errors(exc), status=422)
    return _deliver(call_api(BukuInduk, "get", args))


@bp.route("/buku-mutasi", methods=["POST"])
@bp.requires(*DESA_STAFF)
def buku_mutasi():
    """B.2 for a period as xlsx or PDF (audited by the API view); a bad period re-renders with the message."""
    values = form_data()
    try:
        args = BukuMutasiArgs().load(values)
        return _deliver(call_api(BukuMutasi, "get", args))
    except ma.ValidationError as exc:
        return _index(errors=field_errors(exc), nilai=values, status=422)
    except ApiRefused as exc:
        if exc.status >= 500 or not exc.errors:
            raise
        return _index(errors=exc.errors, nilai=values, status=422)


@bp.route("/ekspor", methods=["POST"])
@bp.requires(*DESA_STAFF)
def ekspor():
    """The whole register as xlsx or CSV: at once when small (the API's view, audited there), else a report."""
    try:
        args = EksporArgs().load(form_data())
    except ma.ValidationError as exc:
        return _index(errors=field_errors(exc), status=422)
    if desa_db().scalar(text("SELECT count(*) FROM penduduk")) > EKSPOR_SEKETIKA_MAKS:
        return _deliver(queue_report(REGISTER, args["format"], {}))
    return call_api(EksporView, "get", args)


@bp.route("/<uuid:laporan_id>")
@bp.requires(*DESA_STAFF)
def status(laporan_id: uuid.UUID):
    """A background report's progress (htmx polls the status part until it is finished), then the download."""
    try:
        laporan = call_api(BackgroundReport, "get", str(laporan_id))
    except ApiRefused as exc:
        abort(exc.status, exc.pesan)
    template = "portal/laporan/_status.html" if request.headers.get("HX-Request") else "portal/laporan/status.html"
    return render_page(template, laporan=laporan, judul=JUDUL, selesai=laporan["status"] == "selesai",
                       berkas_url=url_for("penduduk_laporan.BackgroundReportFile", kode=current_desa().kode,
                                          laporan_id=laporan_id))


nav_item("Laporan", "portal_laporan.index", "desa", urutan=23)
