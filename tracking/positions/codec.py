"""Pings to compact position rows and back, in the units the columns name.

Rounding is chosen so a stored value never claims more than the phone said: accuracy is
rounded up to whole metres; out-of-range readings are clamped to what a smallint holds.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Final

from tracking.pings import Ping

Row = tuple[
    datetime, int, int, int, int | None, int | None, int | None, int | None, int | None, int
]
"""(recorded_at, device_no, lat_e7, lon_e7, speed_cmps, heading_deg, altitude_m, accuracy_m,
battery_pct, flags): the order of the ``positions`` columns."""

COLUMNS: Final = (
    "recorded_at",
    "device_no",
    "lat_e7",
    "lon_e7",
    "speed_cmps",
    "heading_deg",
    "altitude_m",
    "accuracy_m",
    "battery_pct",
    "flags",
)
_SMALLINT_MAX: Final = 32767
_SMALLINT_MIN: Final = -32768


def to_row(device_no: int, ping: Ping) -> Row:
    """The stored form of a ping."""
    speed = ping.speed_mps
    heading = ping.heading_deg
    altitude = ping.altitude_m
    accuracy = ping.accuracy_m
    battery = ping.battery_pct
    return (
        ping.recorded_at,
        device_no,
        round(ping.lat * 1e7),
        round(ping.lon * 1e7),
        None if speed is None else min(round(speed * 100.0), _SMALLINT_MAX),
        None if heading is None else round(heading) % 360,
        None if altitude is None else max(_SMALLINT_MIN, min(round(altitude), _SMALLINT_MAX)),
        None if accuracy is None else min(math.ceil(accuracy), _SMALLINT_MAX),
        None if battery is None else round(battery),
        ping.flags,
    )


def to_ping(device_key: str, row: Row) -> Ping:
    """A stored row as a ping in normalized units."""
    speed = row[4]
    return Ping(
        device_key,
        row[0],
        row[2] / 1e7,
        row[3] / 1e7,
        None if speed is None else speed / 100.0,
        None if row[5] is None else float(row[5]),
        None if row[6] is None else float(row[6]),
        None if row[7] is None else float(row[7]),
        None if row[8] is None else float(row[8]),
        None,
        row[9],
    )
