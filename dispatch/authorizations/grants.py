"""The grant chain: the arranger authorizes a carrier for an order (or a booking), the carrier
accepts or declines, passes shares on to other carriers when allowed, and each hop can be
revoked by its grantor until it is used; a revocation reaches every hop and pass below it.

The chain's rules are the pure ones in `chain`; this module reads and writes the hops. A
share is taken from the parent with one conditional UPDATE of its ``allotted_quantity``, so
hops granted at once can never hold more than their parent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind, Role
from accounts.principal import Principal
from core.clock import now
from core.errors import FieldError
from core.ids import new_id
from dispatch.authorizations import repository
from dispatch.authorizations.chain import (
    ChainReason,
    ChainViolation,
    Grant,
    check_new_grant,
    hops_below,
)
from dispatch.authorizations.enums import (
    LIVE_GRANT_STATES,
    GrantLevel,
    GrantStatus,
)
from dispatch.authorizations.events import grant_audience, record_grant
from dispatch.authorizations.exceptions import (
    GranteeOnly,
    GrantNotFound,
    GrantorOnly,
    GrantRefused,
    GrantStateConflict,
    chain_error,
)
from dispatch.authorizations.models import PickupGrant
from dispatch.authorizations.schemas import GrantCreate, SubgrantCreate
from dispatch.authorizations.windows import whole_seconds_down, whole_seconds_up
from dispatch.authorizations.withdrawal import revoke_pass_row
from dispatch.guards import check_version, require_dispatcher
from dispatch.market import repository as market
from dispatch.market.enums import BookingState
from dispatch.market.exceptions import BookingNotFound, NotArranger
from dispatch.orders.enums import OrderState, TransportBy
from dispatch.orders.exceptions import OrderNotFound, OrderNotOpen
from dispatch.paging import decode_cursor

GRANTABLE_BOOKINGS = frozenset({BookingState.CONFIRMED, BookingState.PICKED_UP})


def as_chain_grant(hop: PickupGrant) -> Grant:
    """A stored hop as the chain's pure rules see it."""
    return Grant(
        grant_id=str(hop.id),
        parent_id=None if hop.parent_id is None else str(hop.parent_id),
        grantor_org_id=str(hop.grantor_id),
        grantee_org_id=str(hop.grantee_id),
        quantity=Decimal(hop.quantity),
        not_before=hop.not_before,
        not_after=hop.not_after,
        status=hop.status,
        may_subcontract=hop.may_subcontract,
        allowed_carrier_ids=frozenset(hop.allowed_carrier_ids),
        driver_id=None if hop.driver_member_id is None else str(hop.driver_member_id),
        vehicle_plate=hop.vehicle_plate,
    )


def can_see(principal: Principal, hop: PickupGrant) -> bool:
    """Whether the caller may see a hop: its sides and the order's parties; a driver only
    the hops naming them."""
    if principal.role == Role.DRIVER:
        return (
            principal.membership_id is not None
            and hop.driver_member_id == principal.membership_id
            and principal.organization_id == hop.grantee_id
        )
    return principal.organization_id in grant_audience(hop)


async def get_grant(
    session: AsyncSession, *, principal: Principal, grant_id: uuid.UUID
) -> PickupGrant:
    """A hop the caller may see."""
    hop = await repository.grant(session, grant_id)
    if hop is None or not can_see(principal, hop):
        raise GrantNotFound("no such grant")
    return hop


