"""Errors raised by the pure tracking modules."""

from __future__ import annotations


class PayloadError(ValueError):
    """A ping request body that cannot be read: the whole request is refused.

    ``field`` names the offending field as a path (``pings[3].lat``, ``location.coords``);
    ``index`` is the position of the bad item for batch formats, else ``None``. ``code`` and
    ``status`` let the API layer render it as a problem document without a lookup table.
    """

    code = "tracking.payload_invalid"
    status = 422

    def __init__(self, message: str, *, field: str, index: int | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.index = index
        self.reason = message
