"""Fuzzing: schemathesis generates requests for every operation of the OpenAPI document, valid
and invalid ones, sent in process as every role of an organization (and as a device); no
answer is a 5xx, and every answer conforms to the schema the document gives it.

Cases are generated with Hypothesis (no I/O), then sent through httpx's ASGI transport in the
test's own event loop, where the app and its database live. ``HAULPOINT_FUZZ_EXAMPLES`` sets
how many cases per operation, role and mode (default 2 on SQLite, 1 on PostgreSQL);
``HAULPOINT_FUZZ_SEED`` fixes the seed to replay a run.
"""

from __future__ import annotations

import asyncio
import os
import random
import warnings
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.helpers import Org, add_member, register_device, signup
from tests.reliability.world import ALL_KINDS, ROLES

pytestmark = pytest.mark.slow

# The HTTP contract is the same on both databases: PostgreSQL runs get one case per operation,
# role and mode unless told otherwise, which keeps CI's second pass short.
_ON_POSTGRES = os.environ.get("HAULPOINT_TEST_DATABASE_URL", "").startswith("postgres")
EXAMPLES = int(os.environ.get("HAULPOINT_FUZZ_EXAMPLES", "1" if _ON_POSTGRES else "2"))
SEED = int(os.environ.get("HAULPOINT_FUZZ_SEED", str(random.randrange(1 << 32))))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

REPLY_S = 30.0
"""Longer than any request takes (a split solve included): past it the app hangs."""
STREAM_WAIT_S = 0.5
"""How long an event stream is listened to before the client leaves."""

LAST = ("logout",)
"""Operations that end the caller's own session: fuzzed after every other one."""


def _cases(operation: Any, mode: GenerationMode, count: int, run_seed: int) -> list[Any]:
    """Generate up to ``count`` cases for one operation (no I/O)."""
    made: list[Any] = []
    strategy = operation.as_strategy(generation_mode=mode)

    @seed(run_seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Any) -> None:
        made.append(case)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            collect()
        except Exception as error:
            if not made:
                return [f"could not generate: {type(error).__name__}: {error}"]
    return made[:count]


async def _principals(client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    org: Org = await signup(client, "Fuzz Trading", ALL_KINDS)
    headers = {"owner": org.headers}
    for role in ROLES[1:]:
        _, token = await add_member(client, org, role)
        headers[role] = {"Authorization": f"Bearer {token}"}
    device = await register_device(client, org)
    headers["device"] = device.headers
    return headers


def _send_kwargs(case: Any, auth: dict[str, str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url="http://haulpoint.test")
    headers = {k.lower(): v for k, v in (kwargs.pop("headers", None) or {}).items()}
    headers.pop("authorization", None)
    headers.update({k.lower(): v for k, v in auth.items()})
    kwargs["headers"] = headers
    kwargs.pop("cookies", None)
    if "json" in kwargs:
        kwargs["content"] = httpx.Request("POST", "/", json=kwargs.pop("json")).content
        headers.setdefault("content-type", "application/json")
    if "data" in kwargs and not isinstance(kwargs["data"], dict):
        kwargs["content"] = kwargs.pop("data")
    return kwargs


class TestFuzzOpenApi:
    async def test_every_operation_every_role(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        schema = schemathesis.openapi.from_dict(app.openapi())
        results = list(schema.get_all_operations())
        broken = [str(r.err()) for r in results if isinstance(r, Err)]
        assert broken == [], "operations the OpenAPI document describes badly"
        operations = [r.ok() for r in results if isinstance(r, Ok)]
        assert len(operations) > 100
        operations.sort(key=lambda op: op.definition.raw.get("operationId") in LAST)
        principals = await _principals(client)
        failures: list[str] = []
        sent = 0
        for operation in operations:
            streams = _is_stream(operation)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                cases = _cases(operation, mode, EXAMPLES, SEED)
                for case in cases:
                    if isinstance(case, str):
                        continue
                    for role, auth in principals.items():
                        kwargs = _send_kwargs(case, auth)
                        method = kwargs.pop("method")
                        url = kwargs.pop("url")
                        try:
                            async with asyncio.timeout(STREAM_WAIT_S if streams else REPLY_S):
                                response = await client.request(method, url, **_httpx(kwargs))
                        except TimeoutError:
                            # An event stream that opened runs until the client leaves: the
                            # in-process transport waits for the whole body, so stop it here.
                            if not streams:
                                failures.append(f"{operation.label} as {role}: no answer")
                            continue
                        except Exception as error:
                            failures.append(f"{operation.label} as {role}: raised {error!r}")
                            continue
                        sent += 1
                        failure = _validate(case, response)
                        if failure:
                            failures.append(
                                f"{operation.label} as {role} ({mode.value}): "
                                f"{response.status_code} {failure}\n    {method} {url} "
                                f"{str(kwargs.get('content', ''))[:200]}"
                            )
        assert failures == [], f"seed {SEED}\n" + "\n".join(failures[:30])
        assert sent > 5 * len(operations)


def _is_stream(operation: Any) -> bool:
    responses = operation.definition.raw.get("responses", {})
    return any("text/event-stream" in (r.get("content") or {}) for r in responses.values())


def _httpx(kwargs: dict[str, Any]) -> dict[str, Any]:
    allowed = {"headers", "params", "content", "data", "files"}
    return {k: v for k, v in kwargs.items() if k in allowed and v is not None}


def _validate(case: Any, response: httpx.Response) -> str | None:
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseExceptionGroup as failed:
        return "; ".join(
            f"{type(one).__name__}: {str(one).splitlines()[0]}" for one in failed.exceptions
        )
    except AssertionError as failed:
        return str(failed)[:600]
    return None
