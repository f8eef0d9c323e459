"""ETA to the next stop, kept current on every ping, and alerts when it slips past a deadline.

Remaining distance is the great-circle distance to the stop times a *route factor* (roads are
longer than the straight line). The factor starts at :data:`DEFAULT_ROUTE_FACTOR` and is
recalibrated whenever a :class:`RouteProvider` is asked for the real route (at trip start,
and now and then after, never per ping: a routing call per ping would not survive 20,000
pings a second). Between route calls each ping costs a haversine and a few multiplications.

The speed is a blend of the truck's recent *moving* speed (an exponentially weighted mean of
speeds above a threshold, so waiting at a light or a border does not drag it down) and a
typical speed: the route's own average when the provider gave a duration, else the speed of
the road class, else a settable default. While the truck stands, the remaining distance stays
and the clock runs, so the ETA slips by itself, as it should.

Slip alerts (:func:`check_slip`) use hysteresis: an ETA must be past the deadline plus a
tolerance on several consecutive updates to raise an alert, and back inside by a margin on
several consecutive updates to clear it, so an ETA hovering around the line raises one alert.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, Protocol

from tracking.geo import LatLon, haversine_m
from tracking.pings import EVENT_BLOCKING_FLAGS, Ping

DEFAULT_ROUTE_FACTOR: Final = 1.3
"""Road distance over straight-line distance for regional freight: typically 1.2 to 1.4."""

DEFAULT_ROAD_CLASS_SPEEDS_MPS: Final[Mapping[str, float]] = MappingProxyType(
    {
        "motorway": 80 / 3.6,
        "trunk": 70 / 3.6,
        "primary": 60 / 3.6,
        "secondary": 50 / 3.6,
        "tertiary": 40 / 3.6,
        "urban": 30 / 3.6,
        "yard": 10 / 3.6,
    }
)
"""Typical loaded-truck speeds by road class (OSM highway classes, plus urban and yard)."""


@dataclass(frozen=True, slots=True)
class RouteEstimate:
    """A route's length (and free-flow duration, when the provider knows it)."""

    distance_m: float
    duration_s: float | None
    source: str
    """``geodesic``, ``osrm``, or ``geodesic-fallback`` when a routing service failed."""
    error: str | None = None
    """Why the fallback was used."""


class RouteProvider(Protocol):
    """Anything that can measure the road route between two points."""

    async def route(self, origin: LatLon, destination: LatLon) -> RouteEstimate:
        """Return the route estimate from ``origin`` to ``destination``."""
        ...


@dataclass(frozen=True, slots=True)
class GeodesicRouteProvider:
    """The default provider: great-circle distance times a route factor, no duration."""

    route_factor: float = DEFAULT_ROUTE_FACTOR

    def estimate(self, origin: LatLon, destination: LatLon) -> RouteEstimate:
        """Return the estimate without awaiting (it does no I/O)."""
        straight_m = haversine_m(origin, destination)
        return RouteEstimate(straight_m * self.route_factor, None, "geodesic")

    async def route(self, origin: LatLon, destination: LatLon) -> RouteEstimate:
        """Return the great-circle estimate."""
        return self.estimate(origin, destination)


@dataclass(frozen=True, slots=True)
class SpeedModel:
    """How the ETA turns recent movement and road knowledge into one speed."""

    default_speed_mps: float = 60 / 3.6
    """Typical speed when neither the route nor the road class says better."""
    road_class_speeds_mps: Mapping[str, float] = field(
        default_factory=lambda: DEFAULT_ROAD_CLASS_SPEEDS_MPS
    )
    recent_weight: float = 0.6
    """Share of the recent moving speed in the blend, once one is known."""
    moving_threshold_mps: float = 2.0
    """Speeds below this are standing or creeping and do not feed the moving speed."""
    smoothing_s: float = 600.0
    """Time constant of the moving-speed mean."""
    max_speed_mps: float = 33.0
    """Readings above this (120 km/h) are clipped: a loaded truck does not keep it up."""
    min_speed_mps: float = 1.0
    """Floor on the blended speed, so a long stand gives a late ETA, not an infinite one."""
    max_derived_gap_s: float = 600.0
    """A speed is derived from two fixes only when they are this close in time."""

    def typical_speed_mps(
        self, *, road_class: str | None = None, route_speed_mps: float | None = None
    ) -> float:
        """Return the speed to expect with no recent movement to go by."""
        if route_speed_mps is not None and route_speed_mps > 0:
            return route_speed_mps
        if road_class is not None:
            speed = self.road_class_speeds_mps.get(road_class)
            if speed is not None:
                return speed
        return self.default_speed_mps


