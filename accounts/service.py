"""Use cases of the accounts domain: sign-up, login, tokens, child accounts, reports."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts import repository
from accounts.credentials import hash_password, new_token, token_hash, verify_password
from accounts.enums import ALL_SCOPES, MANAGERS, OPERATORS, OrgKind, Role, Scope, TokenKind
from accounts.exceptions import (
    InvalidCredentials,
    InvalidToken,
    LastOwner,
    MemberInactive,
    MemberNotFound,
    RoleRequired,
    StaleVersion,
)
from accounts.models import (
    AccessToken,
    Activity,
    Membership,
    Organization,
    Partnership,
    Site,
    User,
)
from accounts.principal import Principal
from accounts.schemas import (
    ActivityReport,
    ApiKeyCreate,
    MemberActivity,
    MemberCreate,
    MemberUpdate,
    OrganizationUpdate,
    PartnershipCreate,
    PartnershipUpdate,
    SignupRequest,
    SiteCreate,
    SiteUpdate,
)
from accounts.tokens import TokenCache
from accounts.work import reassign_open_work
from core.clock import now
from core.errors import Conflict, NotFound, RuleViolation

MAX_REPORT_DAYS = 92


@dataclass(frozen=True)
class IssuedToken:
    """A token shown once, with its stored record."""

    token: str
    record: AccessToken


async def signup(
    session: AsyncSession, *, data: SignupRequest, session_ttl_s: int
) -> tuple[IssuedToken, Organization, Membership, User]:
    """Create an organization, its owner account and a first login token."""
    organization = Organization(name=data.organization_name, kinds=list(data.kinds))
    organization.country = data.country
    session.add(organization)
    user = await _new_user(
        session, name=data.owner_name, email=data.email, phone=data.phone, password=data.password
    )
    owner = Membership(user_id=user.id, organization_id=organization.id, role=Role.OWNER)
    session.add(owner)
    await session.flush()
    issued = await issue_session(
        session, organization=organization, member=owner, ttl_s=session_ttl_s
    )
    await _log(session, organization.id, owner.id, issued.record.id, "signup", str(organization.id))
    return issued, organization, owner, user


async def login(
    session: AsyncSession,
    *,
    login: str,
    password: str,
    organization_id: uuid.UUID | None,
    session_ttl_s: int,
) -> tuple[IssuedToken, Organization, Membership, User]:
    """Check a password and issue a session token for one of the user's active accounts."""
    user = await repository.user_by_login(session, login.strip())
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials("login or password is wrong")
    active = [m for m in await repository.memberships_of_user(session, user.id) if m.active]
    if organization_id is not None:
        active = [m for m in active if m.organization_id == organization_id]
    if not active:
        raise InvalidCredentials("login or password is wrong")
    if len(active) > 1:
        raise RuleViolation(
            "this login has accounts in several organizations: say which with organization_id",
            code="organization_required",
            extra={"organization_ids": [str(m.organization_id) for m in active]},
        )
    member = active[0]
    organization = await session.get(Organization, member.organization_id)
    assert organization is not None
    issued = await issue_session(
        session, organization=organization, member=member, ttl_s=session_ttl_s
    )
    await _log(session, organization.id, member.id, issued.record.id, "login", None)
    return issued, organization, member, user


async def authenticate(session: AsyncSession, *, token: str, cache: TokenCache) -> Principal:
    """The principal behind a bearer token; unknown, expired or revoked tokens are refused."""
    digest = token_hash(token)
    moment = now()
    cached = cache.get(digest, moment)
    if cached is not None:
        return cached
    found = await repository.token_by_hash(session, digest)
    if found is None:
        raise InvalidToken("the token is unknown, expired or revoked")
    record, organization, member = found
    if record.revoked_at is not None or record.expires_at <= moment:
        raise InvalidToken("the token is unknown, expired or revoked")
    if record.membership_id is not None and (member is None or not member.active):
        raise InvalidToken("the token is unknown, expired or revoked")
    principal = Principal(
        organization_id=organization.id,
        org_kinds=frozenset(OrgKind(kind) for kind in organization.kinds),
        role=Role(record.role if member is None else member.role),
        token_id=record.id,
        token_kind=TokenKind(record.kind),
        user_id=None if member is None else member.user_id,
        membership_id=record.membership_id,
        scopes=frozenset(Scope(scope) for scope in record.scopes),
    )
    cache.put(digest, principal, expires_at=record.expires_at, moment=moment)
    return principal


