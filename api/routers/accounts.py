"""The caller, the organization, its child accounts, partners and activity."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from accounts import service as accounts
from accounts.enums import MANAGERS
from accounts.principal import Principal
from accounts.schemas import (
    ActivitiesPublic,
    ActivityPublic,
    ActivityReport,
    MemberCreate,
    MemberPublic,
    MembersPublic,
    MemberUpdate,
    MePublic,
    OrganizationPublic,
    OrganizationUpdate,
    PartnershipCreate,
    PartnershipPublic,
    PartnershipsPublic,
    PartnershipUpdate,
    ReassignRequest,
    ReassignResult,
    SiteCreate,
    SitePublic,
    SitesPublic,
    SiteUpdate,
    member_public,
    organization_public,
    partnership_public,
    site_public,
)
from api.deps import CurrentPrincipal, RuntimeDep, SessionDep, require_role
from api.routing import TransactionalRoute

router = APIRouter(prefix="/v1", tags=["accounts"], route_class=TransactionalRoute)

Manager = Annotated[Principal, Depends(require_role(*MANAGERS))]


@router.get("/me")
async def get_me(principal: CurrentPrincipal, session: SessionDep) -> MePublic:
    """Who you are: your account, organization, role and scopes."""
    organization = await accounts.get_organization(session, principal=principal)
    member = None
    if principal.membership_id is not None:
        found = await accounts.get_member(
            session, principal=principal, member_id=principal.membership_id
        )
        member = member_public(*found)
    return MePublic(
        member=member,
        organization=organization_public(organization),
        role=principal.role,
        scopes=sorted(principal.scopes),
        token_kind=principal.token_kind,
    )


@router.get("/organization")
async def get_organization(principal: CurrentPrincipal, session: SessionDep) -> OrganizationPublic:
    """Your organization's profile."""
    return organization_public(await accounts.get_organization(session, principal=principal))


@router.patch("/organization")
async def update_organization(
    body: OrganizationUpdate, principal: Manager, session: SessionDep
) -> OrganizationPublic:
    """Change your organization's profile (owner or admin)."""
    organization = await accounts.update_organization(session, principal=principal, data=body)
    return organization_public(organization)


@router.get("/members")
async def list_members(
    principal: CurrentPrincipal, session: SessionDep, active: bool | None = None
) -> MembersPublic:
    """Your organization's accounts."""
    found = await accounts.list_members(session, principal=principal, active=active)
    return MembersPublic(data=[member_public(m, u) for m, u in found], count=len(found))


@router.post("/members", status_code=status.HTTP_201_CREATED)
async def create_member(
    body: MemberCreate, principal: Manager, session: SessionDep
) -> MemberPublic:
    """Create a child account (owner or admin)."""
    return member_public(*await accounts.create_member(session, principal=principal, data=body))


@router.get("/members/{member_id}")
async def get_member(
    member_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> MemberPublic:
    """One account of your organization."""
    return member_public(
        *await accounts.get_member(session, principal=principal, member_id=member_id)
    )


@router.patch("/members/{member_id}")
async def update_member(
    member_id: uuid.UUID, body: MemberUpdate, principal: Manager, session: SessionDep
) -> MemberPublic:
    """Change an account's role, department or title (owner or admin)."""
    found = await accounts.update_member(
        session, principal=principal, member_id=member_id, data=body
    )
    return member_public(*found)


@router.post("/members/{member_id}/deactivate")
async def deactivate_member(
    member_id: uuid.UUID, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> MemberPublic:
    """Deactivate an account: its tokens stop working, everything it did stays."""
    found = await accounts.deactivate_member(
        session, principal=principal, member_id=member_id, cache=runtime.tokens
    )
    return member_public(*found)


@router.post("/members/{member_id}/reactivate")
async def reactivate_member(
    member_id: uuid.UUID, principal: Manager, session: SessionDep
) -> MemberPublic:
    """Let a deactivated account log in again."""
    found = await accounts.reactivate_member(session, principal=principal, member_id=member_id)
    return member_public(*found)


@router.post("/members/{member_id}/reassign")
async def reassign_member_work(
    member_id: uuid.UUID, body: ReassignRequest, principal: Manager, session: SessionDep
) -> ReassignResult:
    """Hand an account's open work to another active account."""
    moved = await accounts.reassign_work(
        session, principal=principal, member_id=member_id, to_member_id=body.to_member_id
    )
    return ReassignResult(moved=moved)


@router.get("/activity")
async def list_activity(
    principal: CurrentPrincipal,
    session: SessionDep,
    member_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ActivitiesPublic:
    """The activity log, newest first: everyone's for the owner and admins, else your own."""
    found = await accounts.list_activity(
        session, principal=principal, member_id=member_id, since=since, until=until, limit=limit
    )
    data = [ActivityPublic.model_validate(a, from_attributes=True) for a in found]
    return ActivitiesPublic(data=data, count=len(data))


@router.get("/activity/report")
async def get_activity_report(
    principal: Manager, session: SessionDep, start: date, end: date
) -> ActivityReport:
    """Per account: last seen, and actions per day over a period (owner or admin)."""
    return await accounts.activity_report(session, principal=principal, start=start, end=end)


@router.get("/partners")
async def list_partners(principal: CurrentPrincipal, session: SessionDep) -> PartnershipsPublic:
    """Your organization's customers, suppliers and carriers."""
    found = await accounts.list_partnerships(session, principal=principal)
    return PartnershipsPublic(data=[partnership_public(p, o) for p, o in found], count=len(found))


@router.post("/partners", status_code=status.HTTP_201_CREATED)
async def create_partner(
    body: PartnershipCreate, principal: CurrentPrincipal, session: SessionDep
) -> PartnershipPublic:
    """Record a customer, supplier or carrier; you manage it unless you name a manager."""
    found = await accounts.create_partnership(session, principal=principal, data=body)
    return partnership_public(*found)


@router.patch("/partners/{partnership_id}")
async def update_partner(
    partnership_id: uuid.UUID,
    body: PartnershipUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> PartnershipPublic:
    """Change who manages a partner, or the note."""
    found = await accounts.update_partnership(
        session, principal=principal, partnership_id=partnership_id, data=body
    )
    return partnership_public(*found)


@router.get("/sites")
async def list_sites(principal: CurrentPrincipal, session: SessionDep) -> SitesPublic:
    """Your organization's plants, warehouses, delivery sites and depots."""
    found = await accounts.list_sites(session, principal=principal)
    return SitesPublic(data=[site_public(s) for s in found], count=len(found))


@router.post("/sites", status_code=status.HTTP_201_CREATED)
async def create_site(
    body: SiteCreate, principal: CurrentPrincipal, session: SessionDep
) -> SitePublic:
    """Add a site (owner, admin or dispatcher)."""
    return site_public(await accounts.create_site(session, principal=principal, data=body))


@router.get("/sites/{site_id}")
async def get_site(
    site_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> SitePublic:
    """One of your organization's sites."""
    return site_public(await accounts.get_site(session, principal=principal, site_id=site_id))


@router.patch("/sites/{site_id}")
async def update_site(
    site_id: uuid.UUID, body: SiteUpdate, principal: CurrentPrincipal, session: SessionDep
) -> SitePublic:
    """Change one of your organization's sites (owner, admin or dispatcher)."""
    site = await accounts.update_site(session, principal=principal, site_id=site_id, data=body)
    return site_public(site)
