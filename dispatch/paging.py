"""Opaque cursors for lists that grow: the id of the last row a page ended on."""

from __future__ import annotations

import base64
import binascii
import uuid

from core.errors import FieldError, RuleViolation


def encode_cursor(last_id: uuid.UUID) -> str:
    """The cursor that continues after ``last_id``."""
    return base64.urlsafe_b64encode(last_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    """The id a cursor continues after; a malformed cursor is a 422 naming the parameter."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as error:
        raise RuleViolation(
            "the cursor is not one this API handed out",
            code="invalid_cursor",
            errors=[FieldError(loc=("query", "cursor"), msg="unknown cursor")],
        ) from error
