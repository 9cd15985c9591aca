"""The portal's web layer: page blueprints under the one policy layer, page rendering, pages for errors.

A :class:`PortalBlueprint` declares its views like an API blueprint (``@bp.requires(...)`` / ``@bp.public``,
the same ``_kawasan_policy`` attribute), so :func:`service.auth.policy.authorize_request` checks pages exactly
as it checks the API, and :func:`check_every_endpoint_declares_a_policy` refuses a page without a policy.

- ``PortalBlueprint(name, import_name)`` (``desa_scoped=True``) mounts under ``/desa/<slug>``; the slug (or
  the 10-digit/dotted code) becomes ``g.desa_kode_raw`` before the policy check, so roles, warga and
  :func:`service.tenancy.desa_db` work unchanged. ``wilayah="kecamatan"``/``"kabupaten"`` mounts under
  ``/kecamatan/<wilayah>`` or ``/kabupaten/<wilayah>`` like a region-scoped API blueprint
  (:func:`service.tenancy.current_region`). ``desa_scoped=False`` mounts at the root (sign-in pages).
- Pages fail as pages: 401 redirects to the sign-in page (with a safe ``next``), a warga who must change the
  first PIN is sent to the PIN page, other errors render ``portal/galat.html`` with the right status.
- :func:`render_page` renders with the common context (principal, desa, wilayah, sebutan, csrf_token, nav).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import flask
import marshmallow as ma
from flask import current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from service.auth.policy import PUBLIC, Policy, may_reach, policy_of
from service.auth.principal import Kind, Principal
from service.regions.codes import InvalidKode, Tingkat, parse_desa_kode, parse_kode

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static" / "portal"
_TEMPLATES = "templates"


class PortalBlueprint(flask.Blueprint):
    """A blueprint of HTML pages. See the module docstring for the URL layout and the contract."""

    #: Read by the policy layer: anonymous unsafe requests to portal pages must carry the CSRF token too.
    portal = True

    def __init__(self, name: str, import_name: str, desa_scoped: bool = True, *, wilayah: str | None = None,
                 url_prefix: str = "", **kwargs):
        if wilayah is not None:
            if wilayah not in ("kecamatan", "kabupaten"):
                raise ValueError("wilayah: 'kecamatan' or 'kabupaten'")
            desa_scoped = False
            url_prefix = f"/{wilayah}/<wilayah>{url_prefix}"
        elif desa_scoped:
            url_prefix = f"/desa/<slug>{url_prefix}"
        kwargs.setdefault("template_folder", _TEMPLATES)
        super().__init__(name, import_name, url_prefix=url_prefix or None, **kwargs)
        self.desa_scoped = desa_scoped
        self.wilayah = wilayah
        self.region_scoped = wilayah is not None
        if desa_scoped:
            self.url_value_preprocessor(_take_desa_slug)
        if wilayah is not None:
            from service.tenancy import take_region_kode

            self.url_value_preprocessor(take_region_kode)
            self.before_request(_check_level(wilayah))
        self.register_error_handler(HTTPException, _page_for_http_error)
        self.register_error_handler(Exception, _page_for_unexpected)
        self.after_request(_private_pages_not_cached)
        self.record_once(_install_app_hooks)

    def requires(self, *roles: str, warga: bool = False, clients: tuple[str, ...] = (),
                 any_principal: bool = False, pin_change: bool = False):
        """Declare who may open the page (same rules as :meth:`service.api.Blueprint.requires`)."""
        policy = Policy.declare(*roles, warga=warga, clients=clients, any_principal=any_principal,
                                pin_change=pin_change)

        def decorator(fn):
            fn._kawasan_policy = policy
            return fn

        return decorator

    def public(self, fn):
        """Declare the page open to everyone."""
        fn._kawasan_policy = PUBLIC
        return fn


# --- desa by slug ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesaRef:
    kode: str  # dotted
    slug: str
    nama: str


_CACHE_SECONDS = 60.0
_by_key: dict[str, tuple[float, DesaRef | None]] = {}


def find_desa_ref(slug_or_kode: str) -> DesaRef | None:
    """A provisioned desa by its slug or code (either form), from the tenant registry; cached a minute."""
    hit = _by_key.get(slug_or_kode)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        kode = parse_desa_kode(slug_or_kode).dotted
    except InvalidKode:
        kode = None
    with current_app.extensions["kawasan"].engine.connect() as conn:
        row = conn.execute(
            text("SELECT t.kode, t.slug, w.nama FROM kawasan.tenant t JOIN kawasan.wilayah_administrasi w "
                 "ON w.kode = t.kode WHERE t.slug = :s OR t.kode = :k"),
            {"s": slug_or_kode, "k": kode},
        ).first()
    ref = DesaRef(row.kode, row.slug or row.kode.replace(".", ""), row.nama) if row else None
    if len(_by_key) > 10_000:
        _by_key.clear()
    _by_key[slug_or_kode] = (now + _CACHE_SECONDS, ref)
    return ref


def desa_url_slug(kode: str) -> str:
    """The slug to put in a URL for this desa (its code's 10 digits if it has none)."""
    ref = find_desa_ref(kode)
    return ref.slug if ref else kode.replace(".", "")


def _take_desa_slug(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values is None or "slug" not in values:
        return
    raw = values.pop("slug")
    ref = find_desa_ref(raw)
    g.desa_slug = ref.slug if ref else raw
    # An unknown slug is passed on as it is: the policy layer answers 404 for a code that does not parse.
    g.desa_kode_raw = ref.kode if ref else raw


def _check_level(wilayah: str):
    def check() -> None:
        region = g.get("region_kode")
        if region is not None and parse_kode(region).tingkat is not Tingkat(wilayah):
            flask.abort(404, f"{region} bukan {wilayah}")

    return check


def _fill_scope(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for`` inside a desa or region page fills ``slug``/``wilayah`` with the current one."""
    url_map = current_app.url_map
    if "slug" not in values and g.get("desa_slug") and url_map.is_endpoint_expecting(endpoint, "slug"):
        values["slug"] = g.desa_slug
    if "wilayah" not in values and g.get("region_kode") and url_map.is_endpoint_expecting(endpoint, "wilayah"):
        values["wilayah"] = g.region_kode


def _install_app_hooks(state) -> None:
    app = state.app
    if app.extensions.get("kawasan_portal"):
        return
    app.extensions["kawasan_portal"] = True
    app.url_defaults(_fill_scope)
    app.add_template_global(csrf_token)
    app.add_template_global(static_url)
    app.add_template_filter(waktu)
    app.add_template_filter(tanggal)
    # A URL under a page prefix that matches no route is a page too; everything else keeps the API's problem+json.
    api_handler = app.error_handler_spec[None][None].get(HTTPException)
    if api_handler is not None:
        def not_found(error: HTTPException):
            if request.path.startswith(PAGE_PREFIXES):
                return _page_for_http_error(error)
            return api_handler(error)

        app.register_error_handler(404, not_found)
        app.register_error_handler(405, not_found)


#: Paths served by portal pages (the API lives under /api/, /oauth/, /.well-known/ and /verifikasi/).
PAGE_PREFIXES = ("/desa/", "/kecamatan/", "/kabupaten/", "/masuk", "/beranda", "/keluar")


# --- CSRF, static files ---------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token (made on first use, so anonymous visitors get a cookie only with a form)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


_static_versions: dict[str, str] = {}


def static_url(filename: str) -> str:
    """URL of a file under ``service/portal/static/portal/`` with a content hash, so it can be cached for a year."""
    version = _static_versions.get(filename)
    if version is None:
        path = STATIC_DIR / filename
        version = hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"
        _static_versions[filename] = version
    return url_for("portal.static_file", filename=filename, v=version)


# --- local time -----------------------------------------------------------------------------------------

#: Province codes by time zone (WIB is the rest): what residents and officials read on their clocks.
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96", "97"}


def zona_waktu(kode: str | None) -> tuple[str, str]:
    """``(IANA zone, Indonesian abbreviation)`` of the province of a region code."""
    provinsi = (kode or "")[:2]
    if provinsi in _WITA:
        return "Asia/Makassar", "WITA"
    if provinsi in _WIT:
        return "Asia/Jayapura", "WIT"
    return "Asia/Jakarta", "WIB"


def _local(value: datetime) -> tuple[datetime, str]:
    desa = g.get("desa")
    principal = g.get("principal")
    kode = desa.kode if desa is not None else g.get("region_kode") or (principal.desa_kode if principal else None)
    if kode is None and principal is not None:
        kode = next((grant.scope for grant in principal.grants if grant.scope), None)
    zone, label = zona_waktu(kode)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(zone)), label


def waktu(value: datetime | None) -> str:
    """Template filter: a timestamp in the place's local time, ``22-11-2026 14:05 WIB``."""
    if value is None:
        return "—"
    local, label = _local(value)
    return f"{local:%d-%m-%Y %H:%M} {label}"


def tanggal(value: date | datetime | None) -> str:
    """Template filter: the local date, ``22-11-2026`` (a plain date is shown as it is)."""
    if value is None:
        return "—"
    return f"{_local(value)[0] if isinstance(value, datetime) else value:%d-%m-%Y}"


# --- navigation -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    #: Where it lives: "desa", "kecamatan" or "kabupaten" (the URL's slug/wilayah), or "akun" (no scope).
    level: str
    urutan: int = 50


NAV: list[NavItem] = []


def nav_item(label: str, endpoint: str, level: str = "desa", urutan: int = 50) -> None:
    """Add a page to the navigation; it is shown only to principals whose policy check would pass."""
    if all(item.endpoint != endpoint for item in NAV):
        NAV.append(NavItem(label, endpoint, level, urutan))
        NAV.sort(key=lambda item: (item.urutan, item.label))


def _places(principal: Principal) -> dict[str, list[str]]:
    """The desa, kecamatan and kabupaten this principal works in (the current desa/region first)."""
    places: dict[str, list[str]] = {"desa": [], "kecamatan": [], "kabupaten": []}
    current_desa = g.get("desa")
    if current_desa is not None:
        places["desa"].append(current_desa.kode)
    if g.get("region_kode"):
        level = parse_kode(g.region_kode).tingkat.value
        if level in places:
            places[level].append(g.region_kode)
    if principal.kind is Kind.WARGA and principal.desa_kode:
        places["desa"].append(principal.desa_kode)
    for grant in principal.grants:
        if grant.scope is None:
            continue
        level = parse_kode(grant.scope).tingkat.value
        if level in places:
            places[level].append(grant.scope)
    return {level: list(dict.fromkeys(codes)) for level, codes in places.items()}


def build_nav(principal: Principal | None) -> list[dict[str, Any]]:
    if principal is None:
        return []
    app = current_app
    places = _places(principal)
    out = []
    for item in NAV:
        if item.endpoint not in app.view_functions:
            continue
        targets = [None] if item.level == "akun" else places.get(item.level, [])
        for target in targets:
            if not may_reach(app, item.endpoint, principal, target):
                continue
            if item.level == "desa":
                url = url_for(item.endpoint, slug=desa_url_slug(target))
            elif item.level in ("kecamatan", "kabupaten"):
                url = url_for(item.endpoint, wilayah=target)
            else:
                url = url_for(item.endpoint)
            label = item.label if len(targets) == 1 else f"{item.label} ({target})"
            out.append({"label": label, "url": url, "active": request.endpoint == item.endpoint})
            break  # one link per page: the current place (or the first one held)
    return out


def landing_url(principal: Principal) -> str:
    """Where a principal lands after signing in: the first page the navigation offers them."""
    links = [link for link in build_nav(principal) if link["url"] != url_for("portal.keluar")]
    return links[0]["url"] if links else url_for("portal.beranda")


# --- rendering ------------------------------------------------------------------------------------------


def _sebutan() -> dict[str, str]:
    from tenants.localnames import NATIONAL_DEFAULTS, default_pengaturan, sebutan

    if g.get("desa_db") is not None:
        names = sebutan(g.desa_db)
    elif g.get("region_kode"):
        names = {k: v for k, v in default_pengaturan(parse_kode(g.region_kode)).items() if k in NATIONAL_DEFAULTS}
    else:
        names = dict(NATIONAL_DEFAULTS)
    return {key.removeprefix("sebutan_"): value for key, value in names.items()}


def _wilayah() -> dict[str, str] | None:
    kode = g.get("region_kode")
    if not kode:
        return None
    from service.regions.services import get_region

    with current_app.extensions["kawasan"].engine.connect() as conn:
        region = get_region(conn, parse_kode(kode))
    return {"kode": kode, "nama": region.nama, "tingkat": parse_kode(kode).tingkat.value}


def page_context() -> dict[str, Any]:
    principal = g.get("principal")
    desa = g.get("desa")
    return {
        "principal": principal,
        "desa": {"kode": desa.kode, "nama": desa.nama, "slug": g.get("desa_slug") or desa_url_slug(desa.kode)}
        if desa is not None else None,
        "wilayah": _wilayah(),
        "sebutan": _sebutan(),
        "nav": build_nav(principal),
    }


def render_page(template: str, http_status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page with the common context (keys given here win). Returns ``(html, http_status)``."""
    return render_template(template, **{**page_context(), **context}), http_status


# --- forms ----------------------------------------------------------------------------------------------


def indonesian(message: str) -> str:
    """The Indonesian half of a bilingual message (``"wajib diisi / required"`` → ``"wajib diisi"``)."""
    return str(message).split(" / ", 1)[0].strip()


def field_errors(exc: ma.ValidationError) -> dict[str, str]:
    """A marshmallow error as ``{field: first Indonesian message}`` for ``_form.html``'s ``field_errors``."""
    messages = exc.normalized_messages()
    out: dict[str, str] = {}
    for field, value in messages.items():
        while isinstance(value, (list, dict)):
            value = next(iter(value.values() if isinstance(value, dict) else value), "")
        out[field] = _TRANSLATE.get(str(value), indonesian(str(value)))
    return out


#: marshmallow's English defaults, said in Indonesian.
_TRANSLATE = {
    "Missing data for required field.": "wajib diisi",
    "Field may not be null.": "wajib diisi",
    "Not a valid string.": "isian tidak sah",
    "Not a valid integer.": "harus berupa angka",
    "Not a valid date.": "tanggal tidak sah (tttt-bb-hh)",
    "Not a valid email address.": "alamat surel tidak sah",
    "Unknown field.": "isian tidak dikenal",
}


def form_data() -> dict[str, str]:
    """The submitted form without the CSRF token, blank fields left out (so ``required`` catches them)."""
    return {k: v.strip() for k, v in request.form.items() if k != "csrf_token" and v.strip() != ""}


class ApiRefused(Exception):
    """An API view refused (its ``problem()``): status, the Indonesian message and ``{field: message}``."""

    def __init__(self, status: int, pesan: str, errors: dict[str, str]):
        self.status, self.pesan, self.errors = status, pesan, errors
        super().__init__(pesan)


def call_api(view_class: type, method: str, *args: Any) -> Any:
    """Run an API view's own code from a page, so pages and the API share one implementation.

    The view's decorators (argument parsing, serialisation) are skipped: pass already-loaded arguments.
    The page's policy has been checked by then; a ``problem()`` raised inside becomes :class:`ApiRefused`.
    """
    fn = inspect.unwrap(getattr(view_class, method))
    try:
        return fn(view_class(), *args)
    except HTTPException as exc:
        data = getattr(exc, "data", None) or {}
        errors = {e["field"]: indonesian(e["message"]) for e in data.get("errors") or [] if e.get("field")}
        raise ApiRefused(exc.code or 400, indonesian(problem_message(exc) or ""), errors) from exc


def problem_message(exc: HTTPException) -> str | None:
    """The message of an API refusal: its ``problem()`` message, else the exception's description."""
    data = getattr(exc, "data", None) or {}
    return data["message"] if isinstance(data.get("message"), str) else exc.description


# --- pages for errors -----------------------------------------------------------------------------------

_MESSAGES = {
    400: "Permintaan tidak dapat diproses.",
    403: "Anda tidak berwenang membuka halaman ini.",
    404: "Halaman tidak ditemukan.",
    405: "Cara membuka halaman ini tidak didukung.",
    409: "Tindakan ini tidak sesuai dengan keadaan data saat ini.",
    413: "Berkas terlalu besar.",
    415: "Jenis berkas tidak didukung.",
    422: "Isian tidak valid.",
    423: "Akun terkunci.",
    429: "Terlalu banyak percobaan. Coba lagi nanti.",
    500: "Terjadi kesalahan pada server. Coba lagi nanti.",
}


def safe_next(target: str | None) -> str | None:
    """A ``next`` that stays on this site: a path, never another host (``//x``, ``/\\x``, ``http:``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\n" in target:
        return None
    return target


def sign_in_url(next_path: str | None = None) -> str:
    """The sign-in page that fits the requested page: residents' (desa + NIK + PIN) or staff's."""
    policy = policy_of(current_app, request.endpoint, "GET") if request.endpoint else None
    args: dict[str, str] = {}
    if next_path := safe_next(next_path):
        args["next"] = next_path
    if policy is not None and policy.warga and not policy.roles:
        if g.get("desa_slug"):
            args["desa"] = g.desa_slug
        return url_for("portal.masuk_warga") + ("?" + urlencode(args) if args else "")
    return url_for("portal.masuk") + ("?" + urlencode(args) if args else "")


def _redirect(location: str):
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = location  # htmx follows with a full page load
        return response
    return redirect(location, 303)


def _page_for_http_error(error: HTTPException):
    code = error.code or 500
    principal = g.get("principal")
    next_path = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
    if code == 401:
        return _redirect(sign_in_url(next_path))
    if code == 403 and principal is not None and principal.must_change_pin:
        return _redirect(url_for("portal.ganti_pin", next=safe_next(next_path) or ""))
    data = getattr(error, "data", None) or {}
    detail = data.get("message") if isinstance(data.get("message"), str) else None
    if code == 403 and detail and "CSRF" in detail:
        pesan = "Formulir kedaluwarsa. Muat ulang halaman lalu kirim lagi."
    else:
        pesan = _MESSAGES.get(code, error.name)
    # A 403 never says more than that (whose data it was is not the caller's business); others may explain.
    keterangan = indonesian(detail) if detail and code not in (401, 403, 500) else None
    html, _ = render_page("portal/galat.html", http_status=code, kode=code, pesan=pesan, keterangan=keterangan)
    return html, code, {"Cache-Control": "no-store"}


def _page_for_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _page_for_http_error(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    try:
        html, _ = render_page("portal/galat.html", kode=500, pesan=_MESSAGES[500], keterangan=None)
    except Exception:  # the page itself failed (e.g. the database is down): a bare answer
        html = "<!doctype html><html lang=id><title>Kesalahan</title><p>Terjadi kesalahan pada server.</p></html>"
    return html, 500, {"Cache-Control": "no-store"}


def _private_pages_not_cached(response):
    if g.get("principal") is not None and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
