"""States of docks, appointments and visits, and how a truck checked in."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class DockState(StrEnum):
    """What a dock is doing now."""

    FREE = "free"
    CALLED = "called"  # a truck was called and is on its way to the dock
    LOADING = "loading"
    BLOCKED = "blocked"  # out of service: no calls, no new appointments


class AppointmentState(StrEnum):
    """Where a delivery's dock appointment stands."""

    BOOKED = "booked"
    ARRIVED = "arrived"  # the truck checked in; its visit carries on from here
    COMPLETED = "completed"  # loaded and gone
    CANCELLED = "cancelled"


ACTIVE_APPOINTMENTS = frozenset({AppointmentState.BOOKED, AppointmentState.ARRIVED})
"""Appointments that hold their dock's time."""


class VisitState(StrEnum):
    """Where a truck at the plant stands."""

    WAITING = "waiting"  # checked in, in the parking area or on the road nearby
    CALLED = "called"  # called forward to a dock, must arrive by the deadline
    AT_DOCK = "at_dock"
    LOADED = "loaded"  # weighed out
    LEFT = "left"
    REFUSED = "refused"  # loading refused, with a reason


VISIT_TRANSITIONS: Mapping[VisitState, frozenset[VisitState]] = {
    VisitState.WAITING: frozenset({VisitState.CALLED, VisitState.REFUSED}),
    # CALLED -> WAITING: the truck did not reach the dock in time and lost the call
    VisitState.CALLED: frozenset({VisitState.AT_DOCK, VisitState.WAITING, VisitState.REFUSED}),
    VisitState.AT_DOCK: frozenset({VisitState.LOADED, VisitState.REFUSED}),
    VisitState.LOADED: frozenset({VisitState.LEFT}),
    VisitState.REFUSED: frozenset({VisitState.LEFT}),
    VisitState.LEFT: frozenset(),
}


def visit_sources(target: VisitState) -> frozenset[VisitState]:
    """The visit states a visit may move to ``target`` from."""
    return frozenset(s for s, nexts in VISIT_TRANSITIONS.items() if target in nexts)


OPEN_VISITS = frozenset(
    {VisitState.WAITING, VisitState.CALLED, VisitState.AT_DOCK, VisitState.LOADED}
)
"""Visits of trucks still at the plant."""


class CheckInSource(StrEnum):
    """How a truck's arrival became known."""

    GEOFENCE = "geofence"
    GATE_CODE = "gate_code"
    CLERK = "clerk"


class BoardColumn(StrEnum):
    """The columns of the gate and yard board."""

    EXPECTED = "expected"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"  # checked in (geofence or gate code), pass not yet verified
    WAITING = "waiting"  # pass verified at the gate, waiting for a call
    CALLED = "called"
    AT_DOCK = "at_dock"
    LOADED = "loaded"
    LEFT = "left"
    REFUSED = "refused"
