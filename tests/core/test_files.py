"""The evidence file store: content-addressed, sniffed, limited, and nothing left by refusals."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.files import (
    FileNotFound,
    FilePolicy,
    FileTooLarge,
    LocalFileStore,
    UnsupportedMediaType,
    open_file_store,
    sniff_media_type,
)
from core.settings import Settings

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"x" * 100
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 50
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + b"\x00" * 50
HTML = b"<!doctype html><script>alert(1)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'
GIF = b"GIF89a" + b"\x00" * 40


def _store(tmp_path: Path, max_bytes: int = 1024) -> LocalFileStore:
    policy = FilePolicy(
        max_bytes=max_bytes,
        allowed_media_types=frozenset({"image/jpeg", "image/png", "application/pdf"}),
    )
    return LocalFileStore(tmp_path / "files", policy)


def _stored_files(store: LocalFileStore) -> list[Path]:
    return [p for p in store.directory.rglob("*") if p.is_file()]


async def _stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class TestSniffing:
    @pytest.mark.parametrize(
        ("head", "media_type"),
        [
            (JPEG, "image/jpeg"),
            (PNG, "image/png"),
            (PDF, "application/pdf"),
            (WEBP, "image/webp"),
            (HEIC, "image/heic"),
            (GIF, "image/gif"),
            (HTML, None),
            (SVG, None),
            (b"", None),
        ],
    )
    def test_the_bytes_decide(self, head: bytes, media_type: str | None) -> None:
        assert sniff_media_type(head[:16]) == media_type


class TestStore:
    async def test_a_file_is_stored_under_its_hash(self, tmp_path: Path) -> None:
        store = _store(tmp_path)
        stored = await store.put(JPEG)
        assert stored.sha256 == hashlib.sha256(JPEG).hexdigest()
        assert (stored.size_bytes, stored.media_type) == (len(JPEG), "image/jpeg")
        assert await store.read(stored.sha256) == JPEG
        assert await store.exists(stored.sha256)
        assert _stored_files(store) == [store.path_of(stored.sha256)]

    async def test_the_same_bytes_are_stored_once(self, tmp_path: Path) -> None:
        store = _store(tmp_path)
        first = await store.put(PDF)
        second = await store.put(_stream(PDF[:5], PDF[5:40], PDF[40:]))
        assert first == second
        assert len(_stored_files(store)) == 1

    async def test_a_stream_in_small_chunks_is_sniffed_across_them(self, tmp_path: Path) -> None:
        store = _store(tmp_path)
        stored = await store.put(_stream(*(PNG[i : i + 3] for i in range(0, len(PNG), 3))))
        assert stored.media_type == "image/png"
        assert await store.read(stored.sha256) == PNG

    async def test_a_missing_or_malformed_hash_is_not_found(self, tmp_path: Path) -> None:
        store = _store(tmp_path)
        with pytest.raises(FileNotFound):
            await store.read("0" * 64)
        with pytest.raises(FileNotFound):
            await store.read("../../etc/passwd")
        assert not await store.exists("../x")


class TestRefusals:
    async def test_over_the_limit(self, tmp_path: Path) -> None:
        store = _store(tmp_path, max_bytes=100)
        with pytest.raises(FileTooLarge):
            await store.put(JPEG)
        assert _stored_files(store) == []

    async def test_over_the_limit_while_streaming(self, tmp_path: Path) -> None:
        store = _store(tmp_path, max_bytes=100)
        with pytest.raises(FileTooLarge):
            await store.put(_stream(JPEG[:40], JPEG[40:80], JPEG[80:]))
        assert _stored_files(store) == []

    async def test_a_declared_size_over_the_limit_reads_nothing(self, tmp_path: Path) -> None:
        store = _store(tmp_path, max_bytes=100)
        read: list[bytes] = []

        async def watched() -> AsyncIterator[bytes]:
            read.append(JPEG)
            yield JPEG

        with pytest.raises(FileTooLarge):
            await store.put(watched(), declared_size=5000)
        assert read == []
        assert _stored_files(store) == []

    @pytest.mark.parametrize("content", [HTML, SVG, GIF, WEBP, b"MZ\x90\x00" + b"\x00" * 60, b""])
    async def test_a_forbidden_type(self, tmp_path: Path, content: bytes) -> None:
        store = _store(tmp_path)
        with pytest.raises(UnsupportedMediaType):
            await store.put(content)
        assert _stored_files(store) == []

    async def test_a_script_labelled_as_a_photo_is_still_a_script(self, tmp_path: Path) -> None:
        # There is no way to pass a client's content type: only the bytes are looked at.
        store = _store(tmp_path)
        with pytest.raises(UnsupportedMediaType) as refused:
            await store.put(_stream(HTML))
        assert refused.value.status == 415
        assert _stored_files(store) == []


class TestSettings:
    def test_the_store_lives_in_the_data_directory(self, tmp_path: Path) -> None:
        store = open_file_store(Settings(data_dir=tmp_path))
        assert isinstance(store, LocalFileStore)  # no bucket named: the local directory
        assert store.directory == tmp_path / "files"
        assert "image/jpeg" in store.policy.allowed_media_types
        assert store.policy.max_bytes == 20 * 1024 * 1024
