"""The kecamatan workspace: the approval inbox (overdue first; approve, reject with a reason, return) with the
draft PDF beside it, and the letter SLA table. The kabupaten workspace mounts the same inbox pages
(:func:`inbox_pages`). Every read and decision is the API's own view (:mod:`service.surat.resources`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, flash, redirect, request, url_for
from sqlalchemy import text

from service.portal.surat import LENCANA
from service.portal.web import (
    ApiRefused,
    PortalBlueprint,
    call_api,
    field_errors,
    form_data,
    nav_item,
    render_page,
)
from service.surat import katalog
from service.surat.resources import UPPER, Decide, Inbox, InboxDraft, InboxItem, Sla
from service.surat.schemas import KeputusanArgs
from service.tenancy import current_region

bp = PortalBlueprint("portal_kecamatan", __name__, wilayah="kecamatan")

KEPUTUSAN = {"setuju": "Disetujui", "tolak": "Ditolak", "kembalikan": "Dikembalikan"}


def region_names(codes: list[str]) -> dict[str, str]:
    """Names of desa/kecamatan codes from the shared registry (one query)."""
    if not codes:
        return {}
    with current_app.extensions["kawasan"].engine.connect() as conn:
        rows = conn.execute(text("SELECT kode, nama FROM kawasan.wilayah_administrasi WHERE kode = ANY(:k)"),
                            {"k": list(set(codes))}).all()
    return {r.kode: r.nama for r in rows}


def inbox_pages(blueprint: PortalBlueprint) -> None:
    """Register the inbox pages on a kecamatan or kabupaten workspace blueprint."""
    name = blueprint.name

    @blueprint.route("/kotak-masuk")
    @blueprint.requires(*UPPER)
    def kotak_masuk():
        """Waiting items, overdue first then oldest; or the decided ones."""
        selesai = request.args.get("status") == "diputus"
        rows = call_api(Inbox, "get", {"status": "diputus" if selesai else "menunggu", "semua": False, "limit": 200})
        names = region_names([r["desa"] for r in rows])
        return render_page("portal/kecamatan/kotak_masuk.html", rows=rows, names=names, selesai=selesai,
                           keputusan_label=KEPUTUSAN, ws=name)

    @blueprint.route("/kotak-masuk/<int:item_id>", methods=["GET", "POST"])
    @blueprint.requires(*UPPER)
    def item(item_id: int):
        """One item: the request and its history on one side, the draft letter on the other; the decision."""
        errors: dict[str, str] = {}
        data: dict[str, Any] = {}
        if request.method == "POST":
            data = form_data()
            try:
                args = KeputusanArgs().load({k: data[k] for k in ("keputusan", "alasan") if k in data})
            except ma.ValidationError as exc:
                errors = field_errors(exc)
            else:
                try:
                    call_api(Decide, "post", args, item_id)
                except ApiRefused as exc:
                    errors = exc.errors if set(exc.errors) <= {"keputusan", "alasan"} and exc.errors else {
                        "keputusan": exc.pesan}
                else:
                    flash(f"Keputusan tersimpan: {KEPUTUSAN[args['keputusan']].lower()}.", "ok")
                    return redirect(url_for(f"{name}.kotak_masuk"), 303)
        row = call_api(InboxItem, "get", item_id)  # audited read of the request
        return render_page("portal/kecamatan/item.html", http_status=422 if errors else 200, item=row,
                           p=row["permohonan_detail"], jenis=katalog.BY_KODE[row["jenis"]],
                           nama_desa=region_names([row["desa"]]).get(row["desa"]),
                           errors=errors, data=data, keputusan_label=KEPUTUSAN, ws=name,
                           lencana=LENCANA)

    @blueprint.route("/kotak-masuk/<int:item_id>/draf")
    @blueprint.requires(*UPPER)
    def draf(item_id: int):
        """The draft PDF, allowed in a frame of this site only (the API's copy may not be framed)."""
        response = call_api(InboxDraft, "get", item_id)
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
        return response

    @blueprint.route("/sla")
    @blueprint.requires(*UPPER)
    def sla():
        """Hours each level took (median, p90) and overdue items, per desa."""
        data = call_api(Sla, "get")
        names = region_names([r["desa"] for r in data["per_desa"]] + [r["desa"][:8] for r in data["per_desa"]])
        return render_page("portal/kecamatan/sla.html", data=data, names=names, region=current_region(), ws=name)


inbox_pages(bp)
nav_item("Kotak masuk surat", "portal_kecamatan.kotak_masuk", level="kecamatan", urutan=20)
nav_item("SLA surat", "portal_kecamatan.sla", level="kecamatan", urutan=30)
