"""The moves the yard, the pass service and tracking make on a delivery: each guarded by
the state it leaves, each with its event, each keeping the booking's ledger."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from accounts.exceptions import StaleVersion
from core.clock import FrozenClock, now
from core.database import Database
from core.errors import InvalidTransition
from dispatch.deliveries import service, transitions
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.exceptions import DeliveryStateConflict, LoadedOverPlanned
from tests.dispatch.delivery_factory import Booked, booked, split
from tests.dispatch.market_factory import SUGAR_T

YARD = "system:yard"


async def ledger(client: httpx.AsyncClient, deal: Booked) -> dict[str, Any]:
    """The booking's ledger as its carrier reads it."""
    response = await client.get(
        f"/v1/deliveries/ledgers/{deal.booking_id}", headers=deal.carrier.headers
    )
    body: dict[str, Any] = response.json()
    return body


async def kinds(client: httpx.AsyncClient, deal: Booked, delivery_id: str) -> list[str]:
    """The kinds of a delivery's events, as the seller reads them."""
    response = await client.get(
        "/v1/events",
        headers=deal.deal.seller.headers,
        params={"subject": f"delivery:{delivery_id}"},
    )
    return [event["kind"] for event in response.json()["data"]]


class TestTheWayToTheBuyer:
    async def test_every_step_moves_the_state_the_ledger_and_the_log(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        first, *_ = await split(client, deal)
        delivery_id = uuid.UUID(first["id"])
        async with database.transaction() as session:
            # the pass service needs a driver; a planned delivery may still be assigned here
            await transitions.advance(
                session,
                delivery_id=delivery_id,
                to_state=DeliveryState.ASSIGNED,
                kind="delivery.assigned",
                actor=YARD,
            )
            await transitions.authorize(session, delivery_id=delivery_id, actor=YARD)
            await transitions.slot(
                session,
                delivery_id=delivery_id,
                slot_starts_at=now() + timedelta(hours=3),
                actor=YARD,
            )
            await transitions.arrive(session, delivery_id=delivery_id, actor=YARD)
            loaded = await transitions.load(
                session,
                delivery_id=delivery_id,
                loaded_quantity=first["quantity"] - 40,
                actor=YARD,
                ticket="WB-1",
            )
        assert loaded.loaded_quantity == first["quantity"] - 40
        after_load = await ledger(client, deal)
        assert after_load["moving_quantity"] == first["quantity"] - 40
        assert after_load["open_quantity"] == 50 * SUGAR_T - first["quantity"]
        # what the weighbridge did not load is free for a re-plan
        assert after_load["unplanned_quantity"] == 40
        async with database.transaction() as session:
            await transitions.depart(session, delivery_id=delivery_id, actor=YARD)
            delivered = await transitions.deliver(session, delivery_id=delivery_id, actor=YARD)
        assert delivered.state == "delivered"
        final = await ledger(client, deal)
        assert (final["moving_quantity"], final["delivered_quantity"]) == (
            0,
            first["quantity"] - 40,
        )
        assert await kinds(client, deal, first["id"]) == [
            "delivery.planned",
            "delivery.assigned",
            "delivery.authorized",
            "delivery.slotted",
            "delivery.arrived",
            "delivery.loaded",
            "delivery.departed",
            "delivery.delivered",
        ]

    async def test_a_step_out_of_order_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        first, *_ = await split(client, deal)
        delivery_id = uuid.UUID(first["id"])
        with pytest.raises(DeliveryStateConflict) as refused:
            async with database.transaction() as session:
                await transitions.arrive(session, delivery_id=delivery_id, actor=YARD)
        assert isinstance(refused.value, InvalidTransition)
        assert refused.value.extra == {"state": "planned"}
        with pytest.raises(StaleVersion):
            async with database.transaction() as session:
                await transitions.cancel(
                    session, delivery_id=delivery_id, actor=YARD, reason="x", expected_version=7
                )
        assert await kinds(client, deal, first["id"]) == ["delivery.planned"]

    async def test_the_weighbridge_cannot_load_more_than_planned(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        first, *_ = await split(client, deal)
        with pytest.raises(LoadedOverPlanned):
            async with database.transaction() as session:
                await transitions.load(
                    session,
                    delivery_id=uuid.UUID(first["id"]),
                    loaded_quantity=first["quantity"] + 1,
                    actor=YARD,
                )

    async def test_a_cancelled_delivery_gives_its_quantity_back(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        first, *_ = await split(client, deal)
        cancelled = await client.post(
            f"/v1/deliveries/{first['id']}/cancel",
            headers=deal.carrier.headers,
            json={"version": first["version"], "reason": "truck needed elsewhere"},
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled"
        assert (await ledger(client, deal))["unplanned_quantity"] == first["quantity"]
        again = await client.post(
            f"/v1/deliveries/{first['id']}/cancel",
            headers=deal.carrier.headers,
            json={"version": cancelled.json()["version"], "reason": "twice"},
        )
        assert again.status_code == 409
        assert again.json()["code"] == "invalid_delivery_state"

    async def test_the_pass_service_reads_everything_it_binds(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        first, *_ = await split(client, deal)
        async with database.session() as session:
            facts = await service.delivery_facts(session, uuid.UUID(first["id"]))
        assert facts.plant.name == "Uelzen sugar mill"
        assert facts.delivery.vehicle_plate == first["vehicle_plate"]
        assert facts.delivery.quantity == first["quantity"]
        assert set(facts.parties) == {deal.deal.seller.id, deal.deal.buyer.id, deal.carrier.org.id}
        assert facts.driver is None
