"""The secrets a device presents: a bearer token, a tracker id for stock apps, and hashes.

Each is random and long, so a fast hash is enough to store it: there is nothing to guess.
The tracker id is separate from the token because stock apps put it in query strings and
people type it on a phone keyboard: lowercase letters and digits only, 100 bits.
"""

from __future__ import annotations

import hashlib
import secrets

DEVICE_TOKEN_PREFIX = "hpd_"  # noqa: S105 - a prefix, not a secret
TRACKER_ID_PREFIX = "hpt"
_TRACKER_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: easy to type right
_TRACKER_ID_CHARS = 20  # 20 x 5 bits


def new_device_token() -> str:
    """A device bearer token with 256 bits of randomness."""
    return DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_tracker_id() -> str:
    """A device identifier for stock apps that doubles as their secret."""
    return TRACKER_ID_PREFIX + "".join(
        secrets.choice(_TRACKER_ALPHABET) for _ in range(_TRACKER_ID_CHARS)
    )


def owntracks_user(number: int) -> str:
    """The OwnTracks HTTP user name of a device (not secret; its password is the token)."""
    return f"hp{number}"


def secret_hash(secret: str) -> str:
    """The SHA-256 under which a device secret is stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()
