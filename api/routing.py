"""The route class that commits each write before its response is sent."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from accounts import service as accounts
from api.deps import Unit
from api.runtime import Runtime
from core import idempotency
from core.database import commit


class TransactionalRoute(APIRoute):
    """Runs the endpoint, then (for a successful write) stores the idempotent reply, logs the
    activity and commits, all before the client sees a status: a 2xx means it is durable.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        action = self.name

        async def handle_and_commit(request: Request) -> Response:
            response = await handle(request)
            unit: Unit | None = getattr(request.state, "unit", None)
            if unit is None or not unit.write or response.status_code >= 400:
                return response
            if unit.idempotency_key is not None and unit.principal is not None:
                await idempotency.record(
                    unit.session,
                    scope=unit.principal.actor,
                    key=unit.idempotency_key,
                    status_code=response.status_code,
                    media_type=response.media_type,
                    body=bytes(response.body),
                )
            if unit.principal is not None:
                await accounts.record_activity(
                    unit.session,
                    principal=unit.principal,
                    action=action,
                    target=request.url.path,
                    status_code=response.status_code,
                )
            runtime: Runtime = request.app.state.runtime
            await commit(unit.session, runtime.bus)
            return response

        return handle_and_commit
