"""OAuth 2.0 authorization server for integrations (Authlib's Flask ``AuthorizationServer``).

* ``client_credentials``: a confidential client bound to one desa or one kecamatan gets a token for
  itself: ``client:<id>`` holding ``integrasi@<its kode>`` and the scopes it asked for (all of its
  scopes when it asked for none).
* ``authorization_code`` with PKCE (S256) required for every client: a signed-in staff member (portal
  session cookie) approves on a consent page; the token is for that staff member, limited to the
  scopes requested and allowed for the client. Codes are stored hashed, live 10 minutes and are spent
  on first use; presenting a spent code revokes the token it was exchanged for.

Access tokens are our own JWTs (:class:`service.auth.tokens.TokenService`), 15 minutes, never with a
refresh token. Which client a token was issued to is remembered in Redis for the token's lifetime
(``client:<id>`` subjects carry it themselves), so only that client may revoke or introspect it.

Every endpoint here is public to the policy layer: OAuth endpoints authenticate clients themselves.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InsecureTransportError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, ClientCredentialsGrant
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Blueprint, Flask, Response, current_app, request, session
from markupsafe import escape
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from service.api import OAUTH_SCOPES, problem
from service.audit.services import record
from service.auth.models import Akun, OAuthClient, OAuthCode
from service.auth.policy import PUBLIC
from service.auth.principal import Kind, Principal
from service.auth.roles import Grant, Peran
from service.auth.secrets import digest, hash_secret, opaque_token, verify_secret
from service.auth.services import staff_principal
from service.auth.sessions import load_session_principal
from service.auth.tokens import TokenError
from service.regions.codes import InvalidKode, Tingkat, parse_kode
from service.regions.services import UnknownKode, get_region

TOKEN_TTL = 900  # seconds; same as every other access token
CODE_TTL = timedelta(minutes=10)
GRANT_TYPES = ("authorization_code", "client_credentials")
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
#: Bahasa Indonesia for the consent page (OAUTH_SCOPES holds the English used in the OpenAPI document).
SCOPE_ID = {
    "desa:read": "Membaca data publik dan administratif desa/kecamatan yang terikat",
    "penduduk:read": "Membaca data kependudukan (data pribadi; setiap akses dicatat di log audit)",
    "audit:read": "Membaca log audit desa yang terikat",
}

blp = Blueprint("oauth", __name__)


# --- clients --------------------------------------------------------------------------------------------


class OAuthClientModel(ClientMixin):
    """An ``oauth_client`` row as Authlib sees it. No secret hash means a public client (PKCE, method none)."""

    def __init__(self, row: Any):
        self.client_id: str = row.client_id
        self.secret_hash: str | None = row.secret_hash
        self.nama: str = row.nama
        self.scope_kode: str = row.scope_kode
        self.grant_types: list[str] = list(row.grant_types or [])
        self.scopes: list[str] = list(row.scopes or [])
        self.redirect_uris: list[str] = list(row.redirect_uris or [])

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only unambiguous: with several registered URIs the request must name one.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """Everything the client may have when it asks for nothing; ``None`` (invalid_scope) when it asks
        for anything it was not given."""
        allowed = set(self.scopes)
        requested = set((scope or "").split())
        if not requested:
            return " ".join(sorted(allowed))
        if not requested <= allowed:
            return None
        return " ".join(sorted(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match only

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


def _authenticate_with_secret(query_client, client_id: str | None, client_secret: str | None):
    if not client_id or not client_secret:
        return None
    client = query_client(client_id)
    if client is None or client.is_public:
        verify_secret(None, client_secret)  # unknown and wrong take the same time
        return None
    return client if client.check_client_secret(client_secret) else None


def _auth_client_secret_basic(query_client, request):
    return _authenticate_with_secret(query_client, *extract_basic_authorization(request.headers))


def _auth_client_secret_post(query_client, request):
    return _authenticate_with_secret(query_client, request.form.get("client_id"), request.form.get("client_secret"))


def _auth_none(query_client, request):
    """Public clients: ``client_id`` only. Unlike Authlib's own, an unknown id is the same 401 as a wrong secret."""
    client_id = request.payload.client_id
    if not client_id or request.payload.data.get("client_secret"):
        return None
    return query_client(client_id)


# --- grants ---------------------------------------------------------------------------------------------


class ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_requested_scope(self):
        super().validate_requested_scope()  # known to the server at all
        if self.request.client.get_allowed_scope(self.request.payload.scope) is None:
            raise InvalidScopeError("The client may not ask for this scope.")


@dataclass
class StoredCode(AuthorizationCodeMixin):
    code_hash: str
    client_id: str
    akun_id: int
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class AuthorizationCode(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]

    def save_authorization_code(self, code: str, request) -> None:
        now = datetime.now(UTC)
        with self.server.engine.begin() as conn:
            conn.execute(delete(OAuthCode).where(OAuthCode.kedaluwarsa_pada < now - timedelta(days=1)))
            conn.execute(insert(OAuthCode).values(
                code_hash=digest(code), client_id=request.client.get_client_id(),
                akun_id=_akun_id(request.user), redirect_uri=request.payload.redirect_uri or "",
                scope=request.scope or "", code_challenge=request.payload.data["code_challenge"],
                code_challenge_method=request.payload.data["code_challenge_method"],
                kedaluwarsa_pada=now + CODE_TTL,
            ))

    def query_authorization_code(self, code: str, client) -> StoredCode | None:
        """Spend the code at once (single use even under concurrent requests); a spent code revokes
        the token it bought."""
        code_hash, now = digest(code), datetime.now(UTC)
        table = OAuthCode.__table__
        with self.server.engine.begin() as conn:
            row = conn.execute(
                update(table).where(
                    table.c.code_hash == code_hash, table.c.client_id == client.get_client_id(),
                    table.c.dipakai_pada.is_(None), table.c.kedaluwarsa_pada > now,
                ).values(dipakai_pada=now).returning(*table.c)
            ).first()
            if row is None:
                reused = conn.scalar(
                    select(table.c.client_id).where(table.c.code_hash == code_hash, table.c.dipakai_pada.is_not(None))
                )
                if reused is not None:
                    self.server.revoke_token_of_code(code_hash)
                    record(conn, "kode_otorisasi_dipakai_ulang", aktor=f"client:{client.get_client_id()}",
                           objek=f"client:{reused}", berhasil=False)
                return None
        return StoredCode(row.code_hash, row.client_id, row.akun_id, row.redirect_uri, row.scope,
                          row.code_challenge, row.code_challenge_method)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        """Already spent in :meth:`query_authorization_code`; the row stays until expiry to detect reuse."""

    def authenticate_user(self, authorization_code: StoredCode) -> Principal | None:
        return _staff(self.server.engine, authorization_code.akun_id)


