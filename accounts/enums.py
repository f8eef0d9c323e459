"""Kinds of organization, roles of accounts, departments and API scopes."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    """A role an organization plays in trade; one organization may play several."""

    SELLER = "seller"
    BUYER = "buyer"
    CARRIER = "carrier"
    PLANT_OPERATOR = "plant_operator"


class Role(StrEnum):
    """What an account may do inside its organization."""

    OWNER = "owner"
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    CLERK = "clerk"
    DRIVER = "driver"
    VIEWER = "viewer"


MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
"""Roles that manage accounts, API keys and approvals."""

OPERATORS = frozenset({Role.OWNER, Role.ADMIN, Role.DISPATCHER, Role.CLERK})
"""Roles that do the organization's daily work in the console."""


class Department(StrEnum):
    """Parallel groupings of accounts inside an organization."""

    PURCHASING = "purchasing"
    FINANCE = "finance"
    SALES = "sales"
    TRANSPORT = "transport"
    OPERATIONS = "operations"


class TokenKind(StrEnum):
    """A login session or an integration's API key."""

    SESSION = "session"
    API_KEY = "api_key"


class Scope(StrEnum):
    """What an API key may touch; a login session holds every scope."""

    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    MARKET_READ = "market:read"
    MARKET_WRITE = "market:write"
    DELIVERIES_READ = "deliveries:read"
    DELIVERIES_WRITE = "deliveries:write"
    YARD_READ = "yard:read"
    YARD_WRITE = "yard:write"
    TRACKING_READ = "tracking:read"
    TRACKING_WRITE = "tracking:write"


ALL_SCOPES = frozenset(Scope)


class PartnerRelation(StrEnum):
    """How another organization relates to this one."""

    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    CARRIER = "carrier"


class SiteKind(StrEnum):
    """What happens at a site."""

    PLANT = "plant"
    WAREHOUSE = "warehouse"
    DELIVERY_SITE = "delivery_site"
    DEPOT = "depot"