async def revoke_token(
    session: AsyncSession, *, principal: Principal, token_id: uuid.UUID, cache: TokenCache
) -> AccessToken:
    """Revoke one of the caller's tokens, or (for managers) any of the organization's."""
    record = await session.get(AccessToken, token_id)
    own = record is not None and record.membership_id == principal.membership_id
    visible = (
        record is not None
        and record.organization_id == principal.organization_id
        and (own or principal.role in MANAGERS)
    )
    if record is None or not visible:
        raise NotFound("no such token", code="token_not_found")
    if record.revoked_at is None:
        record.revoked_at = now()
        session.add(record)
        await session.flush()
    cache.evict(record.token_hash)
    return record


async def list_tokens(session: AsyncSession, *, principal: Principal) -> list[AccessToken]:
    """The caller's own tokens; managers see every token of the organization."""
    membership = None if principal.role in MANAGERS else principal.membership_id
    if membership is None and principal.role not in MANAGERS:
        return []
    return list(
        await repository.tokens(
            session, organization_id=principal.organization_id, membership_id=membership
        )
    )


async def create_api_key(
    session: AsyncSession, *, principal: Principal, data: ApiKeyCreate
) -> IssuedToken:
    """An API key for an integration; it acts for the organization, never as an owner."""
    _require_manager(principal)
    if data.role in MANAGERS:
        raise RuleViolation("an API key cannot hold a managing role", code="api_key_role")
    token = new_token(TokenKind.API_KEY)
    record = AccessToken(
        token_hash=token_hash(token),
        kind=TokenKind.API_KEY,
        organization_id=principal.organization_id,
        created_by_id=principal.membership_id,
        name=data.name,
        role=data.role,
        scopes=sorted(set(data.scopes)),
        prefix=token[:12],
        expires_at=now() + timedelta(days=data.ttl_days),
    )
    session.add(record)
    await session.flush()
    return IssuedToken(token=token, record=record)


async def create_member(
    session: AsyncSession, *, principal: Principal, data: MemberCreate
) -> tuple[Membership, User]:
    """A child account in the caller's organization."""
    _require_manager(principal)
    _require_can_grant(principal, data.role)
    user = await _new_user(
        session, name=data.name, email=data.email, phone=data.phone, password=data.password
    )
    member = Membership(
        user_id=user.id,
        organization_id=principal.organization_id,
        role=data.role,
        department=data.department,
        title=data.title,
        created_by_id=principal.membership_id,
    )
    session.add(member)
    await session.flush()
    return member, user


async def get_member(
    session: AsyncSession, *, principal: Principal, member_id: uuid.UUID
) -> tuple[Membership, User]:
    """A member of the caller's organization."""
    found = await repository.member_with_user(
        session, organization_id=principal.organization_id, member_id=member_id
    )
    if found is None:
        raise MemberNotFound("no such member in your organization")
    return found


async def list_members(
    session: AsyncSession, *, principal: Principal, active: bool | None
) -> list[tuple[Membership, User]]:
    """The caller's organization's accounts."""
    return await repository.members_with_users(session, principal.organization_id, active=active)


async def update_member(
    session: AsyncSession, *, principal: Principal, member_id: uuid.UUID, data: MemberUpdate
) -> tuple[Membership, User]:
    """Change a member's role, department or title."""
    _require_manager(principal)
    member, user = await get_member(session, principal=principal, member_id=member_id)
    _check_version(member.version, data.version)
    if data.role is not None and data.role != member.role:
        _require_can_grant(principal, data.role)
        _require_can_grant(principal, member.role)
        if member.role == Role.OWNER:
            await _keep_an_owner(session, member)
        member.role = data.role
    if data.department is not None:
        member.department = data.department
    if data.title is not None:
        member.title = data.title
    session.add(member)
    await session.flush()
    return member, user


async def deactivate_member(
    session: AsyncSession, *, principal: Principal, member_id: uuid.UUID, cache: TokenCache
) -> tuple[Membership, User]:
    """Deactivate a child account: its tokens stop working, its records stay."""
    _require_manager(principal)
    member, user = await get_member(session, principal=principal, member_id=member_id)
    if not member.active:
        return member, user
    _require_can_grant(principal, member.role)
    if member.role == Role.OWNER:
        await _keep_an_owner(session, member)
    member.active = False
    member.deactivated_at = now()
    session.add(member)
    for revoked in await repository.revoke_member_tokens(session, member.id, now()):
        cache.evict(revoked)
    await session.flush()
    return member, user


async def reactivate_member(
    session: AsyncSession, *, principal: Principal, member_id: uuid.UUID
) -> tuple[Membership, User]:
    """Let a deactivated account log in again."""
    _require_manager(principal)
    member, user = await get_member(session, principal=principal, member_id=member_id)
    _require_can_grant(principal, member.role)
    member.active = True
    member.deactivated_at = None
    session.add(member)
    await session.flush()
    return member, user


