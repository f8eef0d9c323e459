"""Evidence uploads: stored by content hash, typed by their bytes, limited in size, and a
refused upload leaves no file, no row and no log entry."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import Environment, FilesSettings, SecuritySettings, Settings
from tests.helpers import Org
from tests.tracking.evidence_factory import OnTheRoad, jpeg, on_the_road, png, upload

LIMIT = 4096


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A test app whose uploads may be at most 4 KiB."""
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0),
        files=FilesSettings(max_upload_bytes=LIMIT),
    )


def stored_files(settings: Settings) -> list[Path]:
    """Every file under the store's directory, partial copies included."""
    directory = settings.files_directory
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


async def log_kinds(client: httpx.AsyncClient, org: Org, road: OnTheRoad) -> list[str]:
    """The kinds in the delivery's log."""
    response = await client.get(
        "/v1/events", headers=org.headers, params={"subject": f"delivery:{road.id}"}
    )
    return [e["kind"] for e in response.json()["data"]]


async def listed(client: httpx.AsyncClient, road: OnTheRoad) -> int:
    """How many evidence files the delivery has."""
    response = await client.get(f"/v1/evidence/{road.id}/files", headers=road.buyer.headers)
    count: int = response.json()["count"]
    return count


class TestUpload:
    async def test_a_photo_is_stored_by_its_hash_and_read_back_by_the_parties(
        self,
        client: httpx.AsyncClient,
        database: Database,
        settings: Settings,
        clock: FrozenClock,
    ) -> None:
        road = await on_the_road(client, database)
        content = png(7)
        response = await upload(client, road.id, road.carrier_headers, content)
        assert response.status_code == 201, response.text
        body = response.json()
        digest = hashlib.sha256(content).hexdigest()
        assert (body["sha256"], body["size_bytes"], body["media_type"]) == (
            digest,
            len(content),
            "image/png",
        )
        assert body["lat"] == 53.546
        assert body["captured_at"] is not None
        assert [p.name for p in stored_files(settings)] == [digest]
        for party in (road.buyer, road.seller):
            back = await client.get(f"/v1/evidence/{road.id}/files/{digest}", headers=party.headers)
            assert back.status_code == 200
            assert back.content == content
            assert back.headers["content-type"] == "image/png"
            assert back.headers["x-content-type-options"] == "nosniff"
        hidden = await client.get(
            f"/v1/evidence/{road.id}/files/{digest}", headers=road.stranger.headers
        )
        assert hidden.status_code == 404
        again = await upload(client, road.id, road.buyer.headers, content)
        assert again.json()["id"] == body["id"]
        assert await listed(client, road) == 1
        assert (await log_kinds(client, road.buyer, road)).count("evidence.file_added") == 1

    async def test_an_unlabelled_upload_is_typed_by_its_bytes(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        response = await upload(
            client, road.id, road.buyer.headers, jpeg(1), content_type="application/octet-stream"
        )
        assert response.status_code == 201, response.text
        assert response.json()["media_type"] == "image/jpeg"


class TestRefusedUploads:
    @pytest.mark.parametrize(
        ("content", "content_type", "status", "code"),
        [
            (png(1, comment_bytes=2 * LIMIT), "image/png", 413, "file_too_large"),
            (
                b"<!doctype html><script>alert(1)</script>",
                "image/png",
                415,
                "unsupported_media_type",
            ),
            (
                b'<svg xmlns="http://www.w3.org/2000/svg"/>',
                "image/svg+xml",
                415,
                "unsupported_media_type",
            ),
            (b"GIF89a" + b"\x00" * 40, "image/gif", 415, "unsupported_media_type"),
            (jpeg(2), "image/png", 415, "unsupported_media_type"),
            (b"MZ\x90\x00 an executable", "application/pdf", 415, "unsupported_media_type"),
        ],
        ids=["over-the-limit", "html-as-png", "svg", "gif", "jpeg-labelled-png", "exe-as-pdf"],
    )
    async def test_refused_and_nothing_stored(
        self,
        client: httpx.AsyncClient,
        database: Database,
        settings: Settings,
        clock: FrozenClock,
        content: bytes,
        content_type: str,
        status: int,
        code: str,
    ) -> None:
        road = await on_the_road(client, database)
        assert len(content) > LIMIT or status != 413
        before = await log_kinds(client, road.buyer, road)
        response = await upload(
            client, road.id, road.buyer.headers, content, content_type=content_type
        )
        assert (response.status_code, response.json()["code"]) == (status, code)
        assert stored_files(settings) == []
        assert await listed(client, road) == 0
        assert await log_kinds(client, road.buyer, road) == before

    async def test_a_stream_that_runs_past_the_limit_leaves_no_partial_copy(
        self,
        client: httpx.AsyncClient,
        database: Database,
        settings: Settings,
        clock: FrozenClock,
    ) -> None:
        road = await on_the_road(client, database)
        content = png(3, comment_bytes=3 * LIMIT)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(content), 1000):
                yield content[start : start + 1000]

        # No Content-Length: the limit is enforced while the bytes arrive.
        response = await client.post(
            f"/v1/evidence/{road.id}/files",
            headers={**road.buyer.headers, "Content-Type": "image/png"},
            content=chunks(),
        )
        assert (response.status_code, response.json()["code"]) == (413, "file_too_large")
        assert stored_files(settings) == []
        assert await listed(client, road) == 0

    async def test_strangers_and_viewers_cannot_upload(
        self,
        client: httpx.AsyncClient,
        database: Database,
        settings: Settings,
        clock: FrozenClock,
    ) -> None:
        road = await on_the_road(client, database)
        stranger = await upload(client, road.id, road.stranger.headers, png(4))
        assert (stranger.status_code, stranger.json()["code"]) == (404, "delivery_not_found")
        anonymous = await client.post(
            f"/v1/evidence/{road.id}/files", content=png(4), headers={"Content-Type": "image/png"}
        )
        assert anonymous.status_code == 401
        half = await client.post(
            f"/v1/evidence/{road.id}/files",
            headers={**road.buyer.headers, "Content-Type": "image/png"},
            params={"lat": 53.5},
            content=png(4),
        )
        assert half.status_code == 422
        assert stored_files(settings) == []
        assert await listed(client, road) == 0

    async def test_a_retried_upload_with_its_key_is_answered_the_same(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        headers = {**road.buyer.headers, "Idempotency-Key": "photo-1"}
        first = await upload(client, road.id, headers, png(6))
        again = await upload(client, road.id, headers, png(6))
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        other = await upload(client, road.id, headers, png(8))
        assert other.status_code == 422  # the same key for another file is a client error
        assert await listed(client, road) == 1
