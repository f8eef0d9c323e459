"""Benchmark what signing adds to the event log, and what verification and bundles cost.

Three parts, each against a baseline measured in the same run:

- per entry, CPU only: the entry hash (baseline) against hash + Ed25519 signature, and the
  check of one entry (hash + signature verification);
- appends through the database (a fresh SQLite file, or ``--database-url`` pointing at a
  scratch database): the same appends with a ring whose signature is a constant (baseline)
  and with the real ring, one append per transaction and 50 per transaction, in alternating
  rounds so drift hits both alike;
- a subject of many entries: verifying it, building its dispute bundle, checking the bundle.

Figures on a shared 2-core machine are provisional: read the ratios.

    python -m simulations.bench_eventlog [--quick] [--json PATH] [--database-url URL]

A ``--database-url`` database is migrated and keeps the benchmark's entries (the log is
append-only): use a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core import eventlog
from core.bundle import verify_bundle
from core.bundle_builder import build_bundle
from core.clock import now
from core.database import Database
from core.logchain import (
    GENESIS_HASH,
    ChainRecord,
    EntryContent,
    check_chain,
    content_hash,
    encode_signature,
    signing_input,
)
from core.signing import DetachedSignature, KeyRing, generate_private_key
from migrations import upgrade

ORG = uuid.UUID("01900000-0000-7000-8000-0000000000be")
PAYLOAD = {"net_kg": 24010, "ticket": "WB-2026-000123", "seal": "S-778812", "plate": "AB-12 CDE"}


class ConstantSignatureRing(KeyRing):
    """The baseline: a ring whose 'signature' is 64 fixed bytes, stored like a real one."""

    def sign_detached(self, data: bytes) -> DetachedSignature:
        """Return a constant signature without signing."""
        return DetachedSignature(kid=self.active_kid, signature=bytes(64))


@dataclass(frozen=True)
class Timing:
    """One measured operation: median and p90 per call, and its ratio to a baseline."""

    name: str
    median_us: float
    p90_us: float
    baseline: str | None
    ratio: float | None


def _per_call_us(call: Callable[[], object], *, calls: int, batches: int) -> list[float]:
    call()
    samples = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(calls):
            call()
        samples.append((time.perf_counter_ns() - start) / calls / 1000)
    return samples


def _timing(
    name: str, samples: list[float], baseline: str | None, medians: dict[str, float]
) -> Timing:
    medians[name] = statistics.median(samples)
    return Timing(
        name=name,
        median_us=medians[name],
        p90_us=statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else samples[0],
        baseline=baseline,
        ratio=medians[name] / medians[baseline] if baseline else None,
    )


def _record(ring: KeyRing) -> tuple[ChainRecord, EntryContent]:
    content = EntryContent(
        subject=f"delivery:{uuid.uuid4()}",
        kind="weighed",
        payload=eventlog.canonical_payload(PAYLOAD),
        audience=(str(ORG), str(uuid.uuid4())),
        actor=f"member:{uuid.uuid4()}",
        recorded_at=now().isoformat(),
    )
    digest = content_hash(prev_hash=GENESIS_HASH, seq=1, content=content)
    signed = ring.sign_detached(signing_input(digest))
    record = ChainRecord(
        seq=1,
        prev_hash=GENESIS_HASH,
        hash=digest,
        kid=signed.kid,
        signature=encode_signature(signed.signature),
        content=content,
    )
    return record, content


def cpu_timings(ring: KeyRing, *, quick: bool) -> list[Timing]:
    """Per-entry hashing, signing and checking, CPU only."""
    calls, batches = (300, 5) if quick else (3000, 15)
    record, content = _record(ring)
    medians: dict[str, float] = {}

    def hash_only() -> None:
        content_hash(prev_hash=GENESIS_HASH, seq=1, content=content)

    def hash_and_sign() -> None:
        digest = content_hash(prev_hash=GENESIS_HASH, seq=1, content=content)
        encode_signature(ring.sign_detached(signing_input(digest)).signature)

    def check_one() -> None:
        check_chain([record], subject=content.subject, head=None, key_for=ring.known_key)

    cases: list[tuple[str, Callable[[], object], str | None]] = [
        ("entry hash (baseline)", hash_only, None),
        ("entry hash + Ed25519 signature", hash_and_sign, "entry hash (baseline)"),
        ("check one entry: hash + verify", check_one, "entry hash (baseline)"),
    ]
    return [
        _timing(name, _per_call_us(call, calls=calls, batches=batches), baseline, medians)
        for name, call, baseline in cases
    ]


async def _append_round(database: Database, *, per_transaction: int, transactions: int) -> float:
    """Microseconds per append over a round of transactions, each on a fresh subject."""
    start = time.perf_counter_ns()
    for _ in range(transactions):
        subject = f"bench:{uuid.uuid4()}"
        async with database.transaction() as session:
            for _ in range(per_transaction):
                await eventlog.append(
                    session, subject=subject, kind="weighed", payload=PAYLOAD, audience=[ORG]
                )
    return (time.perf_counter_ns() - start) / (per_transaction * transactions) / 1000


async def append_timings(
    database: Database, signed: KeyRing, unsigned: KeyRing, *, quick: bool
) -> list[Timing]:
    """Appends through the database with and without a real signature, rounds alternating."""
    rounds = 5 if quick else 11
    shapes = [
        ("1 per transaction", 1, 40 if quick else 150),
        ("50 per transaction", 50, 2 if quick else 6),
    ]
    medians: dict[str, float] = {}
    timings: list[Timing] = []
    for label, per_transaction, transactions in shapes:
        samples: dict[str, list[float]] = {"constant": [], "signed": []}
        for _ in range(rounds):
            for kind, ring in (("constant", unsigned), ("signed", signed)):
                database.key_ring = ring
                samples[kind].append(
                    await _append_round(
                        database, per_transaction=per_transaction, transactions=transactions
                    )
                )
        baseline = f"append {label}, constant signature (baseline)"
        timings.append(_timing(baseline, samples["constant"], None, medians))
        timings.append(_timing(f"append {label}, signed", samples["signed"], baseline, medians))
    database.key_ring = signed
    return timings


async def subject_figures(database: Database, ring: KeyRing, *, quick: bool) -> dict[str, Any]:
    """Verify a long subject, build its bundle and check the bundle offline."""
    entries = 200 if quick else 1000
    subject = f"bench:{uuid.uuid4()}"
    async with database.transaction() as session:
        for _ in range(entries):
            await eventlog.append(
                session, subject=subject, kind="weighed", payload=PAYLOAD, audience=[ORG]
            )
    async with database.session() as session:
        start = time.perf_counter()
        report = await eventlog.verify_subject(session, subject=subject, keys=ring)
        verify_s = time.perf_counter() - start
        start = time.perf_counter()
        bundle = await build_bundle(session, subject=subject, organization_id=ORG, key_ring=ring)
        build_s = time.perf_counter() - start
    start = time.perf_counter()
    check = verify_bundle(bundle, trusted_jwks=ring.archive_jwks(), now=now())
    check_s = time.perf_counter() - start
    assert report.ok, report.finding
    assert check.ok, check.problems
    return {
        "entries": entries,
        "verify_subject_ms": verify_s * 1000,
        "verify_subject_us_per_entry": verify_s / entries * 1e6,
        "build_bundle_ms": build_s * 1000,
        "bundle_bytes": len(bundle),
        "verify_bundle_ms": check_s * 1000,
    }


async def database_figures(url: str | None, ring: KeyRing, *, quick: bool) -> dict[str, Any]:
    """Append timings and the long-subject figures on one database."""
    with tempfile.TemporaryDirectory() as scratch:
        target = url or f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}"
        database = Database(target, key_ring=ring)
        try:
            await upgrade(database.engine)
            unsigned = ConstantSignatureRing(active=ring.active)
            appends = await append_timings(database, ring, unsigned, quick=quick)
            subject = await subject_figures(database, ring, quick=quick)
        finally:
            await database.dispose()
        return {
            "database": database.dialect,
            "appends": [asdict(t) for t in appends],
            "subject": subject,
        }


def run(*, quick: bool, database_url: str | None) -> dict[str, Any]:
    """Measure everything and return the result document."""
    ring = KeyRing(active=generate_private_key())
    cpu = cpu_timings(ring, quick=quick)
    on_database = asyncio.run(database_figures(database_url, ring, quick=quick))
    return {
        "quick": quick,
        "provisional": "shared 2-core machine; compare ratios, not absolute figures",
        "cpu": [asdict(t) for t in cpu],
        **on_database,
    }


def _rows(timings: list[dict[str, Any]]) -> None:
    for timing in timings:
        ratio = f"{timing['ratio']:.2f}" if timing["ratio"] is not None else "-"
        print(
            f"{timing['name']:<56} {timing['median_us']:>10.1f} {timing['p90_us']:>10.1f}"
            f" {ratio:>11}"
        )


def print_table(result: dict[str, Any]) -> None:
    """Print the result as a plain table."""
    print(f"{'operation':<56} {'median µs':>10} {'p90 µs':>10} {'x baseline':>11}")
    _rows(result["cpu"])
    cpu = {t["name"]: t["median_us"] for t in result["cpu"]}
    signing_us = cpu["entry hash + Ed25519 signature"] - cpu["entry hash (baseline)"]
    print(f"the signature itself costs {signing_us:.1f} µs of CPU per entry")
    print(f"-- appends on {result['database']}, µs per append")
    _rows(result["appends"])
    by_name = {t["name"]: t for t in result["appends"]}
    for label in ("1 per transaction", "50 per transaction"):
        added = (
            by_name[f"append {label}, signed"]["median_us"]
            - by_name[f"append {label}, constant signature (baseline)"]["median_us"]
        )
        print(f"end to end, signing adds {added:.1f} µs per append ({label}; within noise)")
    subject = result["subject"]
    print(
        f"-- a subject of {subject['entries']} entries:"
        f" verify {subject['verify_subject_ms']:.1f} ms"
        f" ({subject['verify_subject_us_per_entry']:.1f} µs/entry), bundle"
        f" {subject['bundle_bytes']} bytes built in {subject['build_bundle_ms']:.1f} ms,"
        f" checked offline in {subject['verify_bundle_ms']:.1f} ms"
    )
    print("figures are provisional: a shared 2-core machine; read the ratios")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few iterations, well under a minute")
    parser.add_argument("--json", type=Path, help="write the result document here")
    parser.add_argument("--database-url", help="a scratch database instead of a SQLite file")
    args = parser.parse_args(argv)
    result = run(quick=args.quick, database_url=args.database_url)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
