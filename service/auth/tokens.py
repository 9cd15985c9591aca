"""Access tokens: short-lived RS256 JWTs (RFC 9068 style claims) signed by the key ring.

A revoked access token (logout, RFC 7009 revocation) is remembered in Redis until it would have
expired anyway.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

import redis
from joserfc import jwt
from joserfc.errors import JoseError

from service.auth.keys import ALGORITHM, KeyRing
from service.auth.principal import Kind, Principal
from service.auth.roles import Grant

AUDIENCE = "kawasan-api"
ACCESS_TTL = 900  # 15 minutes


class TokenError(Exception):
    """An access token that must not be honoured; the message is safe to show."""


class TokenService:
    def __init__(self, keyring: KeyRing, redis_client: redis.Redis, issuer: str):
        self.keyring = keyring
        self.redis = redis_client
        self.issuer = issuer
        self._claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
        )

    def issue(self, principal: Principal, *, ttl: int = ACCESS_TTL) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": AUDIENCE, "sub": principal.subject, "iat": now, "nbf": now - 5,
            "exp": now + ttl, "jti": secrets.token_urlsafe(16), "knd": principal.kind.value,
            "nam": principal.name, "rol": [str(g) for g in principal.grants],
        }
        if principal.desa_kode:
            claims["dsa"] = principal.desa_kode
        if principal.penduduk_id is not None:
            claims["pid"] = principal.penduduk_id
        if principal.scopes:
            claims["scope"] = " ".join(sorted(principal.scopes))
        if principal.must_change_pin:
            claims["pcr"] = True
        key = self.keyring.signing_key
        token = jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "at+jwt"}, claims, key)
        return token, ttl

    def verify(self, token: str) -> Principal:
        claims = self.decode(token)
        if self.redis.exists(f"kawasan:revoked:{claims['jti']}"):
            raise TokenError("token dicabut / token revoked")
        return principal_from_claims(claims)

    def decode(self, token: str) -> dict:
        """Signature, algorithm, issuer, audience and expiry checked; raises :class:`TokenError`."""
        try:
            header = json.loads(_b64(token.split(".", 1)[0]))
            decoded = jwt.decode(token, self.keyring.verification_keys(header.get("kid")), algorithms=[ALGORITHM])
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise TokenError("token tidak sah / invalid token") from exc
        return decoded.claims

    def revoke(self, claims: dict) -> None:
        remaining = int(claims.get("exp", 0)) - int(time.time())
        if remaining > 0:
            self.redis.set(f"kawasan:revoked:{claims['jti']}", 1, ex=remaining)


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def principal_from_claims(claims: dict) -> Principal:
    return Principal(
        kind=Kind(claims["knd"]),
        subject=claims["sub"],
        name=claims.get("nam", ""),
        grants=tuple(Grant.parse(g) for g in claims.get("rol", [])),
        desa_kode=claims.get("dsa"),
        penduduk_id=claims.get("pid"),
        scopes=frozenset((claims.get("scope") or "").split()),
        must_change_pin=bool(claims.get("pcr")),
        token_id=claims.get("jti"),
    )
