"""Proof of isolation, generated from the OpenAPI document.

Every protected operation is called with no token, expired and forged tokens, tokens of another desa,
another kecamatan, a warga of another family or desa, and roles too small for it: each answer must be
401, 403 or 404, never data. New operations are covered as soon as they appear in the spec.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from service.auth.principal import Kind, Principal
from service.auth.roles import Grant, Peran

DESA = "15.08.14.2001"  # the target: Muara Buat, Kecamatan Bathin III Ulu, Kabupaten Bungo
SAME_KECAMATAN_DESA = "15.08.14.2002"
OTHER_KECAMATAN = "15.08.01"
OTHER_KECAMATAN_DESA = "15.08.01.2001"
TARGET_KECAMATAN, TARGET_KABUPATEN = "15.08.14", "15.08"
OTHER_KABUPATEN = "15.09"
ALL_STAFF_AT_TARGET = [
    Grant(Peran.OPERATOR_DESA, DESA), Grant(Peran.SEKDES, DESA), Grant(Peran.KEPALA_DESA, DESA),
    Grant(Peran.STAF_KECAMATAN, "15.08.14"), Grant(Peran.CAMAT, "15.08.14"),
    Grant(Peran.STAF_KABUPATEN, "15.08"), Grant(Peran.ADMIN_KABUPATEN, "15.08"),
]


def _region_target(policy) -> str:
    """The region a region-scoped operation is called on: the kecamatan when a kecamatan role may call it, else
    the kabupaten (so the allowed caller really gets through and every denial is a denial, not a 404)."""
    from service.auth.roles import SCOPE_LEVEL
    from service.regions.codes import Tingkat

    levels = {SCOPE_LEVEL[Peran(r)] for r in policy["roles"]}
    return TARGET_KECAMATAN if Tingkat.KECAMATAN in levels or not levels else TARGET_KABUPATEN


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            policy = operation.get("x-kawasan-policy") if isinstance(operation, dict) else None
            if policy is not None:
                url = re.sub(r"\{kode\}", DESA, path)
                url = re.sub(r"\{wilayah\}", _region_target(policy), url)
                url = re.sub(r"\{[^}]+\}", "1", url)
                yield pytest.param((method.upper(), url, policy), id=f"{method.upper()} {path}")


def pytest_generate_tests(metafunc):
    if "operation" in metafunc.fixturenames:
        from tests.fixtures import openapi_for_generation

        params = list(_operations(openapi_for_generation()))
        assert len(params) >= 10, "the spec lost its protected operations"
        metafunc.parametrize("operation", [p.values[0] for p in params], ids=[p.id for p in params])


def _principal(*grants: Grant, kind=Kind.STAFF, desa=None, pid=None) -> Principal:
    return Principal(kind=kind, subject=f"{kind.value}:{uuid.uuid4().hex[:8]}", name="Uji", grants=grants,
                     desa_kode=desa, penduduk_id=pid)


def _b64(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _call(client, method, url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.open(url, method=method, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None)


def _denied(response, case):
    assert response.status_code in (401, 403, 404), f"{case}: {response.status_code} {response.get_data()[:200]}"
    assert response.mimetype == "application/problem+json", case


def test_every_protected_operation_refuses_outsiders(client, auth, operation):
    method, url, policy = operation
    tokens = auth.tokens
    key = auth.keyring.signing_key
    valid = tokens.issue(_principal(*ALL_STAFF_AT_TARGET))[0]
    claims = tokens.decode(valid)
    header = {"alg": "RS256", "kid": key.kid}
    stranger = RSAKey.generate_key(2048, parameters={"kid": key.kid})
    cases = {
        "no token": None,
        "expired": jwt.encode(header, {**claims, "exp": int(time.time()) - 60}, key),
        "alg none": f"{_b64({'alg': 'none', 'kid': key.kid})}.{_b64(claims)}.",
        "wrong key": jwt.encode(header, claims, stranger),
        "wrong audience": jwt.encode(header, {**claims, "aud": "aplikasi-lain"}, key),
        "wrong issuer": jwt.encode(header, {**claims, "iss": "penerbit-lain"}, key),
    }
    if not policy["any_principal"]:
        other_desa = SAME_KECAMATAN_DESA
        cases |= {
            "staff of another desa": tokens.issue(_principal(
                Grant(Peran.OPERATOR_DESA, other_desa), Grant(Peran.SEKDES, other_desa),
                Grant(Peran.KEPALA_DESA, other_desa)))[0],
            "staff of another kecamatan": tokens.issue(_principal(
                Grant(Peran.STAF_KECAMATAN, OTHER_KECAMATAN), Grant(Peran.CAMAT, OTHER_KECAMATAN),
                Grant(Peran.OPERATOR_DESA, OTHER_KECAMATAN_DESA), Grant(Peran.KEPALA_DESA, OTHER_KECAMATAN_DESA)))[0],
            "staff of another kabupaten": tokens.issue(_principal(
                Grant(Peran.STAF_KABUPATEN, OTHER_KABUPATEN), Grant(Peran.ADMIN_KABUPATEN, OTHER_KABUPATEN)))[0],
            "warga of another desa": tokens.issue(_principal(kind=Kind.WARGA, desa=other_desa, pid=1))[0],
            "client of another desa": tokens.issue(Principal(
                kind=Kind.CLIENT, subject="client:uji", name="Uji", grants=(Grant(Peran.INTEGRASI, other_desa),),
                scopes=frozenset({"desa:read", "penduduk:read", "audit:read"})))[0],
        }
        if not policy["warga"]:
            cases["warga of this desa"] = tokens.issue(_principal(kind=Kind.WARGA, desa=DESA, pid=1))[0]
        for grant in (g for g in ALL_STAFF_AT_TARGET if g.peran.value not in policy["roles"]):
            cases[f"too small a role: {grant}"] = tokens.issue(_principal(grant))[0]
    for case, token in cases.items():
        _denied(_call(client, method, url, token), f"{method} {url} with {case}")


def test_the_right_role_gets_past_the_policy(client, auth, operation):
    """Control: the generated denials are not vacuous, an allowed caller is let through."""
    method, url, policy = operation
    if policy["roles"]:
        grant_role = Peran(policy["roles"][0])
        scope = {"desa": DESA, "kecamatan": "15.08.14", "kabupaten": "15.08", None: None}
        from service.auth.roles import SCOPE_LEVEL

        level = SCOPE_LEVEL[grant_role]
        principal = _principal(Grant(grant_role, scope[level.value if level else None]))
    elif policy["warga"]:
        principal = _principal(kind=Kind.WARGA, desa=DESA, pid=1)
    else:
        principal = _principal(Grant(Peran.OPERATOR_DESA, DESA))
    response = _call(client, method, url, auth.tokens.issue(principal)[0])
    assert response.status_code not in (401, 403), f"{method} {url}: {response.get_data()[:300]}"
