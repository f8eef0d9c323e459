"""Ids: UUIDv7 everywhere (RFC 9562), so keys sort by creation time and index well."""

from __future__ import annotations

import secrets
import time
import uuid

_RANDOM_BITS = 74


def new_id() -> uuid.UUID:
    """A fresh UUIDv7: 48 bits of Unix milliseconds, then 74 random bits."""
    unix_ms = time.time_ns() // 1_000_000
    rand = secrets.randbits(_RANDOM_BITS)
    rand_a = rand >> 62  # 12 bits after the version nibble
    rand_b = rand & ((1 << 62) - 1)  # 62 bits after the variant
    value = (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)
