"""Errors of pickup authorizations, each with a stable code.

Grant-chain refusals carry the pure rules' reason as their code (`ChainReason`), and pass
refusals at loading carry the gate's (`PassReason`), so clients match one vocabulary.
"""

from __future__ import annotations

from core.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, RuleViolation
from dispatch.authorizations.chain import ChainReason, ChainViolation


class GrantNotFound(NotFound):
    """No such grant, or none the caller's organization is party to."""

    default_code = "grant_not_found"


class PassNotFound(NotFound):
    """No such pass, or none the caller may see."""

    default_code = "pass_not_found"


class PlantNotFound(NotFound):
    """No such plant among the caller's organization's sites."""

    default_code = "plant_not_found"


class GrantorOnly(Forbidden):
    """Only the organization that granted a hop may revoke it."""

    default_code = "grantor_only"


class GranteeOnly(Forbidden):
    """Only the organization a hop was granted to may accept, decline or pass it on."""

    default_code = "grantee_only"


class GrantRefused(RuleViolation):
    """A hop breaks a rule of the chain; ``code`` is the `ChainReason`."""

    default_code = "grant_refused"


class GrantStateConflict(InvalidTransition):
    """A hop's state (or its parent's) does not allow the step; ``code`` says which."""

    default_code = "invalid_grant_state"


class DeliveryNotReady(RuleViolation):
    """The delivery has no driver yet, or is past the point a pass can be issued."""

    default_code = "delivery_not_ready"


class DeliveryAlreadyGranted(Conflict):
    """The delivery already has a live driver hop: revoke it to grant another."""

    default_code = "delivery_already_granted"


class PassLive(Conflict):
    """The delivery already has a pass in force."""

    default_code = "pass_live"


class PassRefused(RuleViolation):
    """The pass does not allow what was asked (more than its maximum); ``code`` is the
    `PassReason`."""

    default_code = "pass_refused"


class PassStateConflict(InvalidTransition):
    """The pass's state does not allow the step (consumed, revoked, expired, not presented)."""

    default_code = "invalid_pass_state"


_STATE_REASONS = frozenset(
    {
        ChainReason.PARENT_NOT_ACCEPTED,
        ChainReason.GRANT_REVOKED,
        ChainReason.GRANT_NOT_ACCEPTED,
        ChainReason.INVALID_TRANSITION,
    }
)


def chain_error(violation: ChainViolation) -> DomainError:
    """The domain error for a broken chain rule: 409 for a hop's state, 422 for its terms."""
    kind = GrantStateConflict if violation.reason in _STATE_REASONS else GrantRefused
    extra = {"grant_id": violation.grant_id} if violation.grant_id else None
    return kind(violation.detail, code=violation.reason.value, extra=extra)
