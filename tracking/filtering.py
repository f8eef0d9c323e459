"""Validation and quality marks for parsed pings.

A batch is answered **per ping**. Syntax errors were already refused whole by
:mod:`tracking.formats`; here each ping is judged on its meaning:

* **rejected** (not stored, answered with a :class:`Rejection` that names the field and a
  stable reason code): coordinates out of range or not finite, ``0,0`` (trackers send it for
  "no fix"), a fix time further in the future than the tolerance or older than the limit;
* **accepted but flagged** (stored and shown on the map, kept out of geofence, stop and ETA
  events by :meth:`~tracking.pings.Ping.usable_for_events`): accuracy worse than the policy
  accepts (``POOR_ACCURACY``), a position that implies an impossible speed from its neighbours
  in time (``IMPLAUSIBLE_JUMP``), or a fix older than one already processed for the device
  (``OUT_OF_ORDER``).

Jump checks are order-aware: pings arrive late and shuffled (phones queue them offline), so a
ping is compared with the remembered good fix just before it **in fix time** (or, for a ping
older than all of them, the oldest remembered), not with the one that arrived last. Each
device keeps a small :class:`DeviceTrack` (the last few good fixes) that the service may hold
in memory and persist with :meth:`DeviceTrack.to_dict`. A device's very first fix has nothing
to be compared with: when the next two fixes of the same request agree with each other and
not with it, it is the one flagged; and if a wrong fix did become the anchor, a few
consecutive "jumps" that agree with one another move the track to them.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import groupby
from typing import Any, Final

from tracking.geo import haversine_m
from tracking.pings import Ping, PingFlag

_POOR_ACCURACY = int(PingFlag.POOR_ACCURACY)
_JUMP = int(PingFlag.IMPLAUSIBLE_JUMP)
_OUT_OF_ORDER = int(PingFlag.OUT_OF_ORDER)
_SERVER_TIME = int(PingFlag.SERVER_TIME)


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """Thresholds for rejecting and flagging pings; every one is settable per deployment."""

    max_future_s: float = 300.0
    """Phone clocks run fast; a fix up to this far ahead of the server clock is accepted."""
    max_age_s: float = 7 * 24 * 3600.0
    """Offline queues (OwnTracks, Overland) hold days of fixes; older ones are refused."""
    max_accuracy_m: float = 100.0
    """Fixes with a worse accuracy radius are kept but flagged ``POOR_ACCURACY``."""
    max_speed_mps: float = 50.0
    """180 km/h: beyond any loaded truck, so a faster implied speed is a bad fix."""
    window: int = 8
    """Good fixes remembered per device for the order-aware jump check."""
    reanchor_after: int = 3
    """Consecutive, mutually consistent "jumps" after which the device's track moves to them."""
    min_dt_s: float = 1.0
    """Floor on the time between two fixes when computing an implied speed."""


DEFAULT_POLICY: Final = QualityPolicy()


