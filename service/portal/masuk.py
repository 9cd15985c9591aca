"""The site's front page (``/``: the kabupaten, its kecamatan and villages, the ways in), sign-in pages: staff
(username + password), residents (desa + NIK + PIN, then the forced first PIN change), sign-out, the signed-in
home and the static files. The rules, rate limits and locks are those of the API's
sign-in (:func:`service.auth.resources._sign_in`); the browser gets the portal cookie session
(:mod:`service.auth.sessions`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import marshmallow as ma
from flask import current_app, g, redirect, request, send_from_directory, url_for
from sqlalchemy import select, text
from sqlalchemy.orm import aliased
from werkzeug.exceptions import HTTPException

from service.audit.services import record
from service.auth import services
from service.auth.principal import Kind
from service.auth.resources import _sign_in
from service.auth.schemas import ChangePinArgs, LoginArgs
from service.auth.sessions import end_session, start_session
from service.portal.web import (
    STATIC_DIR,
    PortalBlueprint,
    field_errors,
    find_desa_ref,
    form_data,
    indonesian,
    landing_url,
    nav_item,
    problem_message,
    render_page,
    safe_next,
)
from service.regions.codes import parse_kode
from service.regions.models import WilayahAdministrasi
from tenants.localnames import default_pengaturan
from tenants.models import Tenant

bp = PortalBlueprint("portal", __name__, desa_scoped=False)


def _engine():
    return current_app.extensions["kawasan"].engine


# --- the front page -------------------------------------------------------------------------------------


@dataclass
class Kecamatan:
    kode: str
    nama: str
    desa: list[tuple[str, str]] = field(default_factory=list)  # (name, slug)


@dataclass
class Kabupaten:
    kode: str
    nama: str
    sebutan_desa: str  # the kabupaten's word for a desa ("Dusun" in Bungo)
    kecamatan: list[Kecamatan] = field(default_factory=list)


def daftar_wilayah() -> list[Kabupaten]:
    """Every ready desa tenant under its kecamatan and kabupaten, in name order: one statement."""
    desa, kec, kab = (aliased(WilayahAdministrasi, name=n) for n in ("desa", "kec", "kab"))
    with _engine().connect() as conn:
        rows = conn.execute(
            select(Tenant.kode, Tenant.slug, desa.nama, kec.kode.label("kec_kode"), kec.nama.label("kec_nama"),
                   kab.kode.label("kab_kode"), kab.nama.label("kab_nama"))
            .join(desa, desa.kode == Tenant.kode)
            .join(kec, kec.kode == desa.induk_kode)
            .join(kab, kab.kode == kec.induk_kode)
            .where(Tenant.status == "ready")
            .order_by(kab.kode, kec.nama, desa.nama)
        ).all()
    out: list[Kabupaten] = []
    for r in rows:
        if not out or out[-1].kode != r.kab_kode:
            names = default_pengaturan(parse_kode(r.kab_kode))
            out.append(Kabupaten(r.kab_kode, r.kab_nama, names["sebutan_desa"]))
        kabupaten = out[-1]
        if not kabupaten.kecamatan or kabupaten.kecamatan[-1].kode != r.kec_kode:
            kabupaten.kecamatan.append(Kecamatan(r.kec_kode, r.kec_nama))
        kabupaten.kecamatan[-1].desa.append((r.nama, r.slug or r.kode.replace(".", "")))
    return out


#: What ``/`` answers API clients (no ``Accept``, ``*/*`` or JSON first): where the API is.
INDEKS_API = {"name": "Kawasan", "api": "/api/v1/openapi.json", "docs": "/api/v1/docs", "desa": "/api/v1/desa"}


@bp.route("/")
@bp.public
def depan():
    """The front page for browsers (they ask for text/html first); the API's JSON index for everyone else."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        response = current_app.json.response(INDEKS_API)
    else:
        html, _ = render_page("portal/depan.html", kabupaten=daftar_wilayah())
        response = current_app.make_response(html)
        if g.get("principal") is None:
            response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Accept")
    return response


def _failure(exc: HTTPException) -> tuple[str, int]:
    message = "Data masuk salah. Periksa kembali lalu coba lagi." if exc.code == 401 else problem_message(exc)
    return indonesian(message or "gagal masuk"), exc.code or 400


def _after_sign_in(principal, next_path: str | None):
    start_session(principal)
    if principal.must_change_pin:
        return redirect(url_for("portal.ganti_pin", next=next_path or ""), 303)
    return redirect(next_path or landing_url(principal), 303)


