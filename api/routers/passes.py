"""Pickup passes: the driver's phone shows them (text, PNG, SVG), the gate verifies and
checks them in, the weighbridge uses them up, and plant devices sync revocations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, SessionDep, require_scope
from api.routing import TransactionalRoute
from core.clock import now
from dispatch.authorizations import gate, issuing
from dispatch.authorizations.enums import PassState
from dispatch.authorizations.qr import pass_qr_png, pass_qr_svg
from dispatch.authorizations.schemas import (
    GateCheck,
    GatePresent,
    GateVerdictPublic,
    PassConsume,
    PassesPublic,
    PassIssue,
    PassPublic,
    PassRevoke,
    PassTokenPublic,
    RevocationsPublic,
)
from dispatch.authorizations.views import (
    pass_public,
    pass_token_public,
    revocations_public,
    verdict_public,
)
from dispatch.paging import encode_cursor

router = APIRouter(prefix="/v1/passes", tags=["passes"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_WRITE))]
GateReader = Annotated[Principal, Depends(require_scope(Scope.YARD_READ))]
Gate = Annotated[Principal, Depends(require_scope(Scope.YARD_WRITE))]
Limit = Annotated[int, Query(ge=1, le=200)]
NO_STORE = {"Cache-Control": "no-store"}

OFFLINE_GUIDE = """
How a gate device verifies passes with no network:

1. While online, fetch the platform's public keys, `GET /v1/keys` (a JWKS; cache it, refresh
   at least daily: a retired key stays published until every pass it signed has expired).
2. Keep the plant's revocation list: start with `after=0`, merge the `entries`, remember
   `up_to`, and ask again with `after=<up_to>` whenever there is network (and at once while a
   page comes back full). Entries of passes that expired anyway are left out. A 422
   `after_beyond_head` means the list was reset: sync again from 0.
3. At the gate, with no network, run
   `dispatch.authorizations.offline.verify_offline(token, jwks=…, revocations=…,
   plate_seen=…, plant_id=<this plant's site id>, now=<device clock>)`: it checks the EdDSA
   signature against the cached keys, the revocation list (revoked passes, and passes used
   up already), the validity window with two minutes of clock leeway, the plant and the plate,
   and answers with a reason code from the same vocabulary as `POST /v1/passes/verify`.
4. When the network is back, report each truck admitted with `POST /v1/passes/present` and
   its `seen_at`: the platform answers what only it can know (already presented elsewhere,
   used up, tampered).
"""


@router.get("")
async def list_passes(
    principal: Reader,
    session: SessionDep,
    delivery_id: uuid.UUID | None = None,
    state: PassState | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> PassesPublic:
    """Passes of deliveries you are party to (a driver: your own), newest first."""
    found = await issuing.list_passes(
        session,
        principal=principal,
        delivery_id=delivery_id,
        state=state,
        cursor=cursor,
        limit=limit,
    )
    moment = now()
    next_cursor = encode_cursor(found[-1].id) if len(found) == limit else None
    return PassesPublic(
        data=[pass_public(p, moment=moment) for p in found],
        count=len(found),
        next_cursor=next_cursor,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def issue_pass(
    body: PassIssue, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> PassPublic:
    """Issue a new pass for your delivery from its driver grant (the last one expired or
    was revoked)."""
    issued = await issuing.reissue_pass(
        session, principal=principal, delivery_id=body.delivery_id, policy=runtime.settings.passes
    )
    return pass_public(issued, moment=now())


@router.get("/revocations", description=OFFLINE_GUIDE)
async def list_revocations(
    principal: GateReader,
    session: SessionDep,
    runtime: RuntimeDep,
    plant_site_id: uuid.UUID,
    after: Annotated[int, Query(ge=0, description="The last seq your device holds")] = 0,
) -> RevocationsPublic:
    """Your plant's revocation list after a sequence number, for gates that verify offline."""
    page = await gate.revocations(
        session,
        principal=principal,
        plant_site_id=plant_site_id,
        after=after,
        policy=runtime.settings.passes,
    )
    return revocations_public(page)