class RequiredS256(CodeChallenge):
    """PKCE for every client (not only public ones), S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE with S256 is required).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


# --- revocation and introspection ---------------------------------------------------------------------


@dataclass
class IssuedToken(TokenMixin):
    claims: dict
    client_id: str | None
    revoked: bool = False

    def check_client(self, client) -> bool:
        return self.client_id is not None and self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.claims.get("scope", "")

    def get_expires_in(self) -> int:
        return int(self.claims["exp"]) - int(self.claims.get("iat", 0))

    def is_expired(self) -> bool:
        return int(self.claims["exp"]) <= time.time()

    def is_revoked(self) -> bool:
        return self.revoked


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        try:
            claims = self.server.tokens.decode(token_string)
        except TokenError:
            return None  # RFC 7009 §2.2: an invalid token is not an error
        return IssuedToken(claims, self.server.issued_to(claims))

    def revoke_token(self, token: IssuedToken, request) -> None:
        self.server.tokens.revoke(token.claims)
        record(self.server.engine, "token_dicabut", aktor=f"client:{token.client_id}", objek=token.claims.get("sub"),
               detail={"jti": token.claims.get("jti")})


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        try:
            claims = self.server.tokens.decode(token_string)
        except TokenError:
            return None
        try:
            self.server.tokens.verify(token_string)
            revoked = False
        except TokenError:
            revoked = True
        return IssuedToken(claims, self.server.issued_to(claims), revoked)

    def check_permission(self, token: IssuedToken, client, request) -> bool:
        """A client may introspect only the tokens issued to it; anything else is ``active: false``."""
        return token.check_client(client)

    def introspect_token(self, token: IssuedToken) -> dict:
        claims = token.claims
        return {
            "active": True, "scope": claims.get("scope", ""), "client_id": token.client_id, "sub": claims["sub"],
            "exp": claims["exp"], "iat": claims.get("iat"), "iss": claims["iss"], "aud": claims.get("aud"),
            "token_type": "Bearer",
        }


# --- the server -----------------------------------------------------------------------------------------


class KawasanAuthorizationServer(AuthorizationServer):
    def __init__(self, app: Flask):
        super().__init__()
        self.runtime = app.extensions["kawasan"]
        self.tokens = app.extensions["kawasan_auth"].tokens
        self.init_app(app)
        self.scopes_supported = list(OAUTH_SCOPES)
        self.register_token_generator("default", self.generate_access_token)
        self.register_client_auth_method("client_secret_basic", _auth_client_secret_basic)
        self.register_client_auth_method("client_secret_post", _auth_client_secret_post)
        self.register_client_auth_method("none", _auth_none)
        self.register_grant(ClientCredentials)
        self.register_grant(AuthorizationCode, [RequiredS256(required=True)])
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    @property
    def redis(self):
        return self.runtime.redis

    def query_client(self, client_id: str) -> OAuthClientModel | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(OAuthClient.__table__).where(OAuthClient.client_id == client_id, OAuthClient.aktif.is_(True))
            ).first()
        return OAuthClientModel(row) if row else None

    def generate_access_token(self, grant_type: str, client: OAuthClientModel, user: Principal | None = None,
                              scope: str | None = None, expires_in: int | None = None,
                              include_refresh_token: bool = True) -> dict:
        """Our JWT, never a refresh token (clients ask again; staff approve again)."""
        granted = client.get_allowed_scope(scope)
        if granted is None:
            raise InvalidScopeError()
        scopes = frozenset(granted.split())
        if grant_type == "client_credentials":
            principal = Principal(
                kind=Kind.CLIENT, subject=f"client:{client.client_id}", name=client.nama,
                grants=(Grant(Peran.INTEGRASI, client.scope_kode),), desa_kode=client.scope_kode, scopes=scopes,
            )
        elif user is not None:
            principal = replace(user, scopes=scopes)
        else:
            raise InvalidRequestError("No resource owner for this grant.")
        access_token, ttl = self.tokens.issue(principal, ttl=TOKEN_TTL)
        return {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl, "scope": granted}

    def save_token(self, token: dict, request) -> None:
        client: OAuthClientModel = request.client
        claims = self.tokens.decode(token["access_token"])
        ttl = max(int(claims["exp"]) - int(time.time()), 1) + 60
        self.redis.set(_issued_key(claims["jti"]), client.client_id, ex=ttl)
        code = request.authorization_code
        if code is not None:
            self.redis.set(_code_key(code.code_hash), json.dumps({"jti": claims["jti"], "exp": claims["exp"]}), ex=ttl)
        record(self.engine, "token_diterbitkan", aktor=f"client:{client.client_id}", objek=claims["sub"],
               desa_kode=_desa_of(client.scope_kode),
               detail={"grant_type": request.payload.grant_type, "scope": token.get("scope", ""),
                       "wilayah": client.scope_kode})

    def issued_to(self, claims: dict) -> str | None:
        """The client a token was issued to, or ``None`` (a staff or warga sign-in token)."""
        subject = claims.get("sub", "")
        if subject.startswith("client:"):
            return subject.removeprefix("client:")
        if claims.get("client_id"):
            return claims["client_id"]
        raw = self.redis.get(_issued_key(claims.get("jti", "")))
        return raw.decode() if raw else None

    def revoke_token_of_code(self, code_hash: str) -> None:
        raw = self.redis.get(_code_key(code_hash))
        if raw:
            self.tokens.revoke(json.loads(raw))


def _issued_key(jti: str) -> str:
    return f"kawasan:oauth:issued:{jti}"


def _code_key(code_hash: str) -> str:
    return f"kawasan:oauth:code:{code_hash}"


def _desa_of(kode: str) -> str | None:
    return kode if kode.count(".") == 3 else None


def _akun_id(principal: Principal) -> int:
    kind, _, rest = principal.subject.partition(":")
    if kind != Kind.STAFF:
        raise ValueError("only staff approve OAuth clients")
    return int(rest)


def _staff(engine: Engine, akun_id: int) -> Principal | None:
    """Today's principal of an active staff account (roles granted or revoked since sign-in count)."""
    with Session(engine) as db:
        akun = db.get(Akun, akun_id)
        return staff_principal(akun) if akun is not None and akun.aktif else None