DEFAULT_SPEED_MODEL: Final = SpeedModel()


class EtaState:
    """What the ETA remembers for one trip leg: moving speed, last fix, route calibration."""

    __slots__ = (
        "last_lat",
        "last_lon",
        "last_moving_s",
        "last_s",
        "moving_speed_mps",
        "route_factor",
        "route_speed_mps",
    )

    def __init__(self, *, route_factor: float = DEFAULT_ROUTE_FACTOR) -> None:
        self.moving_speed_mps: float | None = None
        self.last_moving_s = -math.inf
        self.last_s = -math.inf
        self.last_lat = 0.0
        self.last_lon = 0.0
        self.route_factor = route_factor
        self.route_speed_mps: float | None = None

    def calibrate(self, route: RouteEstimate, *, origin: LatLon, destination: LatLon) -> None:
        """Learn the route factor (and route speed) from a provider's answer for this leg."""
        straight_m = haversine_m(origin, destination)
        # Below a kilometre the ratio is dominated by the last turns into the site.
        if straight_m >= 1000.0 and route.distance_m > 0:
            self.route_factor = min(max(route.distance_m / straight_m, 1.0), 3.0)
        if route.duration_s is not None and route.duration_s > 0 and route.distance_m > 0:
            self.route_speed_mps = route.distance_m / route.duration_s

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form of the state."""
        return {
            "moving_speed_mps": self.moving_speed_mps,
            "last_moving_s": self.last_moving_s if math.isfinite(self.last_moving_s) else None,
            "last": None
            if not math.isfinite(self.last_s)
            else [self.last_s, self.last_lat, self.last_lon],
            "route_factor": self.route_factor,
            "route_speed_mps": self.route_speed_mps,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EtaState:
        """Rebuild a state from :meth:`to_dict` output."""
        state = cls(route_factor=float(data.get("route_factor", DEFAULT_ROUTE_FACTOR)))
        moving = data.get("moving_speed_mps")
        state.moving_speed_mps = None if moving is None else float(moving)
        last_moving = data.get("last_moving_s")
        state.last_moving_s = -math.inf if last_moving is None else float(last_moving)
        last = data.get("last")
        if last is not None:
            state.last_s, state.last_lat, state.last_lon = (float(v) for v in last)
        route_speed = data.get("route_speed_mps")
        state.route_speed_mps = None if route_speed is None else float(route_speed)
        return state


@dataclass(frozen=True, slots=True)
class Eta:
    """The estimate made at one ping."""

    remaining_m: float
    speed_mps: float
    eta_at: datetime
    computed_at: datetime
    """Fix time of the ping the estimate was made from."""


def update_eta(
    state: EtaState,
    ping: Ping,
    *,
    destination: LatLon,
    arrival_radius_m: float = 150.0,
    road_class: str | None = None,
    model: SpeedModel = DEFAULT_SPEED_MODEL,
) -> Eta | None:
    """Fold one ping into the trip's state and return the new ETA.

    Returns ``None`` for a flagged ping or one older than the last applied (they would only
    make the estimate worse). Within ``arrival_radius_m`` of the destination the truck counts
    as arrived: nothing remains.
    """
    if ping.flags & EVENT_BLOCKING_FLAGS:
        return None
    t_s = ping.recorded_at.timestamp()
    if t_s <= state.last_s:
        return None

    sample = ping.speed_mps
    if sample is None and t_s - state.last_s <= model.max_derived_gap_s:
        sample = haversine_m((state.last_lat, state.last_lon), (ping.lat, ping.lon)) / (
            t_s - state.last_s
        )
    if sample is not None and sample >= model.moving_threshold_mps:
        sample = min(sample, model.max_speed_mps)
        if state.moving_speed_mps is None:
            state.moving_speed_mps = sample
        else:
            # Weight by time since the last moving sample, so bursts of pings do not dominate.
            alpha = 1.0 - math.exp(-(t_s - state.last_moving_s) / model.smoothing_s)
            state.moving_speed_mps += alpha * (sample - state.moving_speed_mps)
        state.last_moving_s = t_s
    state.last_s = t_s
    state.last_lat = ping.lat
    state.last_lon = ping.lon

    straight_m = haversine_m((ping.lat, ping.lon), destination)
    remaining_m = 0.0 if straight_m <= arrival_radius_m else straight_m * state.route_factor
    typical = model.typical_speed_mps(road_class=road_class, route_speed_mps=state.route_speed_mps)
    if state.moving_speed_mps is None:
        speed = typical
    else:
        weight = model.recent_weight
        speed = weight * state.moving_speed_mps + (1.0 - weight) * typical
    speed = max(speed, model.min_speed_mps)
    return Eta(
        remaining_m,
        speed,
        ping.recorded_at + timedelta(seconds=remaining_m / speed),
        ping.recorded_at,
    )


@dataclass(frozen=True, slots=True)
class SlipPolicy:
    """When an ETA counts as slipped past a deadline, and when it counts as back."""

    tolerance_s: float = 900.0
    """Grace past the appointment before an ETA counts as late."""
    confirm_updates: int = 2
    """Consecutive updates past the line (or back inside) needed to change the verdict."""
    recover_margin_s: float = 600.0
    """To clear, the ETA must be this far back inside the line, not merely on it."""


DEFAULT_SLIP_POLICY: Final = SlipPolicy()


class SlipEventKind(StrEnum):
    """Slip verdict changes."""

    SLIPPED = "eta_slipped"
    RECOVERED = "eta_recovered"


@dataclass(frozen=True, slots=True)
class SlipEvent:
    """The ETA crossed the deadline line for good (or came back)."""

    kind: SlipEventKind
    eta_at: datetime
    deadline: datetime
    late_by_s: float
    """ETA minus deadline; negative when early."""
    at: datetime
    """When the verdict changed (the estimate's time)."""


class SlipState:
    """Slip verdict for one deadline and the run of updates pointing the other way."""

    __slots__ = ("slipped", "streak")

    def __init__(self, *, slipped: bool = False, streak: int = 0) -> None:
        self.slipped = slipped
        self.streak = streak

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form of the state."""
        return {"slipped": self.slipped, "streak": self.streak}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlipState:
        """Rebuild a state from :meth:`to_dict` output."""
        return cls(slipped=bool(data["slipped"]), streak=int(data["streak"]))


def check_slip(
    state: SlipState,
    *,
    eta_at: datetime,
    deadline: datetime,
    at: datetime,
    policy: SlipPolicy = DEFAULT_SLIP_POLICY,
) -> SlipEvent | None:
    """Fold one ETA into the slip verdict; return an event only when the verdict changes."""
    late_by_s = (eta_at - deadline).total_seconds()
    if not state.slipped:
        pointing_away = late_by_s > policy.tolerance_s
    else:
        pointing_away = late_by_s < policy.tolerance_s - policy.recover_margin_s
    if not pointing_away:
        state.streak = 0
        return None
    state.streak += 1
    if state.streak < policy.confirm_updates:
        return None
    state.streak = 0
    state.slipped = not state.slipped
    kind = SlipEventKind.SLIPPED if state.slipped else SlipEventKind.RECOVERED
    return SlipEvent(kind, eta_at, deadline, late_by_s, at)
