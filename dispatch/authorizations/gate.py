"""The gate's side of a pickup pass, for the gate clerk's app and the yard to call.

    verify_at_gate  judge a scanned pass with the plate seen: valid, or a reason code
    present_pass    the same judgement, and a valid pass is marked presented (checked in)
    consume_pass    end of loading: the pass is used up with the loaded quantity
    revocations     a plant's revocation list after a sequence number (gates offline)

Online, a pass is judged in this order (the first finding wins); steps 1-3 and 7 are what a
gate can decide offline (`offline.verify_offline`), the rest needs the stored pass:

1. shape and header -> malformed
2. key id -> unknown_key
3. signature -> signature_invalid; tampered instead when the signature is the very one the
   platform issued for that pass and only the payload was edited
4. the claims differ from the pass as issued, or its grant chain changed -> tampered; a
   genuine pass of another plant -> wrong_plant, and nothing more is told about it
5. the pass, a hop of its chain, or the delivery's authorization was withdrawn -> revoked
6. stored state: used up -> consumed; checked in already -> already_presented (a second
   truck, or a second scan); expired -> expired
7. validity window, plant, plate -> expired, not_yet_valid, wrong_plant, plate_mismatch

Every judgement is an event: of the delivery when the pass is genuine and for this plant,
otherwise of the gate's plant. A refused presentation is answered, not raised, so its
event is kept.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OPERATORS
from accounts.exceptions import RoleRequired
from accounts.models import Site
from accounts.principal import Principal
from core.clock import now
from core.database import key_ring_of
from core.errors import Conflict, FieldError, RuleViolation
from core.settings import PassSettings
from dispatch.authorizations import repository
from dispatch.authorizations.chain import chain_hash
from dispatch.authorizations.enums import (
    HONOURED_DELIVERY_STATES,
    GrantStatus,
    PassState,
)
from dispatch.authorizations.events import record_on_plant, record_pass
from dispatch.authorizations.exceptions import (
    GrantStateConflict,
    PassNotFound,
    PassRefused,
    PassStateConflict,
    PlantNotFound,
)
from dispatch.authorizations.grants import as_chain_grant
from dispatch.authorizations.models import PassRevocation, PickupGrant, PickupPass
from dispatch.authorizations.passes import (
    PassClaims,
    PassReason,
    normalize_plate,
    verify_pass,
)
from dispatch.authorizations.tokens import (
    claims_digest,
    peek_pass_id,
    signature_segment,
)
from dispatch.authorizations.withdrawal import list_pass
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries.models import OutboundDelivery

REVOCATION_PAGE = 1000


@dataclass(frozen=True)
class GateVerdict:
    """A judgement of a scanned pass: valid when ``reason`` is None.

    ``claims`` are set once the signature held; ``pickup_pass`` when the token is one the
    platform issued; ``delivery`` when the pass is valid (or refused at its own plant).
    """

    reason: PassReason | None
    detail: str
    checked_at: datetime
    claims: PassClaims | None = None
    kid: str | None = None
    pickup_pass: PickupPass | None = field(default=None, repr=False)
    delivery: OutboundDelivery | None = field(default=None, repr=False)

    @property
    def valid(self) -> bool:
        """True when the truck may be admitted and loaded."""
        return self.reason is None

    @property
    def may_load(self) -> int | None:
        """The most that may be loaded on a valid pass, in its unit."""
        if not self.valid or self.pickup_pass is None:
            return None
        return self.pickup_pass.max_quantity


async def gate_plant(
    session: AsyncSession, *, principal: Principal, plant_site_id: uuid.UUID
) -> Site:
    """A plant of the caller's organization, for its gate staff (or a gate device's key)."""
    if principal.role not in OPERATORS:
        raise RoleRequired("only the plant's owner, admins, dispatchers and clerks run its gate")
    site = await repository.site(session, plant_site_id)
    if site is None or site.organization_id != principal.organization_id:
        raise PlantNotFound("no such plant among your sites")
    return site


async def _edited_genuine_pass(session: AsyncSession, token: str) -> PickupPass | None:
    """The stored pass whose signature the token carries over another payload, if any."""
    pass_id = peek_pass_id(token)
    signature = signature_segment(token)
    if pass_id is None or signature is None:
        return None
    stored = await repository.pickup_pass(session, pass_id)
    # Constant-time: a byte-by-byte compare would time out the stored signature bit by bit.
    genuine = None if stored is None else signature_segment(stored.token)
    if stored is None or genuine is None or not _same(genuine, signature):
        return None
    return None if _same(stored.token, token.strip()) else stored


def _same(one: str, other: str) -> bool:
    return hmac.compare_digest(one.encode(), other.encode())


async def _chain(session: AsyncSession, issued: PickupPass) -> list[PickupGrant]:
    leaf = await repository.grant(session, issued.grant_id)
    return [] if leaf is None else await repository.path_to(session, leaf)


def _withdrawn(
    issued: PickupPass, hops: list[PickupGrant], delivery: OutboundDelivery | None
) -> str | None:
    """Why a pass is no longer in force, if it is not: the pass, a hop, or the delivery."""
    if issued.state is PassState.REVOKED:
        return f"the pass was revoked: {issued.revoke_reason or 'no reason given'}"
    for hop in hops:
        if hop.status in (GrantStatus.REVOKED, GrantStatus.DECLINED):
            return f"grant {hop.id} in its chain is {hop.status.value}"
    if issued.state is not PassState.ISSUED:
        return None
    if delivery is None or delivery.state not in HONOURED_DELIVERY_STATES:
        state = "gone" if delivery is None else delivery.state.value
        return f"the delivery no longer expects this pass (it is {state})"
    if (
        delivery.driver_member_id != issued.driver_member_id
        or delivery.vehicle_id != issued.vehicle_id
    ):
        return "the delivery has another driver or vehicle now"
    return None


async def judge(
    session: AsyncSession,
    *,
    token: str,
    plate_seen: str,
    plant: Site,
    moment: datetime,
    policy: PassSettings,
) -> GateVerdict:
    """Judge a scanned pass against the stored state, without writing anything."""
    check = verify_pass(
        token,
        keys=key_ring_of(session),
        revoked=(),
        plate_seen=plate_seen,
        plant_id=str(plant.id),
        now=moment,
        leeway_s=policy.leeway_s,
    )
    if check.claims is None:
        assert check.reason is not None
        if check.reason is PassReason.SIGNATURE_INVALID:
            edited = await _edited_genuine_pass(session, token)
            if edited is not None:
                return GateVerdict(
                    reason=PassReason.TAMPERED,
                    detail=f"pass {edited.id} was changed after it was signed",
                    checked_at=moment,
                    kid=check.kid,
                    pickup_pass=edited if edited.plant_site_id == plant.id else None,
                )
        return GateVerdict(
            reason=check.reason, detail=check.detail, checked_at=moment, kid=check.kid
        )
    claims = check.claims
    try:
        issued = await repository.pickup_pass(session, uuid.UUID(claims.pass_id))
    except ValueError:
        issued = None

    def refused(reason: PassReason, detail: str) -> GateVerdict:
        return GateVerdict(
            reason=reason,
            detail=detail,
            checked_at=moment,
            claims=claims,
            kid=check.kid,
            pickup_pass=issued,
        )

    if issued is None or issued.claims_digest != claims_digest(claims):
        return refused(PassReason.TAMPERED, "the pass differs from the one the platform issued")
    hops = await _chain(session, issued)
    if not hops or chain_hash([as_chain_grant(hop) for hop in hops]) != claims.chain_hash:
        return refused(PassReason.TAMPERED, "the grant chain differs from the one it was issued on")
    if issued.plant_site_id != plant.id:
        # Another plant's pass: what became of it is none of this gate's business.
        return GateVerdict(
            reason=PassReason.WRONG_PLANT,
            detail=f"issued for plant {claims.plant_id}",
            checked_at=moment,
            claims=claims,
            kid=check.kid,
        )
    delivery = await deliveries.delivery(session, issued.delivery_id)
    withdrawn = _withdrawn(issued, hops, delivery)
    if withdrawn is not None:
        return refused(PassReason.REVOKED, withdrawn)
    if issued.state is PassState.CONSUMED:
        return refused(PassReason.CONSUMED, f"used at {_at(issued.consumed_at)}")
    if issued.state is PassState.PRESENTED:
        return refused(
            PassReason.ALREADY_PRESENTED,
            f"checked in at {_at(issued.presented_at)} by {issued.presented_plate}",
        )
    if issued.state is PassState.EXPIRED:
        return refused(PassReason.EXPIRED, f"expired at {issued.expires_at.isoformat()}")
    if check.reason is not None:
        return refused(check.reason, check.detail)
    return GateVerdict(
        reason=None,
        detail="admit",
        checked_at=moment,
        claims=claims,
        kid=check.kid,
        pickup_pass=issued,
        delivery=delivery,
    )


def _at(moment: datetime | None) -> str:
    return "an unknown time" if moment is None else moment.isoformat()


async def _record(
    session: AsyncSession,
    verdict: GateVerdict,
    *,
    kind: str,
    principal: Principal,
    plant: Site,
    plate_seen: str,
    token: str,
) -> None:
    payload = {
        "valid": verdict.valid,
        "reason": None if verdict.reason is None else verdict.reason.value,
        "detail": verdict.detail,
        "plate_seen": plate_seen,
        "plant_site_id": str(plant.id),
        "checked_at": verdict.checked_at.isoformat(),
    }
    issued = verdict.pickup_pass
    if issued is not None and issued.plant_site_id == plant.id:
        await record_pass(session, issued, kind, payload, actor=principal.actor)
        return
    claimed = verdict.claims.pass_id if verdict.claims is not None else peek_pass_id(token)
    await record_on_plant(
        session,
        plant_site_id=plant.id,
        operator_id=principal.organization_id,
        kind="pass.refused",
        payload={**payload, "claimed_pass_id": None if claimed is None else str(claimed)},
        actor=principal.actor,
    )


async def verify_at_gate(
    session: AsyncSession,
    *,
    principal: Principal,
    token: str,
    plate_seen: str,
    plant_site_id: uuid.UUID,
    policy: PassSettings | None = None,
) -> GateVerdict:
    """Judge a scanned pass at a plant's gate with the plate seen, and record the verdict.

    Changes nothing but the log: to check a truck in, call `present_pass`.
    """
    policy = policy or PassSettings()
    plant = await gate_plant(session, principal=principal, plant_site_id=plant_site_id)
    verdict = await judge(
        session, token=token, plate_seen=plate_seen, plant=plant, moment=now(), policy=policy
    )
    await _record(
        session,
        verdict,
        kind="pass.verified",
        principal=principal,
        plant=plant,
        plate_seen=plate_seen,
        token=token,
    )
    return verdict


async def present_pass(
    session: AsyncSession,
    *,
    principal: Principal,
    token: str,
    plate_seen: str,
    plant_site_id: uuid.UUID,
    seen_at: datetime | None = None,
    policy: PassSettings | None = None,
) -> GateVerdict:
    """Check a truck in on its pass: judged as `verify_at_gate` does, and a valid pass is
    marked presented, once (a second presentation, by any truck, is already_presented).

    ``seen_at`` is when a gate that was offline admitted the truck; the pass is judged at
    that moment. The verdict is returned either way, and recorded.
    """
    policy = policy or PassSettings()
    plant = await gate_plant(session, principal=principal, plant_site_id=plant_site_id)
    moment = now()
    seen = seen_at or moment
    if seen > moment + timedelta(seconds=policy.leeway_s):
        raise RuleViolation(
            "seen_at is in the future",
            code="seen_at_in_future",
            errors=[FieldError(("body", "seen_at"), "in the future")],
        )
    if seen < moment - timedelta(seconds=policy.max_lifetime_s):
        raise RuleViolation(
            "seen_at is older than any pass lives",
            code="seen_at_too_old",
            errors=[FieldError(("body", "seen_at"), "too old")],
        )
    verdict = await judge(
        session, token=token, plate_seen=plate_seen, plant=plant, moment=seen, policy=policy
    )
    if verdict.valid and verdict.pickup_pass is not None:
        moved = await repository.move_pass(
            session,
            verdict.pickup_pass.id,
            from_states=(PassState.ISSUED,),
            values={
                "state": PassState.PRESENTED.value,
                "presented_at": seen,
                "presented_plate": normalize_plate(plate_seen),
                "presented_by": principal.actor,
                "updated_at": moment,
            },
        )
        if moved is None:
            # Another gate (or a second truck) won the presentation: judge again.
            verdict = await judge(
                session, token=token, plate_seen=plate_seen, plant=plant, moment=seen, policy=policy
            )
        else:
            verdict = GateVerdict(
                reason=None,
                detail="admitted",
                checked_at=verdict.checked_at,
                claims=verdict.claims,
                kid=verdict.kid,
                pickup_pass=moved,
                delivery=verdict.delivery,
            )
    kind = "pass.presented" if verdict.valid else "pass.presentation_refused"
    await _record(
        session,
        verdict,
        kind=kind,
        principal=principal,
        plant=plant,
        plate_seen=plate_seen,
        token=token,
    )
    return verdict


_STATE_CODES = {
    PassState.CONSUMED: PassReason.CONSUMED.value,
    PassState.REVOKED: PassReason.REVOKED.value,
    PassState.EXPIRED: PassReason.EXPIRED.value,
    PassState.ISSUED: "not_presented",
}


async def consume_pass(
    session: AsyncSession, *, principal: Principal, pass_id: uuid.UUID, loaded_quantity: int
) -> PickupPass:
    """End of loading at the plant: use the presented pass up with the loaded quantity (at
    most its maximum) and count it as loaded on every hop of its chain.

    The driver hop is used; what it was granted beyond the loaded quantity goes back to the
    hop above. The pass goes on the plant's revocation list, so an offline gate refuses it
    too. The yard moves the delivery itself (`dispatch.deliveries.transitions.load`).
    """
    if principal.role not in OPERATORS:
        raise RoleRequired("only the plant's gate and weighbridge staff end a loading")
    issued = await repository.pickup_pass(session, pass_id)
    if issued is None or issued.plant_operator_id != principal.organization_id:
        raise PassNotFound("no such pass at your plants")
    if loaded_quantity <= 0:
        raise RuleViolation(
            "the loaded quantity must be positive",
            code="validation_failed",
            errors=[FieldError(("body", "loaded_quantity"), "must be positive")],
        )
    moment = now()
    await repository.lock_chain(session, issued.root_id)
    moved = await repository.move_pass(
        session,
        issued.id,
        from_states=(PassState.PRESENTED,),
        where=[repository.pass_column("max_quantity") >= loaded_quantity],
        values={
            "state": PassState.CONSUMED.value,
            "loaded_quantity": loaded_quantity,
            "consumed_at": moment,
            "updated_at": moment,
        },
    )
    if moved is None:
        current = await repository.pickup_pass(session, issued.id)
        assert current is not None
        if current.state is PassState.PRESENTED:
            raise PassRefused(
                f"loaded {loaded_quantity} {current.unit.value}; the pass allows at most "
                f"{current.max_quantity}",
                code=PassReason.QUANTITY_EXCEEDED.value,
                errors=[FieldError(("body", "loaded_quantity"), "more than the pass allows")],
                extra={"max_quantity": current.max_quantity},
            )
        raise PassStateConflict(
            f"the pass is {current.state.value}", code=_STATE_CODES[current.state]
        )
    leaf = await repository.move_grant(
        session,
        moved.grant_id,
        from_states=(GrantStatus.ACCEPTED,),
        values={
            "status": GrantStatus.USED.value,
            "loaded_quantity": loaded_quantity,
            "updated_at": moment,
        },
    )
    if leaf is None:
        raise GrantStateConflict("the pass's driver grant is no longer in force")
    above = (await repository.path_to(session, leaf))[:-1]
    counted = await repository.add_loaded(
        session, grant_ids=[hop.id for hop in above], quantity=loaded_quantity, now=moment
    )
    if counted != len(above):
        raise Conflict("a grant above the pass has no room for the loaded quantity")
    if leaf.parent_id is not None:
        await repository.release(
            session, grant_id=leaf.parent_id, quantity=leaf.quantity - loaded_quantity
        )
    await list_pass(session, moved, now=moment)
    await record_pass(
        session,
        moved,
        "pass.consumed",
        {"loaded_quantity": loaded_quantity, "consumed_at": moment.isoformat()},
        actor=principal.actor,
    )
    return moved


@dataclass(frozen=True)
class RevocationPage:
    """A plant's revocation entries with after < seq <= up_to (expired ones left out)."""

    plant_site_id: uuid.UUID
    after: int
    up_to: int
    entries: tuple[PassRevocation, ...]
    synced_at: datetime


async def revocations(
    session: AsyncSession,
    *,
    principal: Principal,
    plant_site_id: uuid.UUID,
    after: int = 0,
    limit: int = REVOCATION_PAGE,
    policy: PassSettings | None = None,
) -> RevocationPage:
    """The passes a plant's gates must refuse, numbered after ``after``, for a gate device's
    incremental sync; entries of passes that have expired anyway are left out."""
    policy = policy or PassSettings()
    plant = await gate_plant(session, principal=principal, plant_site_id=plant_site_id)
    moment = now()
    head = await repository.revocation_head(session, plant.id)
    if after > head:
        raise RuleViolation(
            f"the plant's list ends at {head}: sync again from 0",
            code="after_beyond_head",
            errors=[FieldError(("query", "after"), "beyond the list's end")],
            extra={"head": head},
        )
    found = await repository.revocations_after(
        session,
        plant_site_id=plant.id,
        after=after,
        up_to=head,
        limit=limit,
        live_after=moment - timedelta(seconds=policy.leeway_s),
    )
    up_to = found[-1].seq if len(found) == limit else head
    return RevocationPage(
        plant_site_id=plant.id, after=after, up_to=up_to, entries=tuple(found), synced_at=moment
    )