async def reassign_work(
    session: AsyncSession, *, principal: Principal, member_id: uuid.UUID, to_member_id: uuid.UUID
) -> dict[str, int]:
    """Move a member's open work (partners, loads, deliveries…) to another active member."""
    _require_manager(principal)
    source, _ = await get_member(session, principal=principal, member_id=member_id)
    target, _ = await get_member(session, principal=principal, member_id=to_member_id)
    if not target.active:
        raise MemberInactive("open work can only go to an active member")
    if source.id == target.id:
        raise RuleViolation("pick another member to take the work", code="same_member")
    return await reassign_open_work(
        session,
        organization_id=principal.organization_id,
        from_member_id=source.id,
        to_member_id=target.id,
    )


async def get_organization(session: AsyncSession, *, principal: Principal) -> Organization:
    """The caller's organization."""
    organization = await session.get(Organization, principal.organization_id)
    assert organization is not None
    return organization


async def update_organization(
    session: AsyncSession, *, principal: Principal, data: OrganizationUpdate
) -> Organization:
    """Change the caller's organization's profile."""
    _require_manager(principal)
    organization = await session.get(Organization, principal.organization_id)
    assert organization is not None
    _check_version(organization.version, data.version)
    for field in ("name", "country", "tax_id"):
        value = getattr(data, field)
        if value is not None:
            setattr(organization, field, value)
    session.add(organization)
    await session.flush()
    return organization


async def record_activity(
    session: AsyncSession,
    *,
    principal: Principal,
    action: str,
    target: str | None,
    status_code: int | None,
) -> None:
    """Log a write made through the API, in the same transaction as the write."""
    await _log(
        session,
        principal.organization_id,
        principal.membership_id,
        principal.token_id,
        action,
        target,
        status_code,
    )


