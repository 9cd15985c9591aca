import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import text

from service.auth.keys import create_key
from tests.fixtures import bearer

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

DESA = "15.08.14.2001"
OTHER_DESA = "15.08.14.2002"


def login(client, **body):
    return client.post("/api/v1/auth/login", json=body)


# --- staff ----------------------------------------------------------------------------------------------


def test_staff_signs_in_with_username_or_email(client, make_staff):
    username, password, akun_id = make_staff(("operator_desa", DESA))
    for login_name in (username, f"{username}@contoh.id", username.upper()):
        response = login(client, username=login_name, password=password)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["refresh_token"]
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).get_json()
    assert me["subject"] == f"staff:{akun_id}" and me["peran"] == [f"operator_desa@{DESA}"]


def test_unknown_user_and_wrong_password_get_the_same_answer(client, make_staff):
    username, _, _ = make_staff(("operator_desa", DESA))
    unknown = login(client, username="tidak-ada-orangnya", password="salah-sekali")
    wrong = login(client, username=username, password="salah-sekali")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json() == wrong.get_json()
    assert unknown.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"username": "x"}, "password"), ({"desa": DESA, "nik": "123", "pin": "123456"}, "nik"),
     ({"desa": DESA, "nik": "1508140304850001", "pin": "12ab56"}, "pin"),
     ({"desa": "15.08", "nik": "1508140304850001", "pin": "123456"}, "desa"),
     ({"username": "a", "password": "b", "nik": "1508140304850001"}, "username")],
)
def test_malformed_credentials_are_4xx_naming_the_field(client, body, field):
    response = login(client, **body)
    assert 400 <= response.status_code < 500
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(client, make_staff):
    username, password, _ = make_staff(("camat", "15.08.14"))
    first = login(client, username=username, password=password).get_json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    # The spent token presented again (stolen?): refused, and its successor dies with it.
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401


def test_role_changes_take_effect_at_refresh(client, make_staff, engine):
    from service.auth.roles import make_grant
    from service.auth.services import set_grant

    username, password, _ = make_staff(("operator_desa", DESA))
    pair = login(client, username=username, password=password).get_json()
    set_grant(engine, username, make_grant("sekdes", DESA), give=True)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).get_json()
    me = client.get("/api/v1/auth/me", headers=bearer(refreshed["access_token"])).get_json()
    assert sorted(me["peran"]) == sorted([f"operator_desa@{DESA}", f"sekdes@{DESA}"])


