"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import RuntimeDep, public
from api.routing import TransactionalRoute
from core.errors import Unavailable

router = APIRouter(tags=["health"], route_class=TransactionalRoute)


@router.get("/healthz", **public("load balancers probe it without credentials"))
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", **public("load balancers probe it without credentials"))
async def readyz(runtime: RuntimeDep) -> dict[str, str]:
    """The process can reach its database."""
    try:
        await runtime.database.ping()
    except Exception as error:
        raise Unavailable("the database is unreachable", code="database_unavailable") from error
    return {"status": "ready", "database": runtime.database.dialect}
