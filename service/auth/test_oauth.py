"""OAuth 2.0 authorization server: client credentials, authorization code with PKCE, revocation,
introspection and metadata, against the real test database and Redis."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from sqlalchemy import delete, select

from service.audit.models import AuditLog
from service.auth.models import Akun, OAuthClient, OAuthCode
from service.auth.oauth import create_client
from service.auth.principal import Kind
from service.auth.roles import Grant, Peran, make_grant
from service.auth.services import create_account
from service.auth.tokens import TokenError

DESA = "15.08.14.2001"
KECAMATAN = "15.08.14"
REDIRECT = "https://aplikasi.example/callback"


# --- fixtures -------------------------------------------------------------------------------------------



@pytest.fixture
def http(app):
    """A server-to-server caller (an integration): no portal session cookie."""
    return app.test_client()


@pytest.fixture
def browser(app):
    """A staff member's browser; its own address so sign-in rate limits of other tests do not interfere."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"
    return browser


@pytest.fixture
def tokens(app):
    return app.extensions["kawasan_auth"].tokens


@pytest.fixture
def make_client(engine):
    made: list[str] = []

    def make(**overrides) -> tuple[str, str | None]:
        args = {"nama": "Sinkron OpenSID", "scope_kode": DESA, "grant_types": ["client_credentials"],
                "scopes": ["desa:read", "penduduk:read"], "redirect_uris": []}
        args.update(overrides)
        client_id, secret = create_client(engine, **args)
        made.append(client_id)
        return client_id, secret

    yield make
    with engine.begin() as conn:
        conn.execute(delete(OAuthClient).where(OAuthClient.client_id.in_(made)))


@pytest.fixture
def staff(engine):
    """An operator of DESA: ``(akun_id, username, password)``."""
    username, password = f"op-oauth-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    akun_id = create_account(engine, username=username, nama="Operator Muara Buat", password=password, email=None,
                             grants=[make_grant("operator_desa", DESA)])
    yield akun_id, username, password
    with engine.begin() as conn:
        conn.execute(delete(Akun).where(Akun.id == akun_id))


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def client_token(http, client_id: str, secret: str, scope: str | None = "desa:read") -> dict:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        data["scope"] = scope
    response = http.post("/oauth/token", data=data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- client credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["client_secret_post", "client_secret_basic"])
def test_client_credentials_token_is_a_client_principal_of_the_bound_desa(http, make_client, tokens, engine, auth):
    client_id, secret = make_client()
    data = {"grant_type": "client_credentials", "scope": "desa:read"}
    headers = {}
    if auth == "client_secret_post":
        data.update(client_id=client_id, client_secret=secret)
    else:
        headers = basic(client_id, secret)
    response = http.post("/oauth/token", data=data, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["scope"] == "desa:read"
    assert "refresh_token" not in body
    principal = tokens.verify(body["access_token"])
    assert principal.kind is Kind.CLIENT
    assert principal.subject == f"client:{client_id}" and principal.name == "Sinkron OpenSID"
    assert principal.grants == (Grant(Peran.INTEGRASI, DESA),)
    assert principal.has_role((Peran.INTEGRASI,), DESA) and not principal.has_role((Peran.INTEGRASI,), "15.08.14.2002")
    assert principal.scopes == frozenset({"desa:read"})
    with engine.connect() as conn:
        issued = conn.execute(select(AuditLog).where(AuditLog.aktor == f"client:{client_id}",
                                                     AuditLog.aksi == "token_diterbitkan")).all()
    assert len(issued) == 1 and issued[0].desa_kode == DESA


def test_no_scope_asked_means_every_scope_of_the_client_at_its_kecamatan(http, make_client, tokens):
    client_id, secret = make_client(scope_kode="150814", scopes=["desa:read", "audit:read"])
    body = client_token(http, client_id, secret, scope=None)
    assert body["scope"] == "audit:read desa:read"
    principal = tokens.verify(body["access_token"])
    assert principal.grants == (Grant(Peran.INTEGRASI, KECAMATAN),)
    assert principal.has_role((Peran.INTEGRASI,), "15.08.14.2009")
    assert not principal.has_role((Peran.INTEGRASI,), "15.08.01.2001")
    assert principal.scopes == frozenset({"desa:read", "audit:read"})


def test_wrong_secret_is_401_invalid_client(http, make_client):
    client_id, secret = make_client()
    response = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                               "client_secret": secret + "x"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert "access_token" not in response.get_json()


def test_unknown_client_is_401_invalid_client(http):
    response = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "kc_tidak-ada",
                                               "client_secret": "apa-saja"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("scope", ["audit:read", "desa:read audit:read", "rahasia:write"])
def test_scope_not_allowed_for_the_client_is_400_invalid_scope(http, make_client, scope):
    client_id, secret = make_client()  # desa:read penduduk:read
    response = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                               "client_secret": secret, "scope": scope})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_client_without_the_grant_type_is_unauthorized_client(http, make_client):
    client_id, secret = make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    response = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                               "client_secret": secret})
    assert response.status_code == 400
    assert response.get_json()["error"] == "unauthorized_client"


