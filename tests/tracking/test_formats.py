"""Each wire format parses to normalized pings, and a bad body names the bad field."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking.exceptions import PayloadError
from tracking.formats import (
    MAX_BATCH_ITEMS,
    SpeedUnit,
    parse_native_batch,
    parse_osmand,
    parse_osmand_http,
    parse_overland,
    parse_owntracks,
    parse_traccar_json,
)
from tracking.pings import PingFlag

RECEIVED_AT = datetime(2025, 3, 1, 8, 0, 30, tzinfo=UTC)


def native(pings: list[dict[str, object]], **extra: object) -> bytes:
    return orjson.dumps({"device_id": "TRK-0042", "pings": pings, **extra})


def good_item(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id": "0001",
        "recorded_at": "2025-03-01T08:00:05.250Z",
        "lat": 52.37012,
        "lon": 4.89231,
        "speed_mps": 13.9,
        "heading_deg": 271.0,
        "altitude_m": 2.0,
        "accuracy_m": 6.5,
        "battery_pct": 81,
    }
    item.update(overrides)
    return item


class TestNativeBatch:
    def test_reads_every_field_in_our_units(self) -> None:
        batch = parse_native_batch(native([good_item()]))
        (ping,) = batch.pings
        assert ping.device_key == "TRK-0042"
        assert ping.client_ping_id == "0001"
        assert ping.recorded_at == datetime(2025, 3, 1, 8, 0, 5, 250000, tzinfo=UTC)
        assert (ping.lat, ping.lon) == (52.37012, 4.89231)
        assert ping.speed_mps == 13.9
        assert ping.heading_deg == 271.0
        assert ping.altitude_m == 2.0
        assert ping.accuracy_m == 6.5
        assert ping.battery_pct == 81.0
        assert ping.flags == 0
        assert batch.source_indices == [0]

    def test_offset_times_become_utc_and_epoch_milliseconds_are_accepted(self) -> None:
        batch = parse_native_batch(
            native(
                [
                    good_item(id="a", recorded_at="2025-03-01T10:00:05+02:00"),
                    good_item(id="b", recorded_at=1740816005250),
                ]
            )
        )
        first, second = batch.pings
        assert first.recorded_at == datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)
        assert second.recorded_at == datetime(2025, 3, 1, 8, 0, 5, 250000, tzinfo=UTC)

    def test_optional_fields_may_be_absent_or_null(self) -> None:
        item = {"id": "x", "recorded_at": "2025-03-01T08:00:05Z", "lat": 1.5, "lon": 2}
        (ping,) = parse_native_batch(native([{**item, "speed_mps": None}])).pings
        assert ping.lon == 2.0
        assert ping.speed_mps is None
        assert ping.accuracy_m is None

    def test_unknown_readings_are_dropped_not_refused(self) -> None:
        (ping,) = parse_native_batch(
            native([good_item(speed_mps=-1, heading_deg=-1, accuracy_m=0, battery_pct=-1)])
        ).pings
        assert ping.speed_mps is None
        assert ping.heading_deg is None
        assert ping.accuracy_m is None
        assert ping.battery_pct is None

    def test_device_key_from_the_token_is_used_when_the_body_has_none(self) -> None:
        body = orjson.dumps({"pings": [good_item()]})
        (ping,) = parse_native_batch(body, device_key="bound").pings
        assert ping.device_key == "bound"

    def test_a_body_naming_another_device_is_refused(self) -> None:
        with pytest.raises(PayloadError) as err:
            parse_native_batch(native([good_item()]), device_key="someone-else")
        assert err.value.field == "device_id"

    def test_no_device_at_all_is_refused(self) -> None:
        with pytest.raises(PayloadError) as err:
            parse_native_batch(orjson.dumps({"pings": [good_item()]}))
        assert err.value.field == "device_id"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b"{", "body"),
            (b"[1, 2]", "body"),
            (orjson.dumps({"device_id": "d"}), "pings"),
            (orjson.dumps({"device_id": "d", "pings": {}}), "pings"),
            (orjson.dumps({"device_id": "d", "pings": []}), "pings"),
        ],
    )
    def test_malformed_bodies_are_refused_whole(self, body: bytes, field: str) -> None:
        with pytest.raises(PayloadError) as err:
            parse_native_batch(body)
        assert err.value.field == field
        assert err.value.index is None

    @pytest.mark.parametrize(
        ("bad", "field", "words"),
        [
            ({"lat": "52.1"}, "pings[2].lat", "must be a number, got string"),
            ({"lon": None}, "pings[2].lon", "is required"),
            ({"lat": True}, "pings[2].lat", "got boolean"),
            ({"id": ""}, "pings[2].id", "1 to 64"),
            ({"id": 7}, "pings[2].id", "string"),
            ({"recorded_at": "2025-03-01T08:00:05"}, "pings[2].recorded_at", "UTC offset"),
            ({"recorded_at": "yesterday"}, "pings[2].recorded_at", "ISO 8601"),
            ({"recorded_at": 1.5}, "pings[2].recorded_at", "epoch milliseconds"),
            ({"speed_mps": "fast"}, "pings[2].speed_mps", "number or null"),
        ],
    )
    def test_a_bad_item_names_its_field_and_index(
        self, bad: dict[str, object], field: str, words: str
    ) -> None:
        items = [good_item(id="a"), good_item(id="b"), {**good_item(id="c"), **bad}]
        with pytest.raises(PayloadError) as err:
            parse_native_batch(native(items))
        assert err.value.field == field
        assert err.value.index == 2
        assert words in str(err.value)
        assert str(err.value).startswith(field)

    def test_oversized_batches_are_refused(self) -> None:
        items = [good_item(id=str(i)) for i in range(MAX_BATCH_ITEMS + 1)]
        with pytest.raises(PayloadError) as err:
            parse_native_batch(native(items))
        assert "at most" in str(err.value)

    def test_json_nan_is_not_json(self) -> None:
        body = native([good_item()]).replace(b"52.37012", b"NaN")
        with pytest.raises(PayloadError) as err:
            parse_native_batch(body)
        assert err.value.field == "body"

    @given(
        lat=st.floats(-90, 90),
        lon=st.floats(-180, 180),
        when=st.datetimes(
            min_value=datetime(2000, 1, 1),
            max_value=datetime(2100, 1, 1),
            timezones=st.just(UTC),
        ),
        speed=st.floats(0, 60),
    )
    def test_what_goes_in_comes_out(
        self, lat: float, lon: float, when: datetime, speed: float
    ) -> None:
        item = good_item(lat=lat, lon=lon, recorded_at=when.isoformat(), speed_mps=speed)
        (ping,) = parse_native_batch(native([item])).pings
        assert (ping.lat, ping.lon, ping.speed_mps) == (lat, lon, speed)
        assert ping.recorded_at == when


class TestOsmAnd:
    # Parameter names and units from Traccar's OsmAnd protocol page and the query Traccar
    # Client for Android builds (speed converted to knots, battery in percent).
    TRACCAR_CLIENT_QUERY = (
        "id=864895030279012&timestamp=1740816005&lat=52.37012&lon=4.89231"
        "&speed=10.0&bearing=271.5&altitude=2.0&accuracy=12.0&batt=81.0"
    )

    def test_traccar_client_query_with_speed_in_knots(self) -> None:
        (ping,) = parse_osmand(self.TRACCAR_CLIENT_QUERY).pings
        assert ping.device_key == "864895030279012"
        assert ping.recorded_at == datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)
        assert ping.speed_mps == pytest.approx(10.0 * 1852 / 3600)
        assert ping.heading_deg == 271.5
        assert ping.altitude_m == 2.0
        assert ping.accuracy_m == 12.0
        assert ping.battery_pct == 81.0
        assert ping.flags == 0

    def test_osmand_app_sends_metres_per_second(self) -> None:
        # OsmAnd's own online tracking fills {5} with m/s, so its endpoint is configured so.
        (ping,) = parse_osmand(
            "id=phone&lat=1&lon=2&timestamp=1740816005&speed=13.9", speed_unit=SpeedUnit.MPS
        ).pings
        assert ping.speed_mps == pytest.approx(13.9)

    @pytest.mark.parametrize(
        ("unit", "to_mps"),
        [
            (SpeedUnit.KNOTS, 0.514444),
            (SpeedUnit.KMH, 1 / 3.6),
            (SpeedUnit.MPH, 0.44704),
            (SpeedUnit.MPS, 1.0),
        ],
    )
    def test_speed_units(self, unit: SpeedUnit, to_mps: float) -> None:
        (ping,) = parse_osmand(
            "id=d&lat=1&lon=2&timestamp=1740816005&speed=36", speed_unit=unit
        ).pings
        assert ping.speed_mps == pytest.approx(36 * to_mps, rel=1e-5)

    @pytest.mark.parametrize(
        "stamp",
        ["1740816005", "1740816005000", "2025-03-01T08:00:05Z", "2025-03-01%2008:00:05"],
    )
    def test_timestamp_in_seconds_milliseconds_or_text(self, stamp: str) -> None:
        (ping,) = parse_osmand(f"id=d&lat=1&lon=2&timestamp={stamp}").pings
        assert ping.recorded_at == datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)

    def test_missing_timestamp_uses_receive_time_and_says_so(self) -> None:
        (ping,) = parse_osmand("id=d&lat=1&lon=2", received_at=RECEIVED_AT).pings
        assert ping.recorded_at == RECEIVED_AT
        assert ping.flags & PingFlag.SERVER_TIME

    def test_location_parameter_and_validity_and_mock(self) -> None:
        (ping,) = parse_osmand(
            "deviceid=d&location=52.5,13.25&valid=false&mock=true&timestamp=1740816005"
        ).pings
        assert (ping.lat, ping.lon) == (52.5, 13.25)
        assert ping.flags & PingFlag.INVALID_FIX
        assert ping.flags & PingFlag.MOCK
        assert not ping.usable_for_events()

    def test_form_body_with_percent_encoding(self) -> None:
        body = b"id=truck%2042&lat=52.1&lon=4.8&timestamp=2025-03-01T08%3A00%3A05Z"
        (ping,) = parse_osmand(body).pings
        assert ping.device_key == "truck 42"
        assert ping.recorded_at == datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("lat=1&lon=2", "id"),
            ("id=d&lon=2", "lat"),
            ("id=d&lat=1", "lon"),
            ("id=d&lat=north&lon=2", "lat"),
            ("id=d&lat=1&lon=2&speed=fast", "speed"),
            ("id=d&location=somewhere", "location"),
            ("id=d&lat=1&lon=2&timestamp=soon", "timestamp"),
        ],
    )
    def test_bad_query_names_the_field(self, query: str, field: str) -> None:
        with pytest.raises(PayloadError) as err:
            parse_osmand(query)
        assert err.value.field == field

    def test_nan_parses_so_the_filter_can_refuse_that_one_ping(self) -> None:
        (ping,) = parse_osmand("id=d&lat=nan&lon=2&timestamp=1740816005").pings
        assert math.isnan(ping.lat)

    @given(knots=st.floats(0, 200, allow_nan=False))
    def test_knots_always_convert_exactly(self, knots: float) -> None:
        (ping,) = parse_osmand(f"id=d&lat=1&lon=2&timestamp=1740816005&speed={knots!r}").pings
        assert ping.speed_mps == pytest.approx(knots * 1852 / 3600)


# Shape from the JSON example on Traccar's OsmAnd protocol page (Traccar Client 9+):
# coords in degrees, metres and m/s, battery level as a fraction.
TRACCAR_JSON = {
    "location": {
        "timestamp": "2025-03-01T08:00:05.000Z",
        "coords": {
            "latitude": 52.37012,
            "longitude": 4.89231,
            "accuracy": 9.5,
            "speed": 13.9,
            "heading": 271.5,
            "altitude": 2.0,
        },
        "is_moving": True,
        "odometer": 1520.0,
        "event": "motionchange",
        "battery": {"level": 0.81, "is_charging": False},
        "activity": {"type": "in_vehicle"},
        "extras": {},
    },
    "device_id": "48241179",
}


class TestTraccarJson:
    def test_reads_the_sdk_shape(self) -> None:
        (ping,) = parse_traccar_json(orjson.dumps(TRACCAR_JSON)).pings
        assert ping.device_key == "48241179"
        assert ping.recorded_at == datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)
        assert ping.speed_mps == 13.9
        assert ping.accuracy_m == 9.5
        assert ping.battery_pct == pytest.approx(81.0)

    def test_unknown_battery_level_is_dropped(self) -> None:
        doc = orjson.loads(orjson.dumps(TRACCAR_JSON))
        doc["location"]["battery"]["level"] = -1
        (ping,) = parse_traccar_json(orjson.dumps(doc)).pings
        assert ping.battery_pct is None

    def test_a_list_of_locations_is_a_batch(self) -> None:
        doc = orjson.loads(orjson.dumps(TRACCAR_JSON))
        second = orjson.loads(orjson.dumps(doc["location"]))
        second["timestamp"] = "2025-03-01T08:00:15.000Z"
        doc["location"] = [doc["location"], second]
        batch = parse_traccar_json(orjson.dumps(doc))
        assert [p.recorded_at.second for p in batch.pings] == [5, 15]

    def test_missing_coords_names_the_field(self) -> None:
        doc = orjson.loads(orjson.dumps(TRACCAR_JSON))
        del doc["location"]["coords"]
        with pytest.raises(PayloadError) as err:
            parse_traccar_json(orjson.dumps(doc))
        assert err.value.field == "location.coords"

    def test_bad_item_in_a_list_names_its_index(self) -> None:
        doc = orjson.loads(orjson.dumps(TRACCAR_JSON))
        broken = orjson.loads(orjson.dumps(doc["location"]))
        broken["coords"]["latitude"] = "north"
        doc["location"] = [doc["location"], broken]
        with pytest.raises(PayloadError) as err:
            parse_traccar_json(orjson.dumps(doc))
        assert err.value.field == "location[1].coords.latitude"
        assert err.value.index == 1

    def test_the_osmand_port_picks_json_or_query(self) -> None:
        from_json = parse_osmand_http(
            query="", body=orjson.dumps(TRACCAR_JSON), content_type="application/json"
        )
        from_query = parse_osmand_http(
            query="id=48241179&lat=52.37012&lon=4.89231&timestamp=1740816005", body=b""
        )
        assert from_json.pings[0].device_key == from_query.pings[0].device_key == "48241179"
        assert from_json.pings[0].recorded_at == from_query.pings[0].recorded_at

    def test_the_osmand_port_refuses_an_empty_request(self) -> None:
        with pytest.raises(PayloadError) as err:
            parse_osmand_http(query="", body=b"")
        assert err.value.field == "body"


def owntracks_location(**overrides: object) -> dict[str, object]:
    # Elements of `_type: location` as the OwnTracks booklet lists them: tst in epoch
    # seconds, acc/alt in metres, vel in km/h, cog in degrees, batt in percent, and the
    # publish topic added in HTTP mode.
    msg: dict[str, object] = {
        "_type": "location",
        "lat": 48.85833,
        "lon": 2.29513,
        "tst": 1740816005,
        "acc": 12,
        "alt": 35,
        "vel": 54,
        "cog": 90,
        "batt": 77,
        "tid": "JJ",
        "topic": "owntracks/jane/phone",
        "t": "u",
    }
    msg.update(overrides)
    return msg


class TestOwnTracks:
    def test_location_message(self) -> None:
        batch = parse_owntracks(orjson.dumps(owntracks_location()))
        (ping,) = batch.pings
        assert ping.device_key == "owntracks/jane/phone"
        assert ping.recorded_at == datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)
        assert ping.speed_mps == pytest.approx(15.0)
        assert ping.heading_deg == 90.0
        assert ping.accuracy_m == 12.0
        assert ping.altitude_m == 35.0
        assert ping.battery_pct == 77.0
        assert batch.ignored == 0

    def test_device_key_falls_back_to_user_and_device_then_tid(self) -> None:
        no_topic = owntracks_location()
        del no_topic["topic"]
        from_endpoint = parse_owntracks(orjson.dumps(no_topic), user="jane", device="phone")
        from_tid = parse_owntracks(orjson.dumps(no_topic))
        assert from_endpoint.pings[0].device_key == "jane/phone"
        assert from_tid.pings[0].device_key == "JJ"

    @pytest.mark.parametrize("kind", ["transition", "lwt", "waypoint", "status", "encrypted"])
    def test_other_message_types_are_acknowledged_and_ignored(self, kind: str) -> None:
        batch = parse_owntracks(orjson.dumps({"_type": kind, "tst": 1740816005}))
        assert batch.pings == []
        assert batch.ignored == 1

    def test_an_array_mixes_kinds(self) -> None:
        body = orjson.dumps(
            [{"_type": "lwt", "tst": 1}, owntracks_location(), owntracks_location(tst=1740816065)]
        )
        batch = parse_owntracks(body)
        assert len(batch.pings) == 2
        assert batch.source_indices == [1, 2]
        assert batch.ignored == 1

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"_type": None}, "_type"),
            ({"lat": None}, "lat"),
            ({"tst": None}, "tst"),
            ({"vel": "quick"}, "vel"),
            ({"topic": None, "tid": None}, "tid"),
        ],
    )
    def test_bad_location_names_the_field(self, overrides: dict[str, object], field: str) -> None:
        msg = {k: v for k, v in owntracks_location(**overrides).items() if v is not None}
        with pytest.raises(PayloadError) as err:
            parse_owntracks(orjson.dumps(msg))
        assert err.value.field == field

    def test_bad_item_in_an_array_names_its_index(self) -> None:
        body = orjson.dumps([owntracks_location(), owntracks_location(lon="east")])
        with pytest.raises(PayloadError) as err:
            parse_owntracks(body)
        assert err.value.field == "[1].lon"
        assert err.value.index == 1


def overland_feature(**properties: object) -> dict[str, object]:
    # One element of "locations" as Overland's README shows it: a GeoJSON Point feature,
    # timestamp with a numeric offset, speed in m/s, battery level 0 to 1, -1 for unknown.
    props: dict[str, object] = {
        "timestamp": "2025-03-01T00:00:05-0800",
        "altitude": 12,
        "speed": 4,
        "horizontal_accuracy": 30,
        "vertical_accuracy": -1,
        "motion": ["driving", "stationary"],
        "battery_state": "charging",
        "battery_level": 0.89,
        "device_id": "",
        "wifi": "",
    }
    props.update(properties)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-122.030581, 37.331800]},
        "properties": props,
    }


class TestOverland:
    def test_batch_of_points(self) -> None:
        body = orjson.dumps({"locations": [overland_feature(), overland_feature(speed=-1)]})
        batch = parse_overland(body, device_key="token-device")
        first, second = batch.pings
        assert first.device_key == "token-device"
        assert (first.lat, first.lon) == (37.3318, -122.030581)
        assert first.recorded_at == datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)
        assert first.speed_mps == 4.0
        assert first.accuracy_m == 30.0
        assert first.altitude_m == 12.0
        assert first.battery_pct == pytest.approx(89.0)
        assert second.speed_mps is None

    def test_device_id_in_properties_wins(self) -> None:
        body = orjson.dumps({"locations": [overland_feature(device_id="iphone-7")]})
        (ping,) = parse_overland(body, device_key="token-device").pings
        assert ping.device_key == "iphone-7"

    def test_visits_are_skipped_and_indices_kept(self) -> None:
        visit = overland_feature(type="visit")
        body = orjson.dumps({"locations": [visit, overland_feature()], "current": {}})
        batch = parse_overland(body, device_key="d")
        assert len(batch.pings) == 1
        assert batch.source_indices == [1]
        assert batch.ignored == 1

    def test_no_device_anywhere_names_the_item(self) -> None:
        body = orjson.dumps({"locations": [overland_feature(), overland_feature()]})
        with pytest.raises(PayloadError) as err:
            parse_overland(body)
        assert err.value.field == "locations[0].properties.device_id"
        assert err.value.index == 0

    @pytest.mark.parametrize(
        ("feature", "field"),
        [
            ({"type": "Feature", "geometry": {"type": "LineString"}, "properties": {}}, "geometry"),
            (
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1]}},
                "geometry.coordinates",
            ),
            (
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": ["x", 1]},
                    "properties": {"timestamp": "2025-03-01T08:00:05Z"},
                },
                "geometry.coordinates[0]",
            ),
            (overland_feature(timestamp=None), "properties.timestamp"),
            (overland_feature(horizontal_accuracy=[1]), "properties.horizontal_accuracy"),
        ],
    )
    def test_bad_feature_names_field_and_index(self, feature: object, field: str) -> None:
        body = orjson.dumps({"locations": [overland_feature(), feature]})
        with pytest.raises(PayloadError) as err:
            parse_overland(body, device_key="d")
        assert err.value.field == f"locations[1].{field}"
        assert err.value.index == 1

    def test_locations_must_be_an_array(self) -> None:
        with pytest.raises(PayloadError) as err:
            parse_overland(orjson.dumps({"locations": {}}), device_key="d")
        assert err.value.field == "locations"


def test_payload_error_carries_what_the_api_renders() -> None:
    with pytest.raises(PayloadError) as err:
        parse_osmand("lat=1&lon=2")
    assert err.value.status == 422
    assert err.value.code == "payload_invalid"
    assert err.value.reason == "is required"


def test_recorded_times_are_all_utc() -> None:
    batch = parse_overland(orjson.dumps({"locations": [overland_feature()]}), device_key="d")
    assert batch.pings[0].recorded_at.utcoffset() == timedelta(0)
