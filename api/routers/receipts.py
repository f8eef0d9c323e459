"""Proof of delivery: evidence files (photos, signatures, documents) and the receipt at the
delivery point."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import AwareDatetime

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, SessionDep, require_scope
from api.routing import TransactionalRoute
from core.errors import FieldError, RuleViolation
from core.files import FileStore, open_file_store
from tracking.evidence import service
from tracking.evidence.bundle import delivery_evidence
from tracking.evidence.enums import FilePurpose
from tracking.evidence.schemas import (
    EvidenceFilePublic,
    EvidenceFilesPublic,
    ReceiptCreate,
    ReceiptPublic,
)
from tracking.evidence.views import file_public, receipt_public

UPLOAD_PREFIX = "/v1/evidence/"
"""Uploads live under this prefix, which the body-size limit lets carry a whole file."""

router = APIRouter(prefix="/v1", tags=["evidence"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_WRITE))]
Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
_ = delivery_evidence  # importing the module registers the delivery bundle's evidence


def get_file_store(runtime: RuntimeDep) -> FileStore:
    """The process's evidence file store, opened once from the settings."""
    store: FileStore | None = runtime.extras.get("files")
    if store is None:
        store = runtime.extras["files"] = open_file_store(runtime.settings)
    return store


FileStoreDep = Annotated[FileStore, Depends(get_file_store)]


@router.post(
    "/evidence/{delivery_id}/files",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "description": "The file's bytes (JPEG, PNG, WebP, HEIC/HEIF or PDF).",
        }
    },
)
async def upload_evidence_file(
    delivery_id: uuid.UUID,
    request: Request,
    principal: Writer,
    session: SessionDep,
    store: FileStoreDep,
    purpose: FilePurpose = FilePurpose.PHOTO,
    captured_at: Annotated[AwareDatetime | None, Query(description="The phone's time")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    accuracy_m: Annotated[float | None, Query(ge=0, le=100_000)] = None,
) -> EvidenceFilePublic:
    """Upload a photo, signature or document for a delivery; its type is judged by its bytes,
    and a refused file leaves nothing stored."""
    if (lat is None) != (lon is None):
        raise RuleViolation(
            "give lat and lon together",
            code="validation_failed",
            errors=[FieldError(loc=("query", "lat" if lat is None else "lon"), msg="required")],
        )
    length = request.headers.get("content-length")
    row = await service.upload_file(
        session,
        principal=principal,
        store=store,
        delivery_id=delivery_id,
        data=request.stream(),
        declared_size=int(length) if length and length.isdigit() else None,
        declared_type=request.headers.get("content-type"),
        purpose=purpose,
        captured_at=captured_at,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
    )
    return file_public(row)


@router.get("/evidence/{delivery_id}/files")
async def list_evidence_files(
    delivery_id: uuid.UUID, principal: Reader, session: SessionDep
) -> EvidenceFilesPublic:
    """A delivery's evidence files, oldest first."""
    found = await service.list_files(session, principal=principal, delivery_id=delivery_id)
    return EvidenceFilesPublic(data=[file_public(f) for f in found], count=len(found))


@router.get(
    "/evidence/{delivery_id}/files/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "application/pdf": {}}, "description": "The file"}
    },
)
async def get_evidence_file(
    delivery_id: uuid.UUID,
    sha256: Sha256Path,
    principal: Reader,
    session: SessionDep,
    store: FileStoreDep,
) -> Response:
    """The bytes of one of a delivery's evidence files."""
    row = await service.get_file(
        session, principal=principal, delivery_id=delivery_id, sha256=sha256
    )
    return Response(
        await store.read(row.sha256),
        media_type=row.media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'attachment; filename="{row.sha256}"',
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )


@router.post("/deliveries/{delivery_id}/receipt", status_code=status.HTTP_201_CREATED)
async def record_receipt(
    delivery_id: uuid.UUID, body: ReceiptCreate, principal: Writer, session: SessionDep
) -> ReceiptPublic:
    """Confirm what arrived at the delivery point (buyer or carrier): the delivery becomes
    delivered, and a discrepancy beyond tolerance opens a dispute."""
    receipt, dispute = await service.record_receipt(
        session, principal=principal, delivery_id=delivery_id, data=body
    )
    return receipt_public(receipt, None if dispute is None else dispute.id)


@router.get("/deliveries/{delivery_id}/receipt")
async def get_receipt(
    delivery_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ReceiptPublic:
    """A delivery's receipt."""
    receipt, _ = await service.get_receipt(session, principal=principal, delivery_id=delivery_id)
    return receipt_public(receipt, await service.dispute_of_receipt(session, receipt))
