"""The driver's phone: my deliveries today (and any still under way) and the upcoming ones,
with the plant, the product, the quantity, the vehicle and the next step."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Site
from accounts.principal import Principal
from core.clock import now
from dispatch.deliveries import repository
from dispatch.deliveries.enums import ON_THE_ROAD_STATES
from dispatch.deliveries.models import OutboundDelivery
from dispatch.deliveries.splitting import local_day, plant_zone

Driven = list[tuple[OutboundDelivery, Site]]


async def my_deliveries(session: AsyncSession, *, principal: Principal) -> tuple[Driven, Driven]:
    """(today, upcoming) for the calling member: today is the plant's calendar day, and a
    delivery planned earlier that is still on the road stays in today's list."""
    if principal.membership_id is None:
        return [], []
    found = await repository.driven_by(
        session, driver_member_id=principal.membership_id, states=ON_THE_ROAD_STATES
    )
    moment = now()
    today: Driven = []
    upcoming: Driven = []
    for delivery, plant in found:
        if delivery.carrier_id != principal.organization_id:
            continue
        if delivery.planned_day <= local_day(moment, plant_zone(plant.timezone)):
            today.append((delivery, plant))
        else:
            upcoming.append((delivery, plant))
    return today, upcoming