@router.post(
    "/verify",
    description="Answers `valid`, or a `reason` code: malformed, unknown_key, "
    "signature_invalid, tampered, revoked, consumed, already_presented, expired, "
    "not_yet_valid, wrong_plant, plate_mismatch. Recorded on the delivery's log." + OFFLINE_GUIDE,
)
async def verify_pass(
    body: GateCheck, principal: Gate, session: SessionDep, runtime: RuntimeDep
) -> GateVerdictPublic:
    """Verify a scanned pass at your plant's gate with the plate you see."""
    verdict = await gate.verify_at_gate(
        session,
        principal=principal,
        token=body.token,
        plate_seen=body.plate_seen,
        plant_site_id=body.plant_site_id,
        policy=runtime.settings.passes,
    )
    return verdict_public(verdict)


@router.post("/present")
async def present_pass(
    body: GatePresent, principal: Gate, session: SessionDep, runtime: RuntimeDep
) -> GateVerdictPublic:
    """Check a truck in on its pass: a valid pass is marked presented, once."""
    verdict = await gate.present_pass(
        session,
        principal=principal,
        token=body.token,
        plate_seen=body.plate_seen,
        plant_site_id=body.plant_site_id,
        seen_at=body.seen_at,
        policy=runtime.settings.passes,
    )
    return verdict_public(verdict)


@router.get("/{pass_id}")
async def get_pass(pass_id: uuid.UUID, principal: Reader, session: SessionDep) -> PassPublic:
    """One pass of a delivery you are party to (a driver: your own)."""
    found = await issuing.get_pass(session, principal=principal, pass_id=pass_id)
    return pass_public(found, moment=now())


@router.get("/{pass_id}/token")
async def get_pass_token(
    pass_id: uuid.UUID, principal: Reader, session: SessionDep, response: Response
) -> PassTokenPublic:
    """The pass as text (a compact JWS) for the driver's phone."""
    found = await issuing.pass_with_token(session, principal=principal, pass_id=pass_id)
    response.headers.update(NO_STORE)
    return pass_token_public(found, moment=now())


@router.get(
    "/{pass_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The pass as a QR code"}},
)
async def get_pass_png(pass_id: uuid.UUID, principal: Reader, session: SessionDep) -> Response:
    """The pass as a PNG QR code for the driver's phone."""
    found = await issuing.pass_with_token(session, principal=principal, pass_id=pass_id)
    return Response(pass_qr_png(found.token), media_type="image/png", headers=NO_STORE)


@router.get(
    "/{pass_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The pass as a QR code"}},
)
async def get_pass_svg(pass_id: uuid.UUID, principal: Reader, session: SessionDep) -> Response:
    """The pass as an SVG QR code for the driver's phone."""
    found = await issuing.pass_with_token(session, principal=principal, pass_id=pass_id)
    return Response(pass_qr_svg(found.token), media_type="image/svg+xml", headers=NO_STORE)


@router.post("/{pass_id}/consume")
async def consume_pass(
    pass_id: uuid.UUID, body: PassConsume, principal: Gate, session: SessionDep
) -> PassPublic:
    """End of loading: use the presented pass up with the loaded quantity."""
    used = await gate.consume_pass(
        session, principal=principal, pass_id=pass_id, loaded_quantity=body.loaded_quantity
    )
    return pass_public(used, moment=now())


@router.post("/{pass_id}/revoke")
async def revoke_pass(
    pass_id: uuid.UUID, body: PassRevoke, principal: Writer, session: SessionDep
) -> PassPublic:
    """Revoke a pass of your delivery (its grant stays: issue a new one)."""
    revoked = await issuing.revoke_pass(
        session, principal=principal, pass_id=pass_id, reason=body.reason
    )
    return pass_public(revoked, moment=now())
