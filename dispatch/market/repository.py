"""Every query of the load market.

Changes to offers, bids, bookings, tender steps and approvals are conditional UPDATEs on the
Core tables (``… WHERE state IN (…) RETURNING …``): zero rows means another request moved
first. Reads that may follow such an update in the same transaction ask for
``populate_existing`` so they never see a stale object from the session.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, case, func, or_, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organization
from core.sql import table_of
from dispatch.market.enums import (
    ApprovalAction,
    ApprovalState,
    BidState,
    BookingState,
    OfferState,
    PricingMode,
    TenderStepState,
    Visibility,
)
from dispatch.market.models import (
    Approval,
    ApprovalRule,
    Bid,
    Booking,
    LoadOffer,
    OfferInvitation,
    TenderStep,
)

_FRESH = {"populate_existing": True}


def _values(states: Iterable[Any]) -> list[str]:
    return [str(getattr(s, "value", s)) for s in states]


async def offer(session: AsyncSession, offer_id: uuid.UUID) -> LoadOffer | None:
    """A load by id, read fresh."""
    statement = select(LoadOffer).where(col(LoadOffer.id) == offer_id).execution_options(**_FRESH)
    return (await session.exec(statement)).first()


# The grab's statements are built once with bind parameters: building them per request (and
# computing their cache keys) cost more than running them. In an UPDATE, bind names must not
# be column names, hence the ``b_`` prefix.
_OFFER_WITH_THRESHOLD = (
    select(LoadOffer, col(ApprovalRule.threshold_cents))
    .outerjoin(
        ApprovalRule,
        and_(
            col(ApprovalRule.organization_id) == bindparam("organization_id"),
            col(ApprovalRule.action) == bindparam("action"),
            col(ApprovalRule.currency) == col(LoadOffer.currency),
        ),
    )
    .where(col(LoadOffer.id) == bindparam("offer_id"))
    .execution_options(**_FRESH)
)


async def offer_with_threshold(
    session: AsyncSession,
    *,
    offer_id: uuid.UUID,
    organization_id: uuid.UUID,
    action: ApprovalAction,
) -> tuple[LoadOffer, int | None] | None:
    """A load and the caller's approval threshold for ``action`` in its currency, in one query."""
    params = {"offer_id": offer_id, "organization_id": organization_id, "action": action.value}
    row = (await session.exec(_OFFER_WITH_THRESHOLD, params=params)).first()
    return None if row is None else (row[0], row[1])


async def is_invited(session: AsyncSession, *, offer_id: uuid.UUID, carrier_id: uuid.UUID) -> bool:
    """Whether a carrier is invited to an invite-only load."""
    found = await session.get(OfferInvitation, (offer_id, carrier_id))
    return found is not None


async def invited_carriers(session: AsyncSession, offer_id: uuid.UUID) -> list[uuid.UUID]:
    """The carriers invited to a load."""
    statement = select(col(OfferInvitation.carrier_id)).where(
        col(OfferInvitation.offer_id) == offer_id
    )
    return list((await session.exec(statement)).all())


async def carrier_involved(
    session: AsyncSession, *, offer_id: uuid.UUID, carrier_id: uuid.UUID
) -> bool:
    """Whether a carrier bid on, booked, was invited to or was tendered a load."""
    checks = (
        select(col(Bid.id)).where(col(Bid.offer_id) == offer_id, col(Bid.carrier_id) == carrier_id),
        select(col(Booking.id)).where(
            col(Booking.offer_id) == offer_id, col(Booking.carrier_id) == carrier_id
        ),
        select(col(OfferInvitation.carrier_id)).where(
            col(OfferInvitation.offer_id) == offer_id,
            col(OfferInvitation.carrier_id) == carrier_id,
        ),
        select(col(TenderStep.id)).where(
            col(TenderStep.offer_id) == offer_id,
            col(TenderStep.carrier_id) == carrier_id,
            col(TenderStep.state) != TenderStepState.WAITING,
        ),
    )
    for check in checks:
        if (await session.exec(check.limit(1))).first() is not None:
            return True
    return False


