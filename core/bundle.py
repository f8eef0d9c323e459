"""Dispute bundles: one zip a party hands to an arbitrator, checkable offline.

Layout (every file but the first two is listed in the manifest with its SHA-256 and size):

    manifest.json     subject, when and for whom it was made, the subject's head, the files
                      and the evidence referenced by hash only
    manifest.jws      detached compact JWS (RFC 7515 appendix F, EdDSA) over manifest.json
    chain.jsonl       the subject's entries, one JSON object a line, in sequence order, with
                      hashes and signatures; entries not addressed to the party are withheld
                      (only their position, hashes and signature remain, so the chain still
                      links and every signature still verifies)
    keys.json         JWKS of the public keys that signed the entries and the manifest
    summary.html      the same, readable
    attachments/...   files domains contribute (a trail as GeoJSON, weight tickets, photos)

The zip is canonical: stored (not compressed), fixed timestamps and attributes, files in this
order. `verify_bundle` rebuilds it from its own files and compares the bytes, so a change to
any byte - content, a name, a timestamp, a comment, appended data - fails the check.

Trust: keys.json comes with the bundle, so a check against it alone proves only that the
bundle is self-consistent (someone who rewrote it could have put their own key there). Give
`verify_bundle` the platform's JWKS obtained independently (``GET /v1/keys?include_retired=true``
saved earlier, or from the platform's published documents) to prove the platform signed it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import struct
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from core.bundle_summary import SummaryFile, render_summary
from core.logchain import (
    ChainHead,
    ChainRecord,
    ChainReport,
    EntryContent,
    check_chain,
)
from core.signing import (
    JwksKeys,
    JwsError,
    KeyRing,
    SigningKeyError,
    public_jwk,
    verify_compact,
)

BUNDLE_FORMAT = "haulpoint-dispute-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SIGNATURE = "manifest.jws"
CHAIN = "chain.jsonl"
KEYS = "keys.json"
SUMMARY = "summary.html"
ATTACHMENTS = "attachments/"
MANIFEST_TYP = "haulpoint-bundle-manifest+jws"
BUNDLE_MEDIA_TYPE = "application/zip"

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNIX = 3
_FILE_MODE = 0o100644 << 16
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
# What zipfile raises on damaged input: a flipped flag bit alone can claim encryption
# (RuntimeError) or an unknown compression method (NotImplementedError).
_UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    struct.error,
)


class BundleError(ValueError):
    """A bundle cannot be built from what was given."""


@dataclass(frozen=True)
class Attachment:
    """A file a domain adds to a bundle, stored under attachments/<name>."""

    name: str
    media_type: str
    content: bytes
    description: str = ""


@dataclass(frozen=True)
class Reference:
    """Evidence named by hash only (say, a photo in the file store): listed, not included."""

    name: str
    sha256: str
    size_bytes: int
    media_type: str
    description: str = ""


Contribution = Attachment | Reference


@dataclass(frozen=True)
class BundleCheck:
    """The outcome of checking a bundle offline."""

    subject: str | None
    problems: tuple[str, ...]
    trusted_keys: bool
    chain: ChainReport | None
    files_checked: int
    signer_kid: str | None

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong."""
        return not self.problems


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of some bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


