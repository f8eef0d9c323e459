"""Every query of pickup grants, passes and the plants' revocation lists.

Quantities and states change by conditional UPDATEs (``… WHERE … RETURNING``): zero rows
means the hop or the pass was not in a state (or did not hold the quantity) for the change.
Every write to a chain first takes its order hop's row lock (`lock_chain`), so writers of one
chain queue up in one order and never deadlock; SQLite serializes writers anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organization, Site
from core.sql import table_of, upsert
from dispatch.authorizations.enums import (
    HOLDING_GRANT_STATES,
    ORPHANING_DELIVERY_STATES,
    GrantLevel,
    GrantStatus,
    PassState,
)
from dispatch.authorizations.models import (
    PassRevocation,
    PassRevocationHead,
    PickupGrant,
    PickupPass,
)
from dispatch.deliveries.models import OutboundDelivery
from dispatch.orders.models import SalesOrder

_FRESH = {"populate_existing": True}


def _values(states: Iterable[Any]) -> list[str]:
    return [str(getattr(s, "value", s)) for s in states]


async def grant(session: AsyncSession, grant_id: uuid.UUID) -> PickupGrant | None:
    """A hop by id, read fresh."""
    statement = (
        select(PickupGrant).where(col(PickupGrant.id) == grant_id).execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def chain_tree(session: AsyncSession, root_id: uuid.UUID) -> Sequence[PickupGrant]:
    """Every hop of a chain (the order hop and all below it), read fresh, oldest first."""
    statement = (
        select(PickupGrant)
        .where(col(PickupGrant.root_id) == root_id)
        .order_by(col(PickupGrant.id))
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def path_to(session: AsyncSession, leaf: PickupGrant) -> list[PickupGrant]:
    """The hops from the order hop down to ``leaf``, read fresh."""
    hops = [leaf]
    while hops[0].parent_id is not None:
        parent = await grant(session, hops[0].parent_id)
        if parent is None:
            break
        hops.insert(0, parent)
    return hops


async def lock_chain(session: AsyncSession, root_id: uuid.UUID) -> None:
    """Hold the order hop's row until the transaction ends: every writer of the chain does,
    first, so they queue in one order (PostgreSQL; SQLite serializes writers anyway)."""
    statement = select(col(PickupGrant.id)).where(col(PickupGrant.id) == root_id)
    await session.exec(statement.with_for_update())


async def lock_order(session: AsyncSession, order_id: uuid.UUID) -> None:
    """Hold a sales order's row while its order hops are counted and one is added."""
    statement = select(col(SalesOrder.id)).where(col(SalesOrder.id) == order_id)
    await session.exec(statement.with_for_update())


async def granted_on_order(session: AsyncSession, order_id: uuid.UUID) -> int:
    """What the order hops of an order that still hold quantity grant together."""
    statement = select(func.coalesce(func.sum(col(PickupGrant.quantity)), 0)).where(
        col(PickupGrant.order_id) == order_id,
        col(PickupGrant.level) == GrantLevel.ORDER.value,
        col(PickupGrant.status).in_(_values(HOLDING_GRANT_STATES)),
    )
    return int((await session.exec(statement)).one())


