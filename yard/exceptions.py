"""Errors of the yard, each with a stable code."""

from __future__ import annotations

from core.errors import Conflict, InvalidTransition, NotFound, RuleViolation


class PlantNotFound(NotFound):
    """No such plant with yard settings among the caller's sites (or parties)."""

    default_code = "plant_not_found"


class DockNotFound(NotFound):
    """No such dock at the plant."""

    default_code = "dock_not_found"


class AppointmentNotFound(NotFound):
    """No appointment for that delivery the caller may see."""

    default_code = "appointment_not_found"


class VisitNotFound(NotFound):
    """No such visit at the caller's plants."""

    default_code = "visit_not_found"


class BookingRuleBroken(RuleViolation):
    """A booking or reschedule breaks one of the plant's rules (the code says which)."""

    default_code = "booking_rule"


class NoFreeDock(Conflict):
    """No compatible dock is free at that time."""

    default_code = "no_free_dock"


class VisitStateConflict(InvalidTransition):
    """The visit's state does not allow this step."""

    default_code = "invalid_visit_state"


class DockStateConflict(InvalidTransition):
    """The dock's state does not allow this step."""

    default_code = "invalid_dock_state"


class WrongGateCode(RuleViolation):
    """The code scanned is not the one posted at this plant's gate."""

    default_code = "wrong_gate_code"


class PassNotPresented(InvalidTransition):
    """The truck's pass was not verified at the gate, so it cannot be loaded out."""

    default_code = "pass_not_presented"


class ScheduleConflict(Conflict):
    """The day's fixed appointments cannot all stand together; free a dock and retry."""

    default_code = "schedule_conflict"
