"""Posting, reading, listing, cancelling and reopening load offers; the carriers' market list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind
from accounts.principal import Principal
from core import eventlog
from core.clock import now
from core.errors import FieldError
from core.sql import table_of
from dispatch.fleet import service as fleet
from dispatch.fleet.capability import (
    CarrierCapability,
    LoadNeeds,
    bounding_box,
    distance_km,
    shortfalls,
)
from dispatch.fleet.enums import BodyType, QualificationKind
from dispatch.guards import require_dispatcher, require_kind
from dispatch.market import repository
from dispatch.market.enums import (
    LIVE_OFFER_STATES,
    ApprovalState,
    OfferState,
    PricingMode,
    TenderStepState,
    Visibility,
)
from dispatch.market.events import deal_audience, publish, record, trade_audience
from dispatch.market.exceptions import (
    InvalidOffer,
    NotArranger,
    OfferNotFound,
    OfferNotOpen,
)
from dispatch.market.models import Approval, LoadOffer, OfferInvitation, TenderStep
from dispatch.market.pricing import basis_fits
from dispatch.market.schemas import OfferCancel, OfferCreate, OfferReopen
from dispatch.orders import repository as orders_repository
from dispatch.orders.enums import OrderState, TransportBy
from dispatch.orders.exceptions import OrderNotFound, OrderNotOpen, QuantityExceedsOrder
from dispatch.orders.service import order_audience, order_subject
from dispatch.paging import decode_cursor, encode_cursor

MAX_SCAN_ROUNDS = 5


def needs_of(offer: LoadOffer) -> LoadNeeds:
    """What a load asks of a carrier."""
    return LoadNeeds(
        hazard_class=offer.hazard_class,
        food_grade=offer.food_grade,
        body_types=frozenset(BodyType(b) for b in offer.body_types),
    )


async def post_offer(
    session: AsyncSession, *, principal: Principal, data: OfferCreate
) -> LoadOffer:
    """Put quantity of a sales order on the market (the party that arranges transport)."""
    require_dispatcher(principal)
    moment = now()
    order = await orders_repository.order_for_party(
        session, order_id=data.order_id, organization_id=principal.organization_id
    )
    if order is None:
        raise OrderNotFound("no such order for your organization")
    arranger = order.buyer_id if order.transport_by == TransportBy.BUYER else order.seller_id
    if arranger != principal.organization_id:
        raise NotArranger(f"the {order.transport_by.value} arranges transport for this order")
    if order.state != OrderState.OPEN:
        raise OrderNotOpen(f"the order is {order.state}")
    pickup_from = data.pickup_from or order.pickup_from
    pickup_until = data.pickup_until or order.pickup_until
    deliver_by = data.deliver_by or order.deliver_by
    _check_terms(data, order.unit, pickup_from, pickup_until, deliver_by, moment)
    carriers = await _check_carriers(session, principal, data)

    if (
        await orders_repository.reserve_quantity(session, order_id=order.id, quantity=data.quantity)
        is None
    ):
        left = order.quantity - order.offered_quantity
        raise QuantityExceedsOrder(
            f"only {max(left, 0)} {order.unit} of the order are not on the market yet",
            errors=[FieldError(("body", "quantity"), "more than the order has left")],
        )
    tender = data.pricing_mode == PricingMode.TENDER
    offer = LoadOffer(
        order_id=order.id,
        reference=order.reference,
        shipper_id=principal.organization_id,
        seller_id=order.seller_id,
        buyer_id=order.buyer_id,
        manager_id=principal.membership_id,
        commodity=order.commodity,
        unit=order.unit,
        quantity=data.quantity,
        remaining=data.quantity,
        min_lot=data.min_lot or data.quantity,
        hazard_class=order.hazard_class,
        un_number=order.un_number,
        food_grade=order.food_grade,
        body_types=list(dict.fromkeys(data.body_types)),
        origin_site_id=order.origin_site_id,
        origin_name=order.origin_name,
        origin_lat=order.origin_lat,
        origin_lon=order.origin_lon,
        destination_site_id=order.destination_site_id,
        destination_address=order.destination_address,
        destination_lat=order.destination_lat,
        destination_lon=order.destination_lon,
        pickup_from=pickup_from,
        pickup_until=pickup_until,
        deliver_by=deliver_by,
        visibility=data.visibility or Visibility.OPEN,
        pricing_mode=data.pricing_mode,
        currency=data.currency,
        rate_basis=data.rate_basis,
        rate_cents=data.rate_cents,
        ceiling_cents=data.ceiling_cents,
        closes_at=data.closes_at,
        sealed=data.sealed,
        price_weight_pct=data.price_weight_pct,
        auto_award=data.auto_award,
        confirm_within_s=data.confirm_within_s,
        max_bids_per_carrier=data.max_bids_per_carrier,
        response_timeout_s=data.response_timeout_s,
        notes=data.notes,
    )
    if tender:
        offer.tender_rank = 1
        offer.tender_carrier_id = carriers[0]
        offer.tender_expires_at = moment + timedelta(seconds=data.response_timeout_s)
    session.add(offer)
    await session.flush()
    for carrier_id in carriers if offer.visibility == Visibility.INVITED else ():
        session.add(OfferInvitation(offer_id=offer.id, carrier_id=carrier_id))
    for rank, carrier_id in enumerate(carriers if tender else (), start=1):
        first = rank == 1
        session.add(
            TenderStep(
                offer_id=offer.id,
                rank=rank,
                carrier_id=carrier_id,
                state=TenderStepState.OFFERED if first else TenderStepState.WAITING,
                offered_at=moment if first else None,
                expires_at=offer.tender_expires_at if first else None,
            )
        )
    await record(
        session,
        offer,
        "load.posted",
        {
            "order_id": str(order.id),
            "quantity": offer.quantity,
            "unit": offer.unit,
            "pricing_mode": offer.pricing_mode,
            "visibility": offer.visibility,
        },
        audience=trade_audience(offer),
        actor=principal.actor,
    )
    await eventlog.append(
        session,
        subject=order_subject(order.id),
        kind="order.load_posted",
        payload={"offer_id": str(offer.id), "quantity": offer.quantity},
        audience=order_audience(order),
        actor=principal.actor,
    )
    if tender:
        await record(
            session,
            offer,
            "tender.offered",
            {"rank": 1, "carrier_id": str(carriers[0]), "expires_at": offer.tender_expires_at},
            audience=deal_audience(offer, carriers[0]),
            actor=principal.actor,
        )
    publish(session, offer, carriers=None if offer.visibility == Visibility.OPEN else carriers)
    return offer


def _check_terms(
    data: OfferCreate,
    unit: Any,
    pickup_from: datetime,
    pickup_until: datetime,
    deliver_by: datetime,
    moment: datetime,
) -> None:
    errors: list[FieldError] = []
    if not basis_fits(data.rate_basis, unit):
        errors.append(FieldError(("body", "rate_basis"), f"cannot price a quantity in {unit}"))
    if pickup_until <= pickup_from:
        errors.append(FieldError(("body", "pickup_until"), "must be after pickup_from"))
    if pickup_until <= moment:
        errors.append(FieldError(("body", "pickup_until"), "the pickup window is over"))
    if deliver_by < pickup_from:
        errors.append(FieldError(("body", "deliver_by"), "cannot be before pickup_from"))
    if data.closes_at is not None and not moment < data.closes_at < pickup_until:
        errors.append(
            FieldError(("body", "closes_at"), "must be in the future and before pickup_until")
        )
    if data.ceiling_cents is not None and data.rate_cents is not None:
        errors.append(FieldError(("body", "rate_cents"), "an auction has no posted rate"))
    if errors:
        raise InvalidOffer("the offer's terms do not fit together", errors=errors)


async def _check_carriers(
    session: AsyncSession, principal: Principal, data: OfferCreate
) -> list[uuid.UUID]:
    wanted = data.tender_carrier_ids or data.invited_carrier_ids
    if not wanted:
        return []
    found = await orders_repository.organizations_by_id(session, set(wanted))
    field = "tender_carrier_ids" if data.tender_carrier_ids else "invited_carrier_ids"
    bad = [
        FieldError(("body", field, index), "not a carrier organization")
        for index, carrier_id in enumerate(wanted)
        if carrier_id not in found
        or carrier_id == principal.organization_id
        or OrgKind.CARRIER not in found[carrier_id].kinds
    ]
    if bad:
        raise InvalidOffer("some listed organizations are not carriers", errors=bad)
    return list(wanted)


@dataclass(frozen=True)
class OfferView:
    """A load with what the caller may see of its bids."""

    offer: LoadOffer
    best_bid_cents: int | None = None
    distance_km: float | None = None


async def get_offer(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID
) -> OfferView:
    """A load the caller posted, trades, or may see as a carrier."""
    offer = await visible_offer(session, principal=principal, offer_id=offer_id)
    best = None
    shows_bids = offer.shipper_id == principal.organization_id or not offer.sealed
    if offer.pricing_mode == PricingMode.AUCTION and shows_bids:
        best = await repository.best_bid(session, offer.id)
    return OfferView(offer=offer, best_bid_cents=best)


async def visible_offer(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID
) -> LoadOffer:
    """The load if the caller may see it; anyone else gets 404."""
    offer = await repository.offer(session, offer_id)
    if offer is None or not await may_see(session, offer, principal.organization_id):
        raise OfferNotFound("no such load")
    return offer


async def may_see(session: AsyncSession, offer: LoadOffer, organization_id: uuid.UUID) -> bool:
    """Trade parties always; carriers by the load's visibility or their part in it."""
    if organization_id in (offer.shipper_id, offer.seller_id, offer.buyer_id):
        return True
    # The board shows a load while it is open; once booked, closed or withdrawn its terms
    # belong to the parties and the carriers that took part.
    if offer.visibility == Visibility.OPEN and offer.state == OfferState.OPEN:
        return True
    if offer.visibility == Visibility.TENDER and offer.tender_carrier_id == organization_id:
        return True
    return await repository.carrier_involved(session, offer_id=offer.id, carrier_id=organization_id)