# --- introspection and revocation -----------------------------------------------------------------------


def test_introspection_is_active_until_the_owner_revokes(http, make_client, tokens, engine):
    client_id, secret = make_client()
    access = client_token(http, client_id, secret)["access_token"]
    owner = {"client_id": client_id, "client_secret": secret}

    info = http.post("/oauth/introspect", data={"token": access, **owner}).get_json()
    assert info["active"] is True
    assert info["client_id"] == client_id and info["sub"] == f"client:{client_id}"
    assert info["scope"] == "desa:read" and info["token_type"] == "Bearer"
    assert info["iss"] == tokens.issuer and info["exp"] - info["iat"] == 900

    response = http.post("/oauth/revoke", data={"token": access, "token_type_hint": "access_token", **owner})
    assert response.status_code == 200
    with pytest.raises(TokenError):
        tokens.verify(access)
    assert http.post("/oauth/introspect", data={"token": access, **owner}).get_json() == {"active": False}
    with engine.connect() as conn:
        assert conn.scalar(select(AuditLog.id).where(AuditLog.aktor == f"client:{client_id}",
                                                     AuditLog.aksi == "token_dicabut")) is not None


def test_introspection_of_garbage_is_inactive(http, make_client):
    client_id, secret = make_client()
    response = http.post("/oauth/introspect", data={"token": "bukan.token.sah", "client_id": client_id,
                                                    "client_secret": secret})
    assert response.status_code == 200 and response.get_json() == {"active": False}


def test_introspection_needs_client_authentication(http, make_client):
    client_id, secret = make_client()
    access = client_token(http, client_id, secret)["access_token"]
    response = http.post("/oauth/introspect", data={"token": access})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    wrong = http.post("/oauth/introspect", data={"token": access, "client_id": client_id, "client_secret": "salah"})
    assert wrong.status_code == 401


def test_another_client_can_neither_revoke_nor_introspect_a_token(http, make_client, tokens):
    client_id, secret = make_client()
    other_id, other_secret = make_client(nama="Aplikasi Lain")
    access = client_token(http, client_id, secret)["access_token"]
    other = {"client_id": other_id, "client_secret": other_secret}

    response = http.post("/oauth/revoke", data={"token": access, **other})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert tokens.verify(access).subject == f"client:{client_id}"
    assert http.post("/oauth/introspect", data={"token": access, **other}).get_json() == {"active": False}
    owner = http.post("/oauth/introspect", data={"token": access, "client_id": client_id, "client_secret": secret})
    assert owner.get_json()["active"] is True


def test_revoking_an_invalid_token_is_not_an_error(http, make_client):
    client_id, secret = make_client()
    response = http.post("/oauth/revoke", data={"token": "sudah-kedaluwarsa", "client_id": client_id,
                                                "client_secret": secret})
    assert response.status_code == 200


# --- metadata -------------------------------------------------------------------------------------------


