"""API shapes for organizations, accounts, tokens, partners and activity."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from accounts.enums import Department, OrgKind, PartnerRelation, Role, Scope, SiteKind, TokenKind
from accounts.models import AccessToken, Membership, Organization, Partnership, Site, User

_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


def _normalize_phone(value: str) -> str:
    compact = re.sub(r"[\s\-().]", "", value)
    if not _PHONE.match(compact):
        raise ValueError("a phone number is 6 to 15 digits, optionally after a +")
    return compact


Phone = Annotated[str, AfterValidator(_normalize_phone)]
Password = Annotated[str, Field(min_length=10, max_length=200)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, AfterValidator(_lower)]


class Strict(BaseModel):
    """Input that refuses unknown fields, so a typo is an error and not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class OrganizationPublic(BaseModel):
    """An organization as its members see it."""

    id: uuid.UUID
    version: int
    name: str
    kinds: list[OrgKind]
    country: str | None
    tax_id: str | None
    created_at: datetime


class OrganizationUpdate(Strict):
    """Change an organization's profile; ``version`` must be the one you read."""

    version: int
    name: Name | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    tax_id: Annotated[str, Field(max_length=40)] | None = None


class SignupRequest(Strict):
    """A new organization and its owner account."""

    organization_name: Name
    kinds: Annotated[list[OrgKind], Field(min_length=1)]
    owner_name: Name
    email: Email | None = None
    phone: Phone | None = None
    password: Password
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None

    @model_validator(mode="after")
    def _needs_a_login(self) -> SignupRequest:
        if self.email is None and self.phone is None:
            raise ValueError("give an email or a phone number to log in with")
        return self


class LoginRequest(Strict):
    """Email or phone, password, and the organization when the account has several."""

    login: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=200)]
    organization_id: uuid.UUID | None = None


class MemberCreate(Strict):
    """A child account, created by the owner or an admin."""

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    password: Password
    role: Role
    department: Department | None = None
    title: Annotated[str, Field(max_length=100)] | None = None

    @model_validator(mode="after")
    def _needs_a_login(self) -> MemberCreate:
        if self.email is None and self.phone is None:
            raise ValueError("give an email or a phone number to log in with")
        return self


class MemberUpdate(Strict):
    """Change a member's role, department or title; ``version`` must be the one you read."""

    version: int
    role: Role | None = None
    department: Department | None = None
    title: Annotated[str, Field(max_length=100)] | None = None


class MemberPublic(BaseModel):
    """An account in an organization."""

    id: uuid.UUID
    version: int
    user_id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    role: Role
    department: Department | None
    title: str | None
    active: bool
    created_by_id: uuid.UUID | None
    created_at: datetime
    deactivated_at: datetime | None


class MembersPublic(BaseModel):
    """A list of accounts."""

    data: list[MemberPublic]
    count: int


class ReassignRequest(Strict):
    """Hand a member's open work to another active member."""

    to_member_id: uuid.UUID


class ReassignResult(BaseModel):
    """How many open records of each kind moved."""

    moved: dict[str, int]


class MePublic(BaseModel):
    """The caller: account, organization and what the token may do."""

    member: MemberPublic | None
    organization: OrganizationPublic
    role: Role
    scopes: list[Scope]
    token_kind: TokenKind


class TokenIssued(BaseModel):
    """A new bearer token; it is shown once and only its hash is kept."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    token_id: uuid.UUID
    expires_at: datetime
    member: MemberPublic | None
    organization: OrganizationPublic


class TokenPublic(BaseModel):
    """A token's record, without the token."""

    id: uuid.UUID
    kind: TokenKind
    name: str | None
    prefix: str
    role: Role
    scopes: list[Scope]
    membership_id: uuid.UUID | None
    created_by_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TokensPublic(BaseModel):
    """A list of tokens."""

    data: list[TokenPublic]
    count: int


