"""Who a device is once its credentials check out, and a short-lived cache of that answer.

A device revoked or rotated in this process is evicted at once; one revoked in another
process stops working here within the cache's ``ttl_s``.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """An authenticated device: what ingest needs to store and fan out its pings."""

    id: uuid.UUID
    number: int
    organization_id: uuid.UUID

    @property
    def key(self) -> str:
        """The device's key in the quality tracks and rate limits."""
        return str(self.number)


class DeviceCache:
    """Credential hash to device identity, each entry trusted for at most ``ttl_s`` seconds."""

    def __init__(self, *, ttl_s: float, max_entries: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[DeviceIdentity, float]] = OrderedDict()

    def get(self, digest: str) -> DeviceIdentity | None:
        """The cached identity, if still fresh."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if time.monotonic() >= entry[1]:
            del self._entries[digest]
            return None
        return entry[0]

    def put(self, digest: str, identity: DeviceIdentity) -> None:
        """Remember an identity for the cache period."""
        if self.ttl_s <= 0:
            return
        self._entries[digest] = (identity, time.monotonic() + self.ttl_s)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def evict_device(self, device_id: uuid.UUID) -> None:
        """Forget every credential of a device (it was revoked or its secrets rotated)."""
        stale = [key for key, (identity, _) in self._entries.items() if identity.id == device_id]
        for key in stale:
            del self._entries[key]

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
