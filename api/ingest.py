"""The device ingest endpoints, served as plain ASGI ahead of FastAPI's machinery.

These few routes carry most of the platform's requests. Profiled under load, FastAPI's
per-request work (its telemetry check, middleware layers, router matching, dependency
solving) cost more than the ingest itself for a one-ping request, so the app hands these
paths straight to :class:`IngestEndpoints` wrapped in our own request-id and body-limit
middlewares (see ``api.app``). What matters is kept: request ids, body limits, problem+json
for every failure, device authentication on every request, a rate limit per device. Their
OpenAPI description is :func:`openapi_paths`. They need no member token: devices bring
their own credentials.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.types import Receive, Scope, Send

from api.errors import domain_problem, problem
from api.limits import BodyTooLarge
from api.runtime import Runtime
from core.clock import now
from core.errors import DomainError
from tracking.devices import service as devices
from tracking.devices.exceptions import InvalidDeviceCredentials
from tracking.devices.identity import DeviceIdentity
from tracking.devices.setup import (
    NATIVE_PATH,
    OSMAND_MPS_PATH,
    OSMAND_PATH,
    OVERLAND_PATH,
    OWNTRACKS_PATH,
)
from tracking.formats import (
    SpeedUnit,
    parse_native_batch,
    parse_osmand_http,
    parse_overland,
    parse_owntracks,
)

log = logging.getLogger(__name__)

INGEST_PREFIX: Final = "/v1/ingest/"
NOOP_PATH: Final = "/v1/ingest/noop"
PUBLIC_REASON: Final = "devices authenticate with their own credentials"

_JSON: Final = b"application/json"
_EMPTY_ARRAY: Final = b"[]"


class _ClientGone(Exception):
    """The client hung up before its body arrived."""


class _Reply:
    """A successful answer: status, JSON body, extra headers."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, body: bytes, *, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.body = body
        self.status = status
        self.headers = headers or []


