"""Rotating the platform's signing key without stranding a pass: the key taken out of
service stays published until every pass it signed has expired (the longest pass lifetime
plus the gates' clock leeway), and the settings that say so are produced here."""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.settings import PassSettings
from core.signing import KeyRing, dump_retired_keys


def rotate_for_passes(
    ring: KeyRing, new_key: Ed25519PrivateKey, *, now: datetime, policy: PassSettings
) -> KeyRing:
    """The ring with ``new_key`` signing and the current key published as long as a pass it
    signed may still be shown at a gate."""
    return ring.rotate(new_key, now=now, publish_for_s=policy.key_publish_s)


def retired_keys_setting(ring: KeyRing) -> str:
    """The ``HAULPOINT_SIGNING__RETIRED_KEYS`` value that keeps a ring's retired keys."""
    return dump_retired_keys(ring.retired)
