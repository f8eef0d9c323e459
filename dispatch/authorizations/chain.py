"""Pure rules of the pickup grant chain: buyer -> carrier (-> subcontractor) -> driver and vehicle.

Each hop is a `Grant` from the holder of the parent grant to the next party. A hop may grant
no more quantity than its parent still holds, no wider validity window, and reaches another
carrier only when the parent allows subcontracting (to any carrier, or to listed ones). The
leaf hop names a driver and vehicle of the carrier holding it; a pass is issued from a leaf.

Quantities are all in the order's unit. Revocation cascades: a revoked (or declined) hop
invalidates every hop below it (`hops_below` finds them, so the service can revoke them and
their passes in the same transaction).

The chain hash binds a pass to the exact hops it hangs from: each hop's digest covers its
parent's digest and its own terms (ids, parties, quantity, window, subcontracting terms), so
changing any hop above a pass changes the hash the pass carries. Status is not hashed:
revocation is its own check and its own reason code.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from dispatch.authorizations.passes import PassClaims, normalize_plate

CHAIN_HASH_VERSION = "haulpoint.grant-chain.v1"
# 128 bits resist second preimages far beyond any attacker, and the pass travels in a QR code.
CHAIN_HASH_BYTES = 16


class GrantStatus(StrEnum):
    """Where a hop stands; only an accepted hop can be passed on or back a pass."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    USED = "used"


# Revocable until used; declined, revoked and used are final.
GRANT_TRANSITIONS: Mapping[GrantStatus, frozenset[GrantStatus]] = {
    GrantStatus.OFFERED: frozenset(
        {GrantStatus.ACCEPTED, GrantStatus.DECLINED, GrantStatus.REVOKED}
    ),
    GrantStatus.ACCEPTED: frozenset({GrantStatus.REVOKED, GrantStatus.USED}),
    GrantStatus.DECLINED: frozenset(),
    GrantStatus.REVOKED: frozenset(),
    GrantStatus.USED: frozenset(),
}
# Hops that hold quantity away from their parent; declined and revoked ones give it back.
_HOLDING = frozenset({GrantStatus.OFFERED, GrantStatus.ACCEPTED, GrantStatus.USED})


class ChainReason(StrEnum):
    """Why a grant or a chain is refused."""

    QUANTITY_EXCEEDS_PARENT = "quantity_exceeds_parent"
    VALIDITY_EXCEEDS_PARENT = "validity_exceeds_parent"
    SUBCONTRACTING_NOT_ALLOWED = "subcontracting_not_allowed"
    CARRIER_NOT_ALLOWED = "carrier_not_allowed"
    DRIVER_NOT_OWN = "driver_not_own"
    LEAF_CANNOT_GRANT = "leaf_cannot_grant"
    NOT_HOLDER = "not_holder"
    PARENT_NOT_ACCEPTED = "parent_not_accepted"
    GRANT_REVOKED = "grant_revoked"
    GRANT_NOT_ACCEPTED = "grant_not_accepted"
    GRANT_EXPIRED = "grant_expired"
    GRANT_NOT_YET_VALID = "grant_not_yet_valid"
    NOT_A_LEAF = "not_a_leaf"
    BROKEN_CHAIN = "broken_chain"
    INVALID_GRANT = "invalid_grant"
    INVALID_TRANSITION = "invalid_transition"


