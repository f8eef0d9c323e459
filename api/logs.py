"""Logging with request ids, and the middleware that assigns them."""

from __future__ import annotations

import logging
import random
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import request_id

access_log = logging.getLogger("haulpoint.access")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


def configure_logging(level: str) -> None:
    """One line per record: time, level, logger, request id, message."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _new_request_id() -> str:
    # Time-ordered and unique enough to find a request in the logs; it guards nothing, so it
    # skips the system random source (a syscall per request on the ingest hot path).
    return f"{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"


class RequestIdMiddleware:
    """Takes a sane X-Request-ID or makes one, echoes it, and logs one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SAFE_ID.match(given) else _new_request_id()
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http" and access_log.isEnabledFor(logging.INFO):
                # The path only: query strings may carry device secrets from stock GPS apps.
                access_log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - started) * 1000,
                )
            request_id.reset(token)
