"""The event log as parties read it: catch-up, chain verification, dispute bundles, keys."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CurrentPrincipal, KeyRingDep, SessionDep, public
from api.json import dumps
from api.routing import TransactionalRoute
from core import eventlog
from core.bundle import BUNDLE_MEDIA_TYPE
from core.bundle_builder import build_bundle
from core.clock import now
from core.errors import FieldError, RuleViolation
from core.event_schemas import (
    ChainReportPublic,
    EventsPublic,
    chain_report_public,
    event_public,
)
from core.logchain import KnownEntry

router = APIRouter(prefix="/v1", route_class=TransactionalRoute)

Subject = Annotated[
    str,
    Query(min_length=3, max_length=80, description="The subject, e.g. `delivery:0190…`"),
]
JWKS_MEDIA_TYPE = "application/jwk-set+json"
KEYS_CACHE_S = 300
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@router.get("/events", tags=["events"])
async def list_events(
    principal: CurrentPrincipal,
    session: SessionDep,
    subject: Subject,
    after: Annotated[int, Query(ge=0, description="Return entries after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventsPublic:
    """A subject's entries addressed to your organization after a sequence number, in order."""
    await eventlog.require_visible(
        session, subject=subject, organization_id=principal.organization_id
    )
    found = await eventlog.read_visible(
        session,
        subject=subject,
        organization_id=principal.organization_id,
        after=after,
        limit=limit + 1,
    )
    page = found[:limit]
    return EventsPublic(
        data=[event_public(event) for event in page],
        count=len(page),
        next_after=page[-1].seq if len(found) > limit else None,
    )


@router.get("/events/verify", tags=["events"])
async def verify_events(
    principal: CurrentPrincipal,
    session: SessionDep,
    key_ring: KeyRingDep,
    subject: Subject,
    known_seq: Annotated[
        int | None, Query(ge=1, description="The seq of an entry you received earlier")
    ] = None,
    known_hash: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="That entry's hash")
    ] = None,
) -> ChainReportPublic:
    """Check a subject's chain: the first modified, deleted, inserted or reordered entry."""
    if (known_seq is None) != (known_hash is None):
        missing = "known_hash" if known_hash is None else "known_seq"
        raise RuleViolation(
            "give known_seq and known_hash together",
            code="validation_failed",
            errors=[FieldError(loc=("query", missing), msg="required with the other")],
        )
    await eventlog.require_visible(
        session, subject=subject, organization_id=principal.organization_id
    )
    known = (
        [KnownEntry(seq=known_seq, hash=known_hash)]
        if known_seq is not None and known_hash is not None
        else []
    )
    report = await eventlog.verify_subject(session, subject=subject, keys=key_ring, known=known)
    return chain_report_public(report, checked_at=now())


@router.get(
    "/events/bundle",
    tags=["events"],
    response_class=Response,
    responses={200: {"content": {BUNDLE_MEDIA_TYPE: {}}, "description": "The bundle (zip)"}},
)
async def get_event_bundle(
    principal: CurrentPrincipal, session: SessionDep, key_ring: KeyRingDep, subject: Subject
) -> Response:
    """A subject's dispute bundle: entries, keys, evidence and summary, signed, as one zip."""
    bundle = await build_bundle(
        session, subject=subject, organization_id=principal.organization_id, key_ring=key_ring
    )
    filename = f"dispute-bundle-{_UNSAFE_FILENAME.sub('-', subject)}.zip"
    return Response(
        bundle,
        media_type=BUNDLE_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/keys",
    tags=["keys"],
    response_class=Response,
    responses={200: {"content": {JWKS_MEDIA_TYPE: {}}, "description": "A JWKS document"}},
    **public("verifiers of passes and dispute bundles need the public keys"),
)
async def get_keys(
    key_ring: KeyRingDep,
    include_retired: Annotated[
        bool,
        Query(description="Also keys past their publication window (for old log entries)"),
    ] = False,
) -> Response:
    """The platform's public signing keys as a JWKS."""
    document = key_ring.archive_jwks() if include_retired else key_ring.jwks(now=now())
    return Response(
        dumps(document),
        media_type=JWKS_MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={KEYS_CACHE_S}"},
    )
