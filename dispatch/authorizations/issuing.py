"""Driver grants and pickup passes: a carrier passes a share of its grant to the driver and
vehicle of one of its deliveries, and the platform issues the signed pass from that hop.

A pass is issued only for a delivery with a driver and a vehicle, not yet at the plant, whose
whole chain is accepted; it is valid over the pickup day (the slot's day once there is one)
with a margin, inside its hop's window, and never longer than the configured lifetime. The
token is signed once and kept; the driver's phone fetches it as text or as a QR code.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import Role
from accounts.principal import Principal
from core.clock import now
from core.database import key_ring_of
from core.errors import FieldError, Forbidden
from core.ids import new_id
from core.settings import PassSettings
from dispatch.authorizations import repository
from dispatch.authorizations.chain import (
    ChainReason,
    ChainViolation,
    Grant,
    chain_hash,
    check_chain,
    check_pass_terms,
)
from dispatch.authorizations.enums import (
    ISSUABLE_DELIVERY_STATES,
    GrantLevel,
    GrantStatus,
    PassState,
)
from dispatch.authorizations.events import record_grant, record_pass
from dispatch.authorizations.exceptions import (
    DeliveryAlreadyGranted,
    DeliveryNotReady,
    GranteeOnly,
    GrantorOnly,
    GrantRefused,
    GrantStateConflict,
    PassLive,
    PassNotFound,
    PassStateConflict,
    chain_error,
)
from dispatch.authorizations.grants import (
    as_chain_grant,
    check_hop,
    child_hop,
    get_grant,
    take_share,
)
from dispatch.authorizations.models import PickupGrant, PickupPass
from dispatch.authorizations.passes import (
    MAX_TEXT_CHARS,
    PassClaims,
    QuantityUnit,
    issue_pass,
    normalize_plate,
)
from dispatch.authorizations.schemas import DeliveryGrant
from dispatch.authorizations.tokens import claims_digest
from dispatch.authorizations.windows import (
    Window,
    pass_window,
    pickup_day,
    whole_seconds_down,
    whole_seconds_up,
)
from dispatch.authorizations.withdrawal import revoke_pass_row
from dispatch.deliveries import transitions
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.exceptions import DeliveryNotFound
from dispatch.deliveries.service import DeliveryFacts, delivery_facts
from dispatch.deliveries.splitting import plant_zone
from dispatch.guards import DISPATCHING_ROLES, require_dispatcher
from dispatch.paging import decode_cursor


def can_see_pass(principal: Principal, issued: PickupPass) -> bool:
    """Whether the caller may see a pass: the delivery's parties; a driver only their own."""
    parties = (issued.carrier_id, issued.seller_id, issued.buyer_id, issued.plant_operator_id)
    if principal.organization_id not in parties:
        return False
    if principal.role == Role.DRIVER:
        return principal.membership_id == issued.driver_member_id
    return True


def may_hold_token(principal: Principal, issued: PickupPass) -> bool:
    """Whether the caller may have the token: the driver it names, or the carrier's
    dispatchers (to hand it to a driver without the app)."""
    if principal.role == Role.DRIVER:
        return principal.membership_id == issued.driver_member_id
    return principal.organization_id == issued.carrier_id and principal.role in DISPATCHING_ROLES


async def get_pass(
    session: AsyncSession, *, principal: Principal, pass_id: uuid.UUID
) -> PickupPass:
    """A pass the caller may see."""
    issued = await repository.pickup_pass(session, pass_id)
    if issued is None or not can_see_pass(principal, issued):
        raise PassNotFound("no such pass")
    return issued


async def pass_with_token(
    session: AsyncSession, *, principal: Principal, pass_id: uuid.UUID
) -> PickupPass:
    """A pass whose token the caller may hold (its driver, or its carrier's dispatchers)."""
    issued = await get_pass(session, principal=principal, pass_id=pass_id)
    if not may_hold_token(principal, issued):
        raise Forbidden(
            "only the pass's driver and its carrier's dispatchers get the token",
            code="pass_holder_only",
        )
    return issued


