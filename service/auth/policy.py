"""The one policy layer: every endpoint declares who may call it; the check happens here only.

Endpoints declare with ``@blp.requires(...)`` or ``@blp.public`` (see :class:`service.api.Blueprint`).
:func:`authorize_request` runs before every request: it authenticates (Bearer token or portal
session cookie with CSRF), checks the declared roles against the target scope (the route's desa for
desa-scoped blueprints, the platform otherwise) and only then opens the desa session. An endpoint
without a declaration is refused (and :func:`check_every_endpoint_declares_a_policy` stops the app
from starting with one).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Flask, current_app, g, request, session

from service.api import problem
from service.auth.principal import Kind, Principal
from service.auth.roles import Peran
from service.auth.tokens import TokenError
from service.regions.codes import InvalidKode, Tingkat, parse_desa_kode, parse_kode

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: flask-smorest's own documentation endpoints and Flask's static files.
_PUBLIC_BLUEPRINTS = {"api-docs"}


@dataclass(frozen=True)
class Policy:
    public: bool = False
    #: Staff roles allowed; their grant must cover the target (the route's desa, or the platform).
    roles: tuple[Peran, ...] = ()
    #: A warga of the route's desa may call it.
    warga: bool = False
    #: OAuth clients with one of these scopes, bound to a scope covering the target.
    client_scopes: tuple[str, ...] = ()
    #: Any signed-in principal (own-account operations such as /auth/me).
    any_principal: bool = False
    #: Allowed while a warga still has to change the first PIN.
    pin_change: bool = False

    @classmethod
    def declare(cls, *roles: str, warga: bool = False, clients: tuple[str, ...] = (), any_principal: bool = False,
                pin_change: bool = False) -> Policy:
        """The policy of ``@blp.requires(...)`` (API blueprints and portal pages declare alike)."""
        return cls(roles=tuple(Peran(r) for r in roles), warga=warga, client_scopes=tuple(clients),
                   any_principal=any_principal, pin_change=pin_change)

    def describe(self) -> str:
        if self.public:
            return "Public."
        who = [", ".join(r.value for r in self.roles)] if self.roles else []
        if self.warga:
            who.append("warga of this desa")
        if self.client_scopes:
            who.append("clients with scope " + " or ".join(self.client_scopes))
        if self.any_principal:
            who.append("any signed-in user")
        return "Requires: " + "; ".join(who) + "."


PUBLIC = Policy(public=True)


def policy_of(app: Flask, endpoint: str | None, method: str) -> Policy | None:
    if endpoint is None:
        return None
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    if endpoint.split(".", 1)[0] in _PUBLIC_BLUEPRINTS or endpoint == "static":
        return PUBLIC
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        return getattr(handler, "_kawasan_policy", None)
    return getattr(view, "_kawasan_policy", None)


def check_every_endpoint_declares_a_policy(app: Flask) -> None:
    missing = []
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"OPTIONS", "HEAD"}:
            if policy_of(app, rule.endpoint, method) is None:
                missing.append(f"{method} {rule.rule}")
    if missing:
        raise RuntimeError("endpoints without a policy (use @blp.requires or @blp.public): " + ", ".join(missing))


def _token_principal() -> Principal | None:
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "basic" and request.blueprint == "oauth":
        return None  # OAuth client authentication (client_secret_basic): the OAuth endpoint checks it
    if scheme.lower() != "bearer" or not token.strip():
        problem(401, "Authorization harus 'Bearer <token>' / expected a Bearer token", field="Authorization",
                location="headers", headers={"WWW-Authenticate": 'Bearer error="invalid_request"'})
    try:
        return current_app.extensions["kawasan_auth"].tokens.verify(token.strip())
    except TokenError as exc:
        problem(401, str(exc), field="Authorization", location="headers",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _session_principal() -> Principal | None:
    from service.auth.sessions import load_session_principal

    principal = load_session_principal()
    # Portal pages check CSRF on anonymous forms too (sign-in, public comments): their token sits in the cookie.
    if request.method in UNSAFE_METHODS and (principal is not None or _is_portal_request()):
        expected = session.get("csrf")
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
        if not expected or not sent or not secrets.compare_digest(expected, sent):
            problem(403, "token CSRF tidak ada atau salah / missing or wrong CSRF token", field="X-CSRF-Token",
                    location="headers")
    return principal


def _is_portal_request() -> bool:
    blueprint = current_app.blueprints.get(request.blueprint or "")
    return bool(getattr(blueprint, "portal", False))


def may_reach(app: Flask, endpoint: str, principal: Principal | None, target: str | None, method: str = "GET") -> bool:
    """Whether ``principal`` passes the policy of ``endpoint`` at ``target`` (portal navigation shows only these)."""
    policy = policy_of(app, endpoint, method)
    if policy is None:
        return False
    if policy.public:
        return True
    if principal is None or (principal.must_change_pin and not policy.pin_change):
        return False
    return _allowed(policy, principal, target)


def _allowed(policy: Policy, principal: Principal, target: str | None) -> bool:
    if policy.any_principal:
        return True
    if principal.kind is Kind.STAFF:
        if principal.scopes and not set(policy.client_scopes) & principal.scopes:
            return False  # a token delegated to an OAuth app reaches only endpoints open to its scopes
        return bool(policy.roles) and principal.has_role(policy.roles, target)
    if principal.kind is Kind.WARGA:
        return policy.warga and target is not None and principal.desa_kode == target
    if principal.kind is Kind.CLIENT:
        return bool(set(policy.client_scopes) & principal.scopes) and principal.has_role(
            (Peran.INTEGRASI,), target
        ) and not any(g.peran is Peran.ADMIN_PLATFORM for g in principal.grants)
    return False


def authorize_request() -> None:
    """``before_request`` of the whole app (after URL preprocessing, before any view)."""
    g.principal = None
    if request.endpoint is None or request.method == "OPTIONS":
        return  # 404/405, and CORS preflights (Flask answers them; they carry no credentials and read nothing)
    policy = policy_of(current_app, request.endpoint, request.method)
    if policy is None:
        problem(403, "endpoint tanpa kebijakan akses / endpoint without an access policy")
    principal = _token_principal() or _session_principal()
    g.principal = principal
    raw_kode = g.pop("desa_kode_raw", None)
    raw_region = g.pop("region_kode_raw", None)
    target = None
    if raw_kode is not None:
        try:
            target = parse_desa_kode(raw_kode).dotted
        except InvalidKode as exc:
            problem(404, f"{raw_kode!r}: {exc.reason}", field="kode", location="path")
    if raw_region is not None:
        try:
            region = parse_kode(raw_region)
        except InvalidKode as exc:
            problem(404, f"{raw_region!r}: {exc.reason}", field="wilayah", location="path")
        if region.tingkat not in (Tingkat.KECAMATAN, Tingkat.KABUPATEN):
            problem(404, f"{raw_region!r}: bukan kecamatan/kabupaten / not a kecamatan or kabupaten",
                    field="wilayah", location="path")
        from service.regions.services import UnknownKode, get_region

        try:
            with current_app.extensions["kawasan"].engine.connect() as conn:
                get_region(conn, region)
        except UnknownKode as exc:
            problem(404, str(exc), field="wilayah", location="path")
        target = g.region_kode = region.dotted
    if not policy.public:
        if principal is None:
            problem(401, "perlu masuk (login) / authentication required",
                    headers={"WWW-Authenticate": 'Bearer realm="kawasan"'})
        if principal.must_change_pin and not policy.pin_change:
            problem(403, "ganti PIN terlebih dahulu / change your PIN first")
        if not _allowed(policy, principal, target):
            problem(403, "tidak berwenang / not allowed for this desa or role")
    if raw_kode is not None:
        from service.tenancy import enter_desa

        enter_desa(raw_kode)
