"""What the service reads from a pass token besides the verified claims: the digest of the
claims as issued, and, for a token whose signature fails, which stored pass it claims to be.

Nothing read by `peek_pass_id` is trusted: it only picks the stored pass whose signature the
token is compared with, to tell a genuine pass with an edited payload from a forgery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid

from dispatch.authorizations.passes import PassClaims

MAX_TOKEN_CHARS = 4096


def claims_digest(claims: PassClaims) -> str:
    """SHA-256 (hex) of the claims' canonical JSON: the same claims always give the same."""
    canonical = json.dumps(
        claims.to_payload(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _segments(token: str) -> list[str] | None:
    text = token.strip()
    if len(text) > MAX_TOKEN_CHARS:
        return None
    parts = text.split(".")
    return parts if len(parts) == 3 else None


def signature_segment(token: str) -> str | None:
    """The token's third part (the signature, base64url), or None if it is not three parts."""
    parts = _segments(token)
    return None if parts is None else parts[2]


def payload_segment(token: str) -> str | None:
    """The token's second part (the payload, base64url), or None if it is not three parts."""
    parts = _segments(token)
    return None if parts is None else parts[1]


def peek_pass_id(token: str) -> uuid.UUID | None:
    """The pass id a token's payload names, read WITHOUT verifying anything (see above)."""
    segment = payload_segment(token)
    if segment is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        payload = json.loads(raw)
        return uuid.UUID(str(payload["jti"])) if isinstance(payload, dict) else None
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        return None
