"""Who may do what in dispatch: role and trade checks the sub-domains share."""

from __future__ import annotations

from accounts.enums import MANAGERS, OrgKind, Role
from accounts.exceptions import RoleRequired, StaleVersion
from accounts.principal import Principal
from core.errors import Forbidden

DISPATCHING_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.DISPATCHER})
"""Roles that post loads, grab, bid and manage the fleet."""


class KindRequired(Forbidden):
    """The caller's organization does not play the trade role the action needs."""

    default_code = "organization_kind_required"


def require_dispatcher(principal: Principal) -> None:
    """Owners, admins and dispatchers only."""
    if principal.role not in DISPATCHING_ROLES:
        raise RoleRequired("only the owner, an admin or a dispatcher may do this")


def require_manager(principal: Principal) -> None:
    """Owners and admins only."""
    if principal.role not in MANAGERS:
        raise RoleRequired("only the owner or an admin may do this")


def require_kind(principal: Principal, kind: OrgKind) -> None:
    """The caller's organization must play ``kind`` in trade."""
    if not principal.plays(kind):
        raise KindRequired(f"only a {kind.value} organization may do this")


def check_version(current: int, given: int) -> None:
    """Refuse a write based on a stale read."""
    if current != given:
        raise StaleVersion(
            f"the record is at version {current}, you sent {given}: reload and retry"
        )