class RejectReason(StrEnum):
    """Stable codes for pings refused one by one."""

    NOT_FINITE = "coordinate_not_finite"
    LAT_OUT_OF_RANGE = "lat_out_of_range"
    LON_OUT_OF_RANGE = "lon_out_of_range"
    NO_FIX = "no_fix"
    IN_FUTURE = "recorded_in_future"
    TOO_OLD = "recorded_too_old"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one ping of a request was not stored."""

    index: int
    """Position of the item in the request."""
    client_ping_id: str | None
    field: str
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class ScreenedBatch:
    """The verdict on one request: pings to store (with their flags) and pings refused."""

    accepted: list[Ping]
    accepted_indices: list[int]
    rejected: list[Rejection]


def check_ping(
    ping: Ping, *, now: datetime, policy: QualityPolicy = DEFAULT_POLICY
) -> tuple[str, RejectReason, str] | None:
    """Return ``(field, reason, detail)`` when the ping must be refused, else ``None``."""
    return _check(ping, now.timestamp(), policy)


def _check(ping: Ping, now_s: float, policy: QualityPolicy) -> tuple[str, RejectReason, str] | None:
    lat = ping.lat
    lon = ping.lon
    if not math.isfinite(lat):
        return "lat", RejectReason.NOT_FINITE, f"latitude {lat} is not a finite number"
    if not math.isfinite(lon):
        return "lon", RejectReason.NOT_FINITE, f"longitude {lon} is not a finite number"
    if not -90.0 <= lat <= 90.0:
        return "lat", RejectReason.LAT_OUT_OF_RANGE, f"latitude {lat} is outside -90..90"
    if not -180.0 <= lon <= 180.0:
        return "lon", RejectReason.LON_OUT_OF_RANGE, f"longitude {lon} is outside -180..180"
    if lat == 0.0 and lon == 0.0:
        return "lat", RejectReason.NO_FIX, "0,0 is what trackers send when they have no fix"
    if not ping.flags & _SERVER_TIME:
        age_s = now_s - ping.recorded_at.timestamp()
        if age_s < -policy.max_future_s:
            return (
                "recorded_at",
                RejectReason.IN_FUTURE,
                f"fix time is {-age_s:.0f} s ahead of the server clock "
                f"(tolerance {policy.max_future_s:.0f} s)",
            )
        if age_s > policy.max_age_s:
            return (
                "recorded_at",
                RejectReason.TOO_OLD,
                f"fix is {age_s:.0f} s old (limit {policy.max_age_s:.0f} s)",
            )
    return None


class DeviceTrack:
    """What the quality check remembers about one device: a few good fixes and suspects.

    ``fixes`` and ``suspects`` hold ``(t_s, lat, lon, accuracy_m)`` tuples, ``fixes`` sorted by
    fix time; ``newest_s`` is the newest fix time processed. Small and JSON-serialisable.
    """

    __slots__ = ("fixes", "newest_s", "suspects")

    def __init__(
        self,
        *,
        fixes: list[tuple[float, float, float, float]] | None = None,
        newest_s: float = -math.inf,
        suspects: list[tuple[float, float, float, float]] | None = None,
    ) -> None:
        self.fixes = fixes if fixes is not None else []
        self.newest_s = newest_s
        self.suspects = suspects if suspects is not None else []

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form of the track."""
        return {
            "fixes": [list(f) for f in self.fixes],
            "newest_s": self.newest_s if math.isfinite(self.newest_s) else None,
            "suspects": [list(f) for f in self.suspects],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceTrack:
        """Rebuild a track from :meth:`to_dict` output."""
        newest = data.get("newest_s")
        return cls(
            fixes=[_fix_tuple(f) for f in data.get("fixes", [])],
            newest_s=-math.inf if newest is None else float(newest),
            suspects=[_fix_tuple(f) for f in data.get("suspects", [])],
        )


def _fix_tuple(raw: Sequence[float]) -> tuple[float, float, float, float]:
    return float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3])


def _implied_speed_mps(
    a: tuple[float, float, float, float],
    b: tuple[float, float, float, float],
    min_dt_s: float,
) -> float:
    # The accuracy radii are slack: two honest fixes may sit that far apart without moving.
    gap_m = haversine_m((a[1], a[2]), (b[1], b[2])) - a[3] - b[3]
    if gap_m <= 0.0:
        return 0.0
    return gap_m / max(abs(b[0] - a[0]), min_dt_s)


def assess(ping: Ping, track: DeviceTrack, *, policy: QualityPolicy = DEFAULT_POLICY) -> int:
    """Return the quality flags for one valid ping and update the device's track.

    Pings of one device should be assessed in fix-time order where possible
    (:func:`screen_batch` sorts each request); late ones are still judged against their
    neighbours in time.
    """
    t_s = ping.recorded_at.timestamp()
    flags = 0
    in_order = t_s >= track.newest_s
    if not in_order:
        flags |= _OUT_OF_ORDER
    accuracy = ping.accuracy_m
    if accuracy is not None and accuracy > policy.max_accuracy_m:
        # A fix this loose says little about jumps and must not become an anchor.
        if in_order:
            track.newest_s = t_s
        return flags | _POOR_ACCURACY

    fix = (t_s, ping.lat, ping.lon, accuracy or 0.0)
    fixes = track.fixes
    pos = bisect.bisect_right(fixes, t_s, key=_fix_time)
    if pos > 0:
        reference: tuple[float, float, float, float] | None = fixes[pos - 1]
    elif fixes:
        reference = fixes[0]
    else:
        reference = None

    if reference is not None and _implied_speed_mps(reference, fix, policy.min_dt_s) > (
        policy.max_speed_mps
    ):
        suspects = track.suspects
        if (
            in_order
            and suspects
            and _implied_speed_mps(suspects[-1], fix, policy.min_dt_s) <= policy.max_speed_mps
        ):
            suspects.append(fix)
        else:
            track.suspects = suspects = [fix] if in_order else suspects
        if in_order and len(suspects) >= policy.reanchor_after:
            # The suspects agree with each other and not with the old fixes: the old fixes
            # were the bad ones (or the phone moved to another truck). Start over from here.
            track.fixes = list(suspects)
            track.suspects = []
            track.newest_s = t_s
            return flags
        if in_order:
            track.newest_s = t_s
        return flags | _JUMP

    fixes.insert(pos, fix)
    if len(fixes) > policy.window:
        del fixes[0]
    if in_order:
        track.suspects = []
        track.newest_s = t_s
    return flags


