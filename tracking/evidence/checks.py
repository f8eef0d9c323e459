"""Checks evidence writes share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import FieldError
from tracking.evidence import repository
from tracking.evidence.exceptions import ReceiptInvalid
from tracking.evidence.models import EvidenceFile


async def require_files(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    named: Sequence[tuple[tuple[str | int, ...], str]],
) -> dict[str, EvidenceFile]:
    """The delivery's files with the given hashes; a hash not uploaded is a 422 at its field."""
    wanted = sorted({sha for _, sha in named})
    found = {
        f.sha256: f
        for f in await repository.evidence_files(session, delivery_id=delivery_id, sha256s=wanted)
    }
    missing = [
        FieldError(loc=("body", *loc), msg="no such file uploaded to this delivery")
        for loc, sha in named
        if sha not in found
    ]
    if missing:
        raise ReceiptInvalid("a file named is not uploaded to this delivery", errors=missing)
    return found
