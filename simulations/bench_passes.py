"""Benchmark the pickup pass: token size, issue and verify cost, QR rendering.

Each cost is compared with a baseline measured in the same run: a bare Ed25519 sign or verify
of the same bytes with `cryptography`, so the ratios show what the JWS wrapping, claim
checks and key lookup add. Figures on a shared 2-core machine are provisional: read ratios.

    python -m simulations.bench_passes [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.signing import JwksKeys, KeyRing, generate_private_key
from dispatch.authorizations.chain import Grant, GrantStatus, chain_hash
from dispatch.authorizations.offline import (
    RevocationDelta,
    RevocationEntry,
    RevocationList,
    verify_offline,
)
from dispatch.authorizations.passes import PassClaims, QuantityUnit, issue_pass, verify_pass
from dispatch.authorizations.qr import pass_qr, pass_qr_png, pass_qr_svg

NOW = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
PLANT = "01JPA5T0PLANT0ROTTERDAM002"


@dataclass(frozen=True)
class Timing:
    """One measured operation: median and spread of per-call microseconds over batches."""

    name: str
    median_us: float
    p90_us: float
    baseline: str | None
    ratio: float | None


def per_call_us(call: Callable[[], object], *, calls: int, batches: int) -> list[float]:
    """Time `batches` batches of `calls` calls; return microseconds per call for each batch."""
    call()
    results = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(calls):
            call()
        results.append((time.perf_counter_ns() - start) / calls / 1000)
    return results


def typical_chain() -> list[Grant]:
    """A buyer -> carrier -> subcontractor -> driver chain."""
    end = NOW + timedelta(hours=24)
    root = Grant(
        grant_id="01JPA5G0ROOT00000000000000",
        parent_id=None,
        grantor_org_id="01JPA5B0BUYER0000000000000",
        grantee_org_id="01JPA5C0CARRIER00000000000",
        quantity=Decimal(500),
        not_before=NOW,
        not_after=end,
        status=GrantStatus.ACCEPTED,
        may_subcontract=True,
    )
    sub = Grant(
        grant_id="01JPA5G0SUB000000000000000",
        parent_id=root.grant_id,
        grantor_org_id=root.grantee_org_id,
        grantee_org_id="01JPA5C0SUBCONTRACTOR00000",
        quantity=Decimal(200),
        not_before=NOW,
        not_after=end,
        status=GrantStatus.ACCEPTED,
    )
    leaf = Grant(
        grant_id="01JPA5G0DRIVER000000000000",
        parent_id=sub.grant_id,
        grantor_org_id=sub.grantee_org_id,
        grantee_org_id=sub.grantee_org_id,
        quantity=Decimal("32.5"),
        not_before=NOW,
        not_after=NOW + timedelta(hours=8),
        status=GrantStatus.ACCEPTED,
        driver_id="01JPA5D0DRIVER000000000000",
        vehicle_plate="AB-12 CDE",
    )
    return [root, sub, leaf]


def typical_claims(chain: list[Grant]) -> PassClaims:
    """Claims with 26-character ids, as ULIDs would give."""
    return PassClaims(
        pass_id="01JPA5S3W7Q4M8V2N6X0Z9K1RT",  # noqa: S106 - an id, not a password
        delivery_id="01JPA5RZ2C7GJ8P9W3T5Y6B4QH",
        plant_id=PLANT,
        product="sugar ICUMSA 45",
        max_quantity=Decimal("32.5"),
        unit=QuantityUnit.TONNE,
        vehicle_plate="AB-12 CDE",
        driver_id="01JPA5D0DRIVER000000000000",
        driver_name="Zhang Wei 张伟",
        not_before=NOW,
        expires_at=NOW + timedelta(hours=8),
        chain_hash=chain_hash(chain),
    )


def run(*, quick: bool) -> dict[str, Any]:
    """Measure everything and return the result document."""
    calls, batches = (200, 5) if quick else (2000, 15)
    ring = KeyRing(active=generate_private_key())
    chain = typical_chain()
    claims = typical_claims(chain)
    token = issue_pass(claims, ring=ring)
    jwks_document = ring.jwks(now=NOW)
    jwks_keys = JwksKeys.from_document(jwks_document)
    entries = tuple(
        RevocationEntry(seq=i, pass_id=f"revoked-{i}", expires_at=NOW + timedelta(hours=8))
        for i in range(1, 10_001)
    )
    revocations = RevocationList().merge(RevocationDelta(after=0, up_to=10_000, entries=entries))
    at_gate = NOW + timedelta(hours=1)
    head, body, signature_b64 = token.split(".")
    signing_input = f"{head}.{body}".encode("ascii")
    raw_signature = ring.active.sign(signing_input)
    public_key = ring.active.public_key()

    def verify_with(keys: KeyRing | JwksKeys) -> None:
        result = verify_pass(
            token,
            keys=keys,
            revoked=revocations,
            plate_seen="AB12CDE",
            plant_id=PLANT,
            now=at_gate,
        )
        assert result.valid, result.reason

    def offline() -> None:
        result = verify_offline(
            token,
            jwks=jwks_document,
            revocations=revocations,
            plate_seen="ab 12 cde",
            plant_id=PLANT,
            now=at_gate,
        )
        assert result.valid, result.reason

    cases: list[tuple[str, Callable[[], object], str | None]] = [
        ("ed25519 sign (baseline)", lambda: ring.active.sign(signing_input), None),
        (
            "ed25519 verify (baseline)",
            lambda: public_key.verify(raw_signature, signing_input),
            None,
        ),
        ("issue_pass", lambda: issue_pass(claims, ring=ring), "ed25519 sign (baseline)"),
        ("verify_pass, key ring", lambda: verify_with(ring), "ed25519 verify (baseline)"),
        ("verify_pass, parsed JWKS", lambda: verify_with(jwks_keys), "ed25519 verify (baseline)"),
        (
            "verify_offline, JWKS document, 10k revoked",
            offline,
            "ed25519 verify (baseline)",
        ),
        ("chain_hash, 3 hops", lambda: chain_hash(chain), None),
    ]
    qr_cases: list[tuple[str, Callable[[], object]]] = [
        ("QR PNG render", lambda: pass_qr_png(token)),
        ("QR SVG render", lambda: pass_qr_svg(token)),
    ]
    medians: dict[str, float] = {}
    timings: list[Timing] = []
    for name, call, baseline in cases:
        samples = per_call_us(call, calls=calls, batches=batches)
        medians[name] = statistics.median(samples)
        timings.append(
            Timing(
                name=name,
                median_us=medians[name],
                p90_us=statistics.quantiles(samples, n=10)[-1],
                baseline=baseline,
                ratio=medians[name] / medians[baseline] if baseline else None,
            )
        )
    for name, call in qr_cases:
        samples = per_call_us(call, calls=max(calls // 100, 3), batches=batches)
        timings.append(
            Timing(
                name=name,
                median_us=statistics.median(samples),
                p90_us=statistics.quantiles(samples, n=10)[-1],
                baseline=None,
                ratio=None,
            )
        )
    symbol = pass_qr(token)
    return {
        "quick": quick,
        "provisional": "shared 2-core machine; compare ratios, not absolute figures",
        "token_bytes": len(token.encode("ascii")),
        "token_parts_bytes": {
            "header": len(head),
            "payload": len(body),
            "signature": len(signature_b64),
        },
        "qr_version": symbol.version,
        "qr_error_level": symbol.error,
        "qr_modules": len(symbol.matrix),
        "timings": [asdict(t) for t in timings],
    }


def print_table(result: dict[str, Any]) -> None:
    """Print the result as a plain table."""
    parts = result["token_parts_bytes"]
    print(
        f"token: {result['token_bytes']} bytes ({parts}); QR version {result['qr_version']}"
        f"-{result['qr_error_level']}, {result['qr_modules']} modules a side"
    )
    print(f"{'operation':<44} {'median µs':>10} {'p90 µs':>10} {'x baseline':>11}")
    for timing in result["timings"]:
        ratio = f"{timing['ratio']:.2f}" if timing["ratio"] is not None else "-"
        print(
            f"{timing['name']:<44} {timing['median_us']:>10.1f} {timing['p90_us']:>10.1f}"
            f" {ratio:>11}"
        )
    print("figures are provisional: a shared 2-core machine; read the ratios")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few iterations, a few seconds")
    parser.add_argument("--json", type=Path, help="write the result document here")
    args = parser.parse_args(argv)
    result = run(quick=args.quick)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
