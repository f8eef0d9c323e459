"""The one normalized GPS ping every wire format is parsed into.

Units are fixed here so nothing downstream converts again: degrees (WGS84), metres, metres
per second, percent, and timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntFlag
from typing import NamedTuple


class PingFlag(IntFlag):
    """Quality marks on a ping: a flagged ping is stored and shown, but drives no event."""

    NONE = 0
    POOR_ACCURACY = 1
    """Reported accuracy worse than the quality policy accepts."""
    IMPLAUSIBLE_JUMP = 2
    """Implied speed from its neighbours in time is beyond what a truck can do."""
    OUT_OF_ORDER = 4
    """Recorded before a ping of the same device that was already processed."""
    INVALID_FIX = 8
    """The client itself marked the fix as invalid (OsmAnd ``valid=false``)."""
    MOCK = 16
    """The phone reported a mock (simulated) location provider."""
    SERVER_TIME = 32
    """The client sent no fix time, so the receive time stands in for it."""


# Plain ints for the hot path: bit tests on IntFlag members go through the enum machinery
# and cost about a microsecond each, a plain int test about forty nanoseconds.
EVENT_BLOCKING_FLAGS: int = int(
    PingFlag.POOR_ACCURACY
    | PingFlag.IMPLAUSIBLE_JUMP
    | PingFlag.OUT_OF_ORDER
    | PingFlag.INVALID_FIX
    | PingFlag.MOCK
    | PingFlag.SERVER_TIME
)
"""Any of these bits keeps a ping out of geofence, stop and ETA events."""


class Ping(NamedTuple):
    """One position fix of one device, in normalized units.

    ``flags`` is a :class:`PingFlag` bit set kept as a plain ``int`` so that tests on it stay
    cheap; ``PingFlag(ping.flags)`` gives the readable form.
    """

    device_key: str
    """What the client sent to name itself: device id, OwnTracks topic or tid, Overland id."""
    recorded_at: datetime
    """When the fix was taken, timezone-aware UTC."""
    lat: float
    lon: float
    speed_mps: float | None = None
    heading_deg: float | None = None
    altitude_m: float | None = None
    accuracy_m: float | None = None
    """Horizontal accuracy radius in metres; ``None`` when the client did not say."""
    battery_pct: float | None = None
    client_ping_id: str | None = None
    flags: int = 0

    def usable_for_events(self) -> bool:
        """Say whether the ping may drive geofence, stop and ETA state."""
        return not self.flags & EVENT_BLOCKING_FLAGS