def canonical_zip(files: Sequence[tuple[str, bytes]]) -> bytes:
    """Pack files into a zip whose bytes depend only on their names, contents and order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE
            archive.writestr(info, content)
    return buffer.getvalue()


def record_line(record: ChainRecord) -> bytes:
    """One line of chain.jsonl."""
    line: dict[str, Any] = {
        "seq": record.seq,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
        "kid": record.kid,
        "signature": record.signature,
    }
    if record.content is None:
        line["withheld"] = True
    else:
        content = record.content
        line.update(
            subject=content.subject,
            kind=content.kind,
            payload=content.payload,
            audience=list(content.audience),
            actor=content.actor,
            recorded_at=content.recorded_at,
        )
    return orjson.dumps(line, option=orjson.OPT_SORT_KEYS) + b"\n"


def parse_record(line: bytes) -> ChainRecord:
    """Read one line of chain.jsonl back (ValueError when it is not one)."""
    item = orjson.loads(line)
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    content = None
    if not item.get("withheld", False):
        audience = item["audience"]
        if not isinstance(audience, list) or not all(isinstance(a, str) for a in audience):
            raise ValueError("audience must be a list of strings")
        actor = item["actor"]
        content = EntryContent(
            subject=_text(item, "subject"),
            kind=_text(item, "kind"),
            payload=_text(item, "payload"),
            audience=tuple(audience),
            actor=actor if isinstance(actor, str) else None,
            recorded_at=_text(item, "recorded_at"),
        )
    seq = item["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError("seq must be an integer")
    return ChainRecord(
        seq=seq,
        prev_hash=_text(item, "prev_hash"),
        hash=_text(item, "hash"),
        kid=_text(item, "kid"),
        signature=_text(item, "signature"),
        content=content,
    )


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _strict_b64url_decode(text: str) -> bytes | None:
    # Only the canonical spelling: a base64 string whose unused low bits differ decodes to the
    # same bytes, and the signature file is not covered by the manifest's hashes.
    if not _B64URL.match(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _b64url(raw) == text else None


def _detached(token: str) -> str:
    header, _payload, signature = token.split(".")
    return f"{header}..{signature}"


def pack_bundle(
    *,
    subject: str,
    records: Sequence[ChainRecord],
    head: ChainHead | None,
    key_ring: KeyRing,
    prepared_for: str,
    created_at: datetime,
    contributions: Sequence[Contribution] = (),
) -> bytes:
    """Pack a subject's records and contributed evidence into a signed, canonical zip."""
    attachments = [c for c in contributions if isinstance(c, Attachment)]
    references = [c for c in contributions if isinstance(c, Reference)]
    _check_names([a.name for a in attachments], "attachment")
    _check_names([r.name for r in references], "reference")
    for reference in references:
        if not _SHA256.match(reference.sha256) or reference.size_bytes < 0:
            raise BundleError(f"reference {reference.name!r} needs a hex SHA-256 and a size")

    kids = {r.kid for r in records if r.kid} | {key_ring.active_kid}
    keys = [key_ring.known_key(kid) for kid in sorted(kids)]
    jwks = {"keys": [public_jwk(key) for key in keys if key is not None]}
    report = check_chain(records, subject=subject, head=head, key_for=key_ring.known_key)

    files: list[tuple[str, bytes, str, str]] = [
        (
            CHAIN,
            b"".join(record_line(r) for r in records),
            "application/jsonl",
            "the entries, with hashes and signatures",
        ),
        (
            KEYS,
            orjson.dumps(jwks, option=orjson.OPT_INDENT_2),
            "application/jwk-set+json",
            "the public keys that signed the entries and the manifest",
        ),
    ]
    files.extend(
        (ATTACHMENTS + a.name, a.content, a.media_type, a.description) for a in attachments
    )
    summary = render_summary(
        subject=subject,
        prepared_for=prepared_for,
        created_at=created_at,
        records=records,
        report=report,
        files=[
            SummaryFile(path, sha256_hex(data), len(data), note) for path, data, _, note in files
        ],
        references=[SummaryFile(r.name, r.sha256, r.size_bytes, r.description) for r in references],
        manifest_kid=key_ring.active_kid,
    )
    files.insert(2, (SUMMARY, summary, "text/html", "the readable summary"))

    manifest = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "subject": subject,
        "created_at": created_at.isoformat(),
        "prepared_for": prepared_for,
        "head": None if head is None else {"seq": head.last_seq, "hash": head.last_hash},
        "entries": {"total": len(records), "withheld": report.withheld},
        "entry_keys": list(report.signed_by),
        "files": [
            {
                "path": path,
                "sha256": sha256_hex(data),
                "size_bytes": len(data),
                "media_type": media_type,
                "description": note,
            }
            for path, data, media_type, note in files
        ],
        "references": [
            {
                "name": r.name,
                "sha256": r.sha256,
                "size_bytes": r.size_bytes,
                "media_type": r.media_type,
                "description": r.description,
            }
            for r in references
        ],
    }
    manifest_bytes = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    signature = _detached(key_ring.sign_compact(manifest_bytes, typ=MANIFEST_TYP))
    return canonical_zip(
        [
            (MANIFEST, manifest_bytes),
            (MANIFEST_SIGNATURE, signature.encode("ascii")),
            *((path, data) for path, data, _, _ in files),
        ]
    )


