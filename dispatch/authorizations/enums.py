"""States of pickup passes, the levels of the grant chain, and which delivery states a pass
may be issued in or honoured in.

A hop's own states (offered, accepted, declined, revoked, used) and their transitions are the
pure rules' `GrantStatus` and `GRANT_TRANSITIONS` in `chain`; they are re-exported here so the
service reads one module.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from dispatch.authorizations.chain import GRANT_TRANSITIONS, GrantStatus
from dispatch.deliveries.enums import DeliveryState

__all__ = [
    "GRANT_TRANSITIONS",
    "HOLDING_GRANT_STATES",
    "HONOURED_DELIVERY_STATES",
    "ISSUABLE_DELIVERY_STATES",
    "LIVE_GRANT_STATES",
    "LIVE_PASS_STATES",
    "ORPHANING_DELIVERY_STATES",
    "PASS_TRANSITIONS",
    "WITHDRAWN_PASS_STATES",
    "GrantLevel",
    "GrantStatus",
    "PassState",
]


class GrantLevel(StrEnum):
    """Where a hop sits in the chain."""

    ORDER = "order"  # the arranger (buyer, or seller in delivered trade) to a carrier
    CARRIER = "carrier"  # a carrier to a subcontracted carrier
    DRIVER = "driver"  # a carrier to its own driver and vehicle, for one delivery


class PassState(StrEnum):
    """Where a pickup pass stands."""

    ISSUED = "issued"
    PRESENTED = "presented"  # checked in at the plant gate
    CONSUMED = "consumed"  # loading ended with the loaded quantity: single use spent
    REVOKED = "revoked"
    EXPIRED = "expired"  # never presented before its expiry


PASS_TRANSITIONS: Mapping[PassState, frozenset[PassState]] = {
    PassState.ISSUED: frozenset({PassState.PRESENTED, PassState.REVOKED, PassState.EXPIRED}),
    # A truck checked in may finish loading after the pass's expiry, so a presented pass does
    # not expire; it can still be revoked (the goods must not leave).
    PassState.PRESENTED: frozenset({PassState.CONSUMED, PassState.REVOKED}),
    PassState.CONSUMED: frozenset(),
    PassState.REVOKED: frozenset(),
    PassState.EXPIRED: frozenset(),
}

LIVE_PASS_STATES = frozenset({PassState.ISSUED, PassState.PRESENTED})
"""Passes that may still be honoured; a delivery has at most one."""

WITHDRAWN_PASS_STATES = frozenset({PassState.REVOKED, PassState.CONSUMED})
"""Passes a gate must refuse before their expiry: they go on the plant's revocation list."""

LIVE_GRANT_STATES = frozenset({GrantStatus.OFFERED, GrantStatus.ACCEPTED})
"""Hops that can still be revoked (and, offered, accepted or declined)."""

HOLDING_GRANT_STATES = frozenset({GrantStatus.OFFERED, GrantStatus.ACCEPTED, GrantStatus.USED})
"""Hops that hold quantity of their parent."""

ISSUABLE_DELIVERY_STATES = frozenset(
    {DeliveryState.ASSIGNED, DeliveryState.AUTHORIZED, DeliveryState.SLOTTED}
)
"""A delivery with a driver and a vehicle, not yet at the plant: a pass may be issued."""

HONOURED_DELIVERY_STATES = frozenset(
    {DeliveryState.AUTHORIZED, DeliveryState.SLOTTED, DeliveryState.AT_PLANT}
)
"""States in which a delivery's pass is honoured at the gate."""

ORPHANING_DELIVERY_STATES = frozenset(
    {DeliveryState.PLANNED, DeliveryState.ASSIGNED, DeliveryState.CANCELLED}
)
"""A delivery back in (or past) these no longer expects its pass: the pass is revoked."""
