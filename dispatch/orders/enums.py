"""Units, who arranges transport, and the states of a sales order."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class QuantityUnit(StrEnum):
    """The base unit every quantity is counted in, as an exact integer.

    Tonnes are kept as kg and cubic metres as litres, so splitting and grabbing never round.
    """

    KG = "kg"
    LITRE = "l"
    PALLET = "pallet"
    PIECE = "piece"


class TransportBy(StrEnum):
    """Who hires the carrier: the buyer in self-pickup trade, else the seller."""

    BUYER = "buyer"
    SELLER = "seller"


class OrderState(StrEnum):
    """Where a sales order stands."""

    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


ORDER_TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = {
    OrderState.OPEN: frozenset({OrderState.COMPLETED, OrderState.CANCELLED}),
    OrderState.COMPLETED: frozenset(),
    OrderState.CANCELLED: frozenset(),
}
