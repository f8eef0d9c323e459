"""Re-plans over HTTP: after a breakdown or a cancellation the rest is split again; loaded
and delivered trips stay as they are."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from core.clock import FrozenClock, now
from core.database import Database
from dispatch.deliveries import transitions
from tests.dispatch.delivery_factory import SILO, Booked, booked, commit, driver, split
from tests.dispatch.market_factory import SUGAR_T

YARD = "system:yard"


async def three_silos_two_used(client: httpx.AsyncClient) -> tuple[Booked, list[dict[str, Any]]]:
    """100 t split over the first two of three silos: 26 + 26 on day one, 26 + 22 on day two."""
    deal = await booked(client, quantity=100 * SUGAR_T, vehicles=[SILO, SILO, SILO])
    used = deal.carrier.vehicle_ids[:2]
    deliveries = await split(client, deal, vehicles=[{"vehicle_id": v} for v in used])
    return deal, deliveries


async def load(
    client: httpx.AsyncClient, database: Database, deal: Booked, delivery: dict[str, Any]
) -> None:
    """Take a delivery through assignment, pass, slot and gate to the weighbridge."""
    who = await driver(client, deal)
    assigned = await client.post(
        f"/v1/deliveries/{delivery['id']}/assign",
        headers=deal.carrier.headers,
        json={"version": delivery["version"], "driver_id": who.id},
    )
    assert assigned.status_code == 200, assigned.text
    delivery_id = uuid.UUID(delivery["id"])
    async with database.transaction() as session:
        await transitions.authorize(session, delivery_id=delivery_id, actor=YARD)
        await transitions.slot(
            session, delivery_id=delivery_id, slot_starts_at=now() + timedelta(hours=1), actor=YARD
        )
        await transitions.arrive(session, delivery_id=delivery_id, actor=YARD)
        await transitions.load(
            session, delivery_id=delivery_id, loaded_quantity=delivery["quantity"], actor=YARD
        )


async def breakdown(client: httpx.AsyncClient, deal: Booked, vehicle_id: str) -> None:
    """The dispatcher marks a truck as in the workshop."""
    path = f"/v1/fleet/vehicles/{vehicle_id}"
    current = await client.get(path, headers=deal.carrier.headers)
    changed = await client.patch(
        path,
        headers=deal.carrier.headers,
        json={"version": current.json()["version"], "status": "maintenance"},
    )
    assert changed.status_code == 200, changed.text


async def replan(client: httpx.AsyncClient, deal: Booked, **fields: Any) -> httpx.Response:
    """Ask for a re-plan of the booking."""
    return await client.post(
        "/v1/plans/replan",
        headers=deal.carrier.headers,
        json={"booking_id": deal.booking_id, **fields},
    )


async def active(client: httpx.AsyncClient, deal: Booked) -> list[dict[str, Any]]:
    """The booking's deliveries that are not cancelled."""
    listed = await client.get(
        "/v1/deliveries",
        headers=deal.carrier.headers,
        params={"booking_id": deal.booking_id, "limit": 200},
    )
    return [d for d in listed.json()["data"] if d["state"] != "cancelled"]


class TestReplanAfterBreakdown:
    async def test_the_broken_trucks_trips_move_and_the_loaded_trip_stays(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        deal, deliveries = await three_silos_two_used(client)
        first_truck, broken, spare = deal.carrier.vehicle_ids
        loaded = next(d for d in deliveries if d["vehicle_id"] == first_truck)
        await load(client, database, deal, loaded)
        before = (
            await client.get(f"/v1/deliveries/{loaded['id']}", headers=deal.carrier.headers)
        ).json()
        await breakdown(client, deal, broken)

        previewed = await replan(client, deal)
        assert previewed.status_code == 201, previewed.text
        plan = previewed.json()
        on_broken = {d["id"] for d in deliveries if d["vehicle_id"] == broken}
        assert (plan["kind"], set(plan["replaces"])) == ("replan", on_broken)
        moved = sum(d["quantity"] for d in deliveries if d["vehicle_id"] == broken)
        assert sum(t["quantity"] for t in plan["trips"]) == plan["quantity"] == moved
        assert broken not in {t["vehicle_id"] for t in plan["trips"]}

        committed = await commit(client, deal, plan)
        assert committed.status_code == 201, committed.text
        after = (
            await client.get(f"/v1/deliveries/{loaded['id']}", headers=deal.carrier.headers)
        ).json()
        assert after == before  # untouched: same state, same version, same quantity
        remaining = await active(client, deal)
        assert sum(d["quantity"] for d in remaining) == 100 * SUGAR_T
        assert broken not in {d["vehicle_id"] for d in remaining}
        # no truck runs more than its one trip a day, the loaded one included
        days = [(d["vehicle_id"], d["planned_day"]) for d in remaining]
        assert len(days) == len(set(days))
        assert spare in {d["vehicle_id"] for d in remaining}
        for replaced_id in on_broken:
            gone = await client.get(f"/v1/deliveries/{replaced_id}", headers=deal.carrier.headers)
            assert gone.json()["state"] == "cancelled"
            events = await client.get(
                "/v1/events",
                headers=deal.deal.seller.headers,
                params={"subject": f"delivery:{replaced_id}"},
            )
            assert events.json()["data"][-1]["kind"] == "delivery.replaced"
        ledger = await client.get(
            f"/v1/deliveries/ledgers/{deal.booking_id}", headers=deal.carrier.headers
        )
        assert ledger.json()["open_quantity"] + ledger.json()["moving_quantity"] == 100 * SUGAR_T

    async def test_the_all_open_scope_resplits_everything_not_yet_loaded(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        deal, deliveries = await three_silos_two_used(client)
        loaded = deliveries[0]
        await load(client, database, deal, loaded)
        plan = (await replan(client, deal, scope="all_open", lost_vehicle_ids=[])).json()
        assert set(plan["replaces"]) == {d["id"] for d in deliveries[1:]}
        assert plan["quantity"] == 100 * SUGAR_T - loaded["quantity"]


class TestReplanAfterCancellation:
    async def test_the_cancelled_quantity_is_split_again(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, deliveries = await three_silos_two_used(client)
        short = min(deliveries, key=lambda d: d["quantity"])
        await client.post(
            f"/v1/deliveries/{short['id']}/cancel",
            headers=deal.carrier.headers,
            json={"version": short["version"], "reason": "driver ill"},
        )
        plan = (await replan(client, deal)).json()
        assert (plan["replaces"], plan["quantity"]) == ([], short["quantity"])
        assert (await commit(client, deal, plan)).status_code == 201
        assert sum(d["quantity"] for d in await active(client, deal)) == 100 * SUGAR_T

    async def test_a_replaced_delivery_that_moved_on_stops_the_commit(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, deliveries = await three_silos_two_used(client)
        broken = deal.carrier.vehicle_ids[1]
        await breakdown(client, deal, broken)
        plan = (await replan(client, deal)).json()
        victim = next(d for d in deliveries if d["id"] in plan["replaces"])
        await client.post(
            f"/v1/deliveries/{victim['id']}/cancel",
            headers=deal.deal.seller.headers,
            json={"version": victim["version"], "reason": "buyer postponed"},
        )
        refused = await commit(client, deal, plan)
        assert (refused.status_code, refused.json()["code"]) == (409, "replaced_delivery_moved")
        assert {d["id"] for d in await active(client, deal)} == {
            d["id"] for d in deliveries if d["id"] != victim["id"]
        }
