"""Errors raised by the pure tracking modules."""

from __future__ import annotations

from core.errors import FieldError, RuleViolation


class PayloadError(RuleViolation, ValueError):
    """A ping request body that cannot be read: the whole request is refused.

    ``field`` names the offending field as a path (``pings[3].lat``, ``location.coords``);
    ``index`` is the position of the bad item for batch formats, else ``None``.
    """

    default_code = "payload_invalid"

    def __init__(self, message: str, *, field: str, index: int | None = None) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldError(loc=(field,), msg=message)])
        self.field = field
        self.index = index
        self.reason = message
