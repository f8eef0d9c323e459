"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import (
    AccessToken,
    Activity,
    Membership,
    Organization,
    Partnership,
    Site,
    User,
)


async def user_by_login(session: AsyncSession, login: str) -> User | None:
    """The user whose email (any case) or phone is ``login``."""
    statement = select(User).where(or_(col(User.email) == login.lower(), col(User.phone) == login))
    return (await session.exec(statement)).first()


async def memberships_of_user(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Membership]:
    """A user's accounts in every organization."""
    statement = select(Membership).where(col(Membership.user_id) == user_id)
    return (await session.exec(statement)).all()


async def member_with_user(
    session: AsyncSession, *, organization_id: uuid.UUID, member_id: uuid.UUID
) -> tuple[Membership, User] | None:
    """One member of an organization and its user, or None (also for other organizations)."""
    statement = (
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Membership.id) == member_id, col(Membership.organization_id) == organization_id)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else (row[0], row[1])


async def members_with_users(
    session: AsyncSession, organization_id: uuid.UUID, *, active: bool | None = None
) -> list[tuple[Membership, User]]:
    """An organization's members with their users, oldest first."""
    statement = (
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Membership.organization_id) == organization_id)
        .order_by(col(Membership.created_at))
    )
    if active is not None:
        statement = statement.where(col(Membership.active) == active)
    return [(row[0], row[1]) for row in (await session.exec(statement)).all()]


async def count_active_owners(session: AsyncSession, organization_id: uuid.UUID) -> int:
    """How many active owner accounts an organization has."""
    statement = select(func.count()).where(
        col(Membership.organization_id) == organization_id,
        col(Membership.role) == "owner",
        col(Membership.active).is_(True),
    )
    return (await session.exec(statement)).one()


async def token_by_hash(
    session: AsyncSession, token_hash: str
) -> tuple[AccessToken, Organization, Membership | None] | None:
    """A token with its organization and membership, by the token's hash."""
    statement = (
        select(AccessToken, Organization, Membership)
        .join(Organization, col(Organization.id) == col(AccessToken.organization_id))
        .outerjoin(Membership, col(Membership.id) == col(AccessToken.membership_id))
        .where(col(AccessToken.token_hash) == token_hash)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else (row[0], row[1], row[2])


async def tokens(
    session: AsyncSession, *, organization_id: uuid.UUID, membership_id: uuid.UUID | None
) -> Sequence[AccessToken]:
    """Tokens of an organization: one member's, or all of them when ``membership_id`` is None."""
    statement = (
        select(AccessToken)
        .where(col(AccessToken.organization_id) == organization_id)
        .order_by(col(AccessToken.created_at).desc())
    )
    if membership_id is not None:
        statement = statement.where(col(AccessToken.membership_id) == membership_id)
    return (await session.exec(statement)).all()


async def revoke_member_tokens(
    session: AsyncSession, membership_id: uuid.UUID, at: datetime
) -> list[str]:
    """Revoke every live token of a member; returns their hashes."""
    statement = (
        update(AccessToken)
        .where(
            col(AccessToken.membership_id) == membership_id, col(AccessToken.revoked_at).is_(None)
        )
        .values(revoked_at=at)
        .returning(col(AccessToken.token_hash))
    )
    return [str(row[0]) for row in (await session.exec(statement)).all()]


async def activities(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    membership_id: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> Sequence[Activity]:
    """An organization's activity, newest first."""
    statement = (
        select(Activity)
        .where(col(Activity.organization_id) == organization_id)
        .order_by(col(Activity.at).desc())
        .limit(limit)
    )
    if membership_id is not None:
        statement = statement.where(col(Activity.membership_id) == membership_id)
    if since is not None:
        statement = statement.where(col(Activity.at) >= since)
    if until is not None:
        statement = statement.where(col(Activity.at) < until)
    return (await session.exec(statement)).all()


async def activity_counts_by_day(
    session: AsyncSession, *, organization_id: uuid.UUID, since: datetime, until: datetime
) -> list[tuple[uuid.UUID, Any, int]]:
    """(member, day, actions) for an organization over a period; days are UTC."""
    day = func.date(col(Activity.at))
    statement = (
        select(col(Activity.membership_id), day, func.count())
        .where(
            col(Activity.organization_id) == organization_id,
            col(Activity.membership_id).is_not(None),
            col(Activity.at) >= since,
            col(Activity.at) < until,
        )
        .group_by(col(Activity.membership_id), day)
    )
    rows = (await session.exec(statement)).all()
    return [(row[0], row[1], int(row[2])) for row in rows if row[0] is not None]


async def last_seen(session: AsyncSession, organization_id: uuid.UUID) -> dict[uuid.UUID, datetime]:
    """When each member of an organization last logged in or wrote something."""
    statement = (
        select(col(Activity.membership_id), func.max(col(Activity.at)))
        .where(
            col(Activity.organization_id) == organization_id,
            col(Activity.membership_id).is_not(None),
        )
        .group_by(col(Activity.membership_id))
    )
    rows = (await session.exec(statement)).all()
    return {row[0]: row[1] for row in rows if row[0] is not None}


async def partnerships(
    session: AsyncSession, organization_id: uuid.UUID
) -> list[tuple[Partnership, Organization]]:
    """An organization's partnerships with the partner organizations."""
    statement = (
        select(Partnership, Organization)
        .join(Organization, col(Organization.id) == col(Partnership.partner_id))
        .where(col(Partnership.organization_id) == organization_id)
        .order_by(col(Partnership.created_at))
    )
    return [(row[0], row[1]) for row in (await session.exec(statement)).all()]


async def sites(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[Site]:
    """An organization's sites, by name."""
    statement = (
        select(Site).where(col(Site.organization_id) == organization_id).order_by(col(Site.name))
    )
    return (await session.exec(statement)).all()