class ChainViolation(ValueError):
    """A grant-chain rule was broken; `reason` is the stable code, `grant_id` the hop at fault."""

    def __init__(self, reason: ChainReason, detail: str, *, grant_id: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.grant_id = grant_id


@dataclass(frozen=True)
class Grant:
    """One hop of the chain, from the org holding the parent grant to the next party.

    The root hop (no parent) is the buyer's grant to a carrier. A hop to another carrier has
    no driver; the leaf names `driver_id` and `vehicle_plate` of the grantee carrier.
    `allowed_carrier_ids` empty with `may_subcontract` means any carrier.
    """

    grant_id: str
    parent_id: str | None
    grantor_org_id: str
    grantee_org_id: str
    quantity: Decimal
    not_before: datetime
    not_after: datetime
    status: GrantStatus = GrantStatus.OFFERED
    may_subcontract: bool = False
    allowed_carrier_ids: frozenset[str] = field(default_factory=frozenset)
    driver_id: str | None = None
    vehicle_plate: str | None = None

    def __post_init__(self) -> None:
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise ChainViolation(
                ChainReason.INVALID_GRANT, "quantity must be positive", grant_id=self.grant_id
            )
        if self.not_before.tzinfo is None or self.not_after.tzinfo is None:
            raise ChainViolation(
                ChainReason.INVALID_GRANT, "times must be timezone-aware", grant_id=self.grant_id
            )
        if self.not_after <= self.not_before:
            raise ChainViolation(
                ChainReason.INVALID_GRANT,
                "not_after must be after not_before",
                grant_id=self.grant_id,
            )
        if (self.driver_id is None) != (self.vehicle_plate is None):
            raise ChainViolation(
                ChainReason.INVALID_GRANT,
                "a driver hop names both the driver and the vehicle",
                grant_id=self.grant_id,
            )
        object.__setattr__(self, "allowed_carrier_ids", frozenset(self.allowed_carrier_ids))
        if self.vehicle_plate is not None:
            object.__setattr__(self, "vehicle_plate", normalize_plate(self.vehicle_plate))

    @property
    def is_leaf(self) -> bool:
        """True for a hop to a driver and vehicle, the only kind a pass is issued from."""
        return self.driver_id is not None


def check_transition(current: GrantStatus, new: GrantStatus) -> None:
    """Raise unless a hop may move from `current` to `new`."""
    if new not in GRANT_TRANSITIONS[current]:
        raise ChainViolation(
            ChainReason.INVALID_TRANSITION, f"a {current.value} grant cannot become {new.value}"
        )


def held_quantity(parent: Grant, children: Iterable[Grant]) -> Decimal:
    """Return what `parent` still holds: its quantity less what live children took from it."""
    given = sum(
        (c.quantity for c in children if c.parent_id == parent.grant_id and c.status in _HOLDING),
        Decimal(0),
    )
    return parent.quantity - given


def _check_terms(child: Grant, parent: Grant) -> None:
    """The rules a hop must keep against its parent whatever else the parent gave away."""
    if child.parent_id != parent.grant_id:
        raise ChainViolation(
            ChainReason.BROKEN_CHAIN,
            f"{child.grant_id} hangs from {child.parent_id}, not {parent.grant_id}",
            grant_id=child.grant_id,
        )
    if parent.is_leaf:
        raise ChainViolation(
            ChainReason.LEAF_CANNOT_GRANT,
            "a driver hop cannot be passed on",
            grant_id=child.grant_id,
        )
    if child.grantor_org_id != parent.grantee_org_id:
        raise ChainViolation(
            ChainReason.NOT_HOLDER,
            f"only {parent.grantee_org_id} can pass on {parent.grant_id}",
            grant_id=child.grant_id,
        )
    if child.not_before < parent.not_before or child.not_after > parent.not_after:
        raise ChainViolation(
            ChainReason.VALIDITY_EXCEEDS_PARENT,
            f"window must lie within {parent.not_before.isoformat()}"
            f" - {parent.not_after.isoformat()}",
            grant_id=child.grant_id,
        )
    if child.quantity > parent.quantity:
        raise ChainViolation(
            ChainReason.QUANTITY_EXCEEDS_PARENT,
            f"{child.quantity} is more than the {parent.quantity} of {parent.grant_id}",
            grant_id=child.grant_id,
        )
    if child.is_leaf:
        if child.grantee_org_id != child.grantor_org_id:
            raise ChainViolation(
                ChainReason.DRIVER_NOT_OWN,
                "a carrier passes a pickup only to its own drivers",
                grant_id=child.grant_id,
            )
        return
    if not parent.may_subcontract:
        raise ChainViolation(
            ChainReason.SUBCONTRACTING_NOT_ALLOWED,
            f"{parent.grant_id} may not be passed to another carrier",
            grant_id=child.grant_id,
        )
    if parent.allowed_carrier_ids and child.grantee_org_id not in parent.allowed_carrier_ids:
        raise ChainViolation(
            ChainReason.CARRIER_NOT_ALLOWED,
            f"{child.grantee_org_id} is not among the carriers {parent.grant_id} allows",
            grant_id=child.grant_id,
        )


def check_new_grant(proposed: Grant, *, parent: Grant, siblings: Iterable[Grant]) -> None:
    """Raise unless the holder of `parent` may offer `proposed` now; siblings are its children."""
    if parent.status is not GrantStatus.ACCEPTED:
        raise ChainViolation(
            ChainReason.PARENT_NOT_ACCEPTED,
            f"{parent.grant_id} is {parent.status.value}",
            grant_id=parent.grant_id,
        )
    _check_terms(proposed, parent)
    others = [s for s in siblings if s.grant_id != proposed.grant_id]
    still_held = held_quantity(parent, others)
    if proposed.quantity > still_held:
        raise ChainViolation(
            ChainReason.QUANTITY_EXCEEDS_PARENT,
            f"{proposed.quantity} is more than the {still_held} {parent.grant_id} still holds",
            grant_id=proposed.grant_id,
        )


def check_chain(hops: Sequence[Grant], *, now: datetime) -> None:
    """Raise unless `hops` (root to leaf) is an unbroken, accepted, in-force chain to a driver.

    This is what must hold to issue a pass from the leaf, and again when one is presented.
    """
    if not hops:
        raise ChainViolation(ChainReason.BROKEN_CHAIN, "the chain is empty")
    if hops[0].parent_id is not None:
        raise ChainViolation(
            ChainReason.BROKEN_CHAIN,
            f"{hops[0].grant_id} is not a root grant",
            grant_id=hops[0].grant_id,
        )
    # Revocation anywhere wins over every other finding: it is what the gate must hear.
    for hop in hops:
        if hop.status in (GrantStatus.REVOKED, GrantStatus.DECLINED):
            raise ChainViolation(
                ChainReason.GRANT_REVOKED,
                f"{hop.grant_id} is {hop.status.value}; nothing below it holds",
                grant_id=hop.grant_id,
            )
    for hop in hops:
        if hop.status is not GrantStatus.ACCEPTED:
            raise ChainViolation(
                ChainReason.GRANT_NOT_ACCEPTED,
                f"{hop.grant_id} is {hop.status.value}",
                grant_id=hop.grant_id,
            )
    for parent, child in pairwise(hops):
        _check_terms(child, parent)
    leaf = hops[-1]
    if not leaf.is_leaf:
        raise ChainViolation(
            ChainReason.NOT_A_LEAF, "the chain does not end at a driver", grant_id=leaf.grant_id
        )
    if now >= leaf.not_after:
        raise ChainViolation(
            ChainReason.GRANT_EXPIRED,
            f"ended at {leaf.not_after.isoformat()}",
            grant_id=leaf.grant_id,
        )
    if now < leaf.not_before:
        raise ChainViolation(
            ChainReason.GRANT_NOT_YET_VALID,
            f"starts at {leaf.not_before.isoformat()}",
            grant_id=leaf.grant_id,
        )


def hops_below(grant_id: str, grants: Iterable[Grant]) -> frozenset[str]:
    """Return the ids of every hop hanging (directly or not) from `grant_id`."""
    children: dict[str, list[str]] = {}
    for grant in grants:
        if grant.parent_id is not None:
            children.setdefault(grant.parent_id, []).append(grant.grant_id)
    found: set[str] = set()
    stack = list(children.get(grant_id, ()))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, ()))
    return frozenset(found)