def test_logout_revokes_access_and_refresh(client, make_staff):
    username, password, _ = make_staff(("operator_desa", DESA))
    pair = login(client, username=username, password=password).get_json()
    headers = bearer(pair["access_token"])
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]},
                       headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_login_attempts_are_rate_limited(client, make_staff):
    username, _, _ = make_staff(("operator_desa", DESA))
    codes = [login(client, username=username, password="salah-terus").status_code for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    limited = login(client, username=username, password="salah-terus")
    assert int(limited.headers["Retry-After"]) > 0


# --- warga ----------------------------------------------------------------------------------------------


def test_first_sign_in_forces_a_pin_change(client, make_family):
    [(nik, pin, _)] = make_family(size=1, must_change=True)
    first = login(client, desa=DESA, nik=nik, pin=pin).get_json()
    assert first["pin_change_required"] is True
    headers = bearer(first["access_token"])
    blocked = client.get(f"/api/v1/desa/{DESA}/warga/saya", headers=headers)
    assert blocked.status_code == 403 and "PIN" in blocked.get_json()["detail"]
    same = client.post("/api/v1/auth/pin", json={"pin_lama": pin, "pin_baru": pin}, headers=headers)
    assert same.status_code == 400
    changed = client.post("/api/v1/auth/pin", json={"pin_lama": pin, "pin_baru": "246810"}, headers=headers)
    assert changed.status_code == 200 and "pin_change_required" not in changed.get_json()
    assert client.get(f"/api/v1/desa/{DESA}/warga/saya", headers=bearer(changed.get_json()["access_token"])
                      ).status_code == 200
    assert login(client, desa=DESA, nik=nik, pin=pin).status_code == 401
    assert login(client, desa="1508142001", nik=nik, pin="246810").status_code == 200


def test_warga_sees_only_own_family(client, make_family):
    mine = make_family(size=3)
    other = make_family(size=2)
    token = login(client, desa=DESA, nik=mine[0][0], pin=mine[0][1]).get_json()["access_token"]
    data = client.get(f"/api/v1/desa/{DESA}/warga/saya", headers=bearer(token)).get_json()
    assert data["saya"]["nik"] == mine[0][0]
    assert sorted(m["nik"] for m in data["keluarga"]) == sorted(m[0] for m in mine[1:])
    assert not {m[0] for m in other} & {m["nik"] for m in data["keluarga"]}
    # Another desa's endpoints are out of reach for this warga.
    assert client.get(f"/api/v1/desa/{OTHER_DESA}/warga/saya", headers=bearer(token)).status_code == 403


def test_repeated_wrong_pins_lock_until_the_operator_lifts_it(client, make_family, token_for):
    [(nik, pin, penduduk_id)] = make_family(size=1)
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(5):
        assert login(client, desa=DESA, nik=nik, pin=wrong).status_code == 401
    locked = login(client, desa=DESA, nik=nik, pin=pin)
    assert locked.status_code == 423
    operator = bearer(token_for(("operator_desa", DESA)))
    listed = client.get(f"/api/v1/desa/{DESA}/akun-warga/terkunci", headers=operator).get_json()
    assert penduduk_id in [x["penduduk_id"] for x in listed]
    other_operator = bearer(token_for(("operator_desa", OTHER_DESA)))
    assert client.post(f"/api/v1/desa/{DESA}/akun-warga/buka-kunci", json={"penduduk_id": penduduk_id},
                       headers=other_operator).status_code == 403
    assert client.post(f"/api/v1/desa/{DESA}/akun-warga/buka-kunci", json={"penduduk_id": penduduk_id},
                       headers=operator).status_code == 204
    assert login(client, desa=DESA, nik=nik, pin=pin).status_code == 200


def test_operator_issues_a_pin_with_the_nik_in_the_body(client, make_family, token_for):
    [(nik, old_pin, _)] = make_family(size=1)
    operator = bearer(token_for(("operator_desa", DESA)))
    issued = client.post(f"/api/v1/desa/{DESA}/akun-warga/pin", json={"nik": nik}, headers=operator)
    assert issued.status_code == 201
    new_pin = issued.get_json()["pin"]
    assert len(new_pin) == 6 and new_pin.isdigit()
    body = login(client, desa=DESA, nik=nik, pin=new_pin).get_json()
    assert body["pin_change_required"] is True
    unknown = client.post(f"/api/v1/desa/{DESA}/akun-warga/pin", json={"nik": "1508140101010009"}, headers=operator)
    assert unknown.status_code == 404 and unknown.get_json()["errors"][0]["field"] == "nik"


# --- tokens and keys ------------------------------------------------------------------------------------


def test_forged_and_expired_tokens_are_refused(client, auth, token_for):
    good = token_for(("admin_platform", None))
    assert client.get("/api/v1/auth/me", headers=bearer(good)).status_code == 200
    claims = auth.tokens.decode(good)
    header = {"alg": "RS256", "kid": auth.keyring.signing_key.kid}
    stranger = RSAKey.generate_key(2048, parameters={"kid": auth.keyring.signing_key.kid})
    import base64
    import json

    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    forged = {
        "alg none": f"{b64({'alg': 'none'})}.{b64(claims)}.",
        "wrong key": jwt.encode(header, claims, stranger),
        "wrong audience": jwt.encode(header, {**claims, "aud": "lain"}, auth.keyring.signing_key),
        "expired": jwt.encode(header, {**claims, "exp": int(time.time()) - 10}, auth.keyring.signing_key),
        "garbage": "abc.def.ghi",
    }
    for name, token in forged.items():
        response = client.get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert "invalid_token" in response.headers["WWW-Authenticate"], name


def test_keys_rotate_and_jwks_publishes_old_and_new(client, auth, engine, settings, token_for):
    before = token_for(("admin_platform", None))
    old_kid = auth.keyring.signing_key.kid
    new_kid = create_key(engine, settings.secret_key)
    auth.keyring._loaded_at = 0  # what happens within 5 minutes by itself
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert {old_kid, new_kid} <= {k["kid"] for k in jwks["keys"]}
    assert all("d" not in k for k in jwks["keys"])  # public halves only
    after = token_for(("admin_platform", None))
    assert jwt.decode(after, auth.keyring.verification_keys(None)).header["kid"] == new_kid
    assert client.get("/api/v1/auth/me", headers=bearer(before)).status_code == 200  # old key still verifies


# --- policy ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grant", "desa", "allowed"),
    [(("operator_desa", DESA), DESA, True), (("operator_desa", DESA), OTHER_DESA, False),
     (("camat", "15.08.14"), OTHER_DESA, False), (("staf_kecamatan", "15.08.01"), DESA, False),
     (("staf_kabupaten", "15.08"), DESA, False), (("kepala_desa", DESA), DESA, True),
     (("admin_platform", None), DESA, True)],
)
def test_desa_desk_follows_role_and_scope(client, token_for, grant, desa, allowed):
    response = client.get(f"/api/v1/desa/{desa}/akun-warga/terkunci", headers=bearer(token_for(grant)))
    assert response.status_code == (200 if allowed else 403)