Handler = Callable[[Runtime, Scope, bytes], Awaitable[_Reply]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    authorization = _header(scope, b"authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def _identity_by_token(runtime: Runtime, token: str | None) -> DeviceIdentity:
    if token is None:
        raise InvalidDeviceCredentials("send the device token: Authorization: Bearer hpd_...")
    cached = devices.cached_by_token(runtime.tracking.devices, token)
    if cached is not None:
        return cached
    lookup = runtime.tracking.lookup
    if lookup is not None:
        return await devices.identify_by_token(lookup, token=token, cache=runtime.tracking.devices)
    async with runtime.database.session() as session:
        return await devices.authenticate_token(
            session, token=token, cache=runtime.tracking.devices
        )


async def _identity_by_tracker(runtime: Runtime, tracker_id: str) -> DeviceIdentity:
    cached = devices.cached_by_tracker(runtime.tracking.devices, tracker_id)
    if cached is not None:
        return cached
    lookup = runtime.tracking.lookup
    if lookup is not None:
        return await devices.identify_by_tracker(
            lookup, tracker_id=tracker_id, cache=runtime.tracking.devices
        )
    async with runtime.database.session() as session:
        return await devices.authenticate_tracker(
            session, tracker_id=tracker_id, cache=runtime.tracking.devices
        )


def _reply_json(value: Any) -> _Reply:
    return _Reply(orjson.dumps(value))


async def native(runtime: Runtime, scope: Scope, body: bytes) -> _Reply:
    """Our app's batches: ``Authorization: Bearer hpd_...``; answered per ping."""
    device = await _identity_by_token(runtime, _bearer(scope))
    runtime.ingest_limiter.check(device.key)
    parsed = parse_native_batch(body, device_key=str(device.id))
    result = await runtime.tracking.ingestor.ingest(device, parsed)
    return _reply_json(result.to_json())


def _osmand(speed_unit: SpeedUnit) -> Handler:
    async def osmand(runtime: Runtime, scope: Scope, body: bytes) -> _Reply:
        parsed = parse_osmand_http(
            query=scope["query_string"].decode("latin-1"),
            body=body,
            content_type=_header(scope, b"content-type") or "",
            speed_unit=speed_unit,
            received_at=now(),
        )
        # The device identifier these apps send is the device's secret.
        device = await _identity_by_tracker(runtime, parsed.pings[0].device_key)
        runtime.ingest_limiter.check(device.key)
        result = await runtime.tracking.ingestor.ingest(device, parsed)
        return _reply_json(result.to_json())

    return osmand


async def owntracks(runtime: Runtime, scope: Scope, body: bytes) -> _Reply:
    """OwnTracks HTTP mode: basic auth; answered with an empty list of commands."""
    login = _basic_credentials(scope)
    if login is None:
        raise _basic_required()
    user, password = login
    async with runtime.database.session() as session:
        device = await devices.authenticate_owntracks(
            session, user=user, password=password, cache=runtime.tracking.devices
        )
    runtime.ingest_limiter.check(device.key)
    parsed = parse_owntracks(
        body, user=_header(scope, b"x-limit-u"), device=_header(scope, b"x-limit-d")
    )
    result = await runtime.tracking.ingestor.ingest(device, parsed)
    if result.rejected:
        log.info("owntracks device %s: %d pings refused", device.number, len(result.rejected))
    return _Reply(_EMPTY_ARRAY)


async def overland(runtime: Runtime, scope: Scope, body: bytes) -> _Reply:
    """Overland: the device token as a bearer header or ``?token=``; ``result: ok`` once stored."""
    token = _bearer(scope)
    if token is None:
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        token = query.get("token") or None
    device = await _identity_by_token(runtime, token)
    runtime.ingest_limiter.check(device.key)
    parsed = parse_overland(body, device_key=str(device.id))
    result = await runtime.tracking.ingestor.ingest(device, parsed)
    return _reply_json({"result": "ok", **result.to_json()})


async def noop(runtime: Runtime, scope: Scope, body: bytes) -> _Reply:
    """Benchmarks only: read the request and answer, storing nothing."""
    return _reply_json({"accepted": 0, "bytes": len(body)})


def _basic_credentials(scope: Scope) -> tuple[str, str] | None:
    authorization = _header(scope, b"authorization")
    if authorization is None:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _basic_required() -> InvalidDeviceCredentials:
    error = InvalidDeviceCredentials("send the device's OwnTracks user and password (basic auth)")
    error.extra["www_authenticate"] = 'Basic realm="haulpoint"'
    return error


_ROUTES: Final[dict[str, tuple[frozenset[str], Handler]]] = {
    NATIVE_PATH: (frozenset({"POST"}), native),
    OSMAND_PATH: (frozenset({"GET", "POST"}), _osmand(SpeedUnit.KNOTS)),
    OSMAND_MPS_PATH: (frozenset({"GET", "POST"}), _osmand(SpeedUnit.MPS)),
    OWNTRACKS_PATH: (frozenset({"POST"}), owntracks),
    OVERLAND_PATH: (frozenset({"POST"}), overland),
}


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class IngestEndpoints:
    """The ingest routes as one plain ASGI app; :meth:`handles` says which requests are its."""

    def __init__(self, *, noop_endpoint: bool = False) -> None:
        self.routes = dict(_ROUTES)
        if noop_endpoint:
            self.routes[NOOP_PATH] = (frozenset({"POST", "GET"}), noop)

    def handles(self, scope: Scope) -> bool:
        """Whether a request is for one of the ingest endpoints."""
        if scope["type"] != "http":
            return False
        path: str = scope["path"]
        return path.startswith(INGEST_PREFIX) and path.rstrip("/") in self.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        methods, handler = self.routes[path.rstrip("/")]
        if scope["method"] not in methods:
            await self._problem_reply(
                scope,
                receive,
                send,
                problem(
                    status=405,
                    code="method_not_allowed",
                    title="Method not allowed",
                    detail=f"use {' or '.join(sorted(methods))}",
                    instance=path,
                    headers={"Allow": ", ".join(sorted(methods))},
                ),
            )
            return
        try:
            body = await _read_body(receive)
            reply = await handler(scope["app"].state.runtime, scope, body)
        except _ClientGone:
            return
        except DomainError as error:
            await self._problem_reply(scope, receive, send, _problem_for(error, path))
            return
        except BodyTooLarge as error:
            response = problem(
                status=413,
                code="payload_too_large",
                title="Payload too large",
                detail=str(error.detail),
                instance=path,
            )
            await self._problem_reply(scope, receive, send, response)
            return
        except (OperationalError, InterfaceError, DBAPIError) as error:
            log.warning("ingest could not store: %s", type(error).__name__)
            response = problem(
                status=503,
                code="database_unavailable",
                title="Service unavailable",
                detail="positions could not be stored: retry shortly",
                instance=path,
                headers={"Retry-After": "5"},
            )
            await self._problem_reply(scope, receive, send, response)
            return
        except Exception:
            log.exception("unhandled error on %s", path)
            response = problem(
                status=500,
                code="internal_error",
                title="Internal error",
                detail="something went wrong on our side; the request id helps us find it",
                instance=path,
            )
            await self._problem_reply(scope, receive, send, response)
            return
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [
                    (b"content-type", _JSON),
                    (b"content-length", str(len(reply.body)).encode()),
                    *reply.headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    @staticmethod
    async def _problem_reply(scope: Scope, receive: Receive, send: Send, response: Any) -> None:
        await response(scope, receive, send)


def _problem_for(error: DomainError, path: str) -> Any:
    challenge = error.extra.pop("www_authenticate", None)
    response = domain_problem(error, instance=path)
    if challenge is not None:
        response.headers["WWW-Authenticate"] = str(challenge)
    return response


def _problem_schema_ref() -> dict[str, Any]:
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _operation(
    *,
    operation_id: str,
    summary: str,
    description: str,
    request: dict[str, Any] | None,
    reply: dict[str, Any],
    security: list[dict[str, list[str]]],
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": ["ingest"],
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "x-public": PUBLIC_REASON,
        "security": security,
        "responses": {
            "200": {"description": "stored (refused pings are listed)", "content": reply},
            "401": {"description": "unknown or revoked device", "content": _problem_schema_ref()},
            "413": {"description": "body too large", "content": _problem_schema_ref()},
            "422": {
                "description": "the body cannot be read; `errors[].field` names the problem",
                "content": _problem_schema_ref(),
            },
            "429": {"description": "the device sends too often", "content": _problem_schema_ref()},
            "503": {"description": "storage unavailable: retry", "content": _problem_schema_ref()},
        },
    }
    if parameters:
        operation["parameters"] = parameters
    if request is not None:
        operation["requestBody"] = {"required": True, "content": request}
    return operation


_RESULT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer", "description": "pings stored (now or by an earlier try)"},
        "rejected": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "id": {"type": ["string", "null"]},
                    "field": {"type": "string"},
                    "reason": {
                        "type": "string",
                        "enum": [
                            "coordinate_not_finite",
                            "lat_out_of_range",
                            "lon_out_of_range",
                            "no_fix",
                            "recorded_in_future",
                            "recorded_too_old",
                        ],
                    },
                    "detail": {"type": "string"},
                },
            },
        },
        "ignored": {"type": "integer", "description": "messages that are not locations"},
    },
}

