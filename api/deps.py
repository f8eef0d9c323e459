"""Dependencies: the runtime, the caller, the request's session, role and scope checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection

from accounts import service as accounts
from accounts.enums import Role, Scope
from accounts.exceptions import RoleRequired, ScopeRequired
from accounts.principal import Principal
from api.runtime import Runtime
from core import idempotency
from core.errors import Unauthenticated
from core.signing import KeyRing, SigningKeyError

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="A session token from login, or an API key")


def get_runtime(request: HTTPConnection) -> Runtime:
    """The app's runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_key_ring(runtime: RuntimeDep) -> KeyRing:
    """The platform's signing keys (the ones the database's sessions sign the log with)."""
    ring = runtime.database.key_ring
    if ring is None:
        raise SigningKeyError("the database was started without a key ring")
    return ring


KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
STREAM_PATH_PREFIX = "/v1/live/"
"""Live streams also take the token as ``?access_token=``: browsers cannot set headers on
WebSocket and EventSource requests (the access log records paths, never query strings)."""


def _presented_token(
    connection: HTTPConnection, credentials: HTTPAuthorizationCredentials | None
) -> str | None:
    if credentials is not None:
        return credentials.credentials
    if connection.url.path.startswith(STREAM_PATH_PREFIX):
        return connection.query_params.get("access_token") or None
    return None


async def maybe_principal(
    request: HTTPConnection,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller if a bearer token was sent (a bad one is refused), else None."""
    token = _presented_token(request, credentials)
    if token is None:
        return None
    async with runtime.database.session() as session:
        principal = await accounts.authenticate(session, token=token, cache=runtime.tokens)
    request.state.principal = principal
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(maybe_principal)],
) -> Principal:
    """The authenticated caller; no token means 401."""
    if principal is None:
        raise Unauthenticated("send a bearer token: Authorization: Bearer <token>")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass
class Unit:
    """The request's unit of work, committed by the route after the endpoint returns."""

    session: AsyncSession
    write: bool
    principal: Principal | None
    idempotency_key: str | None = None


class IdempotentReplay(Exception):
    """The request repeats an earlier one with the same Idempotency-Key."""

    def __init__(self, reply: idempotency.StoredReply) -> None:
        super().__init__("replay")
        self.reply = reply


async def request_session(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal | None, Depends(maybe_principal)],
) -> AsyncIterator[AsyncSession]:
    """The request's session: a write transaction for writes, committed by the route."""
    write = request.method not in READ_METHODS
    async with runtime.database.session(write=write) as session:
        unit = Unit(session=session, write=write, principal=principal)
        key = request.headers.get("idempotency-key")
        if write and key is not None and principal is not None:
            stored = await idempotency.claim(
                session,
                scope=principal.actor,
                key=key,
                request_fingerprint=idempotency.fingerprint(
                    request.method, request.url.path, await request.body()
                ),
            )
            if stored is not None:
                raise IdempotentReplay(stored)
            unit.idempotency_key = key
        request.state.unit = unit
        yield session


SessionDep = Annotated[AsyncSession, Depends(request_session)]


def require_role(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that lets only the given roles through (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise RoleRequired(f"this needs one of these roles: {names}")
        return principal

    return check


def require_scope(scope: Scope) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that checks an API key's scopes (sessions hold all of them)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_scope(scope):
            raise ScopeRequired(f"this token lacks the {scope} scope")
        return principal

    return check


def public(reason: str) -> dict[str, Any]:
    """Route keywords marking a route as open to anonymous callers, and why."""
    return {"openapi_extra": {"x-public": reason}}
