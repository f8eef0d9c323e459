"""Password hashing (argon2id) and bearer token material (only hashes are stored)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

TOKEN_PREFIXES = {"session": "hps_", "api_key": "hpk_"}
# A password check against this hash keeps an unknown login as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash with a fresh salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether a password matches; takes the same time when there is no such account."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_token(kind: str) -> str:
    """A bearer token with 256 bits of randomness and a prefix that says what it is."""
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 under which a token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()
