"""Errors of the accounts domain, each with a stable code."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, NotFound, RuleViolation, Unauthenticated


class InvalidCredentials(Unauthenticated):
    """Wrong login or password (never says which)."""

    default_code = "invalid_credentials"


class InvalidToken(Unauthenticated):
    """A bearer token that is unknown, expired or revoked."""

    default_code = "invalid_token"


class RoleRequired(Forbidden):
    """The account's role does not allow the action."""

    default_code = "role_required"


class ScopeRequired(Forbidden):
    """The API key's scopes do not cover the action."""

    default_code = "scope_required"


class MemberNotFound(NotFound):
    """No such member in the caller's organization."""

    default_code = "member_not_found"


class LoginTaken(Conflict):
    """The email or phone is already someone's login."""

    default_code = "login_taken"


class StaleVersion(Conflict):
    """The record changed since the caller read it."""

    default_code = "stale_version"


class LastOwner(RuleViolation):
    """An organization must keep one active owner."""

    default_code = "last_owner"


class MemberInactive(RuleViolation):
    """The member is deactivated."""

    default_code = "member_inactive"
