"""Where a delivery's fences are: the plant it loads at and the site it goes to.

The plant's fence is the gate polygon its yard settings draw; a plant without one (or a
site the yard does not run) is a circle around its site's position. :func:`plant_fence` is
the one place that decides.
"""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Site
from dispatch.deliveries.models import OutboundDelivery
from tracking.geofence import Fence
from tracking.shipments.kinds import DESTINATION_FENCE, PLANT_FENCE
from tracking.shipments.policy import ShipmentPolicy
from yard.plants import plant_of_site


async def plant_fence(
    session: AsyncSession, *, site_id: uuid.UUID, policy: ShipmentPolicy
) -> Fence | None:
    """The plant's gate polygon, else a circle of ``plant_radius_m`` around the plant site."""
    plant = await plant_of_site(session, site_id)
    if plant is not None and plant.yard.gate_fence:
        try:
            return Fence.from_geojson(PLANT_FENCE, plant.yard.gate_fence)
        except (ValueError, TypeError, KeyError):
            pass  # a drawing the engine cannot use: fall back to the circle
    site = await session.get(Site, site_id)
    if site is None:
        return None
    return Fence.circle(PLANT_FENCE, lat=site.lat, lon=site.lon, radius_m=policy.plant_radius_m)


def destination_fence(delivery: OutboundDelivery, *, policy: ShipmentPolicy) -> Fence:
    """The destination's fence: a circle around the delivery's destination."""
    return Fence.circle(
        DESTINATION_FENCE,
        lat=delivery.destination_lat,
        lon=delivery.destination_lon,
        radius_m=policy.destination_radius_m,
    )
