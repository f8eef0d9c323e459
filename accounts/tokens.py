"""A short-lived, per-process cache of resolved tokens, so each request skips a lookup.

A token revoked in this process is evicted at once; one revoked in another process stops
working here within ``ttl_s`` seconds.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from accounts.principal import Principal


class TokenCache:
    """Token hash → principal, for at most ``ttl_s`` seconds and never past the token's expiry."""

    def __init__(self, *, ttl_s: float, max_entries: int = 10_000) -> None:
        self._ttl = timedelta(seconds=ttl_s)
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Principal, datetime]] = OrderedDict()

    def get(self, digest: str, moment: datetime) -> Principal | None:
        """The cached principal, if still fresh."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        principal, fresh_until = entry
        if moment >= fresh_until:
            del self._entries[digest]
            return None
        return principal

    def put(
        self, digest: str, principal: Principal, *, expires_at: datetime, moment: datetime
    ) -> None:
        """Remember a principal until the cache period or the token's expiry, whichever is first."""
        if self._ttl <= timedelta(0):
            return
        self._entries[digest] = (principal, min(moment + self._ttl, expires_at))
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def evict(self, digest: str) -> None:
        """Forget a token (it was revoked)."""
        self._entries.pop(digest, None)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
