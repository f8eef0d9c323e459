"""Long-stop detection: a truck that stays put longer than a threshold, and when it moves on.

A ping is *still* when it lies within ``radius_m`` plus its own accuracy of the stop's anchor
(the running mean of the still pings, which averages GPS drift away) and, when the phone
reports a speed, that speed is at most ``max_speed_mps``. A stop is reported once still pings
have spanned ``min_duration_s``; it ends after ``leave_pings`` consecutive pings that are not
still, so one wild fix does not cut a stop in two. Flagged pings and pings older than the
newest applied one are skipped. The per-device :class:`StopState` is a handful of numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from tracking.geo import haversine_m
from tracking.pings import EVENT_BLOCKING_FLAGS, Ping


@dataclass(frozen=True, slots=True)
class StopPolicy:
    """Thresholds of the stop detector."""

    radius_m: float = 60.0
    """How far from the anchor, beyond the fix's accuracy, a still ping may lie."""
    max_speed_mps: float = 1.0
    """A reported speed above this (3.6 km/h) means the truck is moving."""
    min_duration_s: float = 900.0
    """A stop is reported once it has lasted this long."""
    leave_pings: int = 2
    """Consecutive non-still pings that end a stop."""
    anchor_weight_cap: int = 60
    """The anchor averages at most this many fixes, so it can follow a truck creeping in a queue."""


DEFAULT_STOP_POLICY: Final = StopPolicy()


class StopEventKind(StrEnum):
    """What the stop detector reports."""

    STARTED = "stop_started"
    ENDED = "stop_ended"


@dataclass(frozen=True, slots=True)
class StopEvent:
    """A long stop began (confirmed) or ended."""

    device_key: str
    kind: StopEventKind
    started_at: datetime
    """Fix time of the first still ping."""
    at: datetime
    """For a start, when the stop was confirmed; for an end, the first fix that left."""
    lat: float
    lon: float
    duration_s: float


class StopState:
    """One device's stop detector memory; ``anchor_lat`` is ``None`` before the first ping."""

    __slots__ = (
        "anchor_lat",
        "anchor_lon",
        "last_s",
        "leave_since_s",
        "leaving",
        "reported",
        "since_s",
        "weight",
    )

    def __init__(self) -> None:
        self.anchor_lat: float | None = None
        self.anchor_lon = 0.0
        self.weight = 0
        self.since_s = 0.0
        self.last_s = -math.inf
        self.reported = False
        self.leaving = 0
        self.leave_since_s = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form of the state."""
        return {
            "anchor": None
            if self.anchor_lat is None
            else [self.anchor_lat, self.anchor_lon, self.weight],
            "since_s": self.since_s,
            "last_s": self.last_s if math.isfinite(self.last_s) else None,
            "reported": self.reported,
            "leaving": [self.leaving, self.leave_since_s],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StopState:
        """Rebuild a state from :meth:`to_dict` output."""
        state = cls()
        anchor = data.get("anchor")
        if anchor is not None:
            state.anchor_lat = float(anchor[0])
            state.anchor_lon = float(anchor[1])
            state.weight = int(anchor[2])
        state.since_s = float(data.get("since_s", 0.0))
        last = data.get("last_s")
        state.last_s = -math.inf if last is None else float(last)
        state.reported = bool(data.get("reported", False))
        leaving = data.get("leaving", [0, 0.0])
        state.leaving = int(leaving[0])
        state.leave_since_s = float(leaving[1])
        return state


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def update_stop(
    state: StopState, ping: Ping, *, policy: StopPolicy = DEFAULT_STOP_POLICY
) -> StopEvent | None:
    """Apply one ping to a device's stop state and return the event it completes, if any."""
    if ping.flags & EVENT_BLOCKING_FLAGS:
        return None
    t_s = ping.recorded_at.timestamp()
    if t_s <= state.last_s:
        return None
    state.last_s = t_s
    speed = ping.speed_mps
    slow = speed is None or speed <= policy.max_speed_mps
    if state.anchor_lat is None:
        _restart(state, ping, t_s, still=slow)
        return None

    accuracy = ping.accuracy_m or 0.0
    distance = haversine_m((state.anchor_lat, state.anchor_lon), (ping.lat, ping.lon))
    still = slow and (state.weight == 0 or distance <= policy.radius_m + accuracy)
    if still:
        state.leaving = 0
        if state.weight == 0:
            # The candidate began on a moving fix: the stop starts here, where it stood still.
            state.since_s = t_s
        weight = min(state.weight, policy.anchor_weight_cap - 1)
        state.anchor_lat = (state.anchor_lat * weight + ping.lat) / (weight + 1)
        state.anchor_lon = (state.anchor_lon * weight + ping.lon) / (weight + 1)
        state.weight = weight + 1
        if not state.reported and t_s - state.since_s >= policy.min_duration_s:
            state.reported = True
            return StopEvent(
                ping.device_key,
                StopEventKind.STARTED,
                _utc(state.since_s),
                ping.recorded_at,
                state.anchor_lat,
                state.anchor_lon,
                t_s - state.since_s,
            )
        return None

    if state.leaving == 0:
        state.leave_since_s = t_s
    state.leaving += 1
    if state.leaving < policy.leave_pings:
        return None
    event = None
    if state.reported:
        event = StopEvent(
            ping.device_key,
            StopEventKind.ENDED,
            _utc(state.since_s),
            _utc(state.leave_since_s),
            state.anchor_lat,
            state.anchor_lon,
            state.leave_since_s - state.since_s,
        )
    _restart(state, ping, t_s, still=False)
    return event


def _restart(state: StopState, ping: Ping, t_s: float, *, still: bool) -> None:
    """Start a new candidate stop at this fix; a moving fix only holds the place."""
    state.anchor_lat = ping.lat
    state.anchor_lon = ping.lon
    state.weight = 1 if still else 0
    state.since_s = t_s
    state.reported = False
    state.leaving = 0
