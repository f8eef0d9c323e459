"""Reading deliveries and ledgers, cancelling a delivery, and the facts a pickup pass needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import Role
from accounts.models import Site
from accounts.principal import Principal
from dispatch.deliveries import repository, transitions
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.events import parties
from dispatch.deliveries.exceptions import DeliveryNotFound
from dispatch.deliveries.models import BookingLedger, OutboundDelivery
from dispatch.deliveries.schemas import CancelRequest
from dispatch.fleet.models import Driver
from dispatch.guards import require_dispatcher
from dispatch.market.exceptions import BookingNotFound
from dispatch.paging import decode_cursor


def visible_to(principal: Principal, delivery: OutboundDelivery) -> bool:
    """Whether the caller may see a delivery: its parties may; a driver only its own."""
    if principal.organization_id not in parties(delivery):
        return False
    if principal.role == Role.DRIVER:
        return (
            principal.membership_id is not None
            and delivery.driver_member_id == principal.membership_id
        )
    return True


async def get_delivery(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID
) -> OutboundDelivery:
    """A delivery the caller's organization is party to (a driver: one it drives)."""
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None or not visible_to(principal, delivery):
        raise DeliveryNotFound("no such delivery")
    return delivery


async def list_deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    booking_id: uuid.UUID | None = None,
    state: DeliveryState | None = None,
    planned_day: date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> list[OutboundDelivery]:
    """Deliveries the caller's organization is party to, newest first (a driver: its own)."""
    driver = None
    if principal.role == Role.DRIVER:
        if principal.membership_id is None:
            return []
        driver = principal.membership_id
    return list(
        await repository.deliveries_for(
            session,
            organization_id=principal.organization_id,
            driver_member_id=driver,
            booking_id=booking_id,
            state=state,
            planned_day=planned_day,
            before_id=decode_cursor(cursor),
            limit=limit,
        )
    )


async def cancel_delivery(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID, data: CancelRequest
) -> OutboundDelivery:
    """Cancel a delivery before it is loaded (its carrier or its seller); the quantity goes
    back to the booking, for a re-plan to carry."""
    require_dispatcher(principal)
    delivery = await get_delivery(session, principal=principal, delivery_id=delivery_id)
    if principal.organization_id not in (delivery.carrier_id, delivery.seller_id):
        raise DeliveryNotFound("no such delivery")
    return await transitions.cancel(
        session,
        delivery_id=delivery.id,
        actor=principal.actor,
        reason=data.reason,
        expected_version=data.version,
    )


async def booking_ledger(
    session: AsyncSession, *, principal: Principal, booking_id: uuid.UUID
) -> BookingLedger:
    """Where a booking's quantity stands (for its carrier, shipper, seller and buyer)."""
    found = await repository.booking_terms(session, booking_id)
    if found is None:
        raise BookingNotFound("no such booking")
    booking, _, _ = found
    sides = (booking.carrier_id, booking.shipper_id, booking.seller_id, booking.buyer_id)
    if principal.organization_id not in sides or principal.role == Role.DRIVER:
        raise BookingNotFound("no such booking")
    ledger = await repository.ledger(session, booking.id)
    return ledger or BookingLedger(
        booking_id=booking.id,
        carrier_id=booking.carrier_id,
        unit=booking.unit,
        booked_quantity=booking.quantity,
    )


@dataclass(frozen=True)
class DeliveryFacts:
    """What a pickup pass binds a delivery to: the plant, the product, the quantity, the
    vehicle, the driver, the day, the parties."""

    delivery: OutboundDelivery
    plant: Site
    driver: Driver | None
    driver_name: str | None

    @property
    def parties(self) -> list[uuid.UUID]:
        """The organizations that see the delivery."""
        return parties(self.delivery)


async def delivery_facts(session: AsyncSession, delivery_id: uuid.UUID) -> DeliveryFacts:
    """A delivery with its plant and its driver, for the pickup pass service to bind."""
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None:
        raise DeliveryNotFound("no such delivery")
    plant = (await repository.sites_by_id(session, [delivery.plant_site_id]))[
        delivery.plant_site_id
    ]
    driver, name = None, None
    if delivery.driver_member_id is not None:
        found = await repository.drivers_by_member(session, [delivery.driver_member_id])
        driver, name = found.get(delivery.driver_member_id, (None, None))
    return DeliveryFacts(delivery=delivery, plant=plant, driver=driver, driver_name=name)
