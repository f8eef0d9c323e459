"""Parsers from each ping wire format to :class:`~tracking.pings.Ping`.

Every parser returns a :class:`ParsedBatch` or raises :class:`~tracking.exceptions.PayloadError`
naming the field (and, for batches, the index of the bad item). The split of duties is:

* **syntax and shape** (not JSON, a required field missing, a number that is a string) is
  refused here and refuses the whole request: the client has a bug, and storing half of a
  request it cannot read back would hide it;
* **meaning** (latitude 95, NaN from a query string, a fix from next week) is judged per ping
  by :mod:`tracking.filtering`, which rejects the bad pings with a reason and lets the rest be
  stored.

Optional readings a client marks as unknown are dropped to ``None`` rather than refused:
negative speed, accuracy, heading or battery (the -1 sentinels of CoreLocation and of the
background-location SDK), zero accuracy (Traccar Client on Android sends 0 for a GPS fix,
OwnTracks omits zero values), and non-finite values.

Native batch format
-------------------

Our own app posts JSON, many pings per request, each with its own client ping id so that a
retried request is stored once::

    {
      "device_id": "TRK-0042",
      "pings": [
        {
          "id": "0001-8f2c",
          "recorded_at": "2025-03-01T08:00:05.250Z",
          "lat": 52.37012,
          "lon": 4.89231,
          "speed_mps": 13.9,
          "heading_deg": 271.0,
          "altitude_m": 2.0,
          "accuracy_m": 6.5,
          "battery_pct": 81
        }
      ]
    }

* ``device_id`` (string) names the device; it may be left out when the request is already
  bound to a device by its token, and must match that device when both are given.
* ``pings``: 1 to :data:`MAX_BATCH_ITEMS` objects.
* ``id``: required string of 1 to 64 characters, unique per device (the idempotency key of
  the ping).
* ``recorded_at``: required; an RFC 3339 string with ``Z`` or an offset (local times without
  an offset are refused), or an integer of epoch milliseconds.
* ``lat``, ``lon``: required JSON numbers, WGS84 degrees.
* ``speed_mps``, ``heading_deg`` (clockwise from north), ``altitude_m``, ``accuracy_m``
  (horizontal, metres), ``battery_pct`` (0-100): optional JSON numbers or ``null``.
* Unknown keys are ignored, so newer apps can send more.

Third-party formats
-------------------

* **OsmAnd protocol** (OsmAnd, older Traccar Client, many trackers): query string or form
  body; see :func:`parse_osmand`. The unit of ``speed`` depends on the client (Traccar Client
  sends knots, which is what Traccar assumes; the OsmAnd app sends m/s), so the caller says.
* **Traccar Client JSON** (Traccar Client 9 and later): see :func:`parse_traccar_json`.
* **OwnTracks HTTP mode**: see :func:`parse_owntracks`.
* **Overland**: see :func:`parse_overland`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final
from urllib.parse import unquote_plus

import orjson

from tracking.exceptions import PayloadError
from tracking.pings import Ping, PingFlag

MAX_BATCH_ITEMS: Final = 1000
"""Most pings one native request may carry."""
MAX_CLIENT_PING_ID_LEN: Final = 64

# Epoch values at or above this are milliseconds: 1e11 seconds is the year 5138, while 1e11
# milliseconds is March 1973, long before any phone sent a ping.
_EPOCH_MS_THRESHOLD: Final = 100_000_000_000

_INVALID_FIX = int(PingFlag.INVALID_FIX)
_MOCK = int(PingFlag.MOCK)
_SERVER_TIME = int(PingFlag.SERVER_TIME)


class SpeedUnit(StrEnum):
    """The unit a client sends speed in; the value is the factor to metres per second."""

    MPS = "m/s"
    KNOTS = "kn"
    KMH = "km/h"
    MPH = "mph"

    @property
    def to_mps(self) -> float:
        """Return the factor that turns a speed in this unit into metres per second."""
        return _SPEED_FACTORS[self]


_SPEED_FACTORS: Final[dict[SpeedUnit, float]] = {
    SpeedUnit.MPS: 1.0,
    SpeedUnit.KNOTS: 1852.0 / 3600.0,
    SpeedUnit.KMH: 1000.0 / 3600.0,
    SpeedUnit.MPH: 1609.344 / 3600.0,
}


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """The pings read from one request.

    ``source_indices[i]`` is the position in the request of ``pings[i]`` (they differ only when
    a format carries items that are not locations), so per-ping answers can point at the item
    the client sent. ``ignored`` counts messages acknowledged but not locations (OwnTracks
    ``_type`` other than ``location``, Overland visits).
    """

    pings: list[Ping]
    source_indices: list[int] = field(default_factory=list)
    ignored: int = 0


def _fail(message: str, path: str, index: int | None = None) -> PayloadError:
    """Build the error; ``path`` may be a template with ``{i}`` for the item index."""
    return PayloadError(message, field=_path(path, index), index=index)


def _path(template: str, index: int | None) -> str:
    """Fill a field path template such as ``pings[{i}].lat``; a single item drops the index."""
    if index is None:
        if template.startswith("[{i}]."):
            template = template[len("[{i}].") :]
        return template.replace("[{i}]", "")
    return template.format(i=index)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _load_json(body: bytes | str, what: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _fail(f"not valid JSON ({exc})", what) from None


def _required_number(value: object, path: str, index: int | None) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if value is None:
        raise _fail("is required", path, index)
    raise _fail(f"must be a number, got {_type_name(value)}", path, index)


def _lenient_number(value: object, path: str, index: int | None) -> float | None:
    """Read an optional number from a third-party client that may send it as a string."""
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if value is None:
        return None
    if type(value) is str:
        try:
            return float(value)
        except ValueError:
            pass
    raise _fail(f"must be a number, got {_type_name(value)}", path, index)


def _optional_number(value: object, path: str, index: int | None) -> float | None:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if value is None:
        return None
    raise _fail(f"must be a number or null, got {_type_name(value)}", path, index)


def _known_nonnegative(value: float | None) -> float | None:
    """Drop unknown-reading sentinels (negative values) and non-finite values."""
    if value is None or value < 0.0 or value != value or value == math.inf:
        return None
    return value


def _known_positive(value: float | None) -> float | None:
    if value is None or value <= 0.0 or value != value or value == math.inf:
        return None
    return value


def _heading(value: float | None) -> float | None:
    value = _known_nonnegative(value)
    if value is None:
        return None
    return value % 360.0


def _battery_pct(value: float | None) -> float | None:
    value = _known_nonnegative(value)
    if value is None:
        return None
    return min(value, 100.0)


def _battery_fraction(value: float | None) -> float | None:
    value = _known_nonnegative(value)
    if value is None:
        return None
    return min(value * 100.0, 100.0)


def _epoch_to_utc(value: float, path: str, index: int | None) -> datetime:
    """Read epoch seconds, or milliseconds when the value is too large to be seconds."""
    seconds = value / 1000.0 if abs(value) >= _EPOCH_MS_THRESHOLD else value
    return _epoch_seconds_to_utc(seconds, path, index)


def _epoch_seconds_to_utc(seconds: float, path: str, index: int | None) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise _fail("is not a representable time", path, index) from None


def _iso_to_utc(value: str, path: str, index: int | None, *, naive_is_utc: bool) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"is not an ISO 8601 time: {value[:40]!r}", path, index) from None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise _fail("needs a UTC offset or 'Z'", path, index)
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _time_value(value: object, path: str, index: int | None, *, naive_is_utc: bool) -> datetime:
    """Read a time sent as epoch seconds or milliseconds, or as an ISO 8601 string."""
    if type(value) is int or type(value) is float:
        return _epoch_to_utc(float(value), path, index)
    if type(value) is str:
        stripped = value.strip()
        if stripped.lstrip("-").replace(".", "", 1).isdigit():
            return _epoch_to_utc(float(stripped), path, index)
        return _iso_to_utc(stripped, path, index, naive_is_utc=naive_is_utc)
    if value is None:
        raise _fail("is required", path, index)
    raise _fail(f"must be a time, got {_type_name(value)}", path, index)


def _device_text(value: object, path: str, index: int | None) -> str | None:
    if value is None:
        return None
    if type(value) is int:
        return str(value)
    if type(value) is not str:
        raise _fail(f"must be a string, got {_type_name(value)}", path, index)
    text = value.strip()
    return text or None


def parse_native_batch(body: bytes | str, *, device_key: str | None = None) -> ParsedBatch:
    """Parse our app's batch JSON (format in the module docstring) into pings.

    ``device_key`` is the device the request is authenticated as, if any; the body's
    ``device_id`` must then match it or be absent.
    """
    doc = _load_json(body, "body")
    if type(doc) is not dict:
        raise _fail(f"must be a JSON object, got {_type_name(doc)}", "body")
    body_device = _device_text(doc.get("device_id"), "device_id", None)
    if device_key is not None and body_device is not None and body_device != device_key:
        raise _fail("does not match the device the request is authenticated as", "device_id")
    key = device_key if device_key is not None else body_device
    if key is None:
        raise _fail("is required when the request is not bound to a device", "device_id")

    items = doc.get("pings")
    if type(items) is not list:
        if items is None:
            raise _fail("is required", "pings")
        raise _fail(f"must be an array, got {_type_name(items)}", "pings")
    if not items:
        raise _fail("must hold at least one ping", "pings")
    if len(items) > MAX_BATCH_ITEMS:
        raise _fail(f"holds {len(items)} pings, at most {MAX_BATCH_ITEMS} allowed", "pings")

    pings: list[Ping] = []
    append = pings.append
    for i, item in enumerate(items):
        if type(item) is not dict:
            raise _fail(f"must be an object, got {_type_name(item)}", f"pings[{i}]", i)
        ping_id = item.get("id")
        if type(ping_id) is not str or not 0 < len(ping_id) <= MAX_CLIENT_PING_ID_LEN:
            if ping_id is None:
                raise _fail("is required", f"pings[{i}].id", i)
            raise _fail(
                f"must be a string of 1 to {MAX_CLIENT_PING_ID_LEN} characters",
                f"pings[{i}].id",
                i,
            )
        stamp = item.get("recorded_at")
        if type(stamp) is str:
            recorded_at = _iso_to_utc(stamp, "pings[{i}].recorded_at", i, naive_is_utc=False)
        elif type(stamp) is int:
            recorded_at = _epoch_seconds_to_utc(stamp / 1000.0, "pings[{i}].recorded_at", i)
        elif stamp is None:
            raise _fail("is required", f"pings[{i}].recorded_at", i)
        else:
            raise _fail(
                "must be an RFC 3339 string or integer epoch milliseconds, "
                f"got {_type_name(stamp)}",
                f"pings[{i}].recorded_at",
                i,
            )
        lat = _required_number(item.get("lat"), "pings[{i}].lat", i)
        lon = _required_number(item.get("lon"), "pings[{i}].lon", i)
        speed = item.get("speed_mps")
        heading = item.get("heading_deg")
        altitude = item.get("altitude_m")
        accuracy = item.get("accuracy_m")
        battery = item.get("battery_pct")
        append(
            Ping(
                key,
                recorded_at,
                lat,
                lon,
                None
                if speed is None
                else _known_nonnegative(_optional_number(speed, "pings[{i}].speed_mps", i)),
                None
                if heading is None
                else _heading(_optional_number(heading, "pings[{i}].heading_deg", i)),
                None
                if altitude is None
                else _finite(_optional_number(altitude, "pings[{i}].altitude_m", i)),
                None
                if accuracy is None
                else _known_positive(_optional_number(accuracy, "pings[{i}].accuracy_m", i)),
                None
                if battery is None
                else _battery_pct(_optional_number(battery, "pings[{i}].battery_pct", i)),
                ping_id,
                0,
            )
        )
    return ParsedBatch(pings, list(range(len(pings))))


def _finite(value: float | None) -> float | None:
    if value is None or value != value or value in (math.inf, -math.inf):
        return None
    return value


def _split_query(text: str) -> dict[str, str]:
    """Split a query string or form body; a repeated key keeps its last value, as Traccar does."""
    params: dict[str, str] = {}
    for part in text.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        params[key] = value
    return params


def _query_float(params: Mapping[str, str], key: str) -> float | None:
    text = params.get(key)
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise _fail(f"must be a number, got {text[:40]!r}", key) from None


_TRUE_WORDS: Final = frozenset({"true", "1"})


def parse_osmand(
    query: str | bytes | Mapping[str, str],
    *,
    speed_unit: SpeedUnit = SpeedUnit.KNOTS,
    received_at: datetime | None = None,
) -> ParsedBatch:
    """Parse one OsmAnd-protocol location (query string, form body, or decoded mapping).

    Read as Traccar's OsmAnd decoder reads it: ``id`` or ``deviceid`` names the device;
    ``lat`` and ``lon``, or ``location=lat,lon``; ``timestamp`` in epoch seconds, epoch
    milliseconds, or ISO 8601 / ``yyyy-MM-dd HH:mm:ss`` (taken as UTC), and the receive time
    (flagged ``SERVER_TIME``) when absent; ``speed`` in ``speed_unit`` (Traccar Client sends
    knots, the OsmAnd app m/s); ``bearing`` or ``heading`` in degrees; ``altitude`` and
    ``accuracy`` in metres; ``batt`` in percent; ``valid=false`` flags ``INVALID_FIX`` and
    ``mock=true`` flags ``MOCK``. ``hdop`` is a dilution factor, not metres, and is not used
    as accuracy.
    """
    if isinstance(query, bytes):
        try:
            query = query.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail("is not UTF-8 text", "body") from None
    params = _split_query(query) if isinstance(query, str) else query

    device = params.get("id") or params.get("deviceid")
    if not device:
        raise _fail("is required", "id")

    location = params.get("location")
    if location is not None and "lat" not in params:
        lat_text, _, lon_text = location.partition(",")
        try:
            lat: float | None = float(lat_text)
            lon: float | None = float(lon_text)
        except ValueError:
            raise _fail(f"must be 'lat,lon', got {location[:40]!r}", "location") from None
    else:
        lat = _query_float(params, "lat")
        lon = _query_float(params, "lon")
    if lat is None:
        raise _fail("is required", "lat")
    if lon is None:
        raise _fail("is required", "lon")

    flags = 0
    stamp = params.get("timestamp")
    if stamp:
        recorded_at = _time_value(stamp, "timestamp", None, naive_is_utc=True)
    else:
        recorded_at = received_at if received_at is not None else datetime.now(UTC)
        flags |= _SERVER_TIME
    valid = params.get("valid")
    if valid is not None and valid.lower() not in _TRUE_WORDS:
        flags |= _INVALID_FIX
    mock = params.get("mock")
    if mock is not None and mock.lower() in _TRUE_WORDS:
        flags |= _MOCK

    speed = _query_float(params, "speed")
    heading = _query_float(params, "bearing")
    if heading is None:
        heading = _query_float(params, "heading")
    ping = Ping(
        device.strip(),
        recorded_at,
        lat,
        lon,
        None if speed is None else _known_nonnegative(speed * speed_unit.to_mps),
        _heading(heading),
        _finite(_query_float(params, "altitude")),
        _known_positive(_query_float(params, "accuracy")),
        _battery_pct(_query_float(params, "batt")),
        None,
        flags,
    )
    return ParsedBatch([ping], [0])


def _traccar_location(loc: object, device: str, index: int | None) -> Ping:
    if type(loc) is not dict:
        raise _fail(f"must be an object, got {_type_name(loc)}", "location[{i}]", index)
    coords = loc.get("coords")
    if type(coords) is not dict:
        if coords is None:
            raise _fail("is required", "location[{i}].coords", index)
        raise _fail(f"must be an object, got {_type_name(coords)}", "location[{i}].coords", index)
    recorded_at = _time_value(
        loc.get("timestamp"), "location[{i}].timestamp", index, naive_is_utc=True
    )
    lat = _required_number(coords.get("latitude"), "location[{i}].coords.latitude", index)
    lon = _required_number(coords.get("longitude"), "location[{i}].coords.longitude", index)
    battery = loc.get("battery")
    level = None
    if type(battery) is dict:
        level = _lenient_number(battery.get("level"), "location[{i}].battery.level", index)
    uuid = loc.get("uuid")
    flags = _MOCK if loc.get("mock") is True else 0
    return Ping(
        device,
        recorded_at,
        lat,
        lon,
        _known_nonnegative(
            _lenient_number(coords.get("speed"), "location[{i}].coords.speed", index)
        ),
        _heading(_lenient_number(coords.get("heading"), "location[{i}].coords.heading", index)),
        _finite(_lenient_number(coords.get("altitude"), "location[{i}].coords.altitude", index)),
        _known_positive(
            _lenient_number(coords.get("accuracy"), "location[{i}].coords.accuracy", index)
        ),
        _battery_fraction(level),
        uuid if type(uuid) is str and 0 < len(uuid) <= MAX_CLIENT_PING_ID_LEN else None,
        flags,
    )


def parse_traccar_json(body: bytes | str) -> ParsedBatch:
    """Parse Traccar Client's JSON body (the background-location SDK's native shape).

    ``{"location": {...}, "device_id": "..."}`` where the location has an ISO ``timestamp``,
    ``coords`` with ``latitude``, ``longitude``, ``accuracy`` (m), ``speed`` (m/s), ``heading``
    (degrees) and ``altitude`` (m), and ``battery.level`` as a fraction from 0 to 1. A list of
    locations under ``location`` (the SDK's batch mode) is read as a batch.
    """
    doc = _load_json(body, "body")
    if type(doc) is not dict:
        raise _fail(f"must be a JSON object, got {_type_name(doc)}", "body")
    device = _device_text(doc.get("device_id"), "device_id", None)
    if device is None:
        raise _fail("is required", "device_id")
    loc = doc.get("location")
    if loc is None:
        raise _fail("is required", "location")
    if type(loc) is list:
        if not loc:
            raise _fail("must hold at least one location", "location")
        if len(loc) > MAX_BATCH_ITEMS:
            raise _fail(f"holds {len(loc)} locations, at most {MAX_BATCH_ITEMS}", "location")
        pings = [_traccar_location(item, device, i) for i, item in enumerate(loc)]
        return ParsedBatch(pings, list(range(len(pings))))
    return ParsedBatch([_traccar_location(loc, device, None)], [0])


def parse_osmand_http(
    *,
    query: str,
    body: bytes,
    content_type: str = "",
    speed_unit: SpeedUnit = SpeedUnit.KNOTS,
    received_at: datetime | None = None,
) -> ParsedBatch:
    """Parse an OsmAnd-port request, choosing query string, JSON body or form body.

    Query parameters win when present (as in Traccar); otherwise a JSON body (by content type,
    or a body that starts with ``{``) is Traccar Client JSON and anything else a form body.
    """
    if query:
        return parse_osmand(query, speed_unit=speed_unit, received_at=received_at)
    stripped = body.lstrip()
    if "json" in content_type.lower() or stripped.startswith(b"{"):
        return parse_traccar_json(body)
    if not stripped:
        raise _fail("carries no location: empty query and body", "body")
    return parse_osmand(body, speed_unit=speed_unit, received_at=received_at)


def _owntracks_location(
    msg: dict[str, Any], index: int | None, user: str | None, device: str | None
) -> Ping:
    topic = _device_text(msg.get("topic"), "[{i}].topic", index)
    key = topic
    if key is None and user and device:
        key = f"{user}/{device}"
    if key is None:
        key = _device_text(msg.get("tid"), "[{i}].tid", index)
    if key is None:
        raise _fail("is required when the message has no topic", "[{i}].tid", index)
    tst = msg.get("tst")
    if tst is None:
        raise _fail("is required", "[{i}].tst", index)
    recorded_at = _time_value(tst, "[{i}].tst", index, naive_is_utc=True)
    lat = _required_number(msg.get("lat"), "[{i}].lat", index)
    lon = _required_number(msg.get("lon"), "[{i}].lon", index)
    vel = _lenient_number(msg.get("vel"), "[{i}].vel", index)
    return Ping(
        key,
        recorded_at,
        lat,
        lon,
        # OwnTracks reports velocity in km/h.
        None if vel is None else _known_nonnegative(vel / 3.6),
        _heading(_lenient_number(msg.get("cog"), "[{i}].cog", index)),
        _finite(_lenient_number(msg.get("alt"), "[{i}].alt", index)),
        _known_positive(_lenient_number(msg.get("acc"), "[{i}].acc", index)),
        _battery_pct(_lenient_number(msg.get("batt"), "[{i}].batt", index)),
        None,
        0,
    )


def parse_owntracks(
    body: bytes | str, *, user: str | None = None, device: str | None = None
) -> ParsedBatch:
    """Parse an OwnTracks HTTP-mode post: ``_type: location`` becomes a ping, the rest is ignored.

    Fields: ``tst`` (epoch seconds of the fix), ``lat``, ``lon``, ``acc`` (m), ``alt`` (m),
    ``vel`` (km/h), ``cog`` (degrees), ``batt`` (percent). The device key is ``topic`` when
    sent, else ``user/device`` when the endpoint knows them (the ``u`` and ``d`` of the URL or
    the ``X-Limit-U``/``X-Limit-D`` headers), else ``tid``. Messages of any other ``_type``
    (transitions, waypoints, status, encrypted payloads) are counted in ``ignored`` so the
    endpoint can answer them with an empty list as the app expects. A JSON array of messages
    is read as a batch.
    """
    doc = _load_json(body, "body")
    if type(doc) is dict:
        messages: list[Any] = [doc]
        single = True
    elif type(doc) is list:
        if len(doc) > MAX_BATCH_ITEMS:
            raise _fail(f"holds {len(doc)} messages, at most {MAX_BATCH_ITEMS}", "body")
        messages = doc
        single = False
    else:
        raise _fail(f"must be a JSON object or array, got {_type_name(doc)}", "body")

    pings: list[Ping] = []
    indices: list[int] = []
    ignored = 0
    for i, msg in enumerate(messages):
        index = None if single else i
        if type(msg) is not dict:
            raise _fail(f"must be an object, got {_type_name(msg)}", "[{i}]", index)
        kind = msg.get("_type")
        if type(kind) is not str:
            raise _fail("is required and must be a string", "[{i}]._type", index)
        if kind != "location":
            ignored += 1
            continue
        pings.append(_owntracks_location(msg, index, user, device))
        indices.append(i)
    return ParsedBatch(pings, indices, ignored)


def _overland_feature(feature: object, i: int, device_key: str | None) -> Ping | None:
    if type(feature) is not dict:
        raise _fail(
            f"must be a GeoJSON Feature object, got {_type_name(feature)}", f"locations[{i}]", i
        )
    props = feature.get("properties")
    if props is None:
        props = {}
    elif type(props) is not dict:
        raise _fail(f"must be an object, got {_type_name(props)}", "locations[{i}].properties", i)
    geometry = feature.get("geometry")
    # Visits and app-lifecycle records ride in the same array when tracking stats are on.
    if geometry is None or props.get("type") == "visit" or "action" in props:
        return None
    if type(geometry) is not dict or geometry.get("type") != "Point":
        raise _fail("must be a GeoJSON Point", "locations[{i}].geometry", i)
    coords = geometry.get("coordinates")
    if type(coords) is not list or len(coords) < 2:
        raise _fail("must be [lon, lat]", "locations[{i}].geometry.coordinates", i)
    # RFC 7946 order: longitude first.
    lon = _required_number(coords[0], "locations[{i}].geometry.coordinates[0]", i)
    lat = _required_number(coords[1], "locations[{i}].geometry.coordinates[1]", i)
    stamp = props.get("timestamp")
    recorded_at = _time_value(stamp, "locations[{i}].properties.timestamp", i, naive_is_utc=True)
    key = _device_text(props.get("device_id"), "locations[{i}].properties.device_id", i)
    if key is None:
        key = device_key
    if key is None:
        raise _fail(
            "is empty and the request is not bound to a device",
            "locations[{i}].properties.device_id",
            i,
        )
    altitude = props.get("altitude")
    if altitude is None and len(coords) > 2:
        altitude = coords[2]
    course = props.get("course")
    unique = props.get("unique_id")
    return Ping(
        key,
        recorded_at,
        lat,
        lon,
        _known_nonnegative(
            _lenient_number(props.get("speed"), "locations[{i}].properties.speed", i)
        ),
        None
        if course is None
        else _heading(_lenient_number(course, "locations[{i}].properties.course", i)),
        _finite(_lenient_number(altitude, "locations[{i}].properties.altitude", i)),
        _known_positive(
            _lenient_number(
                props.get("horizontal_accuracy"),
                "locations[{i}].properties.horizontal_accuracy",
                i,
            )
        ),
        _battery_fraction(
            _lenient_number(
                props.get("battery_level"), "locations[{i}].properties.battery_level", i
            )
        ),
        unique if type(unique) is str and 0 < len(unique) <= MAX_CLIENT_PING_ID_LEN else None,
        0,
    )


def parse_overland(body: bytes | str, *, device_key: str | None = None) -> ParsedBatch:
    """Parse an Overland batch: GeoJSON Point features under ``locations``.

    Per feature: ``geometry.coordinates`` ``[lon, lat]``; ``properties.timestamp`` ISO 8601;
    ``speed`` (m/s), ``altitude`` (m), ``horizontal_accuracy`` (m), ``battery_level`` (0 to 1),
    ``device_id`` (may be empty, then ``device_key`` from the request's token is used). The
    ``current`` and ``trip`` objects are not read: ``current`` repeats a point a later batch
    will carry. The endpoint must answer ``{"result": "ok"}`` or the app sends the batch again.
    """
    doc = _load_json(body, "body")
    if type(doc) is not dict:
        raise _fail(f"must be a JSON object, got {_type_name(doc)}", "body")
    features = doc.get("locations")
    if type(features) is not list:
        if features is None:
            raise _fail("is required", "locations")
        raise _fail(f"must be an array, got {_type_name(features)}", "locations")
    if len(features) > MAX_BATCH_ITEMS:
        raise _fail(
            f"holds {len(features)} locations, at most {MAX_BATCH_ITEMS} allowed", "locations"
        )
    pings: list[Ping] = []
    indices: list[int] = []
    ignored = 0
    for i, feature in enumerate(features):
        ping = _overland_feature(feature, i, device_key)
        if ping is None:
            ignored += 1
            continue
        pings.append(ping)
        indices.append(i)
    return ParsedBatch(pings, indices, ignored)