def _fix_time(fix: tuple[float, float, float, float]) -> float:
    return fix[0]


def _as_fix(ping: Ping) -> tuple[float, float, float, float]:
    return ping.recorded_at.timestamp(), ping.lat, ping.lon, ping.accuracy_m or 0.0


def _leading_spike(first: Sequence[Ping], policy: QualityPolicy) -> bool:
    """Say whether the first of three time-ordered fixes disagrees with two that agree."""
    if len(first) < 3:
        return False
    a, b, c = (_as_fix(p) for p in first)
    limit = policy.max_speed_mps
    return (
        _implied_speed_mps(a, b, policy.min_dt_s) > limit
        and _implied_speed_mps(a, c, policy.min_dt_s) > limit
        and _implied_speed_mps(b, c, policy.min_dt_s) <= limit
    )


def screen_batch(
    pings: Sequence[Ping],
    *,
    tracks: MutableMapping[str, DeviceTrack],
    now: datetime | None = None,
    policy: QualityPolicy = DEFAULT_POLICY,
    source_indices: Sequence[int] | None = None,
) -> ScreenedBatch:
    """Judge every ping of a request: reject the invalid, flag the doubtful, keep the rest.

    ``tracks`` maps device keys to their :class:`DeviceTrack`; missing ones are created.
    ``source_indices`` gives each ping's position in the request (from
    :class:`~tracking.formats.ParsedBatch`) so rejections point at what the client sent.
    Accepted pings come back in request order.
    """
    now_s = (now if now is not None else datetime.now(UTC)).timestamp()
    indices = source_indices if source_indices is not None else range(len(pings))
    rejected: list[Rejection] = []
    valid: list[int] = []
    for position, ping in enumerate(pings):
        problem = _check(ping, now_s, policy)
        if problem is None:
            valid.append(position)
        else:
            field, reason, detail = problem
            rejected.append(
                Rejection(indices[position], ping.client_ping_id, field, reason, detail)
            )

    # Assess each device's pings in fix-time order so a shuffled request is not out of order.
    ordered = sorted(valid, key=lambda p: (pings[p].device_key, pings[p].recorded_at))
    flags_at: dict[int, int] = {}
    for device, group in groupby(ordered, key=lambda p: pings[p].device_key):
        positions = list(group)
        track = tracks.get(device)
        if track is None:
            track = tracks[device] = DeviceTrack()
        if not track.fixes and _leading_spike([pings[p] for p in positions[:3]], policy):
            # With nothing to compare against, the first fix would become the anchor and the
            # true fixes after it would look like jumps; its own successors outvote it.
            flags_at[positions[0]] = _JUMP
            positions = positions[1:]
        for position in positions:
            flags_at[position] = assess(pings[position], track, policy=policy)

    accepted: list[Ping] = []
    accepted_indices: list[int] = []
    for position in valid:
        ping = pings[position]
        extra = flags_at[position]
        if extra and (ping.flags | extra) != ping.flags:
            ping = ping._replace(flags=ping.flags | extra)
        accepted.append(ping)
        accepted_indices.append(indices[position])
    return ScreenedBatch(accepted, accepted_indices, rejected)
