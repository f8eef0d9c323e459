"""The live hub: each organization sees its own devices, coalesced per tick, never unbounded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from core.bus import MemoryBus
from tracking.devices.identity import DeviceIdentity
from tracking.live.hub import LiveHub, Subscriber, TooManyConnections
from tracking.live.messages import POSITIONS_CHANNEL, encode_positions
from tracking.pings import Ping
from tracking.positions.codec import to_row

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ACME = uuid.uuid4()
RIVAL = uuid.uuid4()


def truck(org: uuid.UUID, number: int) -> DeviceIdentity:
    return DeviceIdentity(id=uuid.uuid4(), number=number, organization_id=org)


async def publish(bus: MemoryBus, device: DeviceIdentity, second: int) -> None:
    ping = Ping(device.key, T0 + timedelta(seconds=second), 52.0 + second * 1e-4, 10.0)
    await bus.publish(POSITIONS_CHANNEL, encode_positions([(device, to_row(device.number, ping))]))


async def frame_of(subscriber: Subscriber, within_s: float = 1.0) -> dict[str, Any]:
    frame = await asyncio.wait_for(subscriber.next_frame(), within_s)
    assert frame is not None
    decoded: dict[str, Any] = orjson.loads(frame)
    return decoded


def seconds_of(frame: dict[str, Any]) -> dict[str, int]:
    return {
        p["device_id"]: int((datetime.fromisoformat(p["recorded_at"]) - T0).total_seconds())
        for p in frame["positions"]
    }


@pytest.fixture
async def bus() -> MemoryBus:
    return MemoryBus()


@pytest.fixture
async def hub(bus: MemoryBus) -> AsyncIterator[LiveHub]:
    live = LiveHub(bus, tick_s=0.02, heartbeat_s=0.2, connections_per_token=2)
    await live.start()
    yield live
    await live.close()


class TestRouting:
    async def test_an_organization_sees_only_its_own_devices(
        self, hub: LiveHub, bus: MemoryBus
    ) -> None:
        ours, theirs = truck(ACME, 1), truck(RIVAL, 2)
        acme = hub.open(organization_id=ACME, device_id=None, token_id=uuid.uuid4())
        rival = hub.open(organization_id=RIVAL, device_id=None, token_id=uuid.uuid4())
        await publish(bus, ours, 1)
        frame = await frame_of(acme)
        assert frame["type"] == "positions"
        assert seconds_of(frame) == {str(ours.id): 1}
        await publish(bus, theirs, 2)
        assert seconds_of(await frame_of(rival)) == {str(theirs.id): 2}
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(acme.next_frame(), 0.1)

    async def test_a_subscriber_to_one_device_gets_only_that_device(
        self, hub: LiveHub, bus: MemoryBus
    ) -> None:
        first, second = truck(ACME, 1), truck(ACME, 2)
        one = hub.open(organization_id=ACME, device_id=first.id, token_id=uuid.uuid4())
        await publish(bus, second, 1)
        await publish(bus, first, 2)
        assert seconds_of(await frame_of(one)) == {str(first.id): 2}

    async def test_a_burst_is_the_first_at_once_then_the_newest_a_tick_later(
        self, hub: LiveHub, bus: MemoryBus
    ) -> None:
        device = truck(ACME, 1)
        subscriber = hub.open(organization_id=ACME, device_id=None, token_id=uuid.uuid4())
        await asyncio.sleep(0.05)  # a quiet tick
        frames_before = hub.frames
        for second in range(10):
            await publish(bus, device, second)
        assert seconds_of(await frame_of(subscriber)) == {str(device.id): 0}
        assert seconds_of(await frame_of(subscriber)) == {str(device.id): 9}
        assert hub.frames == frames_before + 2


class TestSlowConsumers:
    async def test_a_stalled_subscriber_holds_one_frame_and_the_newest_per_device(
        self, hub: LiveHub, bus: MemoryBus
    ) -> None:
        devices = [truck(ACME, n) for n in range(1, 4)]
        stalled = hub.open(organization_id=ACME, device_id=None, token_id=uuid.uuid4())
        for second in range(40):
            for device in devices:
                await publish(bus, device, second)
            await asyncio.sleep(0.025)  # across many ticks
        assert stalled.ready is not None
        assert len(stalled.backlog) <= len(devices)
        first = await frame_of(stalled)
        caught_up = await frame_of(stalled)
        assert set(seconds_of(caught_up).values()) == {39}
        assert max(seconds_of(first).values()) < 39

    async def test_heartbeats_when_nothing_moves(self, hub: LiveHub) -> None:
        subscriber = hub.open(organization_id=ACME, device_id=None, token_id=uuid.uuid4())
        frame = await frame_of(subscriber)
        assert frame["type"] == "heartbeat"


class TestLimits:
    async def test_a_token_gets_a_capped_number_of_connections(self, hub: LiveHub) -> None:
        token = uuid.uuid4()
        first = hub.open(organization_id=ACME, device_id=None, token_id=token)
        hub.open(organization_id=ACME, device_id=None, token_id=token)
        with pytest.raises(TooManyConnections):
            hub.open(organization_id=ACME, device_id=None, token_id=token)
        hub.release(first)
        hub.open(organization_id=ACME, device_id=None, token_id=token)
        assert hub.subscribers == 2

    async def test_a_released_subscriber_stops(self, hub: LiveHub) -> None:
        subscriber = hub.open(organization_id=ACME, device_id=None, token_id=uuid.uuid4())
        hub.release(subscriber)
        assert await subscriber.next_frame() is None
        assert hub.subscribers == 0

    async def test_garbage_on_the_bus_is_ignored(self, hub: LiveHub, bus: MemoryBus) -> None:
        device = truck(ACME, 1)
        subscriber = hub.open(organization_id=ACME, device_id=None, token_id=uuid.uuid4())
        await bus.publish(POSITIONS_CHANNEL, b"not json")
        await bus.publish(POSITIONS_CHANNEL, b'[["x", 1], {"a": 2}]')
        await publish(bus, device, 5)
        assert seconds_of(await frame_of(subscriber)) == {str(device.id): 5}
