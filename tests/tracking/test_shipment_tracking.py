"""Pings reach their delivery: geofence arrivals and departures with no event on drift, the
plant check-in hook, long stops, ETAs kept and a slip alert, silence alerts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from core.bus import MemoryBus
from core.clock import FrozenClock, now
from core.database import Database
from core.settings import Settings
from tests.dispatch.delivery_factory import driver
from tests.helpers import register_device
from tests.tracking.shipment_factory import (
    DESTINATION_FRAME,
    PLANT_FRAME,
    Shipment,
    events_of,
    move,
    ping,
    send,
    shipment,
    shipment_events,
    shipment_settings,
)
from tests.yard.yard_factory import plant_yard
from tracking.shipments.resolver import find_active


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return shipment_settings(tmp_path)


@pytest.fixture
async def tracked(client: httpx.AsyncClient, clock: FrozenClock) -> Shipment:
    return await shipment(client, clock)


def _kinds(found: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in found]


class TestDeviceToDelivery:
    async def test_a_drivers_ping_moves_the_drivers_shipment(
        self, client: httpx.AsyncClient, app: Any, tracked: Shipment
    ) -> None:
        at = now() - timedelta(minutes=1)
        await send(client, app, tracked.device, [ping(1, at, PLANT_FRAME, 0, -20_000)])
        response = await client.get(
            f"/v1/shipments/{tracked.id}", headers=tracked.deal.deal.buyer.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert datetime.fromisoformat(body["position"]["recorded_at"]) == at
        assert body["eta"]["leg"] == "plant"
        assert body["eta"]["remaining_m"] > 20_000

    async def test_a_device_of_someone_with_no_delivery_today_feeds_nothing(
        self, client: httpx.AsyncClient, app: Any, tracked: Shipment
    ) -> None:
        other = await register_device(client, tracked.deal.carrier.org)  # a spare vehicle's
        await send(client, app, other, [ping(1, now(), PLANT_FRAME, 0, -5_000)])
        body = (
            await client.get(f"/v1/shipments/{tracked.id}", headers=tracked.deal.carrier.headers)
        ).json()
        assert body["position"] is None
        assert app.state.runtime.tracking.tracker.stats.applied == 0

    async def test_a_reassignment_reaches_a_phone_already_looked_up(
        self, client: httpx.AsyncClient, app: Any, tracked: Shipment
    ) -> None:
        # A second driver's phone pings while the delivery is still the first driver's: the
        # "no delivery" answer is cached, and the reassignment event must evict it.
        second = await driver(client, tracked.deal)
        phone = await register_device(
            client, tracked.deal.carrier.org, driver_member_id=second.member_id
        )
        await send(
            client, app, phone, [ping(1, now() - timedelta(minutes=2), PLANT_FRAME, 0, -9_000)]
        )
        headers = tracked.deal.carrier.headers
        assert (await client.get(f"/v1/shipments/{tracked.id}", headers=headers)).json()[
            "position"
        ] is None
        reassigned = await client.post(
            f"/v1/deliveries/{tracked.id}/assign",
            headers=headers,
            json={"version": tracked.delivery["version"], "driver_id": second.id},
        )
        assert reassigned.status_code == 200, reassigned.text
        at = now() - timedelta(minutes=1)
        await send(client, app, phone, [ping(2, at, PLANT_FRAME, 0, -8_000)])
        body = (await client.get(f"/v1/shipments/{tracked.id}", headers=headers)).json()
        assert datetime.fromisoformat(body["position"]["recorded_at"]) == at

    async def test_bulk_lookups_answer_each_device_by_driver_or_vehicle(
        self, client: httpx.AsyncClient, tracked: Shipment, database: Database
    ) -> None:
        truck = await register_device(
            client, tracked.deal.carrier.org, vehicle_id=tracked.delivery["vehicle_id"]
        )
        unknown = list(range(10**6, 10**6 + 1200))  # more than one statement's worth
        async with database.session() as session:
            found = await find_active(
                session,
                device_numbers=[tracked.device.number, truck.number, *unknown],
                today=now().date(),
            )
        assert set(found) == {tracked.device.number, truck.number}
        trade = tracked.deal.deal
        for number in (tracked.device.number, truck.number):
            active = found[number][0]
            assert active is not None
            assert str(active.delivery_id) == tracked.id
            assert {str(trade.seller.id), str(trade.buyer.id)} <= set(active.parties)
        async with database.session() as session:
            tomorrow = await find_active(
                session, device_numbers=[truck.number], today=now().date() + timedelta(days=1)
            )
        assert tomorrow[truck.number][0] is None  # assigned for today, not tomorrow


class TestGeofences:
    async def test_the_plant_sees_arrival_once_and_the_hook_checks_in(
        self, client: httpx.AsyncClient, app: Any, tracked: Shipment
    ) -> None:
        calls: list[dict[str, Any]] = []

        async def check_in(
            session: AsyncSession, *, delivery_id: uuid.UUID, at: datetime, lat: float, lon: float
        ) -> None:
            calls.append({"delivery_id": delivery_id, "at": at, "lat": lat, "lon": lon})

        app.state.runtime.tracking.tracker.hooks.register_check_in(check_in)
        start = now() - timedelta(minutes=30)
        road = [
            ping(k, start + timedelta(minutes=k), PLANT_FRAME, 0, -6_000 + 1_000 * k, speed_mps=16)
            for k in range(6)
        ]
        gate = [
            ping(10 + k, start + timedelta(minutes=6 + k), PLANT_FRAME, 0, -50) for k in range(6)
        ]
        await send(client, app, tracked.device, road)
        await send(client, app, tracked.device, gate[:3])
        await send(client, app, tracked.device, gate[3:])
        found = await shipment_events(client, tracked, tracked.deal.deal.seller.headers)
        (arrived,) = events_of(found, "shipment.arrived_plant")
        assert arrived["payload"]["at"] == (start + timedelta(minutes=6)).isoformat()
        assert [c["delivery_id"] for c in calls] == [uuid.UUID(tracked.id)]

    async def test_with_the_yards_gate_fence_arrival_checks_the_truck_in(
        self,
        client: httpx.AsyncClient,
        app: Any,
        tracked: Shipment,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        trade = tracked.deal.deal
        set_up = await plant_yard(client, trade.seller.headers, trade.plant_id)
        assert set_up.status_code == 200, set_up.text
        await move(database, bus, tracked.id, "authorized")
        start = now() - timedelta(minutes=20)
        road = [
            ping(k, start + timedelta(minutes=k), PLANT_FRAME, 0, -5_000 + 1_000 * k, speed_mps=16)
            for k in range(4)
        ]
        # Inside the gate square (about 220 m from its south edge), three minutes long.
        gate = [ping(10 + k, start + timedelta(minutes=5 + k), PLANT_FRAME, 0, 0) for k in range(4)]
        await send(client, app, tracked.device, road + gate)
        found = await shipment_events(client, tracked, trade.buyer.headers)
        kinds = _kinds(found)
        assert kinds.count("shipment.arrived_plant") == 1
        assert kinds.count("delivery.arrived") == 1
        assert kinds.index("shipment.arrived_plant") < kinds.index("delivery.arrived")
        state = (
            await client.get(f"/v1/shipments/{tracked.id}", headers=trade.buyer.headers)
        ).json()
        assert state["state"] == "at_plant"

    async def test_a_loaded_truck_leaving_the_plant_is_in_transit(
        self,
        client: httpx.AsyncClient,
        app: Any,
        tracked: Shipment,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        start = now() - timedelta(minutes=40)
        inside = [ping(k, start + timedelta(minutes=k), PLANT_FRAME, 30, 0) for k in range(5)]
        await send(client, app, tracked.device, inside)
        await move(database, bus, tracked.id, "authorized", "slotted", "at_plant", "loaded")
        leaving = [
            ping(
                20 + k,
                start + timedelta(minutes=10 + k),
                PLANT_FRAME,
                0,
                800 + 900 * k,
                speed_mps=15,
            )
            for k in range(5)
        ]
        await send(client, app, tracked.device, leaving)
        found = await shipment_events(client, tracked, tracked.deal.deal.buyer.headers)
        kinds = _kinds(found)
        assert kinds.count("shipment.arrived_plant") == 1
        assert kinds.count("shipment.departed_plant") == 1
        assert kinds.count("delivery.departed") == 1
        assert kinds.index("shipment.departed_plant") < kinds.index("delivery.departed")
        state = (
            await client.get(f"/v1/shipments/{tracked.id}", headers=tracked.deal.carrier.headers)
        ).json()
        assert state["state"] == "in_transit"
        assert state["eta"]["leg"] == "destination"

    async def test_a_truck_parked_by_the_fence_edge_raises_nothing(
        self,
        client: httpx.AsyncClient,
        app: Any,
        tracked: Shipment,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        await move(
            database, bus, tracked.id, "authorized", "slotted", "at_plant", "loaded", "in_transit"
        )
        start = now() - timedelta(hours=1, minutes=5)
        # Parked 30 m outside the buyer's 250 m fence for an hour; fixes wander 40 m either
        # way with 50 m accuracy: some fall inside, none is accurate and deep enough.
        wander = [0, 40, -40, 25, -25, 10, 35, -10]
        pings = [
            ping(
                k,
                start + timedelta(minutes=k),
                DESTINATION_FRAME,
                0,
                -280 + wander[k % len(wander)],
                accuracy_m=50,
            )
            for k in range(60)
        ]
        await send(client, app, tracked.device, pings[:30])
        await send(client, app, tracked.device, pings[30:])
        found = await shipment_events(client, tracked, tracked.deal.deal.buyer.headers)
        assert [k for k in _kinds(found) if k.startswith("shipment.a") or "departed_" in k] == []

    async def test_arrival_at_the_buyer_after_the_road(
        self,
        client: httpx.AsyncClient,
        app: Any,
        tracked: Shipment,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        await move(
            database, bus, tracked.id, "authorized", "slotted", "at_plant", "loaded", "in_transit"
        )
        start = now() - timedelta(minutes=20)
        pings = [
            ping(
                k,
                start + timedelta(minutes=k),
                DESTINATION_FRAME,
                0,
                -5_000 + 1_000 * k,
                speed_mps=16,
            )
            for k in range(5)
        ]
        pings += [
            ping(10 + k, start + timedelta(minutes=5 + k), DESTINATION_FRAME, 20, 0)
            for k in range(5)
        ]
        await send(client, app, tracked.device, pings)
        found = await shipment_events(client, tracked, tracked.deal.deal.buyer.headers)
        assert _kinds(found).count("shipment.arrived_destination") == 1


class TestStops:
    async def test_a_long_stop_on_the_road_raises_an_alert_and_its_end_is_told(
        self,
        client: httpx.AsyncClient,
        app: Any,
        tracked: Shipment,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        await move(
            database, bus, tracked.id, "authorized", "slotted", "at_plant", "loaded", "in_transit"
        )
        start = now() - timedelta(minutes=40)
        standing = [
            ping(k, start + timedelta(minutes=k), DESTINATION_FRAME, 0, -30_000) for k in range(20)
        ]
        going = [
            ping(
                30 + k,
                start + timedelta(minutes=20 + k),
                DESTINATION_FRAME,
                0,
                -29_000 + 1_000 * k,
                speed_mps=16,
            )
            for k in range(3)
        ]
        await send(client, app, tracked.device, standing)
        found = await shipment_events(client, tracked, tracked.deal.deal.seller.headers)
        (alert,) = events_of(found, "alert.long_stop")
        assert alert["payload"]["started_at"] == start.isoformat()
        await send(client, app, tracked.device, going)
        found = await shipment_events(client, tracked, tracked.deal.deal.seller.headers)
        assert len(events_of(found, "shipment.stop_ended")) == 1


class TestEta:
    async def test_etas_are_kept_throttled_and_logged_when_they_move(
        self, client: httpx.AsyncClient, app: Any, tracked: Shipment
    ) -> None:
        start = now() - timedelta(minutes=30)
        # Every 20 s for ten minutes at 20 m/s towards the plant.
        pings = [
            ping(
                k,
                start + timedelta(seconds=20 * k),
                PLANT_FRAME,
                0,
                -40_000 + 400 * k,
                speed_mps=20,
            )
            for k in range(30)
        ]
        await send(client, app, tracked.device, pings)
        headers = tracked.deal.carrier.headers
        kept = (await client.get(f"/v1/shipments/{tracked.id}/etas", headers=headers)).json()
        assert kept["count"] == 10  # one a minute of fix time
        remaining = [e["remaining_m"] for e in kept["data"]]
        assert remaining == sorted(remaining, reverse=True)
        assert all(e["leg"] == "plant" for e in kept["data"])
        logged = events_of(await shipment_events(client, tracked, headers), "shipment.eta")
        assert len(logged) == 1  # steady progress: the estimate holds, no news to send
        await send(
            client,
            app,
            tracked.device,
            [
                ping(100 + k, start + timedelta(minutes=11 + 5 * k), PLANT_FRAME, 0, -28_400)
                for k in range(4)
            ],
        )
        logged = events_of(await shipment_events(client, tracked, headers), "shipment.eta")
        assert len(logged) >= 2  # standing still, the ETA slips by itself and is told

    async def test_an_eta_past_the_slot_raises_one_slip_alert(
        self,
        client: httpx.AsyncClient,
        app: Any,
        tracked: Shipment,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        await move(
            database,
            bus,
            tracked.id,
            "authorized",
            "slotted",
            slot_at=now() + timedelta(minutes=10),
        )
        start = now() - timedelta(minutes=10)
        # 60 km out with ten minutes to the slot: late whatever the speed.
        pings = [
            ping(
                k,
                start + timedelta(minutes=2 * k),
                PLANT_FRAME,
                0,
                -60_000 + 1_500 * k,
                speed_mps=15,
            )
            for k in range(5)
        ]
        await send(client, app, tracked.device, pings)
        found = await shipment_events(client, tracked, tracked.deal.deal.seller.headers)
        (slip,) = events_of(found, "alert.eta_slipped")
        assert slip["payload"]["deadline_kind"] == "slot"
        assert slip["payload"]["late_by_s"] > 900
        assert slip["seq"] > 0


class TestSilence:
    async def test_a_quiet_truck_in_transit_is_alerted_once(
        self,
        client: httpx.AsyncClient,
        app: Any,
        tracked: Shipment,
        database: Database,
        bus: MemoryBus,
        clock: FrozenClock,
    ) -> None:
        await move(
            database, bus, tracked.id, "authorized", "slotted", "at_plant", "loaded", "in_transit"
        )
        await send(client, app, tracked.device, [ping(1, now(), DESTINATION_FRAME, 0, -40_000)])
        tracker = app.state.runtime.tracking.tracker
        assert await tracker.sweep() == []
        clock.advance(minutes=20)
        assert await tracker.sweep() == [uuid.UUID(tracked.id)]
        assert await tracker.sweep() == []
        found = await shipment_events(client, tracked, tracked.deal.deal.buyer.headers)
        (silent,) = events_of(found, "alert.silent")
        assert silent["payload"]["silent_s"] == 20 * 60
        await send(client, app, tracked.device, [ping(2, now(), DESTINATION_FRAME, 0, -39_000)])
        body = (
            await client.get(f"/v1/shipments/{tracked.id}", headers=tracked.deal.carrier.headers)
        ).json()
        assert body["silent_since"] is None
