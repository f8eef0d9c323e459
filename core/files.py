"""Evidence files (photos, signatures, weight ticket scans), stored by the SHA-256 of their bytes.

Admission comes first: a declared size over the limit is refused before a byte is read, the
media type is decided by sniffing the leading bytes (the client's Content-Type is not
trusted), and a stream that runs past the limit is refused and its partial copy removed.
Nothing reaches the store's namespace until the whole file passed: the local store writes to
a private temporary file and renames it into place. The same content uploaded twice is stored
once.

`FileStore` is what domains use. `LocalFileStore` keeps files under a directory (by default
``<data dir>/files/ab/cd/abcd…``), the default. `S3FileStore` keeps them in an S3-compatible
bucket under ``<prefix>sha256/<hash>`` when ``files.s3_bucket`` is set (the ``s3`` extra,
boto3; credentials come the usual AWS way: environment, profile, instance role): it spools
the upload locally (in memory up to `SPOOL_BYTES`, then a temporary file) while hashing and
counting, and sends it with one PUT only once it passed, under its final key. A PUT is
atomic, so no partial object is ever visible, and a refused file sends nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from core.errors import DomainError, NotFound
from core.settings import Settings

SNIFF_BYTES = 16
CHUNK_BYTES = 64 * 1024
SPOOL_BYTES = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})


class FileTooLarge(DomainError):
    """The upload is larger than the limit."""

    status = 413
    default_code = "file_too_large"
    title = "File too large"


class UnsupportedMediaType(DomainError):
    """The upload is not of an accepted type (judged by its bytes, not its label)."""

    status = 415
    default_code = "unsupported_media_type"
    title = "Unsupported media type"


class FileNotFound(NotFound):
    """No stored file has that SHA-256."""

    default_code = "file_not_found"


@dataclass(frozen=True)
class StoredFile:
    """A stored file: its SHA-256 (its name in the store), size and sniffed media type."""

    sha256: str
    size_bytes: int
    media_type: str


def sniff_media_type(head: bytes) -> str | None:
    """The media type the leading bytes show, or None when they match nothing we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return None


@dataclass(frozen=True)
class FilePolicy:
    """What a store accepts: a size limit and media types."""

    max_bytes: int
    allowed_media_types: frozenset[str]

    def check_declared_size(self, declared_size: int | None) -> None:
        """Refuse a declared size over the limit before anything is read."""
        if declared_size is not None and declared_size > self.max_bytes:
            raise FileTooLarge(f"the file is {declared_size} bytes; the limit is {self.max_bytes}")

    def check_size(self, size_bytes: int) -> None:
        """Refuse once more bytes than the limit have arrived."""
        if size_bytes > self.max_bytes:
            raise FileTooLarge(f"the file is over the limit of {self.max_bytes} bytes")

    def media_type_of(self, head: bytes, declared_type: str | None = None) -> str:
        """The accepted media type of a file starting with ``head``, or UnsupportedMediaType.

        A declared type (the client's Content-Type) must agree with the bytes, unless it is
        the generic ``application/octet-stream``: a file labelled ``image/png`` that is a
        JPEG is refused rather than stored under a false label.
        """
        media_type = sniff_media_type(head)
        if media_type is None:
            raise UnsupportedMediaType("the file's content is not of a recognized type")
        if media_type not in self.allowed_media_types:
            accepted = ", ".join(sorted(self.allowed_media_types))
            raise UnsupportedMediaType(f"{media_type} is not accepted; accepted: {accepted}")
        declared = _bare_type(declared_type)
        if declared not in _UNLABELLED and declared != media_type:
            raise UnsupportedMediaType(f"declared {declared}, but the content is {media_type}")
        return media_type


_UNLABELLED = frozenset({"", "application/octet-stream"})


def _bare_type(declared_type: str | None) -> str:
    """A Content-Type without its parameters, lower case (``""`` when absent)."""
    return (declared_type or "").split(";", 1)[0].strip().lower()


class FileStore(Protocol):
    """Content-addressed storage for evidence files."""

    policy: FilePolicy

    async def put(
        self,
        data: bytes | AsyncIterable[bytes],
        *,
        declared_size: int | None = None,
        declared_type: str | None = None,
    ) -> StoredFile:
        """Admit and store a file; refused files leave nothing behind."""
        ...

    async def read(self, sha256: str) -> bytes:
        """The bytes of a stored file (FileNotFound if there is none)."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Whether a file with this SHA-256 is stored."""
        ...


