"""Who is calling: the account, its organization and what it may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from accounts.enums import OrgKind, Role, Scope, TokenKind


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, resolved from its bearer token."""

    organization_id: uuid.UUID
    org_kinds: frozenset[OrgKind]
    role: Role
    token_id: uuid.UUID
    token_kind: TokenKind
    user_id: uuid.UUID | None = None
    membership_id: uuid.UUID | None = None
    scopes: frozenset[Scope] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """How the event log and activity log name this caller."""
        if self.membership_id is not None:
            return f"member:{self.membership_id}"
        return f"api_key:{self.token_id}"

    def has_scope(self, scope: Scope) -> bool:
        """Whether this caller's token covers a scope."""
        return scope in self.scopes

    def plays(self, kind: OrgKind) -> bool:
        """Whether the caller's organization plays a role in trade."""
        return kind in self.org_kinds
