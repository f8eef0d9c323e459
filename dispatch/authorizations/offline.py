"""Pass verification on a gate device that may be offline: a cached JWKS and revocation list.

How a gate app uses it:

1. While online, it fetches the JWKS and keeps it; it refreshes it at least as often as keys
   rotate (a retired key stays published long enough for every pass it signed, so a JWKS that
   is a day old still verifies every pass in force).
2. It keeps a `RevocationList` (persisted with `to_json` / `from_json`) and, whenever it can,
   asks the platform for the entries after `revocations.high_seq`; the answer is a
   `RevocationDelta` that says which range of sequence numbers it covers, and `merge` folds it
   in. Merging is idempotent and order-tolerant, so retries and duplicate answers are harmless.
   A delta that starts after the device's high mark leaves a gap and is refused: ask again.
   `pruned(now)` drops entries of passes that have expired anyway.
3. At the gate it calls `verify_offline` with the scanned token, the plate the clerk or camera
   reads, its own plant id and the device clock. No network is used. The result tells the
   clerk to admit or refuse, with a reason code and, once the signature holds, the claims to
   show (driver name, product, quantity).
4. What a device cannot know alone - the pass was used already, or presented at another gate
   - is settled when it syncs: it reports the passes it admitted and the platform answers
   with the online-only reasons. The app shows how old its revocation list is
   (`synced_at`) so the clerk knows how fresh the check is.

The platform side serves deltas from an append-only table whose sequence numbers are visible
in commit order (allocate them under one lock, or serve only up to the lowest sequence still
in flight), so a device never skips an entry committed late under a lower number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.signing import JwksKeys
from dispatch.authorizations.passes import DEFAULT_LEEWAY_S, PassCheck, verify_pass


class RevocationSyncError(ValueError):
    """A revocation delta that cannot be merged."""


@dataclass(frozen=True)
class RevocationEntry:
    """One revoked pass: its sequence number in the platform's list and when the pass expires."""

    seq: int
    pass_id: str
    expires_at: datetime

    def __post_init__(self) -> None:
        if self.seq <= 0:
            raise RevocationSyncError("sequence numbers start at 1")
        if self.expires_at.tzinfo is None:
            raise RevocationSyncError("expires_at must be timezone-aware")


@dataclass(frozen=True)
class RevocationDelta:
    """The platform's answer to `after=<seq>`: every entry with after < seq <= up_to."""

    after: int
    up_to: int
    entries: tuple[RevocationEntry, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.after <= self.up_to:
            raise RevocationSyncError(f"bad range ({self.after}, {self.up_to}]")
        for entry in self.entries:
            if not self.after < entry.seq <= self.up_to:
                raise RevocationSyncError(
                    f"entry {entry.seq} is outside ({self.after}, {self.up_to}]"
                )


@dataclass(frozen=True)
class RevocationList:
    """The revoked passes a gate device knows of, up to sequence number `high_seq`."""

    high_seq: int = 0
    entries: Mapping[str, RevocationEntry] = field(default_factory=dict)
    synced_at: datetime | None = None

    def __contains__(self, pass_id: object) -> bool:
        return pass_id in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def merge(self, delta: RevocationDelta, *, synced_at: datetime | None = None) -> RevocationList:
        """Return the list with `delta` folded in; refuses a delta that would leave a gap."""
        if delta.after > self.high_seq:
            raise RevocationSyncError(
                f"delta starts after {delta.after} but this list has only {self.high_seq}:"
                f" ask for after={self.high_seq}"
            )
        merged = dict(self.entries)
        for entry in delta.entries:
            known = merged.get(entry.pass_id)
            # A pass revoked twice keeps its first entry, so merging in any order agrees.
            if known is None or entry.seq < known.seq:
                merged[entry.pass_id] = entry
        return RevocationList(
            high_seq=max(self.high_seq, delta.up_to),
            entries=merged,
            synced_at=synced_at or self.synced_at,
        )

    def pruned(self, *, now: datetime, leeway_s: float = DEFAULT_LEEWAY_S) -> RevocationList:
        """Return the list without entries of passes that have expired (beyond the leeway)."""
        horizon = now - timedelta(seconds=leeway_s)
        kept = {pid: e for pid, e in self.entries.items() if e.expires_at > horizon}
        return RevocationList(high_seq=self.high_seq, entries=kept, synced_at=self.synced_at)

    def to_json(self) -> str:
        """Serialize for the device's storage."""
        return json.dumps(
            {
                "high_seq": self.high_seq,
                "synced_at": self.synced_at.isoformat() if self.synced_at else None,
                "entries": [
                    [e.seq, e.pass_id, e.expires_at.isoformat()]
                    for e in sorted(self.entries.values(), key=lambda e: e.seq)
                ],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> RevocationList:
        """Read a list written by `to_json`."""
        try:
            data = json.loads(text)
            entries = [
                RevocationEntry(
                    seq=int(seq), pass_id=str(pid), expires_at=datetime.fromisoformat(exp)
                )
                for seq, pid, exp in data["entries"]
            ]
            synced_at = datetime.fromisoformat(data["synced_at"]) if data["synced_at"] else None
            return cls(
                high_seq=int(data["high_seq"]),
                entries={e.pass_id: e for e in entries},
                synced_at=synced_at,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise RevocationSyncError(f"cannot read revocation list: {error}") from error


def verify_offline(
    token: str,
    *,
    jwks: Mapping[str, Any] | JwksKeys,
    revocations: RevocationList | Iterable[str],
    plate_seen: str,
    plant_id: str,
    now: datetime,
    leeway_s: float = DEFAULT_LEEWAY_S,
) -> PassCheck:
    """Verify a pass with nothing but a cached JWKS and revocation list: no network."""
    keys = jwks if isinstance(jwks, JwksKeys) else JwksKeys.from_document(jwks)
    revoked = revocations if isinstance(revocations, RevocationList) else frozenset(revocations)
    return verify_pass(
        token,
        keys=keys,
        revoked=revoked,
        plate_seen=plate_seen,
        plant_id=plant_id,
        now=now,
        leeway_s=leeway_s,
    )
