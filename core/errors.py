"""The domain error family. Each error has a stable code and the HTTP status it maps to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One field that failed a rule: where it is and what is wrong."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"


class DomainError(Exception):
    """A failure a client can act on; rendered by the API as problem+json."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.errors = tuple(errors)
        self.extra = extra or {}


class Unauthenticated(DomainError):
    """No valid credentials."""

    status = 401
    default_code = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    """Authenticated, but not allowed to do this."""

    status = 403
    default_code = "forbidden"
    title = "Forbidden"


class NotFound(DomainError):
    """No such record, or not one the caller is party to."""

    status = 404
    default_code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    """The record changed or was taken first; reload and decide again."""

    status = 409
    default_code = "conflict"
    title = "Conflict"


class InvalidTransition(Conflict):
    """The record's state does not allow this step."""

    default_code = "invalid_transition"
    title = "Invalid state transition"


class RuleViolation(DomainError):
    """Well-formed input that breaks a business rule."""

    status = 422
    default_code = "rule_violation"
    title = "Business rule violated"


class TooManyRequests(DomainError):
    """A rate limit was hit; retry later."""

    status = 429
    default_code = "rate_limited"
    title = "Too many requests"


class Unavailable(DomainError):
    """A dependency (the database, the bus) is down; retry later."""

    status = 503
    default_code = "unavailable"
    title = "Service unavailable"