async def list_grants(
    session: AsyncSession,
    *,
    principal: Principal,
    order_id: uuid.UUID | None = None,
    delivery_id: uuid.UUID | None = None,
    status: GrantStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> list[PickupGrant]:
    """Hops the caller's organization is party to, newest first (a driver: none here; a
    driver reads passes)."""
    if principal.role == Role.DRIVER:
        return []
    return list(
        await repository.grants_for(
            session,
            organization_id=principal.organization_id,
            order_id=order_id,
            delivery_id=delivery_id,
            status=status,
            before_id=decode_cursor(cursor),
            limit=limit,
        )
    )


def _window(
    given_from: datetime | None,
    given_until: datetime | None,
    *,
    default_from: datetime,
    default_until: datetime,
) -> tuple[datetime, datetime]:
    # Whole seconds: pass claims hold whole seconds and the chain hash covers the window.
    starts = whole_seconds_up(given_from or default_from)
    ends = whole_seconds_down(given_until or default_until)
    if ends <= starts:
        raise GrantRefused(
            "the window is empty",
            code=ChainReason.INVALID_GRANT.value,
            errors=[FieldError(("body", "not_after"), "must be after not_before")],
        )
    return starts, ends


async def _carrier(session: AsyncSession, carrier_id: uuid.UUID) -> None:
    found = await repository.organization(session, carrier_id)
    if found is None or OrgKind.CARRIER.value not in found.kinds:
        raise GrantRefused(
            "the grantee is not a carrier organization",
            code="not_a_carrier",
            errors=[FieldError(("body", "carrier_id"), "not a carrier")],
        )


async def offer_grant(
    session: AsyncSession, *, principal: Principal, data: GrantCreate
) -> PickupGrant:
    """Authorize a carrier for an order (or one of its bookings): the chain's order hop.

    Only the organization that arranges transport may; all order hops of an order together
    grant no more than the order's quantity.
    """
    require_dispatcher(principal)
    moment = now()
    order = await repository.order(session, data.order_id)
    if order is None or principal.organization_id not in (order.seller_id, order.buyer_id):
        raise OrderNotFound("no such order")
    arranger = order.buyer_id if order.transport_by == TransportBy.BUYER else order.seller_id
    if principal.organization_id != arranger:
        raise NotArranger(f"the {order.transport_by.value} arranges transport for this order")
    if order.state != OrderState.OPEN:
        raise OrderNotOpen(f"the order is {order.state.value}")
    pickup_from, pickup_until = order.pickup_from, order.pickup_until
    booking_id = None
    if data.booking_id is not None:
        booking = await market.booking(session, data.booking_id)
        if booking is None or booking.order_id != order.id:
            raise BookingNotFound("no such booking of this order")
        if booking.carrier_id != data.carrier_id:
            raise GrantRefused(
                "the booking is another carrier's",
                code="carrier_not_booked",
                errors=[FieldError(("body", "carrier_id"), "not the booking's carrier")],
            )
        if booking.state not in GRANTABLE_BOOKINGS:
            raise GrantStateConflict(
                f"the booking is {booking.state.value}", code="booking_not_confirmed"
            )
        if data.quantity > booking.quantity:
            raise GrantRefused(
                f"the booking carries {booking.quantity} {booking.unit.value}",
                code="quantity_exceeds_booking",
                errors=[FieldError(("body", "quantity"), "more than the booking")],
            )
        pickup_from, pickup_until = booking.pickup_from, booking.pickup_until
        booking_id = booking.id
    await _carrier(session, data.carrier_id)
    starts, ends = _window(
        data.not_before, data.not_after, default_from=pickup_from, default_until=pickup_until
    )
    if ends <= moment:
        raise GrantRefused("the window has ended", code=ChainReason.GRANT_EXPIRED.value)
    await repository.lock_order(session, order.id)
    granted = await repository.granted_on_order(session, order.id)
    if granted + data.quantity > order.quantity:
        raise GrantRefused(
            f"the order's grants would cover {granted + data.quantity} of its "
            f"{order.quantity} {order.unit.value}",
            code="quantity_exceeds_order",
            errors=[FieldError(("body", "quantity"), "more than the order has left to grant")],
            extra={"granted_quantity": granted, "order_quantity": order.quantity},
        )
    hop_id = new_id()
    hop = PickupGrant(
        id=hop_id,
        root_id=hop_id,
        level=GrantLevel.ORDER,
        order_id=order.id,
        booking_id=booking_id,
        seller_id=order.seller_id,
        buyer_id=order.buyer_id,
        plant_operator_id=order.plant_operator_id,
        plant_site_id=order.origin_site_id,
        product=order.commodity,
        unit=order.unit,
        grantor_id=principal.organization_id,
        grantee_id=data.carrier_id,
        created_by_id=principal.membership_id,
        quantity=data.quantity,
        not_before=starts,
        not_after=ends,
        may_subcontract=data.may_subcontract,
        allowed_carrier_ids=sorted({str(c) for c in data.allowed_carrier_ids}),
        status=GrantStatus.OFFERED,
        created_at=moment,
        updated_at=moment,
    )
    session.add(hop)
    await session.flush()
    await record_grant(session, hop, "grant.offered", actor=principal.actor)
    return hop


def _narrowed(parent: PickupGrant, requested: Iterable[uuid.UUID]) -> list[str]:
    """The carriers a new hop may allow: never one its parent does not."""
    wanted = {str(c) for c in requested}
    allowed = set(parent.allowed_carrier_ids)
    if allowed and not wanted <= allowed:
        raise GrantRefused(
            "a grant may not allow carriers its own grant does not",
            code=ChainReason.CARRIER_NOT_ALLOWED.value,
            errors=[FieldError(("body", "allowed_carrier_ids"), "not allowed by the grant")],
        )
    return sorted(wanted or allowed)


async def _held_by(session: AsyncSession, principal: Principal, grant_id: uuid.UUID) -> PickupGrant:
    """A hop the caller's organization holds (is the grantee of) and may pass on."""
    require_dispatcher(principal)
    parent = await get_grant(session, principal=principal, grant_id=grant_id)
    if parent.grantee_id != principal.organization_id:
        raise GranteeOnly("only the organization holding the grant may pass it on")
    return parent


def check_hop(proposed: Grant, parent: PickupGrant) -> None:
    """Raise the domain error for a new hop that breaks the chain's rules against its parent
    (its quantity against what the parent still holds is checked when it is taken)."""
    try:
        check_new_grant(proposed, parent=as_chain_grant(parent), siblings=())
    except ChainViolation as violation:
        raise chain_error(violation) from violation


async def take_share(
    session: AsyncSession, *, parent: PickupGrant, quantity: int, moment: datetime
) -> None:
    """Take ``quantity`` from what the parent still holds, or say why it cannot be."""
    if await repository.allot(session, parent_id=parent.id, quantity=quantity, now=moment):
        return
    fresh = await repository.grant(session, parent.id)
    assert fresh is not None
    if fresh.status is not GrantStatus.ACCEPTED:
        raise GrantStateConflict(
            f"the grant is {fresh.status.value}", code=ChainReason.PARENT_NOT_ACCEPTED.value
        )
    if fresh.not_after <= moment:
        raise GrantRefused("the grant has ended", code=ChainReason.GRANT_EXPIRED.value)
    held = fresh.quantity - fresh.allotted_quantity
    raise GrantRefused(
        f"{quantity} {fresh.unit.value} is more than the {held} the grant still holds",
        code=ChainReason.QUANTITY_EXCEEDS_PARENT.value,
        errors=[FieldError(("body", "quantity"), "more than the grant holds")],
        extra={"held_quantity": held},
    )


def child_hop(
    parent: PickupGrant,
    *,
    hop_id: uuid.UUID,
    level: GrantLevel,
    grantee_id: uuid.UUID,
    principal: Principal,
    quantity: int,
    window: tuple[datetime, datetime],
    status: GrantStatus,
    moment: datetime,
) -> PickupGrant:
    """A new hop below ``parent``, carrying the order's facts down."""
    return PickupGrant(
        id=hop_id,
        root_id=parent.root_id,
        parent_id=parent.id,
        level=level,
        order_id=parent.order_id,
        booking_id=parent.booking_id,
        seller_id=parent.seller_id,
        buyer_id=parent.buyer_id,
        plant_operator_id=parent.plant_operator_id,
        plant_site_id=parent.plant_site_id,
        product=parent.product,
        unit=parent.unit,
        grantor_id=principal.organization_id,
        grantee_id=grantee_id,
        created_by_id=principal.membership_id,
        quantity=quantity,
        not_before=window[0],
        not_after=window[1],
        status=status,
        created_at=moment,
        updated_at=moment,
    )


async def subcontract(
    session: AsyncSession, *, principal: Principal, grant_id: uuid.UUID, data: SubgrantCreate
) -> PickupGrant:
    """Offer a share of a grant the caller holds to another carrier (if the grant allows)."""
    parent = await _held_by(session, principal, grant_id)
    moment = now()
    if data.carrier_id == principal.organization_id:
        raise GrantRefused(
            "a carrier passes a grant to its drivers per delivery, not to itself",
            code=ChainReason.INVALID_GRANT.value,
            errors=[FieldError(("body", "carrier_id"), "your own organization")],
        )
    await _carrier(session, data.carrier_id)
    window = _window(
        data.not_before,
        data.not_after,
        default_from=parent.not_before,
        default_until=parent.not_after,
    )
    hop_id = new_id()
    proposed = Grant(
        grant_id=str(hop_id),
        parent_id=str(parent.id),
        grantor_org_id=str(principal.organization_id),
        grantee_org_id=str(data.carrier_id),
        quantity=Decimal(data.quantity),
        not_before=window[0],
        not_after=window[1],
        may_subcontract=data.may_subcontract,
        allowed_carrier_ids=frozenset(str(c) for c in data.allowed_carrier_ids),
    )
    check_hop(proposed, parent)
    allowed = _narrowed(parent, data.allowed_carrier_ids)
    await repository.lock_chain(session, parent.root_id)
    await take_share(session, parent=parent, quantity=data.quantity, moment=moment)
    hop = child_hop(
        parent,
        hop_id=hop_id,
        level=GrantLevel.CARRIER,
        grantee_id=data.carrier_id,
        principal=principal,
        quantity=data.quantity,
        window=window,
        status=GrantStatus.OFFERED,
        moment=moment,
    )
    hop.may_subcontract = data.may_subcontract
    hop.allowed_carrier_ids = allowed
    session.add(hop)
    await session.flush()
    await record_grant(session, hop, "grant.offered", actor=principal.actor)
    return hop


async def _offered_to(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID
) -> PickupGrant:
    require_dispatcher(principal)
    hop = await get_grant(session, principal=principal, grant_id=grant_id)
    if hop.grantee_id != principal.organization_id or hop.level is GrantLevel.DRIVER:
        raise GranteeOnly("only the carrier the grant was offered to may answer it")
    return hop


async def _answer(
    session: AsyncSession,
    hop: PickupGrant,
    *,
    to_status: GrantStatus,
    version: int,
    moment: datetime,
) -> PickupGrant:
    await repository.lock_chain(session, hop.root_id)
    moved = await repository.move_grant(
        session,
        hop.id,
        from_states=(GrantStatus.OFFERED,),
        version=version,
        values={"status": to_status.value, "responded_at": moment, "updated_at": moment},
    )
    if moved is None:
        current = await repository.grant(session, hop.id)
        assert current is not None
        check_version(current.version, version)
        raise GrantStateConflict(
            f"the grant is {current.status.value}; it cannot be {to_status.value}",
            code=ChainReason.INVALID_TRANSITION.value,
            extra={"status": current.status.value},
        )
    return moved


async def accept_grant(
    session: AsyncSession, *, principal: Principal, grant_id: uuid.UUID, version: int
) -> PickupGrant:
    """Accept a grant offered to the caller's carrier."""
    hop = await _offered_to(session, principal, grant_id)
    moment = now()
    if hop.not_after <= moment:
        raise GrantRefused("the grant has ended", code=ChainReason.GRANT_EXPIRED.value)
    moved = await _answer(
        session, hop, to_status=GrantStatus.ACCEPTED, version=version, moment=moment
    )
    await record_grant(session, moved, "grant.accepted", actor=principal.actor)
    return moved


async def decline_grant(
    session: AsyncSession,
    *,
    principal: Principal,
    grant_id: uuid.UUID,
    version: int,
    reason: str | None = None,
) -> PickupGrant:
    """Decline a grant offered to the caller's carrier; its quantity goes back up the chain."""
    hop = await _offered_to(session, principal, grant_id)
    moment = now()
    moved = await _answer(
        session, hop, to_status=GrantStatus.DECLINED, version=version, moment=moment
    )
    if moved.parent_id is not None:
        await repository.release(session, grant_id=moved.parent_id, quantity=moved.quantity)
    await record_grant(session, moved, "grant.declined", {"reason": reason}, actor=principal.actor)
    return moved


async def revoke_grant(
    session: AsyncSession,
    *,
    principal: Principal,
    grant_id: uuid.UUID,
    reason: str,
    version: int | None = None,
) -> PickupGrant:
    """Revoke a hop the caller's organization granted, before it is used: every hop below it
    is revoked too, and every pass issued from them goes on its plant's revocation list."""
    require_dispatcher(principal)
    hop = await get_grant(session, principal=principal, grant_id=grant_id)
    if hop.grantor_id != principal.organization_id:
        raise GrantorOnly("only the organization that gave the grant may revoke it")
    moment = now()
    actor = principal.actor
    await repository.lock_chain(session, hop.root_id)
    moved = await repository.move_grant(
        session,
        hop.id,
        from_states=LIVE_GRANT_STATES,
        version=version,
        values=_revoked_values(moment, actor, reason),
    )
    if moved is None:
        current = await repository.grant(session, hop.id)
        assert current is not None
        if version is not None:
            check_version(current.version, version)
        raise GrantStateConflict(
            f"the grant is {current.status.value}; only an offered or accepted grant can be"
            " revoked",
            code=ChainReason.INVALID_TRANSITION.value,
            extra={"status": current.status.value},
        )
    if moved.parent_id is not None:
        # What was loaded under the hop stays taken; the rest goes back to its parent.
        await repository.release(
            session,
            grant_id=moved.parent_id,
            quantity=moved.quantity - moved.loaded_quantity,
        )
    await record_grant(session, moved, "grant.revoked", {"reason": reason}, actor=actor)
    await _revoke_below(session, moved, reason=reason, actor=actor, moment=moment)
    return moved


def _revoked_values(moment: datetime, actor: str, reason: str) -> dict[str, object]:
    return {
        "status": GrantStatus.REVOKED.value,
        "revoked_at": moment,
        "revoked_by": actor,
        "revoke_reason": reason[:500],
        "updated_at": moment,
    }


async def _revoke_below(
    session: AsyncSession, hop: PickupGrant, *, reason: str, actor: str, moment: datetime
) -> None:
    tree = await repository.chain_tree(session, hop.root_id)
    below = hops_below(str(hop.id), [as_chain_grant(h) for h in tree])
    cascade = f"grant {hop.id} was revoked: {reason}"
    moved_ids = await repository.move_grants(
        session,
        sorted(uuid.UUID(i) for i in below),
        from_states=LIVE_GRANT_STATES,
        values=_revoked_values(moment, actor, cascade),
    )
    cause = {"cause_grant_id": str(hop.id)}
    for moved_id in moved_ids:
        fresh = await repository.grant(session, moved_id)
        assert fresh is not None
        await record_grant(session, fresh, "grant.revoked", cause, actor=actor)
    driver_hops: Sequence[uuid.UUID] = [hop.id, *moved_ids]
    for issued in await repository.live_passes_of_hops(session, driver_hops):
        text = reason if issued.grant_id == hop.id else cascade
        await revoke_pass_row(session, issued, reason=text, actor=actor, now=moment, cause=cause)