# --- endpoints ------------------------------------------------------------------------------------------


def _server() -> KawasanAuthorizationServer:
    return current_app.extensions["kawasan_oauth"]


def _public(fn):
    fn._kawasan_policy = PUBLIC
    return fn


def _oauth_errors(fn):
    """Authlib refuses plain-http URLs except on loopback: answer as an OAuth error, not a 500."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InsecureTransportError as error:
            return _server().handle_error_response(None, error)

    return wrapper


@blp.post("/oauth/token")
@_public
@_oauth_errors
def token():
    return _server().create_token_response()


@blp.post("/oauth/revoke")
@_public
@_oauth_errors
def revoke():
    return _server().create_endpoint_response(Revocation.ENDPOINT_NAME)


@blp.post("/oauth/introspect")
@_public
@_oauth_errors
def introspect():
    return _server().create_endpoint_response(Introspection.ENDPOINT_NAME)


@blp.route("/oauth/authorize", methods=["GET", "POST"])
@_public
@_oauth_errors
def authorize():
    server = _server()
    signed_in = load_session_principal()  # the portal cookie only: a bearer token cannot approve clients
    if signed_in is None:
        problem(401, "masuk dulu lewat POST /api/v1/auth/session, lalu buka alamat ini lagi / "
                     "sign in via POST /api/v1/auth/session, then open this address again")
    if signed_in.kind is not Kind.STAFF:
        problem(403, "hanya akun staf yang dapat memberi izin aplikasi / only staff accounts can approve applications")
    user = _staff(server.engine, _akun_id(signed_in))
    if user is None:
        problem(403, "akun tidak aktif / account disabled")
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return server.handle_error_response(None, error)
    if request.method == "GET":
        return _consent_page(grant, user)
    expected, sent = session.get("csrf"), request.form.get("csrf_token")
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        problem(403, "token CSRF tidak ada atau salah / missing or wrong CSRF token", field="csrf_token",
                location="form")
    approved = request.form.get("confirm") == "yes"
    response = server.create_authorization_response(grant_user=user if approved else None, grant=grant)
    issued = approved and "code=" in urlsplit(response.headers.get("Location", "")).query
    record(server.engine, "akses_klien_disetujui" if issued else "akses_klien_ditolak", aktor=user,
           objek=f"client:{grant.client.get_client_id()}", berhasil=issued or not approved,
           detail={"scope": grant.request.scope or ""})
    return response


def _consent_page(grant, user: Principal) -> Response:
    client: OAuthClientModel = grant.client
    scopes = (grant.request.scope or "").split()
    items = "".join(
        f"<li><code>{escape(s)}</code> — {escape(SCOPE_ID.get(s, OAUTH_SCOPES.get(s, s)))}</li>" for s in scopes
    )
    html = f"""<!doctype html>