@lru_cache(maxsize=4)
def _take_statement(*, tender: bool, whole_only: bool) -> Any:
    t = table_of(LoadOffer)
    quantity = bindparam("b_quantity", type_=BigInteger)
    left = t.c.remaining - quantity
    lot_ok = (
        t.c.remaining == quantity
        if whole_only
        else or_(t.c.remaining == quantity, t.c.min_lot <= quantity)
    )
    conditions: list[ColumnElement[bool]] = [
        t.c.id == bindparam("b_offer_id"),
        t.c.state == OfferState.OPEN.value,
        t.c.remaining >= quantity,
        t.c.pickup_until > bindparam("b_now"),
        t.c.min_lot == bindparam("b_min_lot"),
        t.c.rate_cents == bindparam("b_rate_cents"),
        lot_ok,
    ]
    if tender:
        conditions += [
            t.c.pricing_mode == PricingMode.TENDER.value,
            t.c.tender_carrier_id == bindparam("b_carrier_id"),
            t.c.tender_expires_at > bindparam("b_now"),
        ]
    else:
        conditions.append(t.c.pricing_mode == PricingMode.POSTED.value)
    return (
        update(t)
        .where(*conditions)
        .values(
            remaining=left,
            state=case((left == 0, OfferState.BOOKED.value), else_=t.c.state),
            version=t.c.version + 1,
        )
        .returning(t.c.remaining, t.c.state, t.c.version)
    )


async def take(
    session: AsyncSession,
    *,
    offer_id: uuid.UUID,
    quantity: int,
    min_lot: int,
    rate_cents: int | None,
    whole_trips: bool,
    now: datetime,
    tender_carrier_id: uuid.UUID | None = None,
) -> tuple[int, OfferState, int] | None:
    """Take quantity of an open load in one conditional UPDATE: (remaining, state, version),
    or None when the load is no longer open or holds less than ``quantity``.

    The WHERE pins the rate and lot the caller priced with, so a reopened load is never
    booked at its old terms; the minimum lot holds unless the grab takes the whole rest (per
    trip, a part must also be whole trips).
    """
    statement = _take_statement(
        tender=tender_carrier_id is not None, whole_only=whole_trips and quantity % min_lot != 0
    )
    params = {
        "b_offer_id": offer_id,
        "b_quantity": quantity,
        "b_now": now,
        "b_min_lot": min_lot,
        "b_rate_cents": rate_cents,
        "b_carrier_id": tender_carrier_id,
    }
    row = (await session.exec(statement, params=params)).first()
    return None if row is None else (int(row[0]), OfferState(row[1]), int(row[2]))