@bp.route("/masuk", methods=["GET", "POST"])
@bp.public
def masuk():
    """Staff sign-in."""
    next_path = safe_next(request.values.get("next"))
    errors: dict[str, str] = {}
    galat, status = None, 200
    data = form_data() if request.method == "POST" else {}
    if request.method == "POST":
        try:
            args = LoginArgs().load({k: data.get(k, "") for k in ("username", "password") if k in data} or {})
        except ma.ValidationError as exc:
            errors, status = field_errors(exc), 422
        else:
            try:
                return _after_sign_in(_sign_in(args), next_path)
            except HTTPException as exc:
                galat, status = _failure(exc)
    return render_page("portal/masuk.html", http_status=status, errors=errors, galat=galat, data=data,
                       next_path=next_path)


def _desa_choices() -> list[tuple[str, str]]:
    with _engine().connect() as conn:
        rows = conn.execute(text(
            "SELECT t.kode, t.slug, w.nama, k.nama AS kecamatan FROM kawasan.tenant t "
            "JOIN kawasan.wilayah_administrasi w ON w.kode = t.kode "
            "JOIN kawasan.wilayah_administrasi k ON k.kode = w.induk_kode "
            "WHERE t.status = 'ready' ORDER BY w.nama, k.nama LIMIT 2000"
        )).all()
    return [(r.slug or r.kode.replace(".", ""), f"{r.nama} (Kec. {r.kecamatan})") for r in rows]


@bp.route("/masuk/warga", methods=["GET", "POST"])
@bp.public
def masuk_warga():
    """Residents' sign-in to Layanan Mandiri: desa + NIK + PIN."""
    next_path = safe_next(request.values.get("next"))
    errors: dict[str, str] = {}
    galat, status = None, 200
    data = form_data() if request.method == "POST" else {"desa": request.args.get("desa", "")}
    if request.method == "POST":
        ref = find_desa_ref(data["desa"]) if data.get("desa") else None
        raw = {k: data[k] for k in ("nik", "pin") if k in data}
        if ref is not None:
            raw["desa"] = ref.kode
        try:
            args = LoginArgs().load(raw)
        except ma.ValidationError as exc:
            errors, status = field_errors(exc), 422
        if ref is None:
            errors["desa"], status = "pilih desa Anda", 422
        if not errors:
            try:
                return _after_sign_in(_sign_in(args), next_path)
            except HTTPException as exc:
                galat, status = _failure(exc)
    return render_page("portal/masuk_warga.html", http_status=status, errors=errors, galat=galat, data=data,
                       next_path=next_path, pilihan_desa=_desa_choices())


@bp.route("/masuk/ganti-pin", methods=["GET", "POST"])
@bp.requires(any_principal=True, pin_change=True)
def ganti_pin():
    """A resident changes the PIN (required after the operator issued or reset it)."""
    principal = g.principal
    next_path = safe_next(request.values.get("next"))
    if principal.kind is not Kind.WARGA:
        return redirect(next_path or landing_url(principal), 303)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        data = form_data()
        try:
            args = ChangePinArgs().load({k: data[k] for k in ("pin_lama", "pin_baru") if k in data})
        except ma.ValidationError as exc:
            errors, status = field_errors(exc), 422
        else:
            if data.get("pin_ulang") != args["pin_baru"]:
                errors["pin_ulang"], status = "PIN baru tidak sama", 422
            elif args["pin_baru"] == args["pin_lama"]:
                errors["pin_baru"], status = "PIN baru harus berbeda dari PIN lama", 422
        if not errors:
            try:
                services.change_pin(_engine(), principal, args["pin_lama"], args["pin_baru"])
            except services.SignInFailed:
                errors["pin_lama"], status = "PIN lama salah", 422
            except ValueError as exc:
                errors["pin_baru"], status = indonesian(str(exc)), 422
            else:
                fresh = services._current_principal(_engine(), principal.subject)
                end_session()
                start_session(fresh)
                return redirect(next_path or landing_url(fresh), 303)
    return render_page("portal/ganti_pin.html", http_status=status, errors=errors, next_path=next_path,
                       wajib=principal.must_change_pin)


@bp.route("/keluar", methods=["POST"])
@bp.requires(any_principal=True, pin_change=True)
def keluar():
    """Sign out: the session ends at once (it lives in Redis)."""
    principal = g.principal
    record(_engine(), "logout", aktor=principal, desa_kode=principal.desa_kode)
    end_session()
    if principal.kind is Kind.WARGA and principal.desa_kode:
        ref = find_desa_ref(principal.desa_kode)
        return redirect(url_for("portal.masuk_warga", desa=ref.slug if ref else None), 303)
    return redirect(url_for("portal.masuk"), 303)


@bp.route("/beranda")
@bp.requires(any_principal=True)
def beranda():
    """The signed-in home: the pages this account may open."""
    return render_page("portal/beranda.html")


@bp.route("/static/portal/<path:filename>")
@bp.public
def static_file(filename: str):
    """CSS, JavaScript and vendored libraries (versioned URLs from ``static_url()``, cached a year)."""
    return send_from_directory(STATIC_DIR, filename, max_age=365 * 86400)


nav_item("Beranda", "portal.beranda", level="akun", urutan=100)
