"""Ingest over HTTP in every supported format, with the refusals a client can act on.

Payloads follow each format's public documentation: the OsmAnd protocol as Traccar documents
it (query parameters, and Traccar Client's JSON body), OwnTracks' HTTP mode (location
messages with ``tst``, ``acc``, ``vel`` in km/h, basic auth) and Overland's GeoJSON batches.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.limits import RateLimiter
from core.clock import FrozenClock
from tests.helpers import Device, Org, register_device, signup

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MILL = (52.9790, 10.5580)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def native_ping(n: int, *, seconds_ago: float = 60.0, **overrides: Any) -> dict[str, Any]:
    ping: dict[str, Any] = {
        "id": f"ping-{n}",
        "recorded_at": _iso(NOW - timedelta(seconds=seconds_ago)),
        "lat": MILL[0] + n * 1e-4,
        "lon": MILL[1],
        "speed_mps": 11.0,
        "heading_deg": 0.0,
        "accuracy_m": 5.0,
        "battery_pct": 80,
    }
    ping.update(overrides)
    return ping


async def _carrier_device(client: httpx.AsyncClient) -> tuple[Org, Device]:
    carrier = await signup(client, "Rapid Haulage", ["carrier"])
    return carrier, await register_device(client, carrier)


async def _trail(client: httpx.AsyncClient, org: Org, device: Device) -> dict[str, Any]:
    response = await client.get(
        f"/v1/devices/{device.id}/trail",
        headers=org.headers,
        params={"since": _iso(NOW - timedelta(hours=2)), "until": _iso(NOW + timedelta(hours=1))},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _position(client: httpx.AsyncClient, org: Org, device: Device) -> dict[str, Any]:
    response = await client.get(f"/v1/devices/{device.id}/position", headers=org.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(autouse=True)
def _frozen(clock: FrozenClock) -> FrozenClock:
    return clock


class TestNativeBatch:
    async def test_a_batch_is_stored_and_becomes_the_trail(self, client: httpx.AsyncClient) -> None:
        carrier, device = await _carrier_device(client)
        pings = [native_ping(n, seconds_ago=100 - 10 * n) for n in range(5)]
        response = await client.post(
            "/v1/ingest/pings", headers=device.headers, json={"pings": pings}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"accepted": 5, "rejected": [], "ignored": 0}
        assert response.headers["x-request-id"]
        trail = await _trail(client, carrier, device)
        assert trail["geometry"]["type"] == "LineString"
        assert trail["properties"]["stored"] == 5
        first = trail["geometry"]["coordinates"][0]
        assert first == [MILL[1], MILL[0]]  # RFC 7946: longitude first
        latest = await _position(client, carrier, device)
        assert latest["lat"] == pytest.approx(MILL[0] + 4e-4)
        assert latest["speed_mps"] == 11.0
        assert latest["battery_pct"] == 80
        assert latest["altitude_m"] is None  # not sent, so unknown, not zero

    async def test_the_body_may_name_its_own_device_but_not_another(
        self, client: httpx.AsyncClient
    ) -> None:
        _, device = await _carrier_device(client)
        own = await client.post(
            "/v1/ingest/pings",
            headers=device.headers,
            json={"device_id": str(device.id), "pings": [native_ping(1)]},
        )
        assert own.status_code == 200
        other = await client.post(
            "/v1/ingest/pings",
            headers=device.headers,
            json={"device_id": "TRK-9", "pings": [native_ping(2)]},
        )
        assert other.status_code == 422
        assert other.json()["errors"][0]["field"] == "device_id"

    async def test_a_retried_batch_is_stored_once(self, client: httpx.AsyncClient) -> None:
        carrier, device = await _carrier_device(client)
        batch = {"pings": [native_ping(n, seconds_ago=60 - n) for n in range(10)]}
        for _ in range(3):
            response = await client.post("/v1/ingest/pings", headers=device.headers, json=batch)
            assert response.status_code == 200
            assert response.json()["accepted"] == 10
        assert (await _trail(client, carrier, device))["properties"]["stored"] == 10

    async def test_late_pings_are_stored_and_never_move_the_newest_fix_back(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier, device = await _carrier_device(client)
        recent = [native_ping(n, seconds_ago=50 - n) for n in range(10, 15)]
        older = [native_ping(n, seconds_ago=600 - n) for n in range(5)]
        for pings in (recent, older):
            response = await client.post(
                "/v1/ingest/pings", headers=device.headers, json={"pings": pings}
            )
            assert response.json()["accepted"] == 5
        trail = await _trail(client, carrier, device)
        assert trail["properties"]["stored"] == 10
        lats = [lat for _, lat in trail["geometry"]["coordinates"]]
        assert lats == sorted(lats)  # ordered by fix time, not by arrival
        latest = await _position(client, carrier, device)
        assert latest["recorded_at"] == _iso(NOW - timedelta(seconds=36)).replace("Z", "+00:00")

    async def test_bad_pings_are_refused_one_by_one(self, client: httpx.AsyncClient) -> None:
        carrier, device = await _carrier_device(client)
        pings = [
            native_ping(0),
            native_ping(1, lat=95.0),
            native_ping(2, lon=-181.5),
            native_ping(3, seconds_ago=-3600),
            native_ping(4, seconds_ago=30 * 24 * 3600),
            native_ping(5, seconds_ago=30),
        ]
        response = await client.post(
            "/v1/ingest/pings", headers=device.headers, json={"pings": pings}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["accepted"] == 2
        refused = {(r["index"], r["id"], r["field"], r["reason"]) for r in body["rejected"]}
        assert refused == {
            (1, "ping-1", "lat", "lat_out_of_range"),
            (2, "ping-2", "lon", "lon_out_of_range"),
            (3, "ping-3", "recorded_at", "recorded_in_future"),
            (4, "ping-4", "recorded_at", "recorded_too_old"),
        }
        assert (await _trail(client, carrier, device))["properties"]["stored"] == 2

    @pytest.mark.parametrize(
        ("content", "field"),
        [
            (b"not json", "body"),
            (b'{"pings": []}', "pings"),
            (
                b'{"pings": [{"id": "a", "recorded_at": "2026-03-02T07:59:00Z", "lon": 1}]}',
                "pings[0].lat",
            ),
            (
                b'{"pings": [{"id": "a", "recorded_at": "yesterday", "lat": 1, "lon": 1}]}',
                "pings[0].recorded_at",
            ),
        ],
    )
    async def test_a_malformed_request_is_a_problem_naming_the_field(
        self, client: httpx.AsyncClient, content: bytes, field: str
    ) -> None:
        carrier, device = await _carrier_device(client)
        response = await client.post(
            "/v1/ingest/pings",
            headers={**device.headers, "content-type": "application/json"},
            content=content,
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field
        assert response.json()["request_id"]
        assert (await _trail(client, carrier, device))["properties"]["stored"] == 0

    async def test_unknown_or_missing_credentials_are_401(self, client: httpx.AsyncClient) -> None:
        body = {"pings": [native_ping(1)]}
        for headers in ({}, {"Authorization": "Bearer hpd_nope"}, {"Authorization": "Basic x"}):
            response = await client.post("/v1/ingest/pings", headers=headers, json=body)
            assert response.status_code == 401
            assert response.json()["code"] == "invalid_device_credentials"
            assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_member_token_is_not_a_device_token(self, client: httpx.AsyncClient) -> None:
        carrier, _ = await _carrier_device(client)
        response = await client.post(
            "/v1/ingest/pings", headers=carrier.headers, json={"pings": [native_ping(1)]}
        )
        assert response.status_code == 401

    async def test_a_chatty_device_is_rate_limited(
        self, client: httpx.AsyncClient, app: Any
    ) -> None:
        app.state.runtime.ingest_limiter = RateLimiter(rate_per_s=0.01, burst=2)
        _, device = await _carrier_device(client)
        statuses = []
        for n in range(3):
            response = await client.post(
                "/v1/ingest/pings", headers=device.headers, json={"pings": [native_ping(n)]}
            )
            statuses.append(response.status_code)
        assert statuses == [200, 200, 429]
        assert response.json()["code"] == "rate_limited"
        assert response.headers["retry-after"]

    async def test_wrong_method_and_oversized_bodies_are_problems(
        self, client: httpx.AsyncClient
    ) -> None:
        _, device = await _carrier_device(client)
        wrong = await client.get("/v1/ingest/pings", headers=device.headers)
        assert wrong.status_code == 405
        assert wrong.headers["allow"] == "POST"
        huge = await client.post(
            "/v1/ingest/pings",
            headers={**device.headers, "content-type": "application/json"},
            content=b" " * (2 << 20),
        )
        assert huge.status_code == 413
        assert huge.headers["content-type"] == "application/problem+json"


class TestOsmAnd:
    async def test_traccar_client_query_string_with_knots(self, client: httpx.AsyncClient) -> None:
        carrier, device = await _carrier_device(client)
        stamp = int((NOW - timedelta(seconds=20)).timestamp())
        response = await client.post(
            "/v1/ingest/osmand",
            params={
                "id": device.tracker_id,
                "timestamp": stamp,
                "lat": 52.98,
                "lon": 10.56,
                "speed": 20.0,
                "bearing": 90,
                "altitude": 40,
                "accuracy": 8.5,
                "batt": 55,
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 1
        latest = await _position(client, carrier, device)
        assert latest["speed_mps"] == pytest.approx(20 * 1852 / 3600, abs=0.01)
        assert latest["accuracy_m"] == 9  # rounded up, never better than reported
        assert latest["heading_deg"] == 90
        assert latest["battery_pct"] == 55

    async def test_osmand_app_get_with_milliseconds_and_metres_per_second(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier, device = await _carrier_device(client)
        stamp_ms = int((NOW - timedelta(seconds=5)).timestamp() * 1000)
        response = await client.get(
            "/v1/ingest/osmand/mps",
            params={
                "id": device.tracker_id,
                "lat": 52.98,
                "lon": 10.56,
                "timestamp": stamp_ms,
                "accuracy": 4,
                "altitude": 41,
                "speed": 12.5,
                "bearing": 180,
            },
        )
        assert response.status_code == 200, response.text
        latest = await _position(client, carrier, device)
        assert latest["speed_mps"] == 12.5
        assert latest["recorded_at"].startswith("2026-03-02T07:59:55")

    async def test_traccar_client_json_body(self, client: httpx.AsyncClient) -> None:
        carrier, device = await _carrier_device(client)
        body = {
            "location": {
                "timestamp": _iso(NOW - timedelta(seconds=10)),
                "coords": {
                    "latitude": 52.97,
                    "longitude": 10.55,
                    "accuracy": 6,
                    "speed": 15.2,
                    "heading": 270,
                    "altitude": 38,
                },
                "is_moving": True,
                "odometer": 1200,
                "event": "motionchange",
                "battery": {"level": 0.64, "is_charging": False},
                "activity": {"type": "in_vehicle"},
                "extras": {},
            },
            "device_id": device.tracker_id,
        }
        response = await client.post("/v1/ingest/osmand", json=body)
        assert response.status_code == 200, response.text
        latest = await _position(client, carrier, device)
        assert latest["speed_mps"] == 15.2
        assert latest["battery_pct"] == 64

    async def test_a_form_body_works_too(self, client: httpx.AsyncClient) -> None:
        carrier, device = await _carrier_device(client)
        stamp = int((NOW - timedelta(seconds=3)).timestamp())
        response = await client.post(
            "/v1/ingest/osmand",
            data={"id": device.tracker_id, "lat": "52.9", "lon": "10.5", "timestamp": str(stamp)},
        )
        assert response.status_code == 200, response.text
        assert (await _position(client, carrier, device))["lat"] == 52.9

    async def test_an_unknown_tracker_id_is_401(self, client: httpx.AsyncClient) -> None:
        await _carrier_device(client)
        response = await client.get(
            "/v1/ingest/osmand", params={"id": "hptguess", "lat": 52.0, "lon": 10.0}
        )
        assert response.status_code == 401

    async def test_a_missing_coordinate_names_the_field(self, client: httpx.AsyncClient) -> None:
        _, device = await _carrier_device(client)
        response = await client.get(
            "/v1/ingest/osmand", params={"id": device.tracker_id, "lat": 52.0}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "lon"

    async def test_a_future_fix_is_refused_with_200_so_the_app_moves_on(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier, device = await _carrier_device(client)
        stamp = int((NOW + timedelta(hours=2)).timestamp())
        response = await client.get(
            "/v1/ingest/osmand",
            params={"id": device.tracker_id, "lat": 52.0, "lon": 10.0, "timestamp": stamp},
        )
        assert response.status_code == 200
        assert response.json()["rejected"][0]["reason"] == "recorded_in_future"
        listed = await client.get("/v1/positions/latest", headers=carrier.headers)
        assert listed.json()["count"] == 0


def _basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


class TestOwnTracks:
    def _location(self, seconds_ago: float, **overrides: Any) -> dict[str, Any]:
        message = {
            "_type": "location",
            "tid": "LW",
            "tst": int((NOW - timedelta(seconds=seconds_ago)).timestamp()),
            "lat": 52.96,
            "lon": 10.54,
            "acc": 12,
            "alt": 35,
            "vel": 72,
            "cog": 45,
            "batt": 91,
            "conn": "m",
            "t": "u",
            "topic": "owntracks/liwei/phone",
        }
        message.update(overrides)
        return message

    async def test_a_location_is_stored_and_answered_with_an_empty_list(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier, device = await _carrier_device(client)
        response = await client.post(
            "/v1/ingest/owntracks",
            headers={**_basic(device.owntracks_user, device.token), "X-Limit-U": "liwei"},
            json=self._location(15),
        )
        assert response.status_code == 200, response.text
        assert response.json() == []
        latest = await _position(client, carrier, device)
        assert latest["speed_mps"] == 20.0  # 72 km/h
        assert latest["accuracy_m"] == 12
        assert latest["battery_pct"] == 91

    async def test_other_message_types_are_acknowledged(self, client: httpx.AsyncClient) -> None:
        carrier, device = await _carrier_device(client)
        for message in (
            {"_type": "lwt", "tst": 1},
            {"_type": "transition", "event": "enter", "tst": 1, "wtst": 1, "lat": 1, "lon": 1},
        ):
            response = await client.post(
                "/v1/ingest/owntracks",
                headers=_basic(device.owntracks_user, device.token),
                json=message,
            )
            assert response.status_code == 200
            assert response.json() == []
        listed = await client.get("/v1/positions/latest", headers=carrier.headers)
        assert listed.json()["count"] == 0

    async def test_wrong_or_missing_login_is_401_asking_for_basic_auth(
        self, client: httpx.AsyncClient
    ) -> None:
        _, device = await _carrier_device(client)
        for headers in (
            {},
            _basic(device.owntracks_user, "wrong"),
            _basic("hp999999", device.token),
        ):
            response = await client.post(
                "/v1/ingest/owntracks", headers=headers, json=self._location(5)
            )
            assert response.status_code == 401
        missing = await client.post("/v1/ingest/owntracks", json=self._location(5))
        assert missing.headers["www-authenticate"].startswith("Basic")


class TestOverland:
    def _batch(self, count: int) -> dict[str, Any]:
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [10.50 + i * 1e-3, 52.90]},
                "properties": {
                    "timestamp": _iso(NOW - timedelta(seconds=60 - i)),
                    "altitude": 30,
                    "speed": 9.5,
                    "horizontal_accuracy": 5,
                    "vertical_accuracy": 3,
                    "motion": ["driving"],
                    "battery_state": "unplugged",
                    "battery_level": 0.7,
                    "device_id": "",
                    "wifi": "",
                },
            }
            for i in range(count)
        ]
        return {"locations": features, "current": features[-1]["properties"], "trip": {}}

    async def test_token_in_the_url_and_ok_only_once_stored(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier, device = await _carrier_device(client)
        response = await client.post(
            f"/v1/ingest/overland?token={device.token}", json=self._batch(4)
        )
        assert response.status_code == 200, response.text
        assert response.json()["result"] == "ok"
        assert (await _trail(client, carrier, device))["properties"]["stored"] == 4

    async def test_token_as_a_bearer_header(self, client: httpx.AsyncClient) -> None:
        _, device = await _carrier_device(client)
        response = await client.post(
            "/v1/ingest/overland", headers=device.headers, json=self._batch(2)
        )
        assert response.json()["result"] == "ok"

    async def test_no_token_is_not_ok(self, client: httpx.AsyncClient) -> None:
        await _carrier_device(client)
        response = await client.post("/v1/ingest/overland", json=self._batch(1))
        assert response.status_code == 401
        assert "result" not in response.json()


class TestDocumented:
    async def test_ingest_paths_are_in_openapi_and_public_with_a_reason(
        self, client: httpx.AsyncClient
    ) -> None:
        document = (await client.get("/openapi.json")).json()
        for path in (
            "/v1/ingest/pings",
            "/v1/ingest/osmand",
            "/v1/ingest/osmand/mps",
            "/v1/ingest/owntracks",
            "/v1/ingest/overland",
        ):
            operations = document["paths"][path]
            for operation in operations.values():
                assert operation["x-public"] == "devices authenticate with their own credentials"
                assert operation["tags"] == ["ingest"]
        assert "DeviceToken" in document["components"]["securitySchemes"]
        assert "HTTPBearer" in document["components"]["securitySchemes"]

    async def test_the_noop_endpoint_is_off_by_default(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/ingest/noop", content=b"{}")
        assert response.status_code == 404
