"""Token signing keys: RS256, stored encrypted in the shared schema, rotated, published as JWKS.

The newest key that is not retired signs; every key that may still have live tokens verifies.
``kawasan keys rotate`` adds a key and retires the previous one, which stays in the JWKS for
``KEY_OVERLAP`` so tokens it signed keep verifying until they expire.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import Engine, select, update

from service.auth.models import SigningKey

ALGORITHM = "RS256"
KEY_OVERLAP = timedelta(days=1)  # longer than any access token lives
_RELOAD_AT_MOST_EVERY = 5.0  # seconds; a forged kid cannot make every request hit the database


def _password(secret_key: str) -> bytes:
    return secret_key.encode()


def create_key(engine: Engine, secret_key: str) -> str:
    """Generate a new signing key, retire the current ones; returns the new kid."""
    kid = datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(4)
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
    with engine.begin() as conn:
        conn.execute(
            update(SigningKey).where(SigningKey.pensiun_pada.is_(None)).values(pensiun_pada=datetime.now(UTC))
        )
        conn.execute(
            SigningKey.__table__.insert().values(
                kid=kid, algorithm=ALGORITHM,
                private_pem=key.as_pem(private=True, password=_password(secret_key)).decode(),
                public_jwk=key.as_dict(private=False),
            )
        )
    return kid


class KeyRing:
    """Process-wide cache of the signing and verification keys."""

    def __init__(self, engine: Engine, secret_key: str):
        self.engine = engine
        self.secret_key = secret_key
        self._lock = threading.Lock()
        self._signing: RSAKey | None = None
        self._verifying: KeySet = KeySet([])
        self._public: list[dict] = []
        self._loaded_at = 0.0

    def _load(self) -> None:
        cutoff = datetime.now(UTC) - KEY_OVERLAP
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(SigningKey.__table__)
                .where((SigningKey.pensiun_pada.is_(None)) | (SigningKey.pensiun_pada > cutoff))
                .order_by(SigningKey.dibuat_pada.desc())
            ).all()
        if not any(r.pensiun_pada is None for r in rows):
            create_key(self.engine, self.secret_key)
            return self._load()
        current = next(r for r in rows if r.pensiun_pada is None)
        self._signing = RSAKey.import_key(
            current.private_pem, parameters={"kid": current.kid, "alg": ALGORITHM, "use": "sig"},
            password=_password(self.secret_key),
        )
        self._public = [r.public_jwk for r in rows]
        self._verifying = KeySet([RSAKey.import_key(jwk) for jwk in self._public])
        self._loaded_at = time.monotonic()

    def ensure_loaded(self, *, unknown_kid: str | None = None) -> None:
        with self._lock:
            stale = time.monotonic() - self._loaded_at
            if self._signing is None or (unknown_kid and stale > _RELOAD_AT_MOST_EVERY) or stale > 300:
                self._load()

    @property
    def signing_key(self) -> RSAKey:
        self.ensure_loaded()
        assert self._signing is not None
        return self._signing

    def verification_keys(self, kid: str | None) -> KeySet:
        self.ensure_loaded()
        if kid and not any(k.kid == kid for k in self._verifying.keys):
            self.ensure_loaded(unknown_kid=kid)
        return self._verifying

    def jwks(self) -> dict:
        self.ensure_loaded()
        return {"keys": list(self._public)}