def test_kecamatan_and_kabupaten_roles_cover_their_villages_for_the_audit_log(client, token_for):
    assert client.get(f"/api/v1/desa/{DESA}/audit", headers=bearer(token_for(("kepala_desa", DESA)))
                      ).status_code == 200
    assert client.get(f"/api/v1/desa/{DESA}/audit", headers=bearer(token_for(("operator_desa", DESA)))
                      ).status_code == 403
    assert client.get("/api/v1/audit", headers=bearer(token_for(("kepala_desa", DESA)))).status_code == 403
    assert client.get("/api/v1/audit", headers=bearer(token_for(("admin_platform", None)))).status_code == 200


def test_every_operation_documents_its_security(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"bearerAuth", "cookieAuth", "oauth2"} <= set(spec["components"]["securitySchemes"])
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert "security" in operation, f"{method.upper()} {path}"


# --- portal sessions ------------------------------------------------------------------------------------


def test_portal_session_cookie_needs_csrf_for_changes(client, make_staff, settings):
    username, password, _ = make_staff(("operator_desa", DESA))
    response = client.post("/api/v1/auth/session", json={"username": username, "password": password})
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    csrf = response.get_json()["csrf_token"]
    assert client.get("/api/v1/auth/me").get_json()["nama"].startswith("Staf")
    assert client.delete("/api/v1/auth/session").status_code == 403  # no CSRF token
    assert client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": "salah"}).status_code == 403
    assert client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


# --- audit ----------------------------------------------------------------------------------------------


def test_sign_ins_pin_issuance_and_personal_data_reads_are_audited(client, make_family, token_for, engine):
    [(nik, pin, penduduk_id)] = make_family(size=1)
    assert login(client, desa=DESA, nik=nik, pin="999999" if pin != "999999" else "888888").status_code == 401
    token = login(client, desa=DESA, nik=nik, pin=pin).get_json()["access_token"]
    client.get(f"/api/v1/desa/{DESA}/warga/saya", headers=bearer(token))
    rio = bearer(token_for(("kepala_desa", DESA)))
    entries = client.get(f"/api/v1/desa/{DESA}/audit?page_size=50", headers=rio).get_json()
    mine = [e for e in entries if e["aktor"] == f"warga:{DESA}:{penduduk_id}"]
    assert {"login_gagal", "login", "token_diterbitkan", "baca_data_pribadi"} <= {e["aksi"] for e in mine}
    assert all(nik not in str(e) for e in entries)  # no NIK in the log
    assert all(e["desa_kode"] == DESA for e in entries)
    with engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM kawasan.audit_log WHERE desa_kode = :d"), {"d": DESA})


# --- headers --------------------------------------------------------------------------------------------


def test_security_headers_everywhere_and_cors_closed(client):
    for url in ("/healthz", "/api/v1/desa", "/api/v1/auth/me"):
        response = client.get(url, headers={"Origin": "https://evil.example"})
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "Access-Control-Allow-Origin" not in response.headers


def test_a_token_delegated_to_an_app_is_limited_to_its_scopes(client, auth):
    from service.auth.principal import Kind, Principal
    from service.auth.roles import make_grant

    delegated = Principal(kind=Kind.STAFF, subject="staff:1", name="Uji", grants=(make_grant("operator_desa", DESA),),
                          scopes=frozenset({"desa:read"}))
    token = auth.tokens.issue(delegated)[0]
    assert client.get(f"/api/v1/desa/{DESA}/akun-warga/terkunci", headers=bearer(token)).status_code == 403


def test_cors_preflight_is_answered_only_for_configured_origins(client, app):
    preflight = client.options("/api/v1/auth/me", headers={"Origin": "https://evil.example",
                                                           "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200 and "Access-Control-Allow-Origin" not in preflight.headers
    settings = app.extensions["kawasan"].settings
    import dataclasses

    app.extensions["kawasan"].settings = dataclasses.replace(settings, cors_origins=("https://portal.bungokab.go.id",))
    try:
        allowed = client.options("/api/v1/auth/me", headers={"Origin": "https://portal.bungokab.go.id",
                                                             "Access-Control-Request-Method": "GET"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://portal.bungokab.go.id"
    finally:
        app.extensions["kawasan"].settings = settings
