"""Password, PIN and client-secret hashing (argon2id), deliberately slow (~50 ms)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id, 32 MiB, 2 passes (above OWASP's 19 MiB / t=2 floor): about 50 ms on the 2-core reference
# machine (bench/auth.py prints it); 64 MiB cost ~115 ms there, mostly page faults.
_hasher = PasswordHasher(time_cost=2, memory_cost=32768, parallelism=1)
#: Verified against when the account does not exist, so unknown and wrong take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_secret(value: str) -> str:
    return _hasher.hash(value)


def verify_secret(stored_hash: str | None, value: str) -> bool:
    """Constant-time check; ``None`` (no such account) still costs one full verification."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, value) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def new_pin() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def new_password() -> str:
    return secrets.token_urlsafe(12)


def opaque_token() -> str:
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """SHA-256 hex: how opaque tokens (refresh tokens, codes) are stored and looked up."""
    return hashlib.sha256(value.encode()).hexdigest()
