"""Building a subject's dispute bundle from the log, with evidence the domains contribute.

How a domain contributes: register an `AttachmentSource` for the subject kinds it owns, once,
when its modules are imported (as `accounts.work.register_open_work` is used)::

    async def delivery_evidence(
        session: AsyncSession, *, subject: str, organization_id: uuid.UUID
    ) -> Sequence[Contribution]:
        trail = await trail_geojson(session, subject)
        return [
            Attachment("trail.geojson", "application/geo+json", trail, "the truck's trail"),
            Reference("pod-photo-1.jpg", photo.sha256, photo.size_bytes, "image/jpeg", ""),
        ]

    register_attachment_source("delivery", delivery_evidence)

A source sees the requesting organization and returns only what that party may see. A
domain that builds a bundle itself (a dispute, say) calls `build_bundle` with ``extra``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from core.bundle import Contribution, pack_bundle
from core.clock import now
from core.eventlog import chain_of, chain_record, require_visible
from core.signing import KeyRing


class AttachmentSource(Protocol):
    """Evidence a domain adds to the bundles of the subjects it owns."""

    async def __call__(
        self, session: AsyncSession, *, subject: str, organization_id: uuid.UUID
    ) -> Sequence[Contribution]:
        """The attachments and references for one subject, as the organization may see them."""
        ...


_sources: dict[str, list[AttachmentSource]] = {}


def register_attachment_source(subject_kind: str, source: AttachmentSource) -> None:
    """Add evidence to every bundle of subjects of a kind (``delivery`` for ``delivery:…``)."""
    registered = _sources.setdefault(subject_kind, [])
    if source not in registered:
        registered.append(source)


def attachment_sources(subject: str) -> list[AttachmentSource]:
    """The sources registered for a subject's kind."""
    kind = subject.split(":", 1)[0]
    return list(_sources.get(kind, ()))


async def build_bundle(
    session: AsyncSession,
    *,
    subject: str,
    organization_id: uuid.UUID,
    key_ring: KeyRing,
    extra: Sequence[Contribution] = (),
    created_at: datetime | None = None,
) -> bytes:
    """The zip bundle of a subject for one party; SubjectNotFound if it is not in the audience.

    Entries not addressed to the party are withheld (hashes and signatures only).
    """
    await require_visible(session, subject=subject, organization_id=organization_id)
    viewer = str(organization_id)
    entries, head = await chain_of(session, subject)
    records = [chain_record(e, withheld=viewer not in e.audience) for e in entries]
    contributions = list(extra)
    for source in attachment_sources(subject):
        contributions.extend(
            await source(session, subject=subject, organization_id=organization_id)
        )
    return pack_bundle(
        subject=subject,
        records=records,
        head=head,
        key_ring=key_ring,
        prepared_for=viewer,
        created_at=created_at or now(),
        contributions=contributions,
    )
