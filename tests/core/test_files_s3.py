"""The evidence store on an S3-compatible bucket: the same admission as on disk, objects
named by hash, and a refused upload sends nothing.

The bucket is moto's S3 server, spoken to over HTTP by boto3 exactly as a deployment would
speak to its object store; no AWS account or MinIO is involved."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from api.app import create_app
from core.bus import MemoryBus
from core.clock import FrozenClock
from core.database import Database
from core.files import (
    FileNotFound,
    FileTooLarge,
    S3FileStore,
    UnsupportedMediaType,
    open_file_store,
)
from core.settings import Environment, FilesSettings, SecuritySettings, Settings
from tests.tracking.evidence_factory import on_the_road, png, upload

BUCKET = "haulpoint-evidence"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on a free local port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_settings(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings naming a fresh bucket on that server (and a small upload limit)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "haulpoint-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "haulpoint-test-secret")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0),
        files=FilesSettings(
            max_upload_bytes=4096,
            s3_bucket=BUCKET,
            s3_endpoint_url=s3_endpoint,
            s3_region="us-east-1",
            s3_prefix="evidence/",
        ),
    )
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def objects(settings: Settings) -> list[str]:
    """The keys in the bucket."""
    files = settings.files
    client = boto3.client("s3", endpoint_url=files.s3_endpoint_url, region_name=files.s3_region)
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


async def _stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class TestS3Store:
    async def test_stored_by_hash_read_back_and_stored_once(self, s3_settings: Settings) -> None:
        store = open_file_store(s3_settings)
        assert isinstance(store, S3FileStore)
        content = png(5)
        first = await store.put(_stream(content[:10], content[10:]), declared_type="image/png")
        again = await store.put(content)
        digest = hashlib.sha256(content).hexdigest()
        assert first == again
        assert (first.sha256, first.size_bytes, first.media_type) == (
            digest,
            len(content),
            "image/png",
        )
        assert objects(s3_settings) == [f"evidence/sha256/{digest}"]
        assert await store.read(digest) == content
        assert await store.exists(digest)
        missing = hashlib.sha256(b"nothing").hexdigest()
        assert not await store.exists(missing)
        with pytest.raises(FileNotFound):
            await store.read(missing)

    @pytest.mark.parametrize(
        ("content", "declared_size", "error"),
        [
            (png(1, comment_bytes=8000), None, FileTooLarge),
            (png(1), 10_000, FileTooLarge),
            (b"<html><script>x</script></html>", None, UnsupportedMediaType),
        ],
        ids=["stream-over-limit", "declared-over-limit", "html"],
    )
    async def test_a_refused_file_sends_nothing(
        self,
        s3_settings: Settings,
        content: bytes,
        declared_size: int | None,
        error: type[Exception],
    ) -> None:
        store = open_file_store(s3_settings)
        with pytest.raises(error):
            await store.put(_stream(content[:100], content[100:]), declared_size=declared_size)
        assert objects(s3_settings) == []


class TestUploadsToS3:
    async def test_the_api_stores_uploads_in_the_bucket_and_refusals_nowhere(
        self, s3_settings: Settings, database: Database, clock: FrozenClock
    ) -> None:
        app: Any = create_app(s3_settings, database=database, bus=MemoryBus())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                road = await on_the_road(client, database)
                refused = await upload(
                    client, road.id, road.buyer.headers, png(2, comment_bytes=8000)
                )
                assert refused.status_code == 413
                assert objects(s3_settings) == []
                taken = await upload(client, road.id, road.buyer.headers, png(3))
                assert taken.status_code == 201, taken.text
                digest = taken.json()["sha256"]
                assert objects(s3_settings) == [f"evidence/sha256/{digest}"]
                back = await client.get(
                    f"/v1/evidence/{road.id}/files/{digest}", headers=road.seller.headers
                )
                assert back.content == png(3)
        assert not (s3_settings.data_dir / "files").exists()
