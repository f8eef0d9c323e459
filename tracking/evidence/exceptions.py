"""Errors of receipts, evidence files and disputes, each with a stable code."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidTransition, NotFound, RuleViolation


class ReceiptNotFound(NotFound):
    """The delivery has no receipt yet, or the caller is not party to it."""

    default_code = "receipt_not_found"


class ReceiptExists(Conflict):
    """The delivery already has a receipt."""

    default_code = "receipt_exists"


class ReceiverOnly(Forbidden):
    """Only the buyer or the carrier records what arrived at the delivery point."""

    default_code = "receiver_only"


class ReceiptInvalid(RuleViolation):
    """The receipt contradicts itself or the delivery (a unit, a time order, a file)."""

    default_code = "receipt_invalid"


class EvidenceFileNotFound(NotFound):
    """No such file on the delivery, or the caller is not party to it."""

    default_code = "evidence_file_not_found"


class DisputeNotFound(NotFound):
    """No such dispute, or the caller is not party to its delivery."""

    default_code = "dispute_not_found"


class DisputeClosed(InvalidTransition):
    """The dispute was resolved already."""

    default_code = "dispute_closed"


class DisputeOpenAlready(Conflict):
    """The delivery has an open dispute: add a statement to it instead."""

    default_code = "dispute_open"


class TradingPartyOnly(Forbidden):
    """Only the seller, the buyer or the carrier takes part in a dispute."""

    default_code = "trading_party_only"


class ResolverOnly(Forbidden):
    """Only the seller or the buyer resolves a dispute."""

    default_code = "resolver_only"
