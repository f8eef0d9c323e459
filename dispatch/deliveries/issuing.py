"""A committed plan's trips become the seller's outbound delivery notes: numbered from the
seller's sequence, one row per trip with the trade's facts copied in, each logged; the
deliveries a re-plan replaces are cancelled first."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.exceptions import StaleVersion
from accounts.principal import Principal
from core import eventlog
from core.clock import now
from dispatch.deliveries import repository, transitions
from dispatch.deliveries.context import cargo_terms
from dispatch.deliveries.enums import REPLANNABLE_STATES, DeliveryState
from dispatch.deliveries.events import booking_subject, parties, record
from dispatch.deliveries.exceptions import DeliveryStateConflict, ReplacedDeliveryMoved
from dispatch.deliveries.models import DeliveryPlan, OutboundDelivery
from dispatch.deliveries.schemas import SplitTerms
from dispatch.deliveries.splitting import compartment_allocation, trip_duration_s, trip_quantity
from dispatch.market.models import Booking, LoadOffer
from dispatch.orders.models import SalesOrder
from dispatch.planning import SplitRequest, Trip


async def retire_replaced(
    session: AsyncSession, principal: Principal, delivery_id: uuid.UUID, version: int
) -> None:
    """Cancel a delivery a re-plan replaces, if it is still where the preview saw it."""
    try:
        await transitions.cancel(
            session,
            delivery_id=delivery_id,
            actor=principal.actor,
            reason="replaced by a re-plan",
            kind="delivery.replaced",
            expected_version=version,
            from_states=REPLANNABLE_STATES,
        )
    except (DeliveryStateConflict, StaleVersion) as error:
        raise ReplacedDeliveryMoved(
            "a delivery this re-plan replaces moved on since the preview: re-plan again"
        ) from error


async def create_deliveries(
    session: AsyncSession,
    principal: Principal,
    plan: DeliveryPlan,
    booking: Booking,
    offer: LoadOffer,
    order: SalesOrder,
    request: SplitRequest,
    trips: Sequence[Trip],
    terms: SplitTerms,
) -> list[OutboundDelivery]:
    """One planned delivery per trip, numbered in the seller's sequence, each logged."""
    cargo = cargo_terms(terms, booking.unit)
    fleet = {vehicle.id: vehicle for vehicle in request.fleet}
    last_no = await repository.take_numbers(session, seller_id=booking.seller_id, count=len(trips))
    first_no = last_no - len(trips) + 1
    moment = now()
    made = []
    for offset, trip in enumerate(trips):
        vehicle = fleet[trip.vehicle_id]
        delivery = OutboundDelivery(
            number=delivery_number(first_no + offset),
            order_id=order.id,
            booking_id=booking.id,
            plan_id=plan.id,
            seller_id=booking.seller_id,
            buyer_id=booking.buyer_id,
            carrier_id=booking.carrier_id,
            plant_operator_id=order.plant_operator_id,
            plant_site_id=order.origin_site_id,
            destination_site_id=order.destination_site_id,
            destination_address=order.destination_address,
            destination_lat=order.destination_lat,
            destination_lon=order.destination_lon,
            product=order.commodity,
            hazard_class=offer.hazard_class,
            un_number=offer.un_number,
            food_grade=offer.food_grade,
            quantity=trip_quantity(trip, cargo),
            unit=booking.unit,
            compartments=compartment_allocation(trip),
            vehicle_id=uuid.UUID(trip.vehicle_id),
            vehicle_plate=trip.plate,
            dispatcher_id=principal.membership_id,
            planned_day=trip.day,
            trip_no=trip.trip_no,
            trip_duration_s=trip_duration_s(vehicle.trips_per_day, terms.working_day_s),
            state=DeliveryState.PLANNED,
            created_at=moment,
            updated_at=moment,
        )
        session.add(delivery)
        made.append(delivery)
    await session.flush()
    for delivery in made:
        await record(
            session, delivery, "delivery.planned", {"plan_id": str(plan.id)}, actor=principal.actor
        )
    return made


def delivery_number(sequence: int) -> str:
    """A seller's delivery number people can read out: ``OD-000042``."""
    return f"OD-{sequence:06d}"


async def record_split(
    session: AsyncSession,
    principal: Principal,
    plan: DeliveryPlan,
    booking: Booking,
    deliveries: Sequence[OutboundDelivery],
) -> None:
    """Log the committed split on the booking's subject, for every party of its deliveries."""
    audience: set[uuid.UUID] = set()
    by_day: defaultdict[str, int] = defaultdict(int)
    for delivery in deliveries:
        audience.update(parties(delivery))
        by_day[delivery.planned_day.isoformat()] += delivery.quantity
    await eventlog.append(
        session,
        subject=booking_subject(booking.id),
        kind="split.committed",
        payload={
            "booking_id": str(booking.id),
            "plan_id": str(plan.id),
            "kind": plan.kind,
            "unit": booking.unit,
            "quantity": plan.quantity,
            "total_cost_cents": plan.total_cost_cents,
            "deliveries": [
                {
                    "delivery_id": str(d.id),
                    "number": d.number,
                    "planned_day": d.planned_day.isoformat(),
                    "vehicle_plate": d.vehicle_plate,
                    "quantity": d.quantity,
                }
                for d in deliveries
            ],
            "quantity_by_day": dict(sorted(by_day.items())),
            "replaced": [entry["id"] for entry in plan.replaces],
        },
        audience=sorted(audience) or [booking.carrier_id],
        actor=principal.actor,
    )
