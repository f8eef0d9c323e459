"""Request-size limits and per-key rate limits.

Rate limits are counted per process: behind N processes a key gets up to N times the rate.
That bounds abuse (password guessing, a runaway phone) without a shared store on the hot path.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem
from core.errors import TooManyRequests


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body outgrows its limit; rendered as a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body is over {limit} bytes")


class BodyLimitMiddleware:
    """Refuses request bodies over a limit with a 413 problem, before they are read whole.

    Starlette's own limiter answers in plain text; ours keeps the problem+json contract.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, by_prefix: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Longest prefix first, so /v1/a/uploads beats /v1/a.
        self.by_prefix = sorted((by_prefix or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        """The body limit for a path."""
        for prefix, limit in self.by_prefix:
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > limit:
            response = problem(
                status=413,
                code="payload_too_large",
                title="Payload too large",
                detail=f"the request body is over {limit} bytes",
                instance=scope["path"],
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by key: ``rate_per_s`` sustained, ``burst`` at once."""

    def __init__(self, *, rate_per_s: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def check(self, key: str, *, cost: float = 1.0) -> None:
        """Take ``cost`` tokens for ``key`` or raise TooManyRequests with the wait."""
        moment = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=moment)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = moment - bucket.updated
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate_per_s)
            bucket.updated = moment
        if bucket.tokens < cost:
            wait_s = (cost - bucket.tokens) / self.rate_per_s
            raise TooManyRequests(
                f"too many requests: retry in {wait_s:.1f} s",
                extra={"retry_after_s": round(wait_s, 1)},
            )
        bucket.tokens -= cost