def _check_names(names: Sequence[str], what: str) -> None:
    for name in names:
        if not _NAME.match(name):
            raise BundleError(f"{what} name {name!r}: letters, digits, '.', '_' or '-' only")
    if len(set(names)) != len(names):
        raise BundleError(f"two {what}s share a name")


def verify_bundle(
    data: bytes, *, trusted_jwks: Mapping[str, Any] | None = None, now: datetime
) -> BundleCheck:
    """Check a bundle offline: manifest signature, file hashes, the chain, the zip's bytes.

    With ``trusted_jwks`` every signature must verify with those keys (proof the platform
    signed it); without, with the bundle's own keys (proof only of self-consistency).
    """
    problems: list[str] = []
    members = _read_members(data, problems)
    if members is None:
        return BundleCheck(None, tuple(problems), trusted_jwks is not None, None, 0, None)
    contents = dict(members)
    problems.extend(
        f"{required} is missing"
        for required in (MANIFEST, MANIFEST_SIGNATURE, CHAIN, KEYS)
        if required not in contents
    )
    if problems:
        return BundleCheck(None, tuple(problems), trusted_jwks is not None, None, 0, None)

    keys = _keys(contents[KEYS], trusted_jwks, problems)
    signer_kid = _check_manifest_signature(contents, keys, now, problems)
    manifest = _parse_manifest(contents[MANIFEST], problems)
    if manifest is None:
        return BundleCheck(None, tuple(problems), trusted_jwks is not None, None, 0, signer_kid)
    subject = manifest.get("subject") if isinstance(manifest.get("subject"), str) else None
    files_checked = _check_files(manifest, contents, problems)
    chain = _check_chain(manifest, contents[CHAIN], keys, problems)
    if canonical_zip(members) != data:
        problems.append(
            "the zip container was altered: its bytes differ from the canonical packing of"
            " its own files"
        )
    return BundleCheck(
        subject=subject,
        problems=tuple(problems),
        trusted_keys=trusted_jwks is not None,
        chain=chain,
        files_checked=files_checked,
        signer_kid=signer_kid,
    )


def _read_members(data: bytes, problems: list[str]) -> list[tuple[str, bytes]] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                problems.append("two files in the zip share a name")
                return None
            members = []
            for info in infos:
                # Stored only: a canonical bundle never compresses, so nothing can inflate.
                if info.compress_type != zipfile.ZIP_STORED:
                    problems.append(f"{info.filename} is compressed: not a canonical bundle")
                    return None
                members.append((info.filename, archive.read(info)))
    except _UNREADABLE as error:
        problems.append(f"not a readable zip: {error}")
        return None
    return members


def _keys(raw: bytes, trusted: Mapping[str, Any] | None, problems: list[str]) -> JwksKeys:
    try:
        bundled = JwksKeys.from_document(orjson.loads(raw))
    except (orjson.JSONDecodeError, SigningKeyError, AttributeError) as error:
        problems.append(f"{KEYS} is not a JWKS document: {error}")
        bundled = JwksKeys(keys={})
    if trusted is None:
        return bundled
    try:
        chosen = JwksKeys.from_document(trusted)
    except SigningKeyError as error:
        problems.append(f"the trusted key set is not a JWKS document: {error}")
        chosen = JwksKeys(keys={})
    for kid, key in bundled.keys.items():
        known = chosen.keys.get(kid)
        if known is not None and known.public_bytes_raw() != key.public_bytes_raw():
            problems.append(f"the bundled key {kid!r} differs from the trusted key of that id")
    return chosen