async def _chunks(data: bytes | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(data, bytes):
        for start in range(0, len(data), CHUNK_BYTES):
            yield data[start : start + CHUNK_BYTES]
        return
    async for chunk in data:
        if chunk:
            yield chunk


class LocalFileStore:
    """Files in a local directory, named by SHA-256 under two levels of fan-out."""

    def __init__(self, directory: Path, policy: FilePolicy) -> None:
        self.directory = directory
        self.policy = policy

    def path_of(self, sha256: str) -> Path:
        """Where a file with this SHA-256 lives (FileNotFound for a malformed hash)."""
        if not _SHA256.match(sha256):
            raise FileNotFound(f"no file {sha256!r}")
        return self.directory / sha256[:2] / sha256[2:4] / sha256

    async def put(
        self,
        data: bytes | AsyncIterable[bytes],
        *,
        declared_size: int | None = None,
        declared_type: str | None = None,
    ) -> StoredFile:
        """Admit and store a file; refused files leave nothing behind."""
        self.policy.check_declared_size(declared_size)
        chunks = _chunks(data)
        head = b""
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        self.policy.check_size(len(head))
        media_type = self.policy.media_type_of(head[:SNIFF_BYTES], declared_type)
        incoming = self.directory / ".incoming"
        await asyncio.to_thread(incoming.mkdir, parents=True, exist_ok=True)
        fd, tmp_name = await asyncio.to_thread(tempfile.mkstemp, dir=incoming)
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in _prepend(head, chunks):
                    size += len(chunk)
                    self.policy.check_size(size)
                    digest.update(chunk)
                    await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(_sync, handle)
            stored = StoredFile(sha256=digest.hexdigest(), size_bytes=size, media_type=media_type)
            await asyncio.to_thread(self._place, tmp, self.path_of(stored.sha256))
        finally:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
        return stored

    @staticmethod
    def _place(tmp: Path, final: Path) -> None:
        if final.exists():
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        # A hard link never replaces a file another writer placed first; same bytes either way.
        try:
            os.link(tmp, final)
        except FileExistsError:
            return

    async def read(self, sha256: str) -> bytes:
        """The bytes of a stored file (FileNotFound if there is none)."""
        path = self.path_of(sha256)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as error:
            raise FileNotFound(f"no file {sha256!r}") from error

    async def exists(self, sha256: str) -> bool:
        """Whether a file with this SHA-256 is stored."""
        try:
            path = self.path_of(sha256)
        except FileNotFound:
            return False
        return await asyncio.to_thread(path.is_file)


class S3FileStore:
    """Files in an S3-compatible bucket, named ``<prefix>sha256/<hash>``.

    ``client`` is a boto3 S3 client; its calls block, so each runs in a worker thread.
    """

    def __init__(self, client: Any, bucket: str, policy: FilePolicy, *, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.policy = policy
        self.prefix = prefix

    def key_of(self, sha256: str) -> str:
        """The object key of a file with this SHA-256 (FileNotFound for a malformed hash)."""
        if not _SHA256.match(sha256):
            raise FileNotFound(f"no file {sha256!r}")
        return f"{self.prefix}sha256/{sha256}"

    async def put(
        self,
        data: bytes | AsyncIterable[bytes],
        *,
        declared_size: int | None = None,
        declared_type: str | None = None,
    ) -> StoredFile:
        """Admit and store a file; refused files leave nothing behind."""
        self.policy.check_declared_size(declared_size)
        chunks = _chunks(data)
        head = b""
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        self.policy.check_size(len(head))
        media_type = self.policy.media_type_of(head[:SNIFF_BYTES], declared_type)
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            async for chunk in _prepend(head, chunks):
                size += len(chunk)
                self.policy.check_size(size)
                digest.update(chunk)
                await asyncio.to_thread(spool.write, chunk)
            stored = StoredFile(sha256=digest.hexdigest(), size_bytes=size, media_type=media_type)
            if not await self.exists(stored.sha256):
                spool.seek(0)
                await asyncio.to_thread(
                    self.client.upload_fileobj,
                    spool,
                    self.bucket,
                    self.key_of(stored.sha256),
                    ExtraArgs={"ContentType": media_type},
                )
        return stored

    async def read(self, sha256: str) -> bytes:
        """The bytes of a stored file (FileNotFound if there is none)."""
        key = self.key_of(sha256)

        def fetch() -> bytes:
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=key)
            except self.client.exceptions.NoSuchKey as error:
                raise FileNotFound(f"no file {sha256!r}") from error
            body: bytes = answer["Body"].read()
            return body

        return await asyncio.to_thread(fetch)

    async def exists(self, sha256: str) -> bool:
        """Whether a file with this SHA-256 is stored."""
        try:
            key = self.key_of(sha256)
        except FileNotFound:
            return False

        def look() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except self.client.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise
            return True

        return await asyncio.to_thread(look)


async def _prepend(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk


def _sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def open_file_store(settings: Settings) -> FileStore:
    """The file store the settings describe: an S3-compatible bucket when one is named,
    else a local directory."""
    policy = FilePolicy(
        max_bytes=settings.files.max_upload_bytes,
        allowed_media_types=frozenset(settings.files.allowed_media_types),
    )
    files = settings.files
    if files.s3_bucket:
        # The s3 extra: only deployments that keep files in a bucket install boto3.
        import boto3

        client = boto3.client("s3", endpoint_url=files.s3_endpoint_url, region_name=files.s3_region)
        return S3FileStore(client, files.s3_bucket, policy, prefix=files.s3_prefix)
    return LocalFileStore(settings.files_directory, policy)
