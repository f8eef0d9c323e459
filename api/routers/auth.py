"""Sign-up, login, logout, tokens and API keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from accounts import service as accounts
from accounts.enums import MANAGERS
from accounts.principal import Principal
from accounts.schemas import (
    ApiKeyCreate,
    LoginRequest,
    SignupRequest,
    TokenIssued,
    TokenPublic,
    TokensPublic,
    member_public,
    organization_public,
    token_public,
)
from api.deps import CurrentPrincipal, RuntimeDep, SessionDep, public, require_role
from api.routing import TransactionalRoute

router = APIRouter(prefix="/v1/auth", tags=["auth"], route_class=TransactionalRoute)

Manager = Annotated[Principal, Depends(require_role(*MANAGERS))]


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    **public("creating an organization and its owner is how a new customer starts"),
)
async def signup(body: SignupRequest, session: SessionDep, runtime: RuntimeDep) -> TokenIssued:
    """Create an organization with its owner account, and log the owner in."""
    issued, organization, owner, user = await accounts.signup(
        session, data=body, session_ttl_s=runtime.settings.security.session_ttl_s
    )
    return TokenIssued(
        access_token=issued.token,
        token_id=issued.record.id,
        expires_at=issued.record.expires_at,
        member=member_public(owner, user),
        organization=organization_public(organization),
    )


@router.post("/login", **public("a login is how a caller gets a token"))
async def login(
    body: LoginRequest, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TokenIssued:
    """Exchange an email or phone and a password for a bearer token."""
    client = request.client.host if request.client else "-"
    runtime.login_limiter.check(f"login:{body.login.strip().lower()}")
    runtime.login_limiter.check(f"client:{client}", cost=0.2)
    issued, organization, member, user = await accounts.login(
        session,
        login=body.login,
        password=body.password,
        organization_id=body.organization_id,
        session_ttl_s=runtime.settings.security.session_ttl_s,
    )
    return TokenIssued(
        access_token=issued.token,
        token_id=issued.record.id,
        expires_at=issued.record.expires_at,
        member=member_public(member, user),
        organization=organization_public(organization),
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep) -> None:
    """Revoke the token this request was made with."""
    await accounts.revoke_token(
        session, principal=principal, token_id=principal.token_id, cache=runtime.tokens
    )


@router.get("/tokens")
async def list_tokens(principal: CurrentPrincipal, session: SessionDep) -> TokensPublic:
    """Your tokens; the owner and admins see every token of the organization."""
    found = await accounts.list_tokens(session, principal=principal)
    return TokensPublic(data=[token_public(t) for t in found], count=len(found))


@router.delete("/tokens/{token_id}")
async def revoke_token(
    token_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> TokenPublic:
    """Revoke a token (yours, or any of the organization's for the owner and admins)."""
    record = await accounts.revoke_token(
        session, principal=principal, token_id=token_id, cache=runtime.tokens
    )
    return token_public(record)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyCreate, principal: Manager, session: SessionDep
) -> TokenIssued:
    """Issue an API key for a system integration; it is shown once."""
    issued = await accounts.create_api_key(session, principal=principal, data=body)
    organization = await accounts.get_organization(session, principal=principal)
    return TokenIssued(
        access_token=issued.token,
        token_id=issued.record.id,
        expires_at=issued.record.expires_at,
        member=None,
        organization=organization_public(organization),
    )