async def move_offer(
    session: AsyncSession,
    offer_id: uuid.UUID,
    *,
    from_states: Iterable[OfferState],
    values: dict[str, Any],
    where: Sequence[ColumnElement[bool]] = (),
) -> LoadOffer | None:
    """Move a load out of one of ``from_states`` (and ``where``) in one conditional UPDATE;
    the updated load, or None if it was not in such a state."""
    t = table_of(LoadOffer)
    statement = (
        update(t)
        .where(t.c.id == offer_id, t.c.state.in_(_values(from_states)), *where)
        .values(**values, version=t.c.version + 1)
        .returning(*t.c)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else LoadOffer(**row._mapping)


def offer_column(name: str) -> Any:
    """A column of the offers table, for ``where`` clauses of ``move_offer``."""
    return table_of(LoadOffer).c[name]


async def shipper_offers(
    session: AsyncSession,
    *,
    shipper_id: uuid.UUID,
    state: OfferState | None,
    order_id: uuid.UUID | None,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[LoadOffer]:
    """A shipper's loads, newest first."""
    statement = (
        select(LoadOffer)
        .where(col(LoadOffer.shipper_id) == shipper_id)
        .order_by(col(LoadOffer.id).desc())
        .limit(limit)
    )
    if state is not None:
        statement = statement.where(col(LoadOffer.state) == state)
    if order_id is not None:
        statement = statement.where(col(LoadOffer.order_id) == order_id)
    if before_id is not None:
        statement = statement.where(col(LoadOffer.id) < before_id)
    return (await session.exec(statement)).all()


async def market_page(
    session: AsyncSession,
    *,
    carrier_id: uuid.UUID,
    now: datetime,
    before_id: uuid.UUID | None,
    limit: int,
    origin_box: tuple[float, float, float, float] | None,
    destination_box: tuple[float, float, float, float] | None,
    pickup_after: datetime | None,
    pickup_before: datetime | None,
    pricing_mode: PricingMode | None,
    hazardous_ok: bool,
    food_grade_ok: bool,
) -> Sequence[LoadOffer]:
    """Open loads a carrier may see, newest first: a coarse filter the caller refines.

    Visibility is exact here (open market, invitations, the carrier's tender turn); the
    qualification and the radius are prefiltered (any permit at all, a bounding box) and
    decided exactly by the caller.
    """
    invited = select(col(OfferInvitation.offer_id)).where(
        col(OfferInvitation.carrier_id) == carrier_id
    )
    statement = (
        select(LoadOffer)
        .where(
            col(LoadOffer.state) == OfferState.OPEN,
            col(LoadOffer.remaining) > 0,
            col(LoadOffer.pickup_until) > now,
            col(LoadOffer.shipper_id) != carrier_id,
            or_(
                col(LoadOffer.visibility) == Visibility.OPEN,
                and_(
                    col(LoadOffer.visibility) == Visibility.INVITED,
                    col(LoadOffer.id).in_(invited),
                ),
                and_(
                    col(LoadOffer.visibility) == Visibility.TENDER,
                    col(LoadOffer.tender_carrier_id) == carrier_id,
                ),
            ),
        )
        .order_by(col(LoadOffer.id).desc())
        .limit(limit)
    )
    if before_id is not None:
        statement = statement.where(col(LoadOffer.id) < before_id)
    if not hazardous_ok:
        statement = statement.where(col(LoadOffer.hazard_class).is_(None))
    if not food_grade_ok:
        statement = statement.where(col(LoadOffer.food_grade).is_(False))
    if pricing_mode is not None:
        statement = statement.where(col(LoadOffer.pricing_mode) == pricing_mode)
    if pickup_after is not None:
        statement = statement.where(col(LoadOffer.pickup_until) >= pickup_after)
    if pickup_before is not None:
        statement = statement.where(col(LoadOffer.pickup_from) <= pickup_before)
    for box, lat, lon in (
        (origin_box, LoadOffer.origin_lat, LoadOffer.origin_lon),
        (destination_box, LoadOffer.destination_lat, LoadOffer.destination_lon),
    ):
        if box is None:
            continue
        min_lat, max_lat, min_lon, max_lon = box
        statement = statement.where(col(lat).between(min_lat, max_lat))
        # A box across the antimeridian is left to the exact distance check.
        if min_lon >= -180 and max_lon <= 180:
            statement = statement.where(col(lon).between(min_lon, max_lon))
    return (await session.exec(statement)).all()


async def best_bid(session: AsyncSession, offer_id: uuid.UUID) -> int | None:
    """The lowest standing bid amount of a load."""
    statement = select(func.min(col(Bid.amount_cents))).where(
        col(Bid.offer_id) == offer_id, col(Bid.state).in_([BidState.ACTIVE, BidState.AWARDED])
    )
    found = (await session.exec(statement)).one()
    return None if found is None else int(found)


async def due_offers(
    session: AsyncSession, *, now: datetime, limit: int
) -> dict[str, list[LoadOffer]]:
    """Loads with a deadline passed: auctions to close, awards and tender turns that timed
    out, and loads whose pickup window ended unbooked."""
    due: dict[str, list[LoadOffer]] = {}
    queries = {
        "expire": select(LoadOffer).where(
            col(LoadOffer.state).in_([OfferState.OPEN, OfferState.CLOSED, OfferState.AWARDED]),
            col(LoadOffer.pickup_until) <= now,
        ),
        "close": select(LoadOffer).where(
            col(LoadOffer.state) == OfferState.OPEN,
            col(LoadOffer.pricing_mode) == PricingMode.AUCTION,
            col(LoadOffer.closes_at) <= now,
        ),
        "award": select(LoadOffer).where(
            col(LoadOffer.state) == OfferState.AWARDED,
            col(LoadOffer.award_expires_at) <= now,
        ),
        "tender": select(LoadOffer).where(
            col(LoadOffer.state) == OfferState.OPEN,
            col(LoadOffer.pricing_mode) == PricingMode.TENDER,
            col(LoadOffer.tender_expires_at) <= now,
        ),
    }
    for name, statement in queries.items():
        found = await session.exec(
            statement.order_by(col(LoadOffer.id)).limit(limit).execution_options(**_FRESH)
        )
        due[name] = list(found.all())
    return due


async def bid(session: AsyncSession, bid_id: uuid.UUID) -> Bid | None:
    """A bid by id, read fresh."""
    statement = select(Bid).where(col(Bid.id) == bid_id).execution_options(**_FRESH)
    return (await session.exec(statement)).first()


async def bid_of(
    session: AsyncSession, *, offer_id: uuid.UUID, carrier_id: uuid.UUID
) -> Bid | None:
    """A carrier's bid on a load, read fresh."""
    statement = (
        select(Bid)
        .where(col(Bid.offer_id) == offer_id, col(Bid.carrier_id) == carrier_id)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def bids(
    session: AsyncSession, offer_id: uuid.UUID, *, states: Iterable[BidState] | None = None
) -> Sequence[Bid]:
    """A load's bids, oldest first."""
    statement = (
        select(Bid)
        .where(col(Bid.offer_id) == offer_id)
        .order_by(col(Bid.created_at), col(Bid.id))
        .execution_options(**_FRESH)
    )
    if states is not None:
        statement = statement.where(col(Bid.state).in_(list(states)))
    return (await session.exec(statement)).all()


async def move_bid(
    session: AsyncSession,
    bid_id: uuid.UUID,
    *,
    from_states: Iterable[BidState],
    values: dict[str, Any],
    where: Sequence[ColumnElement[bool]] = (),
) -> Bid | None:
    """Move a bid out of one of ``from_states`` in one conditional UPDATE."""
    t = table_of(Bid)
    statement = (
        update(t)
        .where(t.c.id == bid_id, t.c.state.in_(_values(from_states)), *where)
        .values(**values, version=t.c.version + 1)
        .returning(*t.c)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else Bid(**row._mapping)


def bid_column(name: str) -> Any:
    """A column of the bids table, for ``where`` clauses of ``move_bid``."""
    return table_of(Bid).c[name]


async def lose_bids(
    session: AsyncSession, *, offer_id: uuid.UUID, keep: uuid.UUID | None, now: datetime
) -> list[Bid]:
    """Mark a load's other live bids lost (it was booked or ended); returns them."""
    t = table_of(Bid)
    statement = (
        update(t)
        .where(
            t.c.offer_id == offer_id,
            t.c.state.in_(
                _values(
                    (
                        BidState.ACTIVE,
                        BidState.PENDING_APPROVAL,
                        BidState.WITHDRAWN,
                        BidState.AWARDED,
                    )
                )
            ),
        )
        .values(state=BidState.LOST.value, updated_at=now, version=t.c.version + 1)
        .returning(*t.c)
    )
    if keep is not None:
        statement = statement.where(t.c.id != keep)
    return [Bid(**row._mapping) for row in (await session.exec(statement)).all()]


async def tender_steps(session: AsyncSession, offer_id: uuid.UUID) -> Sequence[TenderStep]:
    """A load's tender waterfall in rank order."""
    statement = (
        select(TenderStep)
        .where(col(TenderStep.offer_id) == offer_id)
        .order_by(col(TenderStep.rank))
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def move_tender_steps(
    session: AsyncSession,
    *,
    offer_id: uuid.UUID,
    from_states: Iterable[TenderStepState],
    values: dict[str, Any],
    rank: int | None = None,
) -> int:
    """Move a load's tender steps (one rank, or all) out of ``from_states``; how many moved."""
    t = table_of(TenderStep)
    statement = update(t).where(t.c.offer_id == offer_id, t.c.state.in_(_values(from_states)))
    if rank is not None:
        statement = statement.where(t.c.rank == rank)
    result = await session.exec(statement.values(**values))
    return int(result.rowcount or 0)


async def booking(session: AsyncSession, booking_id: uuid.UUID) -> Booking | None:
    """A booking by id, read fresh."""
    statement = select(Booking).where(col(Booking.id) == booking_id).execution_options(**_FRESH)
    return (await session.exec(statement)).first()


async def move_booking(
    session: AsyncSession,
    booking_id: uuid.UUID,
    *,
    from_states: Iterable[BookingState],
    values: dict[str, Any],
    where: Sequence[ColumnElement[bool]] = (),
) -> Booking | None:
    """Move a booking out of one of ``from_states`` in one conditional UPDATE."""
    t = table_of(Booking)
    statement = (
        update(t)
        .where(t.c.id == booking_id, t.c.state.in_(_values(from_states)), *where)
        .values(**values, version=t.c.version + 1)
        .returning(*t.c)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else Booking(**row._mapping)


def booking_column(name: str) -> Any:
    """A column of the bookings table, for ``where`` clauses of ``move_booking``."""
    return table_of(Booking).c[name]


async def bookings_for(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    as_carrier: bool,
    as_shipper: bool,
    offer_id: uuid.UUID | None,
    state: BookingState | None,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[Booking]:
    """Bookings an organization holds as carrier or made as shipper, newest first."""
    sides = []
    if as_carrier:
        sides.append(col(Booking.carrier_id) == organization_id)
    if as_shipper:
        sides.append(col(Booking.shipper_id) == organization_id)
    statement = select(Booking).where(or_(*sides)).order_by(col(Booking.id).desc()).limit(limit)
    if offer_id is not None:
        statement = statement.where(col(Booking.offer_id) == offer_id)
    if state is not None:
        statement = statement.where(col(Booking.state) == state)
    if before_id is not None:
        statement = statement.where(col(Booking.id) < before_id)
    return (await session.exec(statement)).all()


async def due_holds(session: AsyncSession, *, now: datetime, limit: int) -> Sequence[Booking]:
    """Bookings held for approval past their hold."""
    statement = (
        select(Booking)
        .where(
            col(Booking.state) == BookingState.PENDING_APPROVAL,
            col(Booking.hold_expires_at) <= now,
        )
        .order_by(col(Booking.id))
        .limit(limit)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def recent_outcomes(
    session: AsyncSession, carrier_ids: Sequence[uuid.UUID], *, window: int
) -> Sequence[Booking]:
    """The last ``window`` bookings with an outcome of each carrier, in one query."""
    if not carrier_ids:
        return []
    position = (
        func.row_number()
        .over(
            partition_by=col(Booking.carrier_id),
            order_by=(col(Booking.outcome_at).desc(), col(Booking.id).desc()),
        )
        .label("position")
    )
    ranked = (
        select(Booking, position)
        .where(col(Booking.carrier_id).in_(carrier_ids), col(Booking.outcome_at).is_not(None))
        .subquery()
    )
    recent = aliased(Booking, ranked)
    statement = select(recent).where(ranked.c.position <= window)
    return (await session.exec(statement)).all()


async def organization_names(
    session: AsyncSession, organization_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Names of organizations by id."""
    ids = set(organization_ids)
    if not ids:
        return {}
    statement = select(col(Organization.id), col(Organization.name)).where(
        col(Organization.id).in_(ids)
    )
    return {row[0]: str(row[1]) for row in (await session.exec(statement)).all()}


async def rules(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[ApprovalRule]:
    """An organization's approval rules."""
    statement = (
        select(ApprovalRule)
        .where(col(ApprovalRule.organization_id) == organization_id)
        .order_by(col(ApprovalRule.action), col(ApprovalRule.currency))
    )
    return (await session.exec(statement)).all()


async def rule(
    session: AsyncSession, *, organization_id: uuid.UUID, action: ApprovalAction, currency: str
) -> ApprovalRule | None:
    """One approval rule."""
    statement = select(ApprovalRule).where(
        col(ApprovalRule.organization_id) == organization_id,
        col(ApprovalRule.action) == action,
        col(ApprovalRule.currency) == currency,
    )
    return (await session.exec(statement)).first()


async def approvals(
    session: AsyncSession, *, organization_id: uuid.UUID, state: ApprovalState | None, limit: int
) -> Sequence[Approval]:
    """An organization's approval requests, newest first."""
    statement = (
        select(Approval)
        .where(col(Approval.organization_id) == organization_id)
        .order_by(col(Approval.id).desc())
        .limit(limit)
    )
    if state is not None:
        statement = statement.where(col(Approval.state) == state)
    return (await session.exec(statement)).all()


async def pending_approval_for(
    session: AsyncSession, *, bid_id: uuid.UUID | None = None, booking_id: uuid.UUID | None = None
) -> Approval | None:
    """The pending approval holding a bid or a booking."""
    statement = select(Approval).where(col(Approval.state) == ApprovalState.PENDING)
    if bid_id is not None:
        statement = statement.where(col(Approval.bid_id) == bid_id)
    if booking_id is not None:
        statement = statement.where(col(Approval.booking_id) == booking_id)
    return (await session.exec(statement.execution_options(**_FRESH))).first()


async def move_approval(
    session: AsyncSession,
    approval_id: uuid.UUID,
    *,
    values: dict[str, Any],
) -> Approval | None:
    """Decide a pending approval in one conditional UPDATE."""
    t = table_of(Approval)
    statement = (
        update(t)
        .where(t.c.id == approval_id, t.c.state == ApprovalState.PENDING.value)
        .values(**values, version=t.c.version + 1)
        .returning(*t.c)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else Approval(**row._mapping)