def test_authorization_server_metadata(http):
    response = http.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    doc = response.get_json()
    AuthorizationServerMetadata(doc).validate()
    assert doc["issuer"] == "http://localhost"
    assert doc["authorization_endpoint"] == "http://localhost/oauth/authorize"
    assert doc["token_endpoint"] == "http://localhost/oauth/token"
    assert doc["revocation_endpoint"] == "http://localhost/oauth/revoke"
    assert doc["introspection_endpoint"] == "http://localhost/oauth/introspect"
    assert doc["jwks_uri"] == "http://localhost/.well-known/jwks.json"
    assert http.get("/.well-known/jwks.json").status_code == 200
    assert sorted(doc["grant_types_supported"]) == ["authorization_code", "client_credentials"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert sorted(doc["scopes_supported"]) == ["audit:read", "desa:read", "penduduk:read"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post", "none"}


# --- authorization code with PKCE -----------------------------------------------------------------------


def sign_in(browser, username: str, password: str) -> str:
    response = browser.post("/api/v1/auth/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["csrf_token"]


def authorize_url(client_id: str, challenge: str | None, *, scope: str = "desa:read", state: str = "xyz",
                  method: str | None = "S256") -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": scope,
              "state": state}
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    return "/oauth/authorize?" + urlencode(params)


def redirect_params(response) -> dict[str, str]:
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def approved_code(browser, csrf: str, client_id: str, challenge: str, scope: str = "desa:read") -> str:
    url = authorize_url(client_id, challenge, scope=scope)
    page = browser.get(url)
    assert page.status_code == 200 and page.mimetype == "text/html"
    params = redirect_params(browser.post(url, data={"csrf_token": csrf, "confirm": "yes"}))
    assert params["state"] == "xyz"
    return params["code"]


def exchange(http, client_id: str, secret: str | None, code: str, verifier: str | None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id}
    if secret:
        data["client_secret"] = secret
    if verifier:
        data["code_verifier"] = verifier
    return http.post("/oauth/token", data=data)


@pytest.fixture
def csrf(browser, staff) -> str:
    """The staff member signed in to the portal in ``browser``; the session's CSRF token."""
    _, username, password = staff
    return sign_in(browser, username, password)


@pytest.fixture
def web_client(make_client):
    return make_client(nama="Aplikasi Pelaporan Desa", grant_types=["authorization_code"],
                       scopes=["desa:read", "penduduk:read"], redirect_uris=[REDIRECT])


def test_authorize_without_portal_session_is_401_problem(http, web_client):
    _, challenge = pkce()
    response = http.get(authorize_url(web_client[0], challenge))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "/api/v1/auth/session" in response.get_json()["detail"]


def test_consent_page_lists_client_and_scopes_with_csrf(browser, csrf, web_client):
    _, challenge = pkce()
    page = browser.get(authorize_url(web_client[0], challenge, scope="desa:read penduduk:read"))
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Aplikasi Pelaporan Desa" in html and "Operator Muara Buat" in html
    assert "desa:read" in html and "penduduk:read" in html and "audit:read" not in html
    assert f'name="csrf_token" value="{csrf}"' in html
    assert 'lang="id"' in html and "Izinkan" in html and "Tolak" in html
    assert "form-action 'self' https://aplikasi.example" in page.headers["Content-Security-Policy"]


def test_authorization_code_with_pkce_gives_a_token_for_the_staff_member(browser, csrf, http, staff, web_client,
                                                                         tokens, engine):
    client_id, secret = web_client
    verifier, challenge = pkce()
    code = approved_code(browser, csrf, client_id, challenge)
    with engine.connect() as conn:  # stored hashed, never as issued
        assert conn.scalar(select(OAuthCode.code_hash).where(OAuthCode.code_hash == code)) is None

    response = exchange(http, client_id, secret, code, verifier)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["expires_in"] == 900 and body["scope"] == "desa:read" and "refresh_token" not in body
    principal = tokens.verify(body["access_token"])
    assert principal.kind is Kind.STAFF and principal.subject == f"staff:{staff[0]}"
    assert principal.grants == (Grant(Peran.OPERATOR_DESA, DESA),)
    assert principal.scopes == frozenset({"desa:read"})
    info = http.post("/oauth/introspect", data={"token": body["access_token"], "client_id": client_id,
                                                "client_secret": secret}).get_json()
    assert info["active"] is True and info["client_id"] == client_id and info["sub"] == f"staff:{staff[0]}"

    # Single use: the second exchange fails and revokes the token the code bought.
    again = exchange(http, client_id, secret, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    with pytest.raises(TokenError):
        tokens.verify(body["access_token"])


def test_wrong_code_verifier_is_invalid_grant(browser, csrf, http, web_client):
    client_id, secret = web_client
    _, challenge = pkce()
    code = approved_code(browser, csrf, client_id, challenge)
    other_verifier, _ = pkce()
    response = exchange(http, client_id, secret, code, other_verifier)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_missing_code_verifier_is_refused(browser, csrf, http, web_client):
    client_id, secret = web_client
    _, challenge = pkce()
    code = approved_code(browser, csrf, client_id, challenge)
    response = exchange(http, client_id, secret, code, None)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize(("challenge", "method"), [(None, None), (None, "S256"), ("x" * 43, "plain"), ("x" * 43, None)])
def test_authorization_without_an_s256_code_challenge_is_refused(browser, csrf, web_client, challenge, method):
    params = redirect_params(browser.get(authorize_url(web_client[0], challenge, method=method)))
    assert params["error"] == "invalid_request" and params["state"] == "xyz"
    assert "code" not in params


def test_denying_redirects_with_access_denied(browser, csrf, web_client):
    _, challenge = pkce()
    url = authorize_url(web_client[0], challenge)
    params = redirect_params(browser.post(url, data={"csrf_token": csrf, "confirm": "no"}))
    assert params["error"] == "access_denied" and "code" not in params


def test_approving_needs_the_csrf_token(browser, csrf, web_client):
    _, challenge = pkce()
    url = authorize_url(web_client[0], challenge)
    assert browser.post(url, data={"confirm": "yes"}).status_code == 403
    assert browser.post(url, data={"confirm": "yes", "csrf_token": "palsu"}).status_code == 403


def test_unregistered_redirect_uri_is_not_followed(browser, csrf, web_client):
    _, challenge = pkce()
    url = authorize_url(web_client[0], challenge).replace("aplikasi.example", "penyerang.example")
    response = browser.get(url)
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.get_json()["error"] == "invalid_request"


def test_scope_beyond_the_client_redirects_with_invalid_scope(browser, csrf, web_client):
    _, challenge = pkce()
    params = redirect_params(browser.get(authorize_url(web_client[0], challenge, scope="audit:read")))
    assert params["error"] == "invalid_scope"


def test_public_client_uses_pkce_without_a_secret(browser, csrf, http, staff, tokens, engine):
    client_id, secret = create_client(engine, nama="Aplikasi Seluler", scope_kode=DESA,
                                      grant_types=["authorization_code"], scopes=["desa:read"],
                                      redirect_uris=[REDIRECT], public=True)
    try:
        assert secret is None
        verifier, challenge = pkce()
        code = approved_code(browser, csrf, client_id, challenge)
        assert exchange(http, client_id, None, code, None).status_code == 400  # verifier mandatory
        code = approved_code(browser, csrf, client_id, challenge)
        response = exchange(http, client_id, None, code, verifier)
        assert response.status_code == 200, response.get_json()
        access = response.get_json()["access_token"]
        assert tokens.verify(access).subject == f"staff:{staff[0]}"
        assert http.post("/oauth/revoke", data={"token": access, "client_id": client_id}).status_code == 200
        with pytest.raises(TokenError):
            tokens.verify(access)
        # A public client cannot use client credentials.
        denied = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id})
        assert denied.status_code == 401 and denied.get_json()["error"] == "invalid_client"
    finally:
        with engine.begin() as conn:
            conn.execute(delete(OAuthClient).where(OAuthClient.client_id == client_id))


# --- registering clients --------------------------------------------------------------------------------


def test_create_client_stores_only_a_hash_of_the_secret(make_client, engine):
    client_id, secret = make_client()
    with engine.connect() as conn:
        row = conn.execute(select(OAuthClient.__table__).where(OAuthClient.client_id == client_id)).one()
    assert secret and row.secret_hash and secret not in row.secret_hash
    assert row.scope_kode == DESA and row.grant_types == ["client_credentials"] and row.aktif


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"scope_kode": "15.08"}, "kabupaten"),
        ({"scope_kode": "15.08.14.9999"}, "15.08.14.9999"),
        ({"scope_kode": "bukan-kode"}, "bukan-kode"),
        ({"scopes": ["desa:write"]}, "desa:write"),
        ({"scopes": []}, "scope"),
        ({"grant_types": ["password"]}, "password"),
        ({"grant_types": ["authorization_code"]}, "redirect URI"),
        ({"grant_types": ["authorization_code"], "redirect_uris": ["http://aplikasi.example/cb"]}, "https"),
        ({"grant_types": ["authorization_code"], "redirect_uris": [REDIRECT + "#x"]}, "fragment"),
        ({"public": True}, "client_credentials"),
    ],
)
def test_create_client_refuses_invalid_registrations(engine, overrides, mentions):
    args = {"nama": "Salah", "scope_kode": DESA, "grant_types": ["client_credentials"], "scopes": ["desa:read"],
            "redirect_uris": []}
    args.update(overrides)
    with pytest.raises(ValueError, match=mentions):
        create_client(engine, **args)
