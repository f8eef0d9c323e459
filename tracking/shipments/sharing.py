"""Share links: a read-only, expiring, signed pass to one shipment's live view.

A link token names one delivery and an expiry and is signed with HMAC-SHA256 under a key
derived from the platform's secret; nothing is stored, so a link cannot be widened (another
shipment, a later expiry) without the key. It opens that shipment's view, events, trail and
stream, and nothing else. Creating one is recorded in the delivery's event log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from core.errors import DomainError, NotFound

PREFIX: Final = "hps_"
_SIG_BYTES: Final = 20
_LABEL: Final = b"haulpoint share link v1"


class ShareLinkNotFound(NotFound):
    """The link is malformed or forged: it opens nothing."""

    default_code = "share_link_not_found"


class ShareLinkExpired(DomainError):
    """The link was genuine but its time is up."""

    status = 410
    default_code = "share_link_expired"


@dataclass(frozen=True, slots=True)
class ShareLink:
    """What a genuine link opens, and until when."""

    delivery_id: uuid.UUID
    expires_at: datetime


def link_key(secret: bytes) -> bytes:
    """The signing key of share links, derived from the platform's secret."""
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: bytes, *, delivery_id: uuid.UUID, expires_at: datetime) -> str:
    """A link token for one delivery, valid until ``expires_at`` (whole seconds)."""
    body = delivery_id.bytes + struct.pack(">Q", int(expires_at.timestamp()))
    signature = hmac.new(key, body, hashlib.sha256).digest()[:_SIG_BYTES]
    return f"{PREFIX}{_b64(body)}.{_b64(signature)}"


def open_link(key: bytes, token: str, *, at: datetime) -> ShareLink:
    """Check a token: its signature, then its expiry."""
    if not token.startswith(PREFIX) or len(token) > 120:
        raise ShareLinkNotFound("no such share link")
    encoded, _, encoded_signature = token[len(PREFIX) :].partition(".")
    try:
        body = _unb64(encoded)
        signature = _unb64(encoded_signature)
    except (binascii.Error, ValueError) as error:
        raise ShareLinkNotFound("no such share link") from error
    expected = hmac.new(key, body, hashlib.sha256).digest()[:_SIG_BYTES]
    if len(body) != 24 or not hmac.compare_digest(signature, expected):
        raise ShareLinkNotFound("no such share link")
    (expires_s,) = struct.unpack(">Q", body[16:])
    expires_at = datetime.fromtimestamp(expires_s, UTC)
    if at >= expires_at:
        raise ShareLinkExpired(f"this share link expired at {expires_at.isoformat()}")
    return ShareLink(uuid.UUID(bytes=body[:16]), expires_at)
