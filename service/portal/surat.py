"""The village letter desk (operator, sekdes, kepala desa): the request queue, verify, sign, issue, hand over,
print, reject or return with a reason. Every action is the surat state machine's own
(:mod:`service.surat.services`); reads are the API's views (:mod:`service.surat.resources`)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for

from service.audit.services import record
from service.auth.roles import DESA_STAFF
from service.portal.web import PortalBlueprint, call_api, form_data, nav_item, render_page
from service.surat import katalog, services
from service.surat.resources import PermohonanList, _permohonan_or_404, _view
from service.tenancy import current_desa, desa_db

bp = PortalBlueprint("portal_surat", __name__, url_prefix="/surat")

#: Statuses the desk still has to act on (the default queue), in the order a request moves.
PERLU_TINDAKAN = (services.BELUM_LENGKAP, services.SEDANG_DIPERIKSA, services.MENUNGGU_TANDATANGAN,
                  services.DIKEMBALIKAN, services.SIAP_DIAMBIL)
SEMUA_STATUS = (*PERLU_TINDAKAN, services.MENUNGGU_KECAMATAN, services.MENUNGGU_KABUPATEN, services.SUDAH_DIAMBIL,
                services.DITOLAK, services.DIBATALKAN)

#: How each status looks (a badge class), shared by the desk, Layanan Mandiri and the workspaces.
LENCANA = {
    services.BELUM_LENGKAP: "lencana-tunggu", services.SEDANG_DIPERIKSA: "lencana-info",
    services.MENUNGGU_TANDATANGAN: "lencana-info", services.MENUNGGU_KECAMATAN: "lencana-info",
    services.MENUNGGU_KABUPATEN: "lencana-info", services.SIAP_DIAMBIL: "lencana-ok",
    services.SUDAH_DIAMBIL: "lencana-ok", services.DITOLAK: "lencana-galat", services.DIKEMBALIKAN: "lencana-tunggu",
    services.DIBATALKAN: "",
}

AKSI = {
    "verifikasi": "Permohonan diverifikasi.",
    "tandatangani": "Surat ditandatangani.",
    "serahkan": "Surat tercatat sudah diambil.",
    "tolak": "Permohonan ditolak.",
    "kembalikan": "Permohonan dikembalikan ke pemohon.",
}


def _engine():
    return current_app.extensions["kawasan"].engine


def langkah_sekarang(permohonan) -> str | None:
    """The village role whose turn it is (the chain the request started its round with)."""
    chain = permohonan.rantai_desa or services.village_chain(desa_db())
    if permohonan.status == services.MENUNGGU_TANDATANGAN:
        return "kepala_desa"
    if permohonan.status in (services.SEDANG_DIPERIKSA, services.BELUM_LENGKAP):
        return chain[min(permohonan.langkah, len(chain) - 1)]
    return None


@bp.route("")
@bp.requires(*DESA_STAFF)
def antrian():
    """The desk's queue: what still needs the village (or one status)."""
    status = request.args.get("status", "")
    args = {"limit": 200, **({"status": status} if status in SEMUA_STATUS else {})}
    rows = call_api(PermohonanList, "get", args)
    if not args.get("status"):
        rows = [r for r in rows if r["status"] in PERLU_TINDAKAN]
        rows.sort(key=lambda r: (PERLU_TINDAKAN.index(r["status"]), r["dibuat_pada"]))
    return render_page("portal/surat/antrian.html", rows=rows, status=status, semua_status=SEMUA_STATUS,
                       lencana=LENCANA)


@bp.route("/<permohonan_id>")
@bp.requires(*DESA_STAFF)
def rincian(permohonan_id: str):
    """One request: the resident, the fields, attachments, history at every level, and the actions."""
    session = desa_db()
    permohonan = _permohonan_or_404(permohonan_id)
    data = _view(session, permohonan)
    record(_engine(), "baca_data_pribadi", aktor=g.principal, desa_kode=current_desa().kode,
           objek=f"permohonan:{permohonan.public_id}")
    return _rincian_page(permohonan, data)


def _rincian_page(permohonan, data, *, errors=None, status=200):
    jenis = katalog.BY_KODE[permohonan.jenis_kode]
    return render_page("portal/surat/rincian.html", http_status=status, p=data, jenis=jenis, lencana=LENCANA,
                       langkah=langkah_sekarang(permohonan), errors=errors or {},
                       bisa_tolak=permohonan.status in (services.SEDANG_DIPERIKSA, services.MENUNGGU_TANDATANGAN,
                                                         services.BELUM_LENGKAP),
                       peran_saya={grant.peran.value for grant in g.principal.grants})


@bp.route("/<permohonan_id>/<aksi>", methods=["POST"])
@bp.requires(*DESA_STAFF)
def tindakan(permohonan_id: str, aksi: str):
    """A desk action; a refusal (wrong turn, wrong state, no reason) re-renders the request with the message."""
    session = desa_db()
    permohonan = _permohonan_or_404(permohonan_id)
    if aksi not in AKSI:
        from flask import abort

        abort(404)
    errors: dict[str, str] = {}
    alasan = form_data().get("alasan", "")
    try:
        if aksi == "verifikasi":
            services.verifikasi(session, permohonan, g.principal)
        elif aksi == "tandatangani":
            base_url = current_app.extensions["kawasan"].settings.public_url
            services.tandatangani(session, permohonan, g.principal, base_url=base_url)
        elif aksi == "serahkan":
            services.serahkan(session, permohonan, g.principal)
        elif len(alasan) < 3:
            errors["alasan"] = "alasan wajib diisi (paling sedikit 3 huruf)"
        else:
            services.tolak_atau_kembalikan(session, permohonan, g.principal, kembalikan=aksi == "kembalikan",
                                           alasan=alasan[:1000])
    except (services.WrongState, services.NotAllowed, services.InvalidRequest) as exc:
        errors["aksi"] = str(exc).split(" / ", 1)[0]
    if errors:
        session.rollback()
        permohonan = _permohonan_or_404(permohonan_id)
        return _rincian_page(permohonan, _view(session, permohonan), errors=errors, status=422)
    session.commit()
    record(_engine(), f"surat_{aksi}", aktor=g.principal, desa_kode=current_desa().kode,
           objek=f"permohonan:{permohonan.public_id}")
    flash(AKSI[aksi], "ok")
    return redirect(url_for("portal_surat.rincian", permohonan_id=permohonan_id), 303)


nav_item("Layanan surat", "portal_surat.antrian", level="desa", urutan=20)