async def list_activity(
    session: AsyncSession,
    *,
    principal: Principal,
    member_id: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[Activity]:
    """The activity log: managers see everyone's, other accounts only their own."""
    if principal.role not in MANAGERS:
        if member_id is not None and member_id != principal.membership_id:
            raise RoleRequired("only the owner or an admin sees other members' activity")
        member_id = principal.membership_id
        if member_id is None:
            return []
    return list(
        await repository.activities(
            session,
            organization_id=principal.organization_id,
            membership_id=member_id,
            since=since,
            until=until,
            limit=limit,
        )
    )


async def activity_report(
    session: AsyncSession, *, principal: Principal, start: date, end: date
) -> ActivityReport:
    """Per member: last seen, and actions per day over ``start``..``end`` (UTC days)."""
    _require_manager(principal)
    if end < start:
        raise RuleViolation("the report ends before it starts", code="bad_period")
    if (end - start).days >= MAX_REPORT_DAYS:
        raise RuleViolation(f"a report covers at most {MAX_REPORT_DAYS} days", code="bad_period")
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    until = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    counts: defaultdict[uuid.UUID, dict[date, int]] = defaultdict(dict)
    for member_id, day, actions in await repository.activity_counts_by_day(
        session, organization_id=principal.organization_id, since=since, until=until
    ):
        counts[member_id][_as_date(day)] = actions
    seen = await repository.last_seen(session, principal.organization_id)
    lines = [
        MemberActivity(
            member_id=member.id,
            name=user.name,
            role=member.role,
            active=member.active,
            last_seen_at=seen.get(member.id),
            total_actions=sum(counts[member.id].values()),
            actions_per_day=dict(sorted(counts[member.id].items())),
        )
        for member, user in await repository.members_with_users(session, principal.organization_id)
    ]
    return ActivityReport(start=start, end=end, members=lines)


async def create_partnership(
    session: AsyncSession, *, principal: Principal, data: PartnershipCreate
) -> tuple[Partnership, Organization]:
    """Record a customer, supplier or carrier of the caller's organization."""
    partner = await session.get(Organization, data.partner_id)
    if partner is None or partner.id == principal.organization_id:
        raise NotFound("no such partner organization", code="organization_not_found")
    if data.manager_id is not None:
        await get_member(session, principal=principal, member_id=data.manager_id)
    partnership = Partnership(
        organization_id=principal.organization_id,
        partner_id=partner.id,
        relation=data.relation,
        manager_id=data.manager_id or principal.membership_id,
        note=data.note,
    )
    session.add(partnership)
    await _flush_unique(session, "this partnership exists already", code="partnership_exists")
    return partnership, partner


async def update_partnership(
    session: AsyncSession,
    *,
    principal: Principal,
    partnership_id: uuid.UUID,
    data: PartnershipUpdate,
) -> tuple[Partnership, Organization]:
    """Change a partnership's manager or note."""
    partnership = await session.get(Partnership, partnership_id)
    if partnership is None or partnership.organization_id != principal.organization_id:
        raise NotFound("no such partnership", code="partnership_not_found")
    _check_version(partnership.version, data.version)
    if data.manager_id is not None:
        manager, _ = await get_member(session, principal=principal, member_id=data.manager_id)
        if not manager.active:
            raise MemberInactive("a partner is managed by an active member")
        partnership.manager_id = manager.id
    if data.note is not None:
        partnership.note = data.note
    session.add(partnership)
    await session.flush()
    partner = await session.get(Organization, partnership.partner_id)
    assert partner is not None
    return partnership, partner


async def list_partnerships(
    session: AsyncSession, *, principal: Principal
) -> list[tuple[Partnership, Organization]]:
    """The caller's organization's partnerships."""
    return await repository.partnerships(session, principal.organization_id)


async def create_site(session: AsyncSession, *, principal: Principal, data: SiteCreate) -> Site:
    """A site of the caller's organization (owner, admin or dispatcher)."""
    _require_operator(principal)
    site = Site(organization_id=principal.organization_id, **data.model_dump())
    session.add(site)
    await session.flush()
    return site


async def get_site(session: AsyncSession, *, principal: Principal, site_id: uuid.UUID) -> Site:
    """One of the caller's organization's sites."""
    site = await session.get(Site, site_id)
    if site is None or site.organization_id != principal.organization_id:
        raise NotFound("no such site in your organization", code="site_not_found")
    return site


async def list_sites(session: AsyncSession, *, principal: Principal) -> list[Site]:
    """The caller's organization's sites."""
    return list(await repository.sites(session, principal.organization_id))


async def update_site(
    session: AsyncSession, *, principal: Principal, site_id: uuid.UUID, data: SiteUpdate
) -> Site:
    """Change one of the caller's organization's sites."""
    _require_operator(principal)
    site = await get_site(session, principal=principal, site_id=site_id)
    _check_version(site.version, data.version)
    for field, value in data.model_dump(exclude={"version"}, exclude_none=True).items():
        setattr(site, field, value)
    session.add(site)
    await session.flush()
    return site


async def _new_user(
    session: AsyncSession, *, name: str, email: str | None, phone: str | None, password: str
) -> User:
    user = User(name=name, email=email, phone=phone, password_hash=hash_password(password))
    session.add(user)
    await _flush_unique(session, "this email or phone is already in use", code="login_taken")
    return user


async def _flush_unique(session: AsyncSession, detail: str, *, code: str) -> None:
    # A savepoint keeps the rest of the transaction usable when the unique key says no.
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        raise Conflict(detail, code=code) from error


async def issue_session(
    session: AsyncSession, *, organization: Organization, member: Membership, ttl_s: int
) -> IssuedToken:
    """A login session token for an account (after its password was checked, or for a demo)."""
    token = new_token(TokenKind.SESSION)
    record = AccessToken(
        token_hash=token_hash(token),
        kind=TokenKind.SESSION,
        organization_id=organization.id,
        membership_id=member.id,
        created_by_id=member.id,
        role=member.role,
        scopes=sorted(ALL_SCOPES),
        prefix=token[:12],
        expires_at=now() + timedelta(seconds=ttl_s),
    )
    session.add(record)
    await session.flush()
    return IssuedToken(token=token, record=record)


async def _log(
    session: AsyncSession,
    organization_id: uuid.UUID,
    membership_id: uuid.UUID | None,
    token_id: uuid.UUID | None,
    action: str,
    target: str | None,
    status_code: int | None = None,
) -> None:
    session.add(
        Activity(
            organization_id=organization_id,
            membership_id=membership_id,
            token_id=token_id,
            action=action,
            target=target,
            status_code=status_code,
        )
    )
    await session.flush()


async def _keep_an_owner(session: AsyncSession, member: Membership) -> None:
    if member.active and await repository.count_active_owners(session, member.organization_id) <= 1:
        raise LastOwner("the organization must keep an active owner")


def _require_manager(principal: Principal) -> None:
    if principal.role not in MANAGERS:
        raise RoleRequired("only the owner or an admin may do this")


def _require_operator(principal: Principal) -> None:
    if principal.role not in OPERATORS - {Role.CLERK}:
        raise RoleRequired("only the owner, an admin or a dispatcher may do this")


def _require_can_grant(principal: Principal, role: Role) -> None:
    # Owners manage everyone; admins manage everyone below them.
    if principal.role == Role.OWNER:
        return
    if role in MANAGERS:
        raise RoleRequired("only the owner manages owners and admins")


def _check_version(current: int, given: int) -> None:
    if current != given:
        raise StaleVersion(
            f"the record is at version {current}, you sent {given}: reload and retry"
        )


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