async def list_passes(
    session: AsyncSession,
    *,
    principal: Principal,
    delivery_id: uuid.UUID | None = None,
    state: PassState | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> list[PickupPass]:
    """Passes of deliveries the caller's organization is party to (a driver: their own)."""
    driver = None
    if principal.role == Role.DRIVER:
        if principal.membership_id is None:
            return []
        driver = principal.membership_id
    return list(
        await repository.passes_for(
            session,
            organization_id=principal.organization_id,
            driver_member_id=driver,
            delivery_id=delivery_id,
            state=state,
            before_id=decode_cursor(cursor),
            limit=limit,
        )
    )


def _ready(facts: DeliveryFacts) -> None:
    delivery = facts.delivery
    if delivery.state not in ISSUABLE_DELIVERY_STATES:
        raise DeliveryNotReady(
            f"delivery {delivery.number} is {delivery.state.value}: a pass is issued once a"
            " driver is assigned and before the truck reaches the plant",
            extra={"state": delivery.state.value},
        )
    if delivery.driver_member_id is None or facts.driver_name is None:
        raise DeliveryNotReady(f"delivery {delivery.number} has no driver yet")


def _covered(parent: PickupGrant, facts: DeliveryFacts) -> None:
    delivery = facts.delivery
    same_booking = parent.booking_id is None or parent.booking_id == delivery.booking_id
    if (
        delivery.order_id != parent.order_id
        or not same_booking
        or delivery.plant_site_id != parent.plant_site_id
    ):
        raise GrantRefused(
            "the delivery is not one of the order (or booking) the grant is for",
            code="delivery_not_covered",
            errors=[FieldError(("body", "delivery_id"), "not covered by the grant")],
        )


def _day_window(facts: DeliveryFacts, policy: PassSettings, within: Window) -> Window | None:
    delivery = facts.delivery
    zone = plant_zone(facts.plant.timezone)
    day = pickup_day(
        planned_day=delivery.planned_day, slot_starts_at=delivery.slot_starts_at, zone=zone
    )
    return pass_window(
        day,
        zone=zone,
        margin_s=policy.day_margin_s,
        max_lifetime_s=policy.max_lifetime_s,
        within=within,
    )


async def grant_delivery(
    session: AsyncSession,
    *,
    principal: Principal,
    grant_id: uuid.UUID,
    data: DeliveryGrant,
    policy: PassSettings | None = None,
) -> tuple[PickupGrant, PickupPass]:
    """Pass a share of a grant the caller's carrier holds to one of its deliveries' driver
    and vehicle, and issue the pickup pass; an assigned delivery becomes authorized."""
    policy = policy or PassSettings()
    require_dispatcher(principal)
    parent = await get_grant(session, principal=principal, grant_id=grant_id)
    if parent.grantee_id != principal.organization_id:
        raise GranteeOnly("only the organization holding the grant may pass it on")
    # Chain first, then the delivery, as every writer of both does; the delivery is read
    # under its lock so the pass names the driver and vehicle it has now.
    await repository.lock_chain(session, parent.root_id)
    await repository.lock_delivery(session, data.delivery_id)
    facts = await delivery_facts(session, data.delivery_id)
    delivery = facts.delivery
    if delivery.carrier_id != principal.organization_id:
        raise DeliveryNotFound("no such delivery")
    _covered(parent, facts)
    _ready(facts)
    if await repository.live_driver_hop(session, delivery.id) is not None:
        raise DeliveryAlreadyGranted(
            f"delivery {delivery.number} has a driver grant: revoke it to grant another"
        )
    quantity = data.quantity or delivery.quantity
    if quantity > delivery.quantity:
        raise GrantRefused(
            f"delivery {delivery.number} carries {delivery.quantity} {delivery.unit.value}",
            code="quantity_exceeds_delivery",
            errors=[FieldError(("body", "quantity"), "more than the delivery carries")],
        )
    moment = now()
    default = _day_window(facts, policy, Window(parent.not_before, parent.not_after))
    if default is None:
        if data.not_before is None or data.not_after is None:
            raise GrantRefused(
                "the delivery's pickup day lies outside the grant's window",
                code=ChainReason.VALIDITY_EXCEEDS_PARENT.value,
            )
        default = Window(data.not_before, data.not_after)
    starts = whole_seconds_up(data.not_before or default.starts_at)
    ends = whole_seconds_down(data.not_after or default.ends_at)
    if ends <= starts:
        raise GrantRefused("the window is empty", code=ChainReason.INVALID_GRANT.value)
    assert delivery.driver_member_id is not None
    hop_id = new_id()
    plate = normalize_plate(delivery.vehicle_plate)
    check_hop(
        Grant(
            grant_id=str(hop_id),
            parent_id=str(parent.id),
            grantor_org_id=str(principal.organization_id),
            grantee_org_id=str(principal.organization_id),
            quantity=Decimal(quantity),
            not_before=starts,
            not_after=ends,
            status=GrantStatus.ACCEPTED,
            driver_id=str(delivery.driver_member_id),
            vehicle_plate=plate,
        ),
        parent,
    )
    await take_share(session, parent=parent, quantity=quantity, moment=moment)
    # A carrier's own driver needs no offer to accept: the hop is accepted as it is made.
    leaf = child_hop(
        parent,
        hop_id=hop_id,
        level=GrantLevel.DRIVER,
        grantee_id=principal.organization_id,
        principal=principal,
        quantity=quantity,
        window=(starts, ends),
        status=GrantStatus.ACCEPTED,
        moment=moment,
    )
    leaf.delivery_id = delivery.id
    leaf.driver_member_id = delivery.driver_member_id
    leaf.vehicle_id = delivery.vehicle_id
    leaf.vehicle_plate = plate
    leaf.responded_at = moment
    session.add(leaf)
    try:
        await session.flush()
    except IntegrityError as error:
        raise DeliveryAlreadyGranted(
            f"delivery {delivery.number} was granted meanwhile: reload it"
        ) from error
    await record_grant(session, leaf, "grant.driver_assigned", actor=principal.actor)
    issued = await issue_from(
        session, leaf=leaf, facts=facts, policy=policy, actor=principal.actor, moment=moment
    )
    return leaf, issued


async def reissue_pass(
    session: AsyncSession,
    *,
    principal: Principal,
    delivery_id: uuid.UUID,
    policy: PassSettings | None = None,
) -> PickupPass:
    """Issue a new pass for a delivery from its driver grant, once the last one expired or
    was revoked (and the grant still names the delivery's driver and vehicle)."""
    policy = policy or PassSettings()
    require_dispatcher(principal)
    leaf = await repository.live_driver_hop(session, delivery_id)
    if leaf is not None:
        await repository.lock_chain(session, leaf.root_id)
    await repository.lock_delivery(session, delivery_id)
    facts = await delivery_facts(session, delivery_id)
    delivery = facts.delivery
    if delivery.carrier_id != principal.organization_id:
        raise DeliveryNotFound("no such delivery")
    _ready(facts)
    leaf = await repository.live_driver_hop(session, delivery.id)
    if leaf is None or leaf.status is not GrantStatus.ACCEPTED:
        raise GrantStateConflict(
            f"delivery {delivery.number} has no driver grant: grant it first",
            code="no_driver_grant",
        )
    if leaf.driver_member_id != delivery.driver_member_id or leaf.vehicle_id != delivery.vehicle_id:
        raise GrantRefused(
            "the driver grant names another driver or vehicle than the delivery now has:"
            " revoke it and grant the delivery again",
            code="grant_names_other_driver",
        )
    return await issue_from(
        session, leaf=leaf, facts=facts, policy=policy, actor=principal.actor, moment=now()
    )


async def issue_from(
    session: AsyncSession,
    *,
    leaf: PickupGrant,
    facts: DeliveryFacts,
    policy: PassSettings,
    actor: str | None,
    moment: datetime,
) -> PickupPass:
    """Sign and store a pass from a driver hop whose whole chain holds (the chain is locked
    by the caller)."""
    delivery = facts.delivery
    for expired in await repository.expire_passes(
        session,
        before=moment,
        now=moment,
        delivery_id=delivery.id,
    ):
        await record_pass(session, expired, "pass.expired", actor=actor)
    if await repository.live_pass_of(session, delivery.id) is not None:
        raise PassLive(f"delivery {delivery.number} has a pass in force")
    hops = [as_chain_grant(hop) for hop in await repository.path_to(session, leaf)]
    try:
        # A pass may be issued ahead of its day: the chain must hold from when it starts.
        check_chain(hops, now=max(moment, leaf.not_before))
    except ChainViolation as violation:
        raise chain_error(violation) from violation
    window = _day_window(facts, policy, Window(leaf.not_before, leaf.not_after))
    if window is None or window.ends_at <= moment:
        raise GrantRefused(
            "the pickup day (with its margin) has passed or lies outside the driver grant",
            code="pickup_day_over",
        )
    issuable_from = window.starts_at - timedelta(seconds=policy.issue_ahead_s)
    if moment < issuable_from:
        # A key retired today stays published only as long as a pass issued today may live.
        raise GrantRefused(
            f"a pass is issued at most {policy.issue_ahead_s // 3600} hours before its day",
            code="pass_too_early",
            extra={"issuable_from": issuable_from.isoformat()},
        )
    pass_id = new_id()
    claims = PassClaims(
        pass_id=str(pass_id),
        delivery_id=str(delivery.id),
        plant_id=str(delivery.plant_site_id),
        product=delivery.product[:MAX_TEXT_CHARS],
        max_quantity=Decimal(leaf.quantity),
        unit=QuantityUnit(delivery.unit.value),
        vehicle_plate=leaf.vehicle_plate or "",
        driver_id=str(leaf.driver_member_id),
        driver_name=(facts.driver_name or "")[:MAX_TEXT_CHARS],
        not_before=window.starts_at,
        expires_at=window.ends_at,
        chain_hash=chain_hash(hops),
    )
    try:
        check_pass_terms(claims, leaf=hops[-1])
    except ChainViolation as violation:
        raise chain_error(violation) from violation
    ring = key_ring_of(session)
    token = issue_pass(claims, ring=ring, max_lifetime_s=policy.max_lifetime_s)
    assert leaf.driver_member_id is not None
    issued = PickupPass(
        id=pass_id,
        grant_id=leaf.id,
        root_id=leaf.root_id,
        delivery_id=delivery.id,
        seller_id=delivery.seller_id,
        buyer_id=delivery.buyer_id,
        carrier_id=delivery.carrier_id,
        plant_operator_id=delivery.plant_operator_id,
        plant_site_id=delivery.plant_site_id,
        driver_member_id=leaf.driver_member_id,
        driver_name=claims.driver_name,
        vehicle_id=delivery.vehicle_id,
        vehicle_plate=claims.vehicle_plate,
        product=claims.product,
        max_quantity=leaf.quantity,
        unit=delivery.unit,
        not_before=claims.not_before,
        expires_at=claims.expires_at,
        kid=ring.active_kid,
        chain_hash=claims.chain_hash,
        claims_digest=claims_digest(claims),
        token=token,
        state=PassState.ISSUED,
        issued_by=actor,
        created_at=moment,
        updated_at=moment,
    )
    session.add(issued)
    try:
        await session.flush()
    except IntegrityError as error:
        raise PassLive(f"delivery {delivery.number} got a pass meanwhile") from error
    if delivery.state is DeliveryState.ASSIGNED:
        await transitions.authorize(
            session, delivery_id=delivery.id, actor=actor, pass_id=str(pass_id)
        )
    await record_pass(session, issued, "pass.issued", actor=actor)
    return issued


async def revoke_pass(
    session: AsyncSession, *, principal: Principal, pass_id: uuid.UUID, reason: str
) -> PickupPass:
    """Revoke one pass (a lost phone, say); the driver grant stays, so a new pass can be
    issued. Only the carrier whose driver it names may."""
    require_dispatcher(principal)
    issued = await get_pass(session, principal=principal, pass_id=pass_id)
    if issued.carrier_id != principal.organization_id:
        raise GrantorOnly("only the carrier that holds the pass's grant may revoke it")
    await repository.lock_chain(session, issued.root_id)
    moved = await revoke_pass_row(session, issued, reason=reason, actor=principal.actor, now=now())
    if moved is None:
        current = await repository.pickup_pass(session, pass_id)
        assert current is not None
        raise PassStateConflict(f"the pass is {current.state.value}", code=current.state.value)
    return moved