def _check_manifest_signature(
    contents: Mapping[str, bytes], keys: JwksKeys, now: datetime, problems: list[str]
) -> str | None:
    try:
        text = contents[MANIFEST_SIGNATURE].decode("ascii")
    except UnicodeDecodeError:
        problems.append(f"{MANIFEST_SIGNATURE} is not a detached JWS")
        return None
    parts = text.split(".")
    if (
        len(parts) != 3
        or parts[1]
        or _strict_b64url_decode(parts[0]) is None
        or _strict_b64url_decode(parts[2]) is None
    ):
        problems.append(f"{MANIFEST_SIGNATURE} is not a detached JWS")
        return None
    token = f"{parts[0]}.{_b64url(contents[MANIFEST])}.{parts[2]}"
    try:
        verified = verify_compact(token, keys=keys, now=now, typ=MANIFEST_TYP)
    except JwsError as error:
        problems.append(f"the manifest signature does not hold: {error}")
        return None
    return verified.kid


def _parse_manifest(raw: bytes, problems: list[str]) -> dict[str, Any] | None:
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        problems.append(f"{MANIFEST} is not JSON: {error}")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        problems.append(f"{MANIFEST} is not a {BUNDLE_FORMAT} manifest")
        return None
    if manifest.get("version") != BUNDLE_VERSION:
        problems.append(f"bundle version {manifest.get('version')!r} is not {BUNDLE_VERSION}")
        return None
    return manifest


def _check_files(
    manifest: Mapping[str, Any], contents: Mapping[str, bytes], problems: list[str]
) -> int:
    listed = manifest.get("files")
    if not isinstance(listed, list):
        problems.append(f"{MANIFEST} lists no files")
        return 0
    seen: set[str] = set()
    checked = 0
    for item in listed:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str):
            problems.append(f"{MANIFEST} has a file entry without a path")
            continue
        seen.add(path)
        data = contents.get(path)
        if data is None:
            problems.append(f"{path} is listed in the manifest but missing")
            continue
        checked += 1
        if item.get("sha256") != sha256_hex(data) or item.get("size_bytes") != len(data):
            problems.append(f"{path} was changed: its SHA-256 or size differs from the manifest")
    problems.extend(
        f"{path} is in the zip but not in the manifest"
        for path in contents
        if path not in seen and path not in (MANIFEST, MANIFEST_SIGNATURE)
    )
    problems.extend(
        f"{required} is not covered by the manifest"
        for required in (CHAIN, KEYS)
        if required not in seen
    )
    return checked


def _check_chain(
    manifest: Mapping[str, Any], raw: bytes, keys: JwksKeys, problems: list[str]
) -> ChainReport | None:
    subject = manifest.get("subject")
    if not isinstance(subject, str):
        problems.append(f"{MANIFEST} names no subject")
        return None
    records = []
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            records.append(parse_record(line))
        except (ValueError, KeyError, TypeError) as error:
            problems.append(f"{CHAIN} line {number} is not an entry: {error}")
            return None
    strangers = [r.seq for r in records if r.content is not None and r.content.subject != subject]
    if strangers:
        problems.append(f"entry {strangers[0]} belongs to another subject")
    head_item = manifest.get("head")
    head = None
    if isinstance(head_item, dict):
        seq, digest = head_item.get("seq"), head_item.get("hash")
        if isinstance(seq, int) and isinstance(digest, str):
            head = ChainHead(last_seq=seq, last_hash=digest)
    report = check_chain(records, subject=subject, head=head, key_for=keys.keys.get)
    if report.finding is not None:
        finding = report.finding
        where = f"entry {finding.seq}" if finding.seq is not None else "the head"
        problems.append(f"chain: {where} {finding.problem.value}: {finding.detail}")
    return report
