"""States of outbound deliveries and delivery plans, and what may follow what.

Every state change is one conditional UPDATE whose WHERE names the states it may leave (the
tables below); zero rows means someone else moved the record first.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class DeliveryState(StrEnum):
    """Where an outbound delivery stands, from the split to the buyer's gate."""

    PLANNED = "planned"  # a truckload of a committed plan, with a planned vehicle
    ASSIGNED = "assigned"  # a driver and a vehicle are confirmed
    AUTHORIZED = "authorized"  # a pickup pass was issued to that driver and vehicle
    SLOTTED = "slotted"  # the plant gave it a loading slot
    AT_PLANT = "at_plant"  # the truck arrived at the plant
    LOADED = "loaded"  # the weighbridge recorded the loaded quantity
    IN_TRANSIT = "in_transit"  # the truck left the plant
    DELIVERED = "delivered"  # the buyer received the goods
    CANCELLED = "cancelled"


DELIVERY_TRANSITIONS: Mapping[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.PLANNED: frozenset({DeliveryState.ASSIGNED, DeliveryState.CANCELLED}),
    # ASSIGNED -> ASSIGNED is a change of driver or vehicle before the pass is issued.
    DeliveryState.ASSIGNED: frozenset(
        {DeliveryState.ASSIGNED, DeliveryState.AUTHORIZED, DeliveryState.CANCELLED}
    ),
    # AUTHORIZED -> ASSIGNED: the pass was withdrawn (to change the driver, say).
    DeliveryState.AUTHORIZED: frozenset(
        {DeliveryState.ASSIGNED, DeliveryState.SLOTTED, DeliveryState.CANCELLED}
    ),
    # SLOTTED -> SLOTTED: a late truck or a no-show was given another slot.
    DeliveryState.SLOTTED: frozenset(
        {DeliveryState.SLOTTED, DeliveryState.AT_PLANT, DeliveryState.CANCELLED}
    ),
    DeliveryState.AT_PLANT: frozenset({DeliveryState.LOADED, DeliveryState.CANCELLED}),
    DeliveryState.LOADED: frozenset({DeliveryState.IN_TRANSIT}),
    DeliveryState.IN_TRANSIT: frozenset({DeliveryState.DELIVERED}),
    DeliveryState.DELIVERED: frozenset(),
    DeliveryState.CANCELLED: frozenset(),
}


def sources_of(target: DeliveryState) -> frozenset[DeliveryState]:
    """The states a delivery may move to ``target`` from."""
    return frozenset(s for s, nexts in DELIVERY_TRANSITIONS.items() if target in nexts)


NOT_LOADED_STATES = frozenset(
    {
        DeliveryState.PLANNED,
        DeliveryState.ASSIGNED,
        DeliveryState.AUTHORIZED,
        DeliveryState.SLOTTED,
        DeliveryState.AT_PLANT,
    }
)
"""States whose planned quantity is still open on the booking's ledger."""

REPLANNABLE_STATES = frozenset(
    {
        DeliveryState.PLANNED,
        DeliveryState.ASSIGNED,
        DeliveryState.AUTHORIZED,
        DeliveryState.SLOTTED,
    }
)
"""Open deliveries a re-plan may replace: the truck is not at the plant yet."""

ACTIVE_STATES = frozenset(DeliveryState) - {DeliveryState.CANCELLED}
"""Deliveries that hold quantity of their booking."""

ON_THE_ROAD_STATES = ACTIVE_STATES - {DeliveryState.DELIVERED}
"""Deliveries a driver still has work on."""


class PlanKind(StrEnum):
    """Whether a plan splits a booking's unplanned quantity or re-splits open deliveries."""

    SPLIT = "split"
    REPLAN = "replan"


class PlanState(StrEnum):
    """Where a delivery plan stands."""

    DRAFT = "draft"  # previewed, editable
    COMMITTED = "committed"  # its deliveries exist
    DISCARDED = "discarded"


PLAN_TRANSITIONS: Mapping[PlanState, frozenset[PlanState]] = {
    PlanState.DRAFT: frozenset({PlanState.DRAFT, PlanState.COMMITTED, PlanState.DISCARDED}),
    PlanState.COMMITTED: frozenset(),
    PlanState.DISCARDED: frozenset(),
}


class NextStep(StrEnum):
    """What the driver does next for a delivery."""

    WAIT_FOR_PASS = "wait_for_pass"  # noqa: S105 - a step, not a secret
    WAIT_FOR_SLOT = "wait_for_slot"
    DRIVE_TO_PLANT = "drive_to_plant"
    LOAD = "load"
    DEPART = "depart"
    DELIVER = "deliver"
    NONE = "none"


NEXT_STEPS: Mapping[DeliveryState, NextStep] = {
    DeliveryState.PLANNED: NextStep.WAIT_FOR_PASS,
    DeliveryState.ASSIGNED: NextStep.WAIT_FOR_PASS,
    DeliveryState.AUTHORIZED: NextStep.WAIT_FOR_SLOT,
    DeliveryState.SLOTTED: NextStep.DRIVE_TO_PLANT,
    DeliveryState.AT_PLANT: NextStep.LOAD,
    DeliveryState.LOADED: NextStep.DEPART,
    DeliveryState.IN_TRANSIT: NextStep.DELIVER,
    DeliveryState.DELIVERED: NextStep.NONE,
    DeliveryState.CANCELLED: NextStep.NONE,
}