class ApiKeyCreate(Strict):
    """An API key for a system integration (an ERP, say)."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1)]
    role: Role = Role.DISPATCHER
    ttl_days: Annotated[int, Field(ge=1, le=730)] = 365


class ActivityPublic(BaseModel):
    """One logged action."""

    id: uuid.UUID
    membership_id: uuid.UUID | None
    token_id: uuid.UUID | None
    action: str
    target: str | None
    status_code: int | None
    at: datetime


class ActivitiesPublic(BaseModel):
    """A page of the activity log, newest first."""

    data: list[ActivityPublic]
    count: int


class MemberActivity(BaseModel):
    """One member's line in the owner's report."""

    member_id: uuid.UUID
    name: str
    role: Role
    active: bool
    last_seen_at: datetime | None
    total_actions: int
    actions_per_day: dict[date, int]


class ActivityReport(BaseModel):
    """Per member: last seen and actions per day over a period."""

    start: date
    end: date
    members: list[MemberActivity]


class PartnershipCreate(Strict):
    """Record a customer, supplier or carrier relationship."""

    partner_id: uuid.UUID
    relation: PartnerRelation
    manager_id: uuid.UUID | None = None
    note: Annotated[str, Field(max_length=1000)] | None = None


class PartnershipUpdate(Strict):
    """Change who manages a partner, or the note; ``version`` must be the one you read."""

    version: int
    manager_id: uuid.UUID | None = None
    note: Annotated[str, Field(max_length=1000)] | None = None


class PartnershipPublic(BaseModel):
    """A partnership."""

    id: uuid.UUID
    version: int
    organization_id: uuid.UUID
    partner_id: uuid.UUID
    partner_name: str
    relation: PartnerRelation
    manager_id: uuid.UUID | None
    note: str | None
    created_at: datetime


class PartnershipsPublic(BaseModel):
    """A list of partnerships."""

    data: list[PartnershipPublic]
    count: int


class SiteCreate(Strict):
    """A plant, warehouse, delivery site or depot of your organization."""

    name: Name
    kind: SiteKind
    address: Annotated[str, Field(max_length=500)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    timezone: Annotated[str, Field(max_length=64)] = "UTC"
    instructions: Annotated[str, Field(max_length=2000)] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("an IANA time zone such as Europe/Berlin") from error
        return value


class SiteUpdate(Strict):
    """Change a site; ``version`` must be the one you read."""

    version: int
    name: Name | None = None
    address: Annotated[str, Field(max_length=500)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    instructions: Annotated[str, Field(max_length=2000)] | None = None
    active: bool | None = None


class SitePublic(BaseModel):
    """A site."""

    id: uuid.UUID
    version: int
    organization_id: uuid.UUID
    name: str
    kind: SiteKind
    address: str | None
    country: str | None
    lat: float
    lon: float
    timezone: str
    instructions: str | None
    active: bool


class SitesPublic(BaseModel):
    """A list of sites."""

    data: list[SitePublic]
    count: int


def site_public(site: Site) -> SitePublic:
    """A site as the API shows it."""
    return SitePublic.model_validate(site, from_attributes=True)


def member_public(member: Membership, user: User) -> MemberPublic:
    """A member as the API shows it."""
    return MemberPublic(
        id=member.id,
        version=member.version,
        user_id=user.id,
        organization_id=member.organization_id,
        name=user.name,
        email=user.email,
        phone=user.phone,
        role=member.role,
        department=member.department,
        title=member.title,
        active=member.active,
        created_by_id=member.created_by_id,
        created_at=member.created_at,
        deactivated_at=member.deactivated_at,
    )


def organization_public(organization: Organization) -> OrganizationPublic:
    """An organization as the API shows it."""
    return OrganizationPublic.model_validate(organization, from_attributes=True)


def token_public(token: AccessToken) -> TokenPublic:
    """A token's record as the API shows it."""
    return TokenPublic.model_validate(token, from_attributes=True)


def partnership_public(partnership: Partnership, partner: Organization) -> PartnershipPublic:
    """A partnership as the API shows it."""
    return PartnershipPublic(
        id=partnership.id,
        version=partnership.version,
        organization_id=partnership.organization_id,
        partner_id=partner.id,
        partner_name=partner.name,
        relation=partnership.relation,
        manager_id=partnership.manager_id,
        note=partnership.note,
        created_at=partnership.created_at,
    )