<html lang="id">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Izinkan akses aplikasi — Kawasan</title></head>
<body>
<main>
<h1>Izinkan akses aplikasi?</h1>
<p>Aplikasi <strong>{escape(client.nama)}</strong> (wilayah {escape(client.scope_kode)}) meminta izin untuk
mengakses Kawasan atas nama Anda, <strong>{escape(user.name)}</strong>, dengan hak akses berikut:</p>
<ul>{items}</ul>
<p>Jika disetujui, Anda akan diarahkan kembali ke <code>{escape(grant.redirect_uri)}</code>.
Izin berlaku selama 15 menit dan dapat dicabut.</p>
<form method="post" action="{escape(request.full_path)}">
<input type="hidden" name="csrf_token" value="{escape(session.get("csrf", ""))}">
<button type="submit" name="confirm" value="yes">Izinkan</button>
<button type="submit" name="confirm" value="no">Tolak</button>
</form>
</main>
</body>
</html>
"""
    response = Response(html, mimetype="text/html")
    # The form's answer redirects to the client: the page's CSP must allow that target.
    target = urlsplit(grant.redirect_uri)
    origin = f"{target.scheme}://{target.netloc}" if target.netloc else f"{target.scheme}:"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {origin}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return response


@blp.get("/.well-known/oauth-authorization-server")
@_public
def metadata():
    """RFC 8414 authorization server metadata."""
    root = request.url_root.rstrip("/")
    configured = current_app.extensions["kawasan"].settings.issuer
    issuer = configured.rstrip("/") if configured.startswith(("https://", "http://")) else root
    body = {
        "issuer": issuer,
        "authorization_endpoint": f"{root}/oauth/authorize",
        "token_endpoint": f"{root}/oauth/token",
        "revocation_endpoint": f"{root}/oauth/revoke",
        "introspection_endpoint": f"{root}/oauth/introspect",
        "jwks_uri": f"{root}/.well-known/jwks.json",
        "scopes_supported": list(OAUTH_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH_METHODS, "none"],
        "revocation_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
    }
    return body, 200, {"Cache-Control": "public, max-age=300"}


def init_oauth(app: Flask) -> None:
    """Create the authorization server and register its endpoints (before the policy check runs)."""
    app.extensions["kawasan_oauth"] = KawasanAuthorizationServer(app)
    app.register_blueprint(blp)


# --- registering clients (CLI) --------------------------------------------------------------------------


def create_client(engine: Engine, *, nama: str, scope_kode: str, grant_types: list[str], scopes: list[str],
                  redirect_uris: list[str], public: bool = False, aktor: str = "cli") -> tuple[str, str | None]:
    """Register a client bound to a desa or kecamatan; returns ``(client_id, secret)``, the secret shown once
    (``None`` for a public client, which may only use authorization_code with PKCE). Raises ``ValueError``."""
    nama = (nama or "").strip()
    if not nama or len(nama) > 150:
        raise ValueError("nama klien wajib diisi, paling panjang 150 karakter / name required, at most 150 characters")
    try:
        kode = parse_kode(scope_kode)
    except InvalidKode as exc:
        raise ValueError(str(exc)) from None
    if kode.tingkat not in (Tingkat.DESA, Tingkat.KECAMATAN):
        raise ValueError(f"{kode}: klien terikat pada satu desa atau satu kecamatan, bukan {kode.tingkat.value} / "
                         "a client is bound to one desa or one kecamatan")
    with engine.connect() as conn:
        try:
            get_region(conn, kode)
        except UnknownKode as exc:
            raise ValueError(str(exc)) from None
    grants = list(dict.fromkeys(grant_types or []))
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if not grants or unknown:
        raise ValueError(f"grant type tidak dikenal {unknown} / unknown grant types; use one or both of: "
                         + ", ".join(GRANT_TYPES))
    wanted = list(dict.fromkeys(scopes or []))
    unknown = [s for s in wanted if s not in OAUTH_SCOPES]
    if not wanted or unknown:
        raise ValueError(f"scope tidak dikenal {unknown} / unknown scopes; use one or more of: "
                         + ", ".join(OAUTH_SCOPES))
    uris = list(dict.fromkeys(redirect_uris or []))
    if "authorization_code" in grants and not uris:
        raise ValueError("authorization_code perlu minimal satu redirect URI / needs at least one redirect URI")
    if uris and "authorization_code" not in grants:
        raise ValueError("redirect URI hanya untuk authorization_code / redirect URIs are for authorization_code only")
    for uri in uris:
        _check_redirect_uri(uri)
    if public and "client_credentials" in grants:
        raise ValueError("klien publik tidak dapat memakai client_credentials / public clients cannot use "
                         "client_credentials")

    client_id = "kc_" + secrets.token_urlsafe(18)
    secret = None if public else opaque_token()
    with engine.begin() as conn:
        conn.execute(insert(OAuthClient).values(
            client_id=client_id, secret_hash=hash_secret(secret) if secret else None, nama=nama,
            scope_kode=kode.dotted, grant_types=grants, scopes=wanted, redirect_uris=uris,
        ))
        record(conn, "klien_oauth_dibuat", aktor=aktor, objek=f"client:{client_id}", desa_kode=_desa_of(kode.dotted),
               detail={"wilayah": kode.dotted, "grant_types": grants, "scopes": wanted, "publik": public})
    return client_id, secret


def _check_redirect_uri(uri: str) -> None:
    """https; http only on loopback (RFC 8252 §7.3); a private-use scheme like ``id.desa.app:/cb`` (§7.1)."""
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise ValueError(f"{uri!r}: redirect URI tidak boleh memuat fragmen (#) / must not contain a fragment")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return
    if "." in parts.scheme and parts.scheme not in ("http", "https"):
        return
    raise ValueError(f"{uri!r}: redirect URI harus https, http loopback, atau skema aplikasi (mis. id.desa.app:/cb) / "
                     "must be https, loopback http, or a private-use scheme")
