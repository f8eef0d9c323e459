"""Dispute bundles: built from the log for one party, checked offline, broken by any byte."""

from __future__ import annotations

import dataclasses
import io
import uuid
import zipfile
from collections.abc import Sequence

import orjson
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from core import bundle_builder, eventlog
from core.bundle import (
    CHAIN,
    MANIFEST,
    MANIFEST_SIGNATURE,
    Attachment,
    BundleError,
    Contribution,
    Reference,
    pack_bundle,
    parse_record,
    sha256_hex,
    verify_bundle,
)
from core.clock import FrozenClock, now
from core.database import Database
from core.logchain import (
    GENESIS_HASH,
    ChainHead,
    ChainRecord,
    content_hash,
    encode_signature,
    signing_input,
)
from core.signing import KeyRing, generate_private_key

BUYER = uuid.UUID("01900000-0000-7000-8000-00000000000b")
CARRIER = uuid.UUID("01900000-0000-7000-8000-00000000000c")
SUBJECT = "delivery:bundled"
TICKET = b"%PDF-1.7\nweight ticket 24010 kg\n%%EOF\n"
TRAIL = b'{"type":"FeatureCollection","features":[]}'


@pytest.fixture
async def shipment(database: Database, clock: FrozenClock) -> None:
    """A delivery with entries for both parties and one the carrier alone may see."""
    async with database.transaction() as session:
        both = [BUYER, CARRIER]
        await eventlog.append(
            session, subject=SUBJECT, kind="booked", payload={"kg": 24000}, audience=both
        )
        clock.advance(minutes=30)
        await eventlog.append(
            session,
            subject=SUBJECT,
            kind="driver_assigned",
            payload={"driver": "Lin", "rate_cents": 41000},
            audience=[CARRIER],
        )
        clock.advance(hours=2)
        await eventlog.append(
            session, subject=SUBJECT, kind="weighed", payload={"net_kg": 24010}, audience=both
        )


async def _bundle(
    database: Database, organization_id: uuid.UUID, extra: Sequence[Contribution] = ()
) -> bytes:
    assert database.key_ring is not None
    async with database.session() as session:
        return await bundle_builder.build_bundle(
            session,
            subject=SUBJECT,
            organization_id=organization_id,
            key_ring=database.key_ring,
            extra=extra,
        )


