"""The day scheduler through the service at a busier plant: thirty loads of three products,
some hazardous, over four docks. Every load lands on a dock that serves its product, body
and hazard, no dock holds two loads (or a load and a changeover) at once, and nothing starts
outside the opening hours."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from accounts.principal import Principal
from accounts.service import authenticate
from accounts.tokens import TokenCache
from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.models import OutboundDelivery
from tests.dispatch.authz_factory import long_session_settings
from tests.yard.yard_factory import SILO_DOCK, yard_world
from yard.appointments import schedule_day

PRODUCTS = [("sugar EU2", None), ("molasses", None), ("ethanol", "3")]
DOCKS: dict[str, dict[str, Any] | None] = {
    "Silo 1": {**SILO_DOCK, "changeover_min": 20, "products": ["sugar EU2", "molasses"]},
    "Silo 2": SILO_DOCK,
    "Tanker bay": {
        "products": ["molasses", "ethanol"],
        "bodies": ["silo"],
        "hazardous": True,
        "loading_rate_kg_per_min": 1500,
        "handling_min": 10,
        "changeover_min": 30,
    },
    "Bag bay": {
        "products": ["sugar 25 kg bags"],
        "bodies": ["curtainsider"],
        "fixed_duration_min": 40,
    },
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the days the tests move the clock."""
    return long_session_settings(tmp_path)


async def _more_loads(database: Database, template_id: str, day: date, count: int) -> None:
    """Copies of a delivery with other products, authorized for the day."""
    async with database.transaction() as session:
        template = (
            await session.exec(
                select(OutboundDelivery).where(col(OutboundDelivery.id) == uuid.UUID(template_id))
            )
        ).one()
        fields = template.model_dump(exclude={"id", "version", "number", "created_at"})
        for k in range(count):
            product, hazard = PRODUCTS[k % len(PRODUCTS)]
            session.add(
                OutboundDelivery(
                    **{
                        **fields,
                        "number": f"LOAD-{k:04d}",
                        "product": product,
                        "hazard_class": hazard,
                        "planned_day": day,
                        "state": DeliveryState.AUTHORIZED,
                        "quantity": 12_000 + 1_000 * (k % 7),
                    }
                )
            )


class TestBusyDay:
    async def test_thirty_loads_each_on_a_compatible_dock_and_never_two_at_once(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database, docks=DOCKS)
        await _more_loads(database, world.delivery_ids()[0], world.day, 28)
        async with database.session() as session:
            operator: Principal = await authenticate(
                session, token=world.pickup.booked.deal.seller.token, cache=TokenCache(ttl_s=0)
            )
        async with database.transaction() as session:
            plan = await schedule_day(
                session, principal=operator, site_id=uuid.UUID(world.site_id), day=world.day
            )
            loads = {
                d.id: d
                for d in (
                    await session.exec(
                        select(OutboundDelivery).where(
                            col(OutboundDelivery.planned_day) == world.day
                        )
                    )
                ).all()
            }
        docks = {uuid.UUID(d["id"]): (name, d) for name, d in world.docks.items()}
        assert len(loads) == 30
        assert plan.unscheduled == ()
        assert len(plan.appointments) == 30
        opens = datetime.combine(world.day, datetime.min.time(), world.at(0).tzinfo)
        by_dock: dict[uuid.UUID, list[tuple[datetime, datetime, str]]] = {}
        for a in plan.appointments:
            load = loads[a.delivery_id]
            name, dock = docks[a.dock_id]
            assert load.product in dock["products"], (name, load.product)
            assert load.hazard_class is None or dock["hazardous"], (name, load.product)
            assert opens + timedelta(hours=6) <= a.starts_at < a.ends_at
            assert a.ends_at <= opens + timedelta(hours=22)
            by_dock.setdefault(a.dock_id, []).append((a.starts_at, a.ends_at, load.product))
        for dock_id, held in by_dock.items():
            changeover = timedelta(minutes=docks[dock_id][1].get("changeover_min", 0))
            held.sort()
            for (_, ends, product), (starts, _, following) in itertools.pairwise(held):
                gap = changeover if product != following else timedelta(0)
                assert ends + gap <= starts, (docks[dock_id][0], ends, starts)
        assert "Bag bay" not in {docks[d][0] for d in by_dock}
