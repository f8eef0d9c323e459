"""Geofences (plant gates, docks, buyers' sites) and enter/exit detection with hysteresis.

Fences are circles (centre and radius in metres) or GeoJSON polygons. Each fence gets its own
local metric frame (:class:`~tracking.geo.LocalFrame`: equirectangular around the fence's
centre with the WGS84 metres per degree at that latitude), so every distance is in metres
with an error far below GPS noise for fences a few kilometres across. Lookups go through a
shapely ``STRtree`` over the fences' bounding boxes; polygons are tested with prepared
geometries. Fences that cross the antimeridian are not supported.

A ping drives a per-(device, fence) state machine, not a bare point-in-polygon test, so that
a parked truck whose GPS wanders across a fence edge raises nothing:

* **enter** needs :attr:`FencePolicy.enter_pings` consecutive pings that are accurate
  (accuracy no worse than ``enter_max_accuracy_m``) and inside the fence by at least
  ``enter_depth_factor`` times their accuracy, spanning at least ``enter_dwell_s``; the event
  is dated at the first ping of that run;
* **exit** needs :attr:`FencePolicy.exit_pings` consecutive pings outside the fence by more
  than their accuracy plus ``exit_margin_m``, spanning at least ``exit_dwell_s``; any ping
  short of that cancels a pending exit;
* flagged pings (:meth:`~tracking.pings.Ping.usable_for_events`) and pings older than the
  newest one already applied for the device are skipped: they neither advance nor reset.

The state per device is a :class:`DeviceFenceState`: the newest applied fix time and one
four-number record per fence the device is entering, inside, or leaving. A device far from
every fence holds nothing. It serialises to JSON with :meth:`DeviceFenceState.to_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from tracking.geo import LocalFrame
from tracking.pings import EVENT_BLOCKING_FLAGS, Ping

_ENTERING: Final = 1
_INSIDE: Final = 2
_EXITING: Final = 3
# Bounding boxes grow by this much so a point on a fence's edge is never lost to rounding.
_BOX_PAD_M: Final = 1.0
# Below this many (ping, fence) pairs the scalar distance path beats the vectorised one.
_SCALAR_PAIRS: Final = 4


@dataclass(frozen=True, slots=True)
class Fence:
    """One geofence: a circle (``radius_m`` set) or a polygon in GeoJSON lon/lat order."""

    fence_id: str
    lat: float
    """Centre latitude: the circle's centre, or the polygon's centroid (its frame origin)."""
    lon: float
    radius_m: float | None = None
    polygon: BaseGeometry | None = None
    """Polygon or MultiPolygon with (lon, lat) coordinates, for polygon fences."""

    @classmethod
    def circle(cls, fence_id: str, *, lat: float, lon: float, radius_m: float) -> Fence:
        """Make a circular fence around a centre."""
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 < lat < 90):
            raise ValueError(f"fence {fence_id}: centre {lat},{lon} is not a valid position")
        if not (math.isfinite(radius_m) and radius_m > 0):
            raise ValueError(f"fence {fence_id}: radius_m must be positive, got {radius_m}")
        return cls(fence_id, lat, lon, radius_m=radius_m)

    @classmethod
    def from_geojson(
        cls, fence_id: str, geometry: Mapping[str, Any], *, radius_m: float | None = None
    ) -> Fence:
        """Make a fence from a GeoJSON Polygon or MultiPolygon, or a Point with ``radius_m``."""
        kind = geometry.get("type")
        if kind == "Point":
            if radius_m is None:
                raise ValueError(f"fence {fence_id}: a Point fence needs radius_m")
            lon, lat = geometry["coordinates"][:2]
            return cls.circle(fence_id, lat=float(lat), lon=float(lon), radius_m=radius_m)
        if kind not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"fence {fence_id}: geometry must be a Polygon, got {kind!r}")
        polygon = shape(geometry)
        if polygon.is_empty or not polygon.is_valid:
            reason = shapely.is_valid_reason(polygon)
            raise ValueError(f"fence {fence_id}: invalid polygon ({reason})")
        minx, miny, maxx, maxy = polygon.bounds
        if not (minx >= -180 and maxx <= 180 and miny > -90 and maxy < 90):
            raise ValueError(f"fence {fence_id}: coordinates must be [lon, lat] in degrees")
        centre = polygon.centroid
        return cls(fence_id, float(centre.y), float(centre.x), polygon=polygon)


class FenceIndex:
    """An immutable spatial index over a set of fences; rebuild it when the fences change."""

    def __init__(self, fences: Iterable[Fence]) -> None:
        self.fences: tuple[Fence, ...] = tuple(fences)
        count = len(self.fences)
        self.position: dict[str, int] = {}
        self._lat0 = np.empty(count)
        self._lon0 = np.empty(count)
        self._kx = np.empty(count)
        self._ky = np.empty(count)
        self._radius = np.full(count, np.nan)
        self._is_circle = np.zeros(count, dtype=bool)
        polygons_m: list[BaseGeometry | None] = []
        boxes: list[BaseGeometry] = []
        for i, fence in enumerate(self.fences):
            if fence.fence_id in self.position:
                raise ValueError(f"fence id {fence.fence_id!r} appears twice")
            self.position[fence.fence_id] = i
            frame = LocalFrame(fence.lat, fence.lon)
            self._lat0[i] = fence.lat
            self._lon0[i] = fence.lon
            self._kx[i] = frame.m_per_deg_lon
            self._ky[i] = frame.m_per_deg_lat
            if fence.radius_m is not None:
                self._is_circle[i] = True
                self._radius[i] = fence.radius_m
                half_lat = (fence.radius_m + _BOX_PAD_M) / frame.m_per_deg_lat
                half_lon = (fence.radius_m + _BOX_PAD_M) / frame.m_per_deg_lon
                boxes.append(
                    shapely.box(
                        fence.lon - half_lon,
                        fence.lat - half_lat,
                        fence.lon + half_lon,
                        fence.lat + half_lat,
                    )
                )
                polygons_m.append(None)
            else:
                assert fence.polygon is not None
                polygons_m.append(_to_local_metres(fence.polygon, frame))
                minx, miny, maxx, maxy = fence.polygon.bounds
                pad_lat = _BOX_PAD_M / frame.m_per_deg_lat
                pad_lon = _BOX_PAD_M / frame.m_per_deg_lon
                boxes.append(
                    shapely.box(minx - pad_lon, miny - pad_lat, maxx + pad_lon, maxy + pad_lat)
                )
        self._polygons_m = np.empty(count, dtype=object)
        self._polygons_m[:] = polygons_m
        polygon_mask = ~self._is_circle
        shapely.prepare(self._polygons_m[polygon_mask])
        self._boundaries_m = np.full(count, None, dtype=object)
        if polygon_mask.any():
            self._boundaries_m[polygon_mask] = shapely.boundary(self._polygons_m[polygon_mask])
        self._tree = shapely.STRtree(boxes)

    def __len__(self) -> int:
        return len(self.fences)

    def query(
        self, lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Return (point index, fence index) pairs whose fence box holds the point."""
        if not len(self.fences) or not len(lats):
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        hits = self._tree.query(shapely.points(np.column_stack((lons, lats))))
        return hits[0], hits[1]

    def query_point(self, lat: float, lon: float) -> list[int]:
        """Return the indices of the fences whose box holds one point."""
        if not self.fences:
            return []
        hits: list[int] = self._tree.query(shapely.Point(lon, lat)).tolist()
        return hits

    def signed_distance_point_m(self, fence: int, *, lat: float, lon: float) -> float:
        """Return metres from one fence's edge to one point: negative inside."""
        dlon = lon - float(self._lon0[fence])
        if dlon > 180.0:
            dlon -= 360.0
        elif dlon < -180.0:
            dlon += 360.0
        x = dlon * float(self._kx[fence])
        y = (lat - float(self._lat0[fence])) * float(self._ky[fence])
        if self._is_circle[fence]:
            return math.hypot(x, y) - float(self._radius[fence])
        edge = float(self._boundaries_m[fence].distance(shapely.Point(x, y)))
        return -edge if shapely.contains_xy(self._polygons_m[fence], x, y) else edge

    def signed_distance_m(
        self,
        fence_idx: npt.NDArray[np.intp],
        *,
        lats: npt.NDArray[np.float64],
        lons: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64]:
        """Return, per pair, metres from the fence edge: negative inside, positive outside."""
        dlon = lons - self._lon0[fence_idx]
        dlon = np.where(dlon > 180.0, dlon - 360.0, np.where(dlon < -180.0, dlon + 360.0, dlon))
        x = dlon * self._kx[fence_idx]
        y = (lats - self._lat0[fence_idx]) * self._ky[fence_idx]
        circle = self._is_circle[fence_idx]
        out: npt.NDArray[np.float64] = np.hypot(x, y) - self._radius[fence_idx]
        if not circle.all():
            poly = ~circle
            geoms = self._polygons_m[fence_idx[poly]]
            px = x[poly]
            py = y[poly]
            inside = shapely.contains_xy(geoms, px, py)
            edge = shapely.distance(
                self._boundaries_m[fence_idx[poly]], shapely.points(np.column_stack((px, py)))
            )
            out[poly] = np.where(inside, -edge, edge)
        return out


