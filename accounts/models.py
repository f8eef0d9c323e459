"""Organizations, their accounts, tokens, partners and the activity log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from accounts.enums import Department, OrgKind, PartnerRelation, Role, Scope, SiteKind, TokenKind
from accounts.work import OpenWork, register_open_work
from core.models import Keyed, Timestamped, Versioned, created_at_field, utc_field
from core.types import JSONColumn, enum_type


class OrganizationBase(SQLModel):
    """The fields a client sets on an organization."""

    name: str = Field(min_length=1, max_length=200)
    kinds: list[OrgKind] = Field(default_factory=list, sa_type=JSONColumn)
    country: str | None = Field(default=None, max_length=2)
    tax_id: str | None = Field(default=None, max_length=40)


class Organization(OrganizationBase, Keyed, Timestamped, Versioned, table=True):
    """A company: seller, buyer, carrier or plant operator (or several)."""

    __tablename__ = "organizations"


class User(Keyed, Timestamped, Versioned, table=True):
    """A person who logs in; what they create belongs to their organization."""

    __tablename__ = "users"

    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254, unique=True)
    phone: str | None = Field(default=None, max_length=32, unique=True)
    password_hash: str = Field(max_length=200)


class Membership(Keyed, Timestamped, Versioned, table=True):
    """A user's account in one organization: its role, department and whether it is active."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    role: Role = Field(sa_type=enum_type(Role))
    department: Department | None = Field(default=None, sa_type=enum_type(Department))
    title: str | None = Field(default=None, max_length=100)
    active: bool = True
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    deactivated_at: datetime | None = utc_field(nullable=True)


class AccessToken(Keyed, Timestamped, table=True):
    """A bearer token: a login session or an API key. Only its SHA-256 is stored."""

    __tablename__ = "access_tokens"

    token_hash: str = Field(max_length=64, unique=True)
    kind: TokenKind = Field(sa_type=enum_type(TokenKind))
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    membership_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id", index=True)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    name: str | None = Field(default=None, max_length=100)
    role: Role = Field(sa_type=enum_type(Role))
    scopes: list[Scope] = Field(default_factory=list, sa_type=JSONColumn)
    prefix: str = Field(max_length=12)
    expires_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(nullable=True)


class Activity(Keyed, table=True):
    """One thing an account did: a login or a write through the API."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_org_at", "organization_id", "at"),)

    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    membership_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id", index=True)
    token_id: uuid.UUID | None = None
    action: str = Field(max_length=100)
    target: str | None = Field(default=None, max_length=200)
    status_code: int | None = None
    at: datetime = created_at_field()


class PartnershipBase(SQLModel):
    """The fields a client sets on a partnership."""

    partner_id: uuid.UUID = Field(foreign_key="organizations.id")
    relation: PartnerRelation = Field(sa_type=enum_type(PartnerRelation))
    manager_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id", index=True)
    note: str | None = Field(default=None, max_length=1000)


class Partnership(PartnershipBase, Keyed, Timestamped, Versioned, table=True):
    """A customer, supplier or carrier of this organization, looked after by one of its members.

    The partnership belongs to the organization; when its manager leaves, the owner reassigns it.
    """

    __tablename__ = "partnerships"
    __table_args__ = (UniqueConstraint("organization_id", "partner_id", "relation"),)

    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)


class SiteBase(SQLModel):
    """The fields a client sets on a site."""

    name: str = Field(min_length=1, max_length=200)
    kind: SiteKind = Field(sa_type=enum_type(SiteKind))
    address: str | None = Field(default=None, max_length=500)
    country: str | None = Field(default=None, max_length=2)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    timezone: str = Field(default="UTC", max_length=64)
    instructions: str | None = Field(default=None, max_length=2000)


class Site(SiteBase, Keyed, Timestamped, Versioned, table=True):
    """A place an organization runs: a plant or warehouse goods leave from, a site they go to."""

    __tablename__ = "sites"

    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    active: bool = True


register_open_work(OpenWork(name="partnerships", model=Partnership, member_column="manager_id"))
