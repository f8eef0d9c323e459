"""Errors of sales orders, each with a stable code."""

from __future__ import annotations

from core.errors import Conflict, InvalidTransition, NotFound, RuleViolation


class OrderNotFound(NotFound):
    """No such order, or not one the caller is seller or buyer of."""

    default_code = "order_not_found"


class OrderReferenceTaken(Conflict):
    """The seller already has an order with this reference."""

    default_code = "order_reference_taken"


class OrderNotOpen(InvalidTransition):
    """The order is completed or cancelled."""

    default_code = "order_not_open"


class OrderHasLoads(InvalidTransition):
    """Quantity of the order is on the market or booked."""

    default_code = "order_has_loads"


class QuantityExceedsOrder(RuleViolation):
    """More would be offered than the order holds."""

    default_code = "quantity_exceeds_order"


class InvalidSite(RuleViolation):
    """A site that cannot serve as the order's origin or destination."""

    default_code = "invalid_site"


class InvalidImport(RuleViolation):
    """A CSV import with rows that fail validation; nothing was imported."""

    default_code = "invalid_import"