def _to_local_metres(polygon: BaseGeometry, frame: LocalFrame) -> BaseGeometry:
    def project(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        dlon = coords[:, 0] - frame.lon0
        dlat = coords[:, 1] - frame.lat0
        return np.column_stack((dlon * frame.m_per_deg_lon, dlat * frame.m_per_deg_lat))

    projected: BaseGeometry = shapely.transform(polygon, project)
    return projected


@dataclass(frozen=True, slots=True)
class FencePolicy:
    """Hysteresis settings of the enter/exit state machine."""

    enter_pings: int = 3
    """Consecutive qualifying pings needed to enter."""
    enter_dwell_s: float = 120.0
    """The qualifying run must span at least this long. The event is dated at the run's first
    ping, so a long dwell delays the notice, not the arrival time it reports."""
    enter_max_accuracy_m: float = 50.0
    """Pings with a worse accuracy do not count towards an entry (they break one only when
    they lie outside the fence)."""
    enter_depth_factor: float = 1.0
    """A ping counts as inside only this many accuracy radii inside the edge: at 1.0 its whole
    accuracy circle must lie in the fence."""
    exit_pings: int = 3
    """Consecutive pings clearly outside needed to exit."""
    exit_dwell_s: float = 90.0
    """The run of pings clearly outside must span at least this long. Like an entry, the exit
    is dated at the run's first ping, so this delays the notice only."""
    exit_margin_m: float = 20.0
    """Clearly outside: beyond the edge by the ping's accuracy plus this margin."""
    max_gap_s: float = 600.0
    """An entry run with a longer silence between two pings starts again."""
    unknown_accuracy_m: float = 25.0
    """Accuracy assumed for pings that do not report one."""


DEFAULT_FENCE_POLICY: Final = FencePolicy()


class FenceEventKind(StrEnum):
    """What happened at a fence."""

    ENTER = "enter"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class FenceEvent:
    """A device entered or left a fence."""

    device_key: str
    fence_id: str
    kind: FenceEventKind
    at: datetime
    """Fix time of the first ping of the run that proved the change."""
    confirmed_at: datetime
    """Fix time of the ping that completed the proof."""


class DeviceFenceState:
    """The fence state of one device: newest applied fix time and its non-outside fences.

    ``fences`` maps a fence id to ``[phase, count, since_s, last_s]``: phase 1 entering,
    2 inside, 3 leaving; ``count`` qualifying pings in the current run; ``since_s`` the fix
    time that started the run; ``last_s`` the latest qualifying fix time.
    """

    __slots__ = ("fences", "last_s")

    def __init__(self, last_s: float = -math.inf, fences: dict[str, list[float]] | None = None):
        self.last_s = last_s
        self.fences: dict[str, list[float]] = fences if fences is not None else {}

    def inside(self) -> list[str]:
        """Return the ids of the fences the device is in (including while leaving them)."""
        return [fid for fid, rec in self.fences.items() if rec[0] != _ENTERING]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form of the state."""
        return {
            "last_s": self.last_s if math.isfinite(self.last_s) else None,
            "fences": {fid: list(rec) for fid, rec in self.fences.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceFenceState:
        """Rebuild a state from :meth:`to_dict` output."""
        last = data.get("last_s")
        return cls(
            -math.inf if last is None else float(last),
            {str(fid): [float(v) for v in rec] for fid, rec in data.get("fences", {}).items()},
        )


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class GeofenceEngine:
    """Turns pings into fence enter/exit events for a fixed :class:`FenceIndex`."""

    def __init__(self, index: FenceIndex, *, policy: FencePolicy = DEFAULT_FENCE_POLICY):
        self.index = index
        self.policy = policy

    def process(
        self, pings: Sequence[Ping], states: MutableMapping[str, DeviceFenceState]
    ) -> list[FenceEvent]:
        """Apply a batch of pings (any devices, any order) and return the events it causes.

        ``states`` maps device keys to their :class:`DeviceFenceState`; a device seen for the
        first time gets a fresh one.
        """
        index = self.index
        # Per device, the pings that may drive state, in fix-time order.
        by_device: dict[str, list[tuple[float, Ping]]] = {}
        for ping in pings:
            if ping.flags & EVENT_BLOCKING_FLAGS:
                continue
            by_device.setdefault(ping.device_key, []).append((ping.recorded_at.timestamp(), ping))
        if not by_device:
            return []

        order: list[tuple[str, float, Ping]] = []
        for device, items in by_device.items():
            state = states.get(device)
            last_s = state.last_s if state is not None else -math.inf
            items.sort(key=_first)
            for t_s, ping in items:
                if t_s > last_s:
                    order.append((device, t_s, ping))
                    last_s = t_s
        if not order:
            return []

        # Every ping of a device is judged against every fence that device touches in this
        # batch or already holds state for, so a run that starts mid-batch is also broken or
        # continued by the device's later pings.
        fences_of: dict[str, set[int]] = {}
        if len(order) == 1:
            # One numpy round trip costs more than the whole scalar path for a lone ping.
            only = order[0][2]
            hits = index.query_point(only.lat, only.lon)
            if hits:
                fences_of[order[0][0]] = set(hits)
        else:
            lats = np.fromiter((item[2].lat for item in order), np.float64, len(order))
            lons = np.fromiter((item[2].lon for item in order), np.float64, len(order))
            hit_rows, hit_fences = index.query(lats, lons)
            for row, fence in zip(hit_rows.tolist(), hit_fences.tolist(), strict=True):
                fences_of.setdefault(order[row][0], set()).add(fence)
        position = index.position
        for device in by_device:
            state = states.get(device)
            if state is not None and state.fences:
                known = fences_of.setdefault(device, set())
                gone = []
                for fence_id in state.fences:
                    fence = position.get(fence_id)
                    if fence is None:
                        gone.append(fence_id)
                    else:
                        known.add(fence)
                # Fences that left the index take their state with them.
                for fence_id in gone:
                    del state.fences[fence_id]

        pair_rows: list[int] = []
        pair_fences: list[int] = []
        for row, (device, _, _) in enumerate(order):
            touched = fences_of.get(device)
            if touched:
                for fence in touched:
                    pair_rows.append(row)
                    pair_fences.append(fence)

        distances: dict[int, list[tuple[int, float]]] = {}
        if len(pair_rows) <= _SCALAR_PAIRS:
            for row, fence in zip(pair_rows, pair_fences, strict=True):
                ping = order[row][2]
                dist = index.signed_distance_point_m(fence, lat=ping.lat, lon=ping.lon)
                distances.setdefault(row, []).append((fence, dist))
        else:
            count = len(pair_rows)
            fidx = np.asarray(pair_fences, dtype=np.intp)
            pair_lats = np.fromiter((order[r][2].lat for r in pair_rows), np.float64, count)
            pair_lons = np.fromiter((order[r][2].lon for r in pair_rows), np.float64, count)
            signed = index.signed_distance_m(fidx, lats=pair_lats, lons=pair_lons)
            for row, fence, dist in zip(pair_rows, pair_fences, signed.tolist(), strict=True):
                distances.setdefault(row, []).append((fence, dist))

        events: list[FenceEvent] = []
        fences = index.fences
        for row, (device, t_s, ping) in enumerate(order):
            state = states.get(device)
            if state is None:
                state = states[device] = DeviceFenceState()
            state.last_s = t_s
            for fence, dist in distances.get(row, ()):
                event = self._step(state, fences[fence].fence_id, dist, ping, t_s)
                if event is not None:
                    events.append(event)
        return events

    def _step(
        self, state: DeviceFenceState, fence_id: str, dist: float, ping: Ping, t_s: float
    ) -> FenceEvent | None:
        policy = self.policy
        accuracy = ping.accuracy_m if ping.accuracy_m is not None else policy.unknown_accuracy_m
        accurate = accuracy <= policy.enter_max_accuracy_m
        deep_inside = accurate and dist <= -policy.enter_depth_factor * accuracy
        record = state.fences.get(fence_id)
        if record is None:
            if not deep_inside:
                return None
            record = state.fences[fence_id] = [_ENTERING, 0, t_s, t_s]
            return self._count_entry(state, fence_id, record, ping, t_s)
        phase = record[0]
        if phase == _ENTERING:
            if deep_inside:
                if t_s - record[3] > policy.max_gap_s:
                    record[1] = 0
                    record[2] = t_s
                return self._count_entry(state, fence_id, record, ping, t_s)
            # An accurate ping short of the depth breaks the run; so does a loose one that is
            # outside altogether. A loose one inside says nothing either way.
            if accurate or dist > 0.0:
                del state.fences[fence_id]
            return None
        clearly_outside = dist > accuracy + policy.exit_margin_m
        if phase == _INSIDE:
            if clearly_outside:
                record[0] = _EXITING
                record[1] = 0
                record[2] = t_s
                return self._count_exit(state, fence_id, record, ping, t_s)
            return None
        if clearly_outside:
            return self._count_exit(state, fence_id, record, ping, t_s)
        # Anything short of clearly outside breaks the run: the exit needs consecutive proof.
        record[0] = _INSIDE
        record[1] = 0
        return None

    def _count_entry(
        self,
        state: DeviceFenceState,
        fence_id: str,
        record: list[float],
        ping: Ping,
        t_s: float,
    ) -> FenceEvent | None:
        record[1] += 1
        record[3] = t_s
        policy = self.policy
        if record[1] >= policy.enter_pings and t_s - record[2] >= policy.enter_dwell_s:
            record[0] = _INSIDE
            record[1] = 0
            return FenceEvent(
                ping.device_key, fence_id, FenceEventKind.ENTER, _utc(record[2]), ping.recorded_at
            )
        return None

    def _count_exit(
        self,
        state: DeviceFenceState,
        fence_id: str,
        record: list[float],
        ping: Ping,
        t_s: float,
    ) -> FenceEvent | None:
        record[1] += 1
        record[3] = t_s
        policy = self.policy
        if record[1] >= policy.exit_pings and t_s - record[2] >= policy.exit_dwell_s:
            del state.fences[fence_id]
            return FenceEvent(
                ping.device_key, fence_id, FenceEventKind.EXIT, _utc(record[2]), ping.recorded_at
            )
        return None


def _first(item: tuple[float, Ping]) -> float:
    return item[0]