def _micros(moment: datetime) -> int:
    # Integer microseconds: no formatting choice (offset, precision) can change the hash.
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def hop_digest(hop: Grant, *, parent_digest: bytes | None) -> bytes:
    """Return the SHA-256 digest of a hop chained onto its parent's digest."""
    terms = [
        CHAIN_HASH_VERSION,
        base64.b64encode(parent_digest).decode("ascii") if parent_digest else None,
        hop.grant_id,
        hop.parent_id,
        hop.grantor_org_id,
        hop.grantee_org_id,
        hop.driver_id,
        hop.vehicle_plate,
        format(hop.quantity.normalize(), "f"),
        _micros(hop.not_before),
        _micros(hop.not_after),
        hop.may_subcontract,
        sorted(hop.allowed_carrier_ids),
    ]
    encoded = json.dumps(terms, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).digest()


def chain_hash(hops: Sequence[Grant]) -> str:
    """Return the chain hash a pass carries: root-to-leaf digests, cut and base64url-encoded."""
    if not hops:
        raise ChainViolation(ChainReason.BROKEN_CHAIN, "the chain is empty")
    digest = hop_digest(hops[0], parent_digest=None)
    for hop in hops[1:]:
        digest = hop_digest(hop, parent_digest=digest)
    return base64.urlsafe_b64encode(digest[:CHAIN_HASH_BYTES]).rstrip(b"=").decode("ascii")


def check_pass_terms(claims: PassClaims, *, leaf: Grant) -> None:
    """Raise unless a pass keeps to its leaf hop: same driver and vehicle, no more, no longer."""
    if not leaf.is_leaf:
        raise ChainViolation(
            ChainReason.NOT_A_LEAF, "a pass is issued from a driver hop", grant_id=leaf.grant_id
        )
    if claims.driver_id != leaf.driver_id or claims.vehicle_plate != leaf.vehicle_plate:
        raise ChainViolation(
            ChainReason.INVALID_GRANT,
            "the pass names another driver or vehicle than its grant",
            grant_id=leaf.grant_id,
        )
    if claims.max_quantity > leaf.quantity:
        raise ChainViolation(
            ChainReason.QUANTITY_EXCEEDS_PARENT,
            f"{claims.max_quantity} is more than the {leaf.quantity} granted",
            grant_id=leaf.grant_id,
        )
    if claims.not_before < leaf.not_before or claims.expires_at > leaf.not_after:
        raise ChainViolation(
            ChainReason.VALIDITY_EXCEEDS_PARENT,
            "the pass is valid outside its grant's window",
            grant_id=leaf.grant_id,
        )
