"""Every error leaves as RFC 9457 problem+json with a stable code; no SQL or stack text."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.context import request_id
from api.json import dumps
from core.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 5


def problem(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] = (),
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"urn:haulpoint:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    rid = request_id.get()
    if rid:
        body["request_id"] = rid
    return Response(dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    fields = []
    for error in raw:
        loc = [part for part in error.get("loc", ()) if part != "body" or len(error["loc"]) == 1]
        fields.append(
            {
                "field": ".".join(str(part) for part in loc) or "body",
                "loc": list(error.get("loc", ())),
                "msg": error.get("msg", "invalid"),
                "type": error.get("type", "value_error"),
            }
        )
    return fields


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return domain_problem(error, instance=request.url.path)


def domain_problem(error: DomainError, *, instance: str | None) -> Response:
    """The problem+json response for a domain error."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if error.status in (429, 503) else None
    if error.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return problem(
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        instance=instance,
        errors=[
            {"field": ".".join(map(str, e.loc)), "loc": list(e.loc), "msg": e.msg, "type": e.type}
            for e in error.errors
        ],
        extra=error.extra,
        headers=headers,
    )


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    fields = _field_errors(error.errors())
    names = ", ".join(sorted({f["field"] for f in fields}))
    return problem(
        status=422,
        code="validation_failed",
        title="Invalid request",
        detail=f"check these fields: {names}",
        instance=request.url.path,
        errors=fields,
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    return problem(
        status=error.status_code,
        code=codes.get(error.status_code, "http_error"),
        title=str(error.detail),
        detail=str(error.detail),
        instance=request.url.path,
        headers=dict(error.headers or {}),
    )


async def _stale(request: Request, _error: Exception) -> Response:
    return problem(
        status=409,
        code="stale_version",
        title="Conflict",
        detail="the record was changed by someone else: reload and retry",
        instance=request.url.path,
    )


async def _integrity(request: Request, _error: Exception) -> Response:
    return problem(
        status=409,
        code="conflict",
        title="Conflict",
        detail="the change conflicts with existing data",
        instance=request.url.path,
    )


async def _database_down(request: Request, error: Exception) -> Response:
    log.warning("database unavailable: %s", type(error).__name__)
    return problem(
        status=503,
        code="database_unavailable",
        title="Service unavailable",
        detail="the database cannot be reached: retry shortly",
        instance=request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return problem(
        status=500,
        code="internal_error",
        title="Internal error",
        detail="something went wrong on our side; the request id helps us find it",
        instance=request.url.path,
    )


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; ``errors`` names each bad field of a 422.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "loc", "msg", "type"],
                "properties": {
                    "field": {"type": "string"},
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def document_problems(document: dict[str, Any]) -> None:
    """Say in the OpenAPI document what a 422 really is: problem+json, not FastAPI's default."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            invalid = (
                operation.get("responses", {}).get("422") if isinstance(operation, dict) else None
            )
            if invalid is not None:
                invalid["content"] = {PROBLEM_JSON: reference}
    for unused in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(unused, None)


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(InterfaceError, _database_down)
    # Every pooled connection busy past the pool's timeout: as unavailable as a dead database.
    app.add_exception_handler(PoolTimeout, _database_down)
    app.add_exception_handler(Exception, _unexpected)
