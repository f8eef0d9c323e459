"""Errors of outbound deliveries and their plans, each with a stable code."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidTransition, NotFound, RuleViolation


class DeliveryNotFound(NotFound):
    """No such delivery, or not one the caller is party to."""

    default_code = "delivery_not_found"


class PlanNotFound(NotFound):
    """No such plan in the caller's organization."""

    default_code = "plan_not_found"


class CarrierOnly(Forbidden):
    """Only the booking's carrier plans, assigns and re-plans its deliveries."""

    default_code = "carrier_only"


class BookingNotPlannable(InvalidTransition):
    """The booking is not confirmed (or picked up), so no delivery can be planned on it."""

    default_code = "booking_not_plannable"


class DeliveryStateConflict(InvalidTransition):
    """The delivery's state does not allow this step."""

    default_code = "invalid_delivery_state"


class PlanNotDraft(InvalidTransition):
    """The plan was committed or discarded already."""

    default_code = "plan_not_draft"


class BookingOvercommitted(Conflict):
    """The booking has less unplanned quantity than the plan carries (another plan won)."""

    default_code = "booking_overcommitted"


class ReplacedDeliveryMoved(Conflict):
    """A delivery the re-plan replaces moved on (or changed) since the preview."""

    default_code = "replaced_delivery_moved"


class PlanInvalid(RuleViolation):
    """A plan or an edit breaks a rule of the split: the violations are listed."""

    default_code = "plan_invalid"


class NothingToPlan(RuleViolation):
    """Every unit of the booking is already on a delivery."""

    default_code = "nothing_to_plan"


class PlanInputInvalid(RuleViolation):
    """The preview's choices cannot be planned (a vehicle not in the fleet, no density)."""

    default_code = "plan_input_invalid"


class NoSplit(RuleViolation):
    """The planner found no valid split: the reason says why."""

    default_code = "no_split"


class AssignmentRefused(RuleViolation):
    """The driver or the vehicle may not take this delivery: ``code`` says why."""

    default_code = "assignment_refused"


class LoadedOverPlanned(RuleViolation):
    """The weighbridge quantity is above the planned quantity (the pass's maximum)."""

    default_code = "loaded_over_planned"
