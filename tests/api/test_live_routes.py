"""Live positions over a real websocket and SSE: authentication, boundaries, caps, heartbeats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.settings import Environment, SecuritySettings, Settings, TrackingSettings
from tests.api.live_server import serving
from tests.helpers import Device, Org, add_member, bearer, register_device, signup


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Quick ticks and heartbeats, and a small cap on connections per token."""
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0),
        tracking=TrackingSettings(
            live_tick_ms=20, live_heartbeat_s=0.3, live_connections_per_token=2
        ),
    )


@pytest.fixture
async def server(app: Any) -> AsyncIterator[str]:
    async with serving(app) as address:
        yield address


async def send_ping(client: httpx.AsyncClient, device: Device, n: int = 0) -> str:
    recorded_at = (datetime.now(UTC) - timedelta(seconds=5 - n)).isoformat()
    response = await client.post(
        "/v1/ingest/pings",
        headers=device.headers,
        json={"pings": [{"id": f"p{n}", "recorded_at": recorded_at, "lat": 52.5, "lon": 10.1}]},
    )
    assert response.status_code == 200, response.text
    return recorded_at


async def next_of(ws: ClientConnection, kind: str, within_s: float = 2.0) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            frame: dict[str, Any] = orjson.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


async def _carrier(client: httpx.AsyncClient) -> tuple[Org, Device]:
    carrier = await signup(client, "Rapid Haulage", ["carrier"])
    return carrier, await register_device(client, carrier)


class TestWebsocket:
    async def test_a_member_watches_the_fleet_move(
        self, client: httpx.AsyncClient, server: str
    ) -> None:
        carrier, device = await _carrier(client)
        _, dispatcher = await add_member(client, carrier, "dispatcher")
        first = await send_ping(client, device, 0)
        url = f"ws://{server}/v1/live/positions"
        async with connect(url, additional_headers=bearer(dispatcher)) as ws:
            snapshot = await next_of(ws, "snapshot")
            assert [p["recorded_at"] for p in snapshot["positions"]] == [first]
            newer = await send_ping(client, device, 1)
            frame = await next_of(ws, "positions")
            assert frame["positions"][0]["device_id"] == str(device.id)
            assert frame["positions"][0]["recorded_at"] == newer

    async def test_a_browser_passes_the_token_in_the_query(
        self, client: httpx.AsyncClient, server: str
    ) -> None:
        carrier, device = await _carrier(client)
        url = f"ws://{server}/v1/live/positions?access_token={carrier.token}&device_id={device.id}"
        async with connect(url) as ws:
            assert (await next_of(ws, "snapshot"))["positions"] == []
            await send_ping(client, device)
            assert (await next_of(ws, "positions"))["positions"][0]["device_id"] == str(device.id)

    async def test_another_organization_sees_nothing_of_our_trucks(
        self, client: httpx.AsyncClient, server: str
    ) -> None:
        _, device = await _carrier(client)
        buyer = await signup(client, "Acme Foods", ["buyer"])
        url = f"ws://{server}/v1/live/positions"
        async with connect(url, additional_headers=buyer.headers) as ws:
            assert (await next_of(ws, "snapshot"))["positions"] == []
            await send_ping(client, device)
            heartbeat = await next_of(ws, "heartbeat")  # the next thing it hears
            assert "positions" not in heartbeat
        with pytest.raises(InvalidStatus):
            async with connect(f"{url}?device_id={device.id}", additional_headers=buyer.headers):
                pass

    async def test_no_or_a_bad_token_is_refused_at_the_handshake(self, server: str) -> None:
        for headers in ({}, {"Authorization": "Bearer hps_nope"}):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"ws://{server}/v1/live/positions", additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 401
            assert refused.value.response.headers["content-type"] == "application/problem+json"

    async def test_a_token_holds_a_capped_number_of_streams(
        self, client: httpx.AsyncClient, server: str
    ) -> None:
        carrier, _ = await _carrier(client)
        url = f"ws://{server}/v1/live/positions"
        async with (
            connect(url, additional_headers=carrier.headers) as one,
            connect(url, additional_headers=carrier.headers) as two,
        ):
            await next_of(one, "snapshot")
            await next_of(two, "snapshot")
            async with connect(url, additional_headers=carrier.headers) as three:
                with pytest.raises(ConnectionClosed) as closed:
                    await three.recv()
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4429

    async def test_a_driver_must_name_their_own_device(
        self, client: httpx.AsyncClient, server: str
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        driver_id, driver_token = await add_member(client, carrier, "driver")
        mine = await register_device(client, carrier, driver_member_id=driver_id)
        url = f"ws://{server}/v1/live/positions"
        with pytest.raises(InvalidStatus):
            async with connect(url, additional_headers=bearer(driver_token)):
                pass
        async with connect(f"{url}?device_id={mine.id}", additional_headers=bearer(driver_token)):
            pass


class TestServerSentEvents:
    async def test_a_browser_stream_gets_snapshot_then_positions(
        self, client: httpx.AsyncClient, server: str
    ) -> None:
        carrier, device = await _carrier(client)
        url = f"http://{server}/v1/live/positions/sse?access_token={carrier.token}"
        async with (
            httpx.AsyncClient(timeout=5) as http,
            http.stream("GET", url) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            kinds = []
            async with asyncio.timeout(3):
                async for line in stream.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    frame = orjson.loads(line[6:])
                    kinds.append(frame["type"])
                    if frame["type"] == "snapshot":
                        await send_ping(client, device)
                    if frame["type"] == "positions":
                        assert frame["positions"][0]["device_id"] == str(device.id)
                        break
            assert kinds[0] == "snapshot"
            assert kinds[-1] == "positions"

    async def test_without_a_token_the_stream_is_401(self, server: str) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://{server}/v1/live/positions/sse")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