_NATIVE_PING: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["id", "recorded_at", "lat", "lon"],
    "properties": {
        "id": {"type": "string", "maxLength": 64, "description": "unique per device"},
        "recorded_at": {
            "oneOf": [
                {"type": "string", "format": "date-time"},
                {"type": "integer", "description": "epoch milliseconds"},
            ]
        },
        "lat": {"type": "number"},
        "lon": {"type": "number"},
        "speed_mps": {"type": ["number", "null"]},
        "heading_deg": {"type": ["number", "null"]},
        "altitude_m": {"type": ["number", "null"]},
        "accuracy_m": {"type": ["number", "null"]},
        "battery_pct": {"type": ["number", "null"]},
    },
}


def openapi_paths() -> dict[str, Any]:
    """The ingest endpoints as OpenAPI path items."""
    bearer: list[dict[str, list[str]]] = [{"DeviceToken": []}]
    json_result = {"application/json": {"schema": _RESULT_SCHEMA}}
    osmand_query = [
        {"name": name, "in": "query", "required": name == "id", "schema": {"type": kind}}
        for name, kind in (
            ("id", "string"),
            ("lat", "number"),
            ("lon", "number"),
            ("timestamp", "string"),
            ("speed", "number"),
            ("bearing", "number"),
            ("altitude", "number"),
            ("accuracy", "number"),
            ("batt", "number"),
        )
    ]
    osmand_body = {
        "application/json": {"schema": {"type": "object", "description": "Traccar Client JSON"}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
    }

    def osmand_item(operation_id: str, unit: str) -> dict[str, Any]:
        description = (
            "The OsmAnd protocol: one location in the query string or a form body, or "
            "Traccar Client's JSON body. `id` (or the JSON `device_id`) is the device's "
            f"tracker id, which is also its secret. Speeds are read in {unit}. Answered "
            "per ping; stock apps only look at the status."
        )
        get = _operation(
            operation_id=operation_id + "_get",
            summary=f"Ingest one OsmAnd-protocol location (speed in {unit})",
            description=description,
            request=None,
            reply=json_result,
            security=[],
            parameters=osmand_query,
        )
        post = _operation(
            operation_id=operation_id,
            summary=f"Ingest an OsmAnd or Traccar Client location (speed in {unit})",
            description=description,
            request=osmand_body,
            reply=json_result,
            security=[],
            parameters=[{**p, "required": False} for p in osmand_query],
        )
        return {"get": get, "post": post}

    return {
        NATIVE_PATH: {
            "post": _operation(
                operation_id="ingest_pings",
                summary="Ingest a batch of pings from our app",
                description=(
                    "Many pings per request, each with its own `id`. Answered per ping: "
                    "valid pings are stored once (a retried batch stores nothing twice), "
                    "refused ones are listed with the field and reason. Out-of-order pings "
                    "are accepted. 200 means every accepted ping is committed."
                ),
                request={
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["pings"],
                            "properties": {
                                "device_id": {
                                    "type": "string",
                                    "description": "optional; the device id if given",
                                },
                                "pings": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 1000,
                                    "items": _NATIVE_PING,
                                },
                            },
                        }
                    }
                },
                reply=json_result,
                security=bearer,
            )
        },
        OSMAND_PATH: osmand_item("ingest_osmand", "knots, as Traccar Client sends"),
        OSMAND_MPS_PATH: osmand_item("ingest_osmand_mps", "m/s, as the OsmAnd app sends"),
        OWNTRACKS_PATH: {
            "post": _operation(
                operation_id="ingest_owntracks",
                summary="Ingest OwnTracks HTTP-mode messages",
                description=(
                    "HTTP basic auth with the device's OwnTracks user and password. "
                    "`_type: location` messages are stored; other types are acknowledged. "
                    "The answer is a JSON array of commands: always `[]`."
                ),
                request={"application/json": {"schema": {"type": ["object", "array"]}}},
                reply={"application/json": {"schema": {"type": "array", "maxItems": 0}}},
                security=[{"OwnTracksBasic": []}],
            )
        },
        OVERLAND_PATH: {
            "post": _operation(
                operation_id="ingest_overland",
                summary="Ingest an Overland batch",
                description=(
                    "A GeoJSON FeatureCollection under `locations`. The device token comes "
                    "as a bearer header or `?token=`. `result: ok` is sent only once the "
                    "batch is committed; Overland resends anything else."
                ),
                request={"application/json": {"schema": {"type": "object"}}},
                reply={
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"result": {"const": "ok"}},
                            "required": ["result"],
                        }
                    }
                },
                security=[*bearer, {"OverlandToken": []}],
                parameters=[
                    {
                        "name": "token",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                    }
                ],
            )
        },
    }


def openapi_components() -> dict[str, Any]:
    """Security schemes and the problem schema the ingest paths refer to."""
    return {
        "securitySchemes": {
            "DeviceToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "A device token (hpd_...) from device registration",
            },
            "OwnTracksBasic": {"type": "http", "scheme": "basic"},
            "OverlandToken": {"type": "apiKey", "in": "query", "name": "token"},
        },
        "schemas": {
            "Problem": {
                "type": "object",
                "description": "RFC 9457 problem details",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "code": {"type": "string"},
                    "instance": {"type": "string"},
                    "request_id": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
            }
        },
    }