def _evidence() -> list[Contribution]:
    return [
        Attachment("weight-ticket.pdf", "application/pdf", TICKET, "weighbridge ticket"),
        Attachment("trail.geojson", "application/geo+json", TRAIL, "the truck's trail"),
        Reference("pod-photo.jpg", "ab" * 32, 812_345, "image/jpeg", "photo at unloading"),
    ]


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def _offset_of(data: bytes, name: str, needle: bytes = b"") -> int:
    """Where a member's content (or a needle inside it) starts in the zip's bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
        content = archive.read(name)
    header_length = 30 + len(info.filename.encode()) + len(info.extra)
    start = info.header_offset + header_length
    return start + (content.index(needle) if needle else 0)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


class TestBuild:
    async def test_a_bundle_verifies_offline(self, database: Database, shipment: None) -> None:
        assert database.key_ring is not None
        data = await _bundle(database, CARRIER, _evidence())
        check = verify_bundle(data, now=now())
        assert check.ok, check.problems
        assert not check.trusted_keys
        trusted = verify_bundle(data, trusted_jwks=database.key_ring.archive_jwks(), now=now())
        assert trusted.ok, trusted.problems
        assert trusted.trusted_keys
        assert trusted.chain is not None
        assert (trusted.chain.entries, trusted.chain.withheld) == (3, 0)

    async def test_the_manifest_lists_every_file_with_its_hash(
        self, database: Database, shipment: None
    ) -> None:
        members = _members(await _bundle(database, CARRIER, _evidence()))
        manifest = orjson.loads(members[MANIFEST])
        listed = {f["path"]: f["sha256"] for f in manifest["files"]}
        assert set(listed) == set(members) - {MANIFEST, MANIFEST_SIGNATURE}
        assert all(listed[path] == sha256_hex(members[path]) for path in listed)
        assert members["attachments/weight-ticket.pdf"] == TICKET
        assert manifest["references"][0]["sha256"] == "ab" * 32
        assert manifest["subject"] == SUBJECT
        assert manifest["head"]["seq"] == 3

    async def test_entries_for_another_party_are_withheld(
        self, database: Database, shipment: None
    ) -> None:
        data = await _bundle(database, BUYER)
        members = _members(data)
        assert b"rate_cents" not in members[CHAIN]
        assert b"rate_cents" not in members["summary.html"]
        records = [parse_record(line) for line in members[CHAIN].splitlines()]
        assert [r.content is None for r in records] == [False, True, False]
        check = verify_bundle(data, now=now())
        assert check.ok, check.problems
        assert check.chain is not None
        assert check.chain.withheld == 1

    async def test_the_summary_reads_as_the_story(self, database: Database, shipment: None) -> None:
        summary = _members(await _bundle(database, CARRIER))["summary.html"].decode()
        assert summary.index("booked") < summary.index("driver_assigned") < summary.index("weighed")
        assert "24010" in summary
        assert "intact" in summary

    async def test_an_organization_outside_the_audience_gets_nothing(
        self, database: Database, shipment: None
    ) -> None:
        with pytest.raises(eventlog.SubjectNotFound):
            await _bundle(database, uuid.uuid4())

    async def test_registered_sources_contribute(self, database: Database, shipment: None) -> None:
        seen: list[uuid.UUID] = []

        async def trail_source(
            session: AsyncSession, *, subject: str, organization_id: uuid.UUID
        ) -> Sequence[Contribution]:
            seen.append(organization_id)
            return [Attachment("trail.geojson", "application/geo+json", TRAIL, "trail")]

        bundle_builder.register_attachment_source("delivery", trail_source)
        try:
            members = _members(await _bundle(database, BUYER))
        finally:
            bundle_builder._sources["delivery"].remove(trail_source)
        assert members["attachments/trail.geojson"] == TRAIL
        assert seen == [BUYER]

    def test_unsafe_attachment_names_are_refused(self) -> None:
        ring = KeyRing(active=generate_private_key())
        for name in ("../escape", "a/b.pdf", "", ".hidden"):
            with pytest.raises(BundleError):
                pack_bundle(
                    subject=SUBJECT,
                    records=[],
                    head=None,
                    key_ring=ring,
                    prepared_for=str(BUYER),
                    created_at=now(),
                    contributions=[Attachment(name, "application/pdf", TICKET)],
                )


class TestOneByteChanged:
    @pytest.fixture
    async def bundle(self, database: Database, shipment: None) -> bytes:
        return await _bundle(database, CARRIER, _evidence())

    @pytest.mark.parametrize(
        ("member", "needle"),
        [
            (MANIFEST, b'"subject"'),
            (MANIFEST_SIGNATURE, b""),
            (CHAIN, b"24010"),
            (CHAIN, b'"signature"'),
            ("attachments/weight-ticket.pdf", b"24010"),
            ("summary.html", b"<h1>"),
            ("keys.json", b'"x"'),
        ],
    )
    def test_in_a_file(self, bundle: bytes, member: str, needle: bytes) -> None:
        position = _offset_of(bundle, member, needle)
        check = verify_bundle(_flip(bundle, position), now=now())
        assert not check.ok

    def test_in_the_last_character_of_the_signature(self, bundle: bytes) -> None:
        # Base64 text can change in bits the decoder ignores; the check must still notice.
        position = _offset_of(bundle, MANIFEST_SIGNATURE) + len(
            _members(bundle)[MANIFEST_SIGNATURE]
        )
        for replacement in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":
            if replacement == bundle[position - 1]:
                continue
            changed = bundle[: position - 1] + bytes([replacement]) + bundle[position:]
            assert not verify_bundle(changed, now=now()).ok

    def test_anywhere_in_the_zip(self, bundle: bytes) -> None:
        # Headers, timestamps, names and the central directory included.
        unnoticed = [
            position
            for position in range(len(bundle))
            if verify_bundle(_flip(bundle, position), now=now()).ok
        ]
        assert unnoticed == []

    def test_bytes_appended_or_prepended(self, bundle: bytes) -> None:
        assert not verify_bundle(bundle + b"\0", now=now()).ok
        assert not verify_bundle(b"\0" + bundle, now=now()).ok

    def test_not_a_zip(self) -> None:
        check = verify_bundle(b"hello", now=now())
        assert not check.ok
        assert "not a readable zip" in check.problems[0]


class TestTrust:
    async def test_a_rebuilt_bundle_fools_only_its_own_keys(
        self, database: Database, shipment: None
    ) -> None:
        assert database.key_ring is not None
        genuine = _members(await _bundle(database, CARRIER))
        records = [parse_record(line) for line in genuine[CHAIN].splitlines()]
        # Whoever rewrites history must re-sign all of it, with a key of their own.
        forger = KeyRing(active=generate_private_key())
        rewritten: list[ChainRecord] = []
        prev_hash = GENESIS_HASH
        for record in records:
            assert record.content is not None
            content = record.content
            if record.seq == 3:
                content = dataclasses.replace(content, payload='{"net_kg":22000}')
            digest = content_hash(prev_hash=prev_hash, seq=record.seq, content=content)
            signed = forger.sign_detached(signing_input(digest))
            rewritten.append(
                ChainRecord(
                    seq=record.seq,
                    prev_hash=prev_hash,
                    hash=digest,
                    kid=signed.kid,
                    signature=encode_signature(signed.signature),
                    content=content,
                )
            )
            prev_hash = digest
        forged = pack_bundle(
            subject=SUBJECT,
            records=rewritten,
            head=ChainHead(last_seq=3, last_hash=prev_hash),
            key_ring=forger,
            prepared_for=str(CARRIER),
            created_at=now(),
        )
        assert verify_bundle(forged, now=now()).ok
        check = verify_bundle(forged, trusted_jwks=database.key_ring.archive_jwks(), now=now())
        assert not check.ok
        assert any("manifest signature" in problem for problem in check.problems)
        assert any("chain: entry 1" in problem for problem in check.problems)

    async def test_a_stranger_key_set_refuses_a_genuine_bundle(
        self, database: Database, shipment: None
    ) -> None:
        data = await _bundle(database, CARRIER)
        stranger = KeyRing(active=generate_private_key()).jwks(now=now())
        check = verify_bundle(data, trusted_jwks=stranger, now=now())
        assert not check.ok