async def live_driver_hop(session: AsyncSession, delivery_id: uuid.UUID) -> PickupGrant | None:
    """The delivery's driver hop that is offered or accepted, if any."""
    statement = (
        select(PickupGrant)
        .where(
            col(PickupGrant.delivery_id) == delivery_id,
            col(PickupGrant.status).in_([GrantStatus.OFFERED.value, GrantStatus.ACCEPTED.value]),
        )
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def allot(
    session: AsyncSession, *, parent_id: uuid.UUID, quantity: int, now: datetime
) -> bool:
    """Give ``quantity`` of an accepted, unexpired hop to a new hop below it, if it still
    holds that much; one conditional UPDATE."""
    t = table_of(PickupGrant)
    statement = (
        update(t)
        .where(
            t.c.id == parent_id,
            t.c.status == GrantStatus.ACCEPTED.value,
            t.c.not_after > now,
            t.c.allotted_quantity + quantity <= t.c.quantity,
        )
        .values(allotted_quantity=t.c.allotted_quantity + quantity, updated_at=now)
        .returning(t.c.id)
    )
    return (await session.exec(statement)).first() is not None


async def release(session: AsyncSession, *, grant_id: uuid.UUID, quantity: int) -> None:
    """Give ``quantity`` back to a hop from the hops below it (declined, revoked, loaded less)."""
    if quantity <= 0:
        return
    t = table_of(PickupGrant)
    await session.exec(
        update(t)
        .where(t.c.id == grant_id)
        .values(allotted_quantity=t.c.allotted_quantity - quantity)
    )


async def add_loaded(
    session: AsyncSession, *, grant_ids: Sequence[uuid.UUID], quantity: int, now: datetime
) -> int:
    """Count ``quantity`` as loaded on each hop that has room for it; returns how many did."""
    t = table_of(PickupGrant)
    statement = (
        update(t)
        .where(t.c.id.in_(list(grant_ids)), t.c.loaded_quantity + quantity <= t.c.quantity)
        .values(loaded_quantity=t.c.loaded_quantity + quantity, updated_at=now)
        .returning(t.c.id)
    )
    return len((await session.exec(statement)).all())


async def move_grant(
    session: AsyncSession,
    grant_id: uuid.UUID,
    *,
    from_states: Iterable[GrantStatus],
    values: dict[str, Any],
    version: int | None = None,
) -> PickupGrant | None:
    """Move a hop out of one of ``from_states`` (at ``version``, when given) in one UPDATE."""
    t = table_of(PickupGrant)
    where: list[ColumnElement[bool]] = [t.c.id == grant_id, t.c.status.in_(_values(from_states))]
    if version is not None:
        where.append(t.c.version == version)
    statement = update(t).where(*where).values(**values, version=t.c.version + 1).returning(t.c.id)
    if (await session.exec(statement)).first() is None:
        return None
    return await grant(session, grant_id)


async def move_grants(
    session: AsyncSession,
    grant_ids: Sequence[uuid.UUID],
    *,
    from_states: Iterable[GrantStatus],
    values: dict[str, Any],
) -> list[uuid.UUID]:
    """Move every listed hop still in one of ``from_states``; returns the ids moved."""
    if not grant_ids:
        return []
    t = table_of(PickupGrant)
    statement = (
        update(t)
        .where(t.c.id.in_(list(grant_ids)), t.c.status.in_(_values(from_states)))
        .values(**values, version=t.c.version + 1)
        .returning(t.c.id)
    )
    return [row[0] for row in (await session.exec(statement)).all()]


def party_filter(model: Any, organization_id: uuid.UUID, columns: Sequence[str]) -> Any:
    """Rows where the organization is in any of ``columns``."""
    return or_(*(getattr(model, name) == organization_id for name in columns))


GRANT_PARTY_COLUMNS = ("grantor_id", "grantee_id", "seller_id", "buyer_id", "plant_operator_id")
PASS_PARTY_COLUMNS = ("carrier_id", "seller_id", "buyer_id", "plant_operator_id")


async def grants_for(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    order_id: uuid.UUID | None,
    delivery_id: uuid.UUID | None,
    status: GrantStatus | None,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[PickupGrant]:
    """Hops an organization is party to, newest first."""
    statement = (
        select(PickupGrant)
        .where(party_filter(PickupGrant, organization_id, GRANT_PARTY_COLUMNS))
        .order_by(col(PickupGrant.id).desc())
        .limit(limit)
    )
    if order_id is not None:
        statement = statement.where(col(PickupGrant.order_id) == order_id)
    if delivery_id is not None:
        statement = statement.where(col(PickupGrant.delivery_id) == delivery_id)
    if status is not None:
        statement = statement.where(col(PickupGrant.status) == status.value)
    if before_id is not None:
        statement = statement.where(col(PickupGrant.id) < before_id)
    return (await session.exec(statement)).all()


async def pickup_pass(session: AsyncSession, pass_id: uuid.UUID) -> PickupPass | None:
    """A pass by id, read fresh."""
    statement = select(PickupPass).where(col(PickupPass.id) == pass_id).execution_options(**_FRESH)
    return (await session.exec(statement)).first()


async def live_pass_of(session: AsyncSession, delivery_id: uuid.UUID) -> PickupPass | None:
    """The delivery's pass in force (issued or presented), if any."""
    statement = (
        select(PickupPass)
        .where(
            col(PickupPass.delivery_id) == delivery_id,
            col(PickupPass.state).in_([PassState.ISSUED.value, PassState.PRESENTED.value]),
        )
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def live_passes_of_hops(
    session: AsyncSession, grant_ids: Sequence[uuid.UUID]
) -> Sequence[PickupPass]:
    """The passes in force issued from any of the hops."""
    if not grant_ids:
        return []
    statement = (
        select(PickupPass)
        .where(
            col(PickupPass.grant_id).in_(list(grant_ids)),
            col(PickupPass.state).in_([PassState.ISSUED.value, PassState.PRESENTED.value]),
        )
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def passes_for(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    driver_member_id: uuid.UUID | None,
    delivery_id: uuid.UUID | None,
    state: PassState | None,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[PickupPass]:
    """Passes of deliveries an organization is party to (one driver's, when given)."""
    statement = (
        select(PickupPass)
        .where(party_filter(PickupPass, organization_id, PASS_PARTY_COLUMNS))
        .order_by(col(PickupPass.id).desc())
        .limit(limit)
    )
    if driver_member_id is not None:
        statement = statement.where(col(PickupPass.driver_member_id) == driver_member_id)
    if delivery_id is not None:
        statement = statement.where(col(PickupPass.delivery_id) == delivery_id)
    if state is not None:
        statement = statement.where(col(PickupPass.state) == state.value)
    if before_id is not None:
        statement = statement.where(col(PickupPass.id) < before_id)
    return (await session.exec(statement)).all()


async def move_pass(
    session: AsyncSession,
    pass_id: uuid.UUID,
    *,
    from_states: Iterable[PassState],
    values: dict[str, Any],
    where: Sequence[ColumnElement[bool]] = (),
) -> PickupPass | None:
    """Move a pass out of one of ``from_states`` in one conditional UPDATE."""
    t = table_of(PickupPass)
    statement = (
        update(t)
        .where(t.c.id == pass_id, t.c.state.in_(_values(from_states)), *where)
        .values(**values, version=t.c.version + 1)
        .returning(t.c.id)
    )
    if (await session.exec(statement)).first() is None:
        return None
    return await pickup_pass(session, pass_id)


def pass_column(name: str) -> Any:
    """A column of the passes table, for ``where`` clauses of ``move_pass``."""
    return table_of(PickupPass).c[name]


async def expire_passes(
    session: AsyncSession,
    *,
    before: datetime,
    now: datetime,
    delivery_id: uuid.UUID | None = None,
    limit: int = 500,
) -> Sequence[PickupPass]:
    """Mark issued passes whose expiry is before ``before`` expired; returns them."""
    due = select(col(PickupPass.id)).where(
        col(PickupPass.state) == PassState.ISSUED.value, col(PickupPass.expires_at) < before
    )
    if delivery_id is not None:
        due = due.where(col(PickupPass.delivery_id) == delivery_id)
    ids = list((await session.exec(due.limit(limit))).all())
    if not ids:
        return []
    t = table_of(PickupPass)
    statement = (
        update(t)
        .where(t.c.id.in_(ids), t.c.state == PassState.ISSUED.value)
        .values(
            state=PassState.EXPIRED.value, expired_at=now, updated_at=now, version=t.c.version + 1
        )
        .returning(t.c.id)
    )
    moved = [row[0] for row in (await session.exec(statement)).all()]
    if not moved:
        return []
    fresh = select(PickupPass).where(col(PickupPass.id).in_(moved)).execution_options(**_FRESH)
    return (await session.exec(fresh)).all()


async def orphaned_passes(session: AsyncSession, *, limit: int = 500) -> Sequence[PickupPass]:
    """Passes in force whose delivery no longer expects them: cancelled, moved back to
    assigned (its authorization withdrawn), or given another driver or vehicle."""
    statement = (
        select(PickupPass)
        .join(OutboundDelivery, col(OutboundDelivery.id) == col(PickupPass.delivery_id))
        .where(
            col(PickupPass.state).in_([PassState.ISSUED.value, PassState.PRESENTED.value]),
            or_(
                col(OutboundDelivery.state).in_(_values(ORPHANING_DELIVERY_STATES)),
                col(OutboundDelivery.driver_member_id).is_(None),
                col(OutboundDelivery.driver_member_id) != col(PickupPass.driver_member_id),
                col(OutboundDelivery.vehicle_id) != col(PickupPass.vehicle_id),
            ),
        )
        .limit(limit)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def take_revocation_seq(session: AsyncSession, plant_site_id: uuid.UUID) -> int:
    """The plant's next revocation number; the head's row lock is held until commit, so
    numbers become visible in the order they were taken."""
    table = table_of(PassRevocationHead)
    statement = (
        upsert(session, table)
        .values(plant_site_id=plant_site_id, last_seq=1)
        .on_conflict_do_update(
            index_elements=[table.c.plant_site_id], set_={"last_seq": table.c.last_seq + 1}
        )
        .returning(table.c.last_seq)
    )
    return int((await session.exec(statement)).one()[0])


async def add_revocation(session: AsyncSession, revocation: PassRevocation) -> None:
    """Put a pass on its plant's revocation list (callers check `is_listed` first)."""
    session.add(revocation)
    await session.flush()


async def is_listed(session: AsyncSession, pass_id: uuid.UUID) -> bool:
    """Whether a pass is on its plant's revocation list already."""
    statement = select(col(PassRevocation.seq)).where(col(PassRevocation.pass_id) == pass_id)
    return (await session.exec(statement)).first() is not None


async def revocation_head(session: AsyncSession, plant_site_id: uuid.UUID) -> int:
    """The last revocation number the plant handed out (0 if none)."""
    statement = select(col(PassRevocationHead.last_seq)).where(
        col(PassRevocationHead.plant_site_id) == plant_site_id
    )
    found = (await session.exec(statement)).first()
    return 0 if found is None else int(found)


async def revocations_after(
    session: AsyncSession,
    *,
    plant_site_id: uuid.UUID,
    after: int,
    up_to: int,
    limit: int,
    live_after: datetime,
) -> Sequence[PassRevocation]:
    """A plant's revocation entries with after < seq <= up_to of passes expiring after
    ``live_after`` (the others no gate needs), oldest first."""
    statement = (
        select(PassRevocation)
        .where(
            col(PassRevocation.plant_site_id) == plant_site_id,
            col(PassRevocation.seq) > after,
            col(PassRevocation.seq) <= up_to,
            col(PassRevocation.expires_at) > live_after,
        )
        .order_by(col(PassRevocation.seq))
        .limit(limit)
    )
    return (await session.exec(statement)).all()


async def site(session: AsyncSession, site_id: uuid.UUID) -> Site | None:
    """A site by id."""
    return await session.get(Site, site_id)


async def organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
    """An organization by id."""
    return await session.get(Organization, organization_id)


async def order(session: AsyncSession, order_id: uuid.UUID) -> SalesOrder | None:
    """A sales order by id, read fresh."""
    statement = select(SalesOrder).where(col(SalesOrder.id) == order_id).execution_options(**_FRESH)
    return (await session.exec(statement)).first()


async def lock_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    """Hold a delivery's row (after its chain's) while its grant and pass are made, so the
    pass and the delivery's state move together."""
    statement = select(col(OutboundDelivery.id)).where(col(OutboundDelivery.id) == delivery_id)
    await session.exec(statement.with_for_update())