async def list_offers(
    session: AsyncSession,
    *,
    principal: Principal,
    state: OfferState | None,
    order_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> list[LoadOffer]:
    """The loads the caller's organization posted, newest first."""
    return list(
        await repository.shipper_offers(
            session,
            shipper_id=principal.organization_id,
            state=state,
            order_id=order_id,
            before_id=decode_cursor(cursor),
            limit=limit,
        )
    )


@dataclass(frozen=True)
class MarketFilter:
    """What a carrier's dispatcher narrows the market to."""

    near: tuple[float, float] | None = None
    radius_km: float = 150.0
    vehicle_id: uuid.UUID | None = None
    destination: tuple[float, float] | None = None
    destination_radius_km: float = 150.0
    body_type: BodyType | None = None
    pricing_mode: PricingMode | None = None
    pickup_after: datetime | None = None
    pickup_before: datetime | None = None


async def origins_for(
    session: AsyncSession, *, principal: Principal, where: MarketFilter
) -> list[tuple[float, float]]:
    """The points a radius filter measures from: a point, one vehicle's base, or none."""
    if where.near is not None:
        return [where.near]
    if where.vehicle_id is None:
        return []
    bases = await fleet.home_bases(session, principal=principal)
    if where.vehicle_id not in bases:
        raise InvalidOffer(
            "the vehicle is not yours, or has no home base",
            code="invalid_filter",
            errors=[FieldError(("query", "vehicle_id"), "no home base for this vehicle")],
        )
    return [bases[where.vehicle_id]]


def fits_filter(
    offer: LoadOffer | dict[str, Any],
    *,
    capability: CarrierCapability,
    where: MarketFilter,
    origins: list[tuple[float, float]],
    moment: datetime,
) -> tuple[bool, float | None]:
    """Whether a load (or its feed snapshot) fits a qualified carrier's filter; and how far
    its origin is from the nearest filter point."""

    def get(name: str) -> Any:
        return offer[name] if isinstance(offer, dict) else getattr(offer, name)

    body_types = frozenset(BodyType(b) for b in get("body_types") or ())
    needs = LoadNeeds(
        hazard_class=get("hazard_class"), food_grade=bool(get("food_grade")), body_types=body_types
    )
    if shortfalls(needs, capability, moment):
        return False, None
    if where.body_type is not None and body_types and where.body_type not in body_types:
        return False, None
    if where.pricing_mode is not None and get("pricing_mode") != where.pricing_mode:
        return False, None
    distance = None
    if origins:
        origin = (float(get("origin_lat")), float(get("origin_lon")))
        distance = min(distance_km(point, origin) for point in origins)
        if distance > where.radius_km:
            return False, None
    if where.destination is not None:
        destination = (float(get("destination_lat")), float(get("destination_lon")))
        if distance_km(where.destination, destination) > where.destination_radius_km:
            return False, None
    return True, distance


async def market(
    session: AsyncSession,
    *,
    principal: Principal,
    where: MarketFilter,
    cursor: str | None,
    limit: int,
) -> tuple[list[OfferView], str | None]:
    """Open loads the caller's carrier may see and is qualified for, newest first.

    The database narrows by visibility, state, dates, a bounding box and (coarsely) hazard and
    food grade; the exact qualification check and distance run here. A page scans a few
    chunks at most and hands back a cursor wherever it stopped.
    """
    require_kind(principal, OrgKind.CARRIER)
    moment = now()
    capability = await fleet.capability(session, principal.organization_id, moment=moment)
    origins = await origins_for(session, principal=principal, where=where)
    origin_box = None
    if len(origins) == 1:
        origin_box = bounding_box(origins[0], where.radius_km)
    destination_box = None
    if where.destination is not None:
        destination_box = bounding_box(where.destination, where.destination_radius_km)
    # Coarse on purpose: the exact class match (a permit for "4" covers "4.1") runs below.
    hazardous_ok = capability.holds(QualificationKind.HAZMAT_PERMIT, moment) and any(
        v.hazard_classes for v in capability.vehicle_classes
    )
    food_ok = capability.holds(QualificationKind.FOOD_GRADE, moment) and any(
        v.food_grade for v in capability.vehicle_classes
    )
    views: list[OfferView] = []
    before = decode_cursor(cursor)
    chunk = max(limit * 2, 50)
    for _ in range(MAX_SCAN_ROUNDS):
        found = await repository.market_page(
            session,
            carrier_id=principal.organization_id,
            now=moment,
            before_id=before,
            limit=chunk,
            origin_box=origin_box,
            destination_box=destination_box,
            pickup_after=where.pickup_after,
            pickup_before=where.pickup_before,
            pricing_mode=where.pricing_mode,
            hazardous_ok=hazardous_ok,
            food_grade_ok=food_ok,
        )
        for offer in found:
            before = offer.id
            fits, distance = fits_filter(
                offer, capability=capability, where=where, origins=origins, moment=moment
            )
            if fits:
                views.append(OfferView(offer=offer, distance_km=distance))
                if len(views) == limit:
                    return views, _cursor_after(offer.id)
        if len(found) < chunk:
            return views, None
    return views, None if before is None else _cursor_after(before)


def _cursor_after(offer_id: uuid.UUID) -> str:
    return encode_cursor(offer_id)


async def feed_carriers(session: AsyncSession, offer: LoadOffer) -> list[uuid.UUID] | None:
    """Which carriers the feed may send a load to: None for the open market."""
    if offer.visibility == Visibility.OPEN:
        return None
    if offer.visibility == Visibility.INVITED:
        return await repository.invited_carriers(session, offer.id)
    return [offer.tender_carrier_id] if offer.tender_carrier_id else []


async def cancel_offer(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID, data: OfferCancel
) -> LoadOffer:
    """Withdraw a load that is not fully booked (the shipper)."""
    require_dispatcher(principal)
    offer = await shipper_offer(session, principal, offer_id)
    ended = await end_offer(
        session,
        offer,
        to_state=OfferState.CANCELLED,
        actor=principal.actor,
        reason=data.reason,
    )
    if ended is None:
        raise OfferNotOpen(f"the load is {offer.state}: nothing left to withdraw")
    return ended


async def end_offer(
    session: AsyncSession,
    offer: LoadOffer,
    *,
    to_state: OfferState,
    actor: str | None,
    reason: str | None = None,
) -> LoadOffer | None:
    """Cancel or expire a live load: its unbooked quantity goes back to the order, its bids
    are lost, pending tender turns skipped and pending approvals void. None if it was not
    live any more."""
    moment = now()
    where = []
    if to_state == OfferState.EXPIRED:
        where.append(repository.offer_column("pickup_until") <= moment)
    ended = await repository.move_offer(
        session,
        offer.id,
        from_states=LIVE_OFFER_STATES,
        values={"state": to_state.value, "award_bid_id": None, "award_expires_at": None},
        where=where,
    )
    if ended is None:
        return None
    await orders_repository.release_quantity(
        session, order_id=ended.order_id, quantity=ended.remaining
    )
    for lost in await repository.lose_bids(session, offer_id=ended.id, keep=None, now=moment):
        await record(
            session,
            ended,
            "bid.lost",
            {"bid_id": str(lost.id), "why": to_state.value},
            audience=deal_audience(ended, lost.carrier_id),
            actor=actor,
        )
    await repository.move_tender_steps(
        session,
        offer_id=ended.id,
        from_states=(TenderStepState.WAITING, TenderStepState.OFFERED),
        values={"state": TenderStepState.SKIPPED.value},
    )
    await _void_approvals(session, ended.id, moment)
    kind = "load.cancelled" if to_state == OfferState.CANCELLED else "load.expired"
    await record(
        session,
        ended,
        kind,
        {"unbooked": ended.remaining, "reason": reason},
        audience=trade_audience(ended),
        actor=actor,
    )
    publish(session, ended, carriers=await feed_carriers(session, offer))
    return ended


async def _void_approvals(session: AsyncSession, offer_id: uuid.UUID, moment: datetime) -> None:
    # Held bids and awards die with the load; a held grab is a booking, cancelled on its own.
    table = table_of(Approval)
    await session.exec(
        update(table)
        .where(
            table.c.offer_id == offer_id,
            table.c.state == ApprovalState.PENDING.value,
            table.c.booking_id.is_(None),
        )
        .values(state=ApprovalState.VOID.value, decided_at=moment, version=table.c.version + 1)
    )


async def reopen_offer(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID, data: OfferReopen
) -> LoadOffer:
    """Put a closed load's unbooked quantity on the open market at a posted rate."""
    require_dispatcher(principal)
    offer = await shipper_offer(session, principal, offer_id)
    min_lot = data.min_lot or offer.remaining
    reopened = await repository.move_offer(
        session,
        offer.id,
        from_states=(OfferState.CLOSED,),
        values={
            "state": OfferState.OPEN.value,
            "pricing_mode": PricingMode.POSTED.value,
            "visibility": Visibility.OPEN.value,
            "rate_cents": data.rate_cents,
            "ceiling_cents": None,
            "min_lot": min_lot,
            "award_bid_id": None,
            "award_expires_at": None,
            "tender_rank": None,
            "tender_carrier_id": None,
            "tender_expires_at": None,
        },
        where=[
            repository.offer_column("remaining") > 0,
            repository.offer_column("remaining") >= min_lot,
            repository.offer_column("pickup_until") > now(),
        ],
    )
    if reopened is None:
        raise OfferNotOpen(
            "only a closed load with quantity left and time in its window can reopen"
        )
    await _void_approvals(session, offer.id, now())
    await record(
        session,
        reopened,
        "load.reopened",
        {"rate_cents": data.rate_cents, "remaining": reopened.remaining},
        audience=trade_audience(reopened),
        actor=principal.actor,
    )
    publish(session, reopened)
    return reopened


async def shipper_offer(
    session: AsyncSession, principal: Principal, offer_id: uuid.UUID
) -> LoadOffer:
    """A load the caller's organization posted; anyone else gets 404."""
    offer = await repository.offer(session, offer_id)
    if offer is None or offer.shipper_id != principal.organization_id:
        raise OfferNotFound("no such load of yours")
    return offer


async def tender_steps(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID
) -> list[TenderStep]:
    """A load's tender waterfall (the shipper)."""
    offer = await shipper_offer(session, principal, offer_id)
    return list(await repository.tender_steps(session, offer.id))
