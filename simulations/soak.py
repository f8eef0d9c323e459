"""Soak: ingest, grabs, read queries and live subscribers together against two API processes
on PostgreSQL with Redis as their bus, for a set time. Reports errors, latency percentiles per
kind of request, and the resident memory of each server process over time with its slope.

    python -m simulations.soak --database postgresql://postgres@127.0.0.1:5432/soak \\
        --redis redis://127.0.0.1:6379/9 --duration 300 --subscribers 500 --json soak.json

The database must exist; its schema is replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "soak-password-123"  # noqa: S105 - throwaway accounts of a soak run
TONNE = 1000


@dataclass
class Stats:
    """Latencies and errors per kind of request, and memory samples per process."""

    latency_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    frames: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    subscribers_open: int = 0
    rss_mb: dict[int, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))

    def record(self, kind: str, started: float, status: int | None) -> None:
        """One request's outcome."""
        self.latency_ms[kind].append((time.perf_counter() - started) * 1000)
        if status is None or status >= 500:
            self.errors[kind] += 1
        self.statuses[kind][status or 0] += 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return 0.0
    xs = [t / 60 for t, _ in samples]
    ys = [m for _, m in samples]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var if var else 0


def _steady(samples: list[tuple[float, float]]) -> list[tuple[float, float]]:
    # Imports, pools and caches fill in the first seconds: judge growth after the warm-up.
    if not samples:
        return samples
    warm_s = min(30.0, samples[-1][0] / 5)
    return [(t, m) for t, m in samples if t >= warm_s]


async def _reset_and_migrate(database: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from core.database import Database, normalize_url
    from migrations import upgrade

    engine = create_async_engine(normalize_url(database), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    db = Database(database)
    await upgrade(db.engine)
    await db.dispose()


def _start_servers(
    args: argparse.Namespace, data_dir: str
) -> list[tuple[subprocess.Popen[bytes], str]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HAULPOINT_ENVIRONMENT": "test",
        "HAULPOINT_DATA_DIR": data_dir,
        "HAULPOINT_DATABASE__URL": args.database,
        "HAULPOINT_BUS__URL": args.redis,
        "HAULPOINT_LOG_LEVEL": "WARNING",
        "HAULPOINT_TRACKING__INGEST_RATE_PER_S": "1000",
        "HAULPOINT_TRACKING__INGEST_BURST": "1000",
        "HAULPOINT_TRACKING__LIVE_CONNECTIONS_PER_TOKEN": "1000",
    }
    servers = []
    for _ in range(2):
        port = _free_port()
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:serve_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        servers.append((subprocess.Popen(command, cwd=ROOT, env=env), f"127.0.0.1:{port}"))
    return servers


async def _ready(address: str) -> None:
    async with httpx.AsyncClient() as http, asyncio.timeout(60):
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"http://{address}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)


async def _signup(http: httpx.AsyncClient, name: str, kinds: list[str]) -> dict[str, Any]:
    reply = await http.post(
        "/v1/auth/signup",
        json={
            "organization_name": name,
            "kinds": kinds,
            "owner_name": f"{name} owner",
            "email": f"owner-{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD,
        },
    )
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    return {
        "id": body["organization"]["id"],
        "headers": {"Authorization": f"Bearer {body['access_token']}"},
    }


async def _setup(http: httpx.AsyncClient, devices: int) -> dict[str, Any]:
    """A seller and buyer with an order, a carrier with a fleet and devices."""
    seller = await _signup(http, "Soak Mill", ["seller", "plant_operator"])
    buyer = await _signup(http, "Soak Foods", ["buyer"])
    carrier = await _signup(http, "Soak Haulage", ["carrier"])
    plant = await http.post(
        "/v1/sites",
        headers=seller["headers"],
        json={"name": "Mill", "kind": "plant", "lat": 52.979, "lon": 10.558},
    )
    site = await http.post(
        "/v1/sites",
        headers=buyer["headers"],
        json={"name": "Bakery", "kind": "delivery_site", "lat": 53.546, "lon": 10.082},
    )
    now = datetime.now(UTC)
    for kind in ("transport_licence", "insurance", "food_grade"):
        made = await http.post(
            "/v1/fleet/qualifications",
            headers=carrier["headers"],
            json={
                "kind": kind,
                "document_ref": f"{kind.upper()}-1",
                "hazard_classes": [],
                "valid_from": (now - timedelta(days=1)).isoformat(),
                "expires_at": (now + timedelta(days=365)).isoformat(),
            },
        )
        made.raise_for_status()
    truck = await http.post(
        "/v1/fleet/vehicles",
        headers=carrier["headers"],
        json={
            "plate": "SOAK-1",
            "body_type": "silo",
            "payload_kg": 26000,
            "food_grade": True,
            "volume_l": 60000,
        },
    )
    truck.raise_for_status()
    start = datetime.now(UTC) + timedelta(days=1)
    order = await http.post(
        "/v1/orders",
        headers=seller["headers"],
        json={
            "reference": "SO-SOAK",
            "buyer_id": buyer["id"],
            "commodity": "sugar",
            "quantity": 10_000_000 * TONNE,
            "unit": "kg",
            "origin_site_id": plant.json()["id"],
            "destination_site_id": site.json()["id"],
            "pickup_from": start.isoformat(),
            "pickup_until": (start + timedelta(days=2)).isoformat(),
            "deliver_by": (start + timedelta(days=3)).isoformat(),
            "transport_by": "seller",
            "food_grade": True,
        },
    )
    order.raise_for_status()
    offer = await http.post(
        "/v1/market/offers",
        headers=seller["headers"],
        json={
            "order_id": order.json()["id"],
            "quantity": 10_000_000 * TONNE,
            "min_lot": TONNE,
            "pricing_mode": "posted",
            "rate_basis": "per_tonne",
            "rate_cents": 1850,
            "body_types": ["silo", "tipper"],
        },
    )
    offer.raise_for_status()
    tokens = []
    for n in range(devices):
        made = await http.post(
            "/v1/devices",
            headers=carrier["headers"],
            json={"name": f"phone {n}", "vehicle_id": str(uuid.uuid4())},
        )
        made.raise_for_status()
        tokens.append(made.json()["credentials"]["token"])
    return {"seller": seller, "carrier": carrier, "offer_id": offer.json()["id"], "devices": tokens}


async def _ingest(http: httpx.AsyncClient, token: str, stats: Stats, until: float) -> None:
    n = 0
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < until:
        moment = datetime.now(UTC) - timedelta(seconds=1)
        body = {
            "pings": [
                {
                    "id": f"{n}-{i}",
                    "recorded_at": (moment + timedelta(milliseconds=i)).isoformat(),
                    "lat": 52.9 + n * 1e-6,
                    "lon": 10.5,
                }
                for i in range(10)
            ]
        }
        n += 1
        started = time.perf_counter()
        try:
            reply = await http.post("/v1/ingest/pings", headers=headers, json=body)
            stats.record("ingest", started, reply.status_code)
        except httpx.HTTPError:
            stats.record("ingest", started, None)
        await asyncio.sleep(0.5)


async def _grabs(
    http: httpx.AsyncClient, world: dict[str, Any], stats: Stats, until: float
) -> None:
    path = f"/v1/market/offers/{world['offer_id']}/grab"
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            reply = await http.post(
                path, headers=world["carrier"]["headers"], json={"quantity": TONNE}
            )
            stats.record("grab", started, reply.status_code)
        except httpx.HTTPError:
            stats.record("grab", started, None)
        await asyncio.sleep(0.2)


async def _queries(
    http: httpx.AsyncClient, world: dict[str, Any], stats: Stats, until: float
) -> None:
    paths = ["/v1/deliveries", "/v1/market/bookings", "/v1/positions/latest", "/v1/yard/mine"]
    n = 0
    while time.monotonic() < until:
        path = paths[n % len(paths)]
        n += 1
        headers = world["seller"]["headers"] if "bookings" in path else world["carrier"]["headers"]
        started = time.perf_counter()
        try:
            reply = await http.get(path, headers=headers)
            stats.record(f"query {path}", started, reply.status_code)
        except httpx.HTTPError:
            stats.record(f"query {path}", started, None)
        await asyncio.sleep(0.1)


async def _subscriber(address: str, headers: dict[str, str], stats: Stats, until: float) -> None:
    try:
        url = f"ws://{address}/v1/live/positions"
        async with connect(url, additional_headers=headers, open_timeout=60) as ws:
            stats.subscribers_open += 1
            while time.monotonic() < until:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.1, until - time.monotonic())):
                        await ws.recv()
                        stats.frames += 1
    except Exception as error:
        # A dropped subscriber is counted by cause, not fatal to the run.
        stats.errors["subscriber"] += 1
        stats.dropped[type(error).__name__] += 1


async def _memory(pids: list[int], stats: Stats, until: float, started: float) -> None:
    while time.monotonic() < until:
        for pid in pids:
            with contextlib.suppress(OSError):
                stats.rss_mb[pid].append((time.monotonic() - started, _rss_mb(pid)))
        await asyncio.sleep(5)


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak and return its report."""
    await _reset_and_migrate(args.database)
    with tempfile.TemporaryDirectory() as data_dir:
        servers = _start_servers(args, data_dir)
        try:
            for _, address in servers:
                await _ready(address)
            addresses = [a for _, a in servers]
            async with httpx.AsyncClient(base_url=f"http://{addresses[0]}", timeout=30) as http:
                world = await _setup(http, args.devices)
            stats = Stats()
            started = time.monotonic()
            until = started + args.duration
            limits = httpx.Limits(max_connections=200)
            clients = [
                httpx.AsyncClient(base_url=f"http://{a}", timeout=30, limits=limits)
                for a in addresses
            ]
            tasks = [
                asyncio.create_task(_memory([p.pid for p, _ in servers], stats, until, started))
            ]
            tasks += [
                asyncio.create_task(
                    _subscriber(addresses[n % 2], world["carrier"]["headers"], stats, until)
                )
                for n in range(args.subscribers)
            ]
            tasks += [
                asyncio.create_task(_ingest(clients[n % 2], t, stats, until))
                for n, t in enumerate(world["devices"])
            ]
            tasks += [
                asyncio.create_task(_grabs(clients[n % 2], world, stats, until)) for n in range(2)
            ]
            tasks += [
                asyncio.create_task(_queries(clients[n % 2], world, stats, until)) for n in range(2)
            ]
            await asyncio.gather(*tasks)
            for client in clients:
                await client.aclose()
        finally:
            for process, _ in servers:
                process.terminate()
            for process, _ in servers:
                process.wait(timeout=30)
    return _report(args, stats)


def _report(args: argparse.Namespace, stats: Stats) -> dict[str, Any]:
    kinds = {}
    for kind, values in sorted(stats.latency_ms.items()):
        ordered = sorted(values)

        def pct(q: float, ordered: list[float] = ordered) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        kinds[kind] = {
            "requests": len(values),
            "errors": stats.errors.get(kind, 0),
            "statuses": dict(stats.statuses[kind]),
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1], 1),
        }
    memory = {
        str(pid): {
            "first_mb": round(samples[0][1], 1),
            "last_mb": round(samples[-1][1], 1),
            "max_mb": round(max(m for _, m in samples), 1),
            "slope_mb_per_min": round(_slope_mb_per_min(samples), 2),
            "steady_slope_mb_per_min": round(_slope_mb_per_min(_steady(samples)), 2),
            "samples": [(round(t), round(m, 1)) for t, m in samples],
        }
        for pid, samples in stats.rss_mb.items()
        if samples
    }
    return {
        "duration_s": args.duration,
        "subscribers": args.subscribers,
        "subscribers_open": stats.subscribers_open,
        "subscriber_errors": stats.errors.get("subscriber", 0),
        "subscribers_dropped_by": dict(stats.dropped),
        "frames": stats.frames,
        "devices": args.devices,
        "kinds": kinds,
        "memory": memory,
    }


def _print(report: dict[str, Any]) -> None:
    print(
        f"soak {report['duration_s']} s, {report['subscribers_open']}/{report['subscribers']} "
        f"subscribers open ({report['subscriber_errors']} dropped), {report['frames']} frames"
    )
    if report["subscribers_dropped_by"]:
        print(f"dropped subscribers by cause: {report['subscribers_dropped_by']}")
    print(f"{'kind':32} {'requests':>9} {'errors':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
    for kind, row in report["kinds"].items():
        print(
            f"{kind:32} {row['requests']:>9} {row['errors']:>7} {row['p50_ms']:>8} "
            f"{row['p95_ms']:>8} {row['p99_ms']:>8} {row['max_ms']:>8}"
        )
    for pid, row in report["memory"].items():
        print(
            f"server {pid}: RSS {row['first_mb']} -> {row['last_mb']} MB (max {row['max_mb']}), "
            f"slope {row['slope_mb_per_min']} MB/min, "
            f"after warm-up {row['steady_slope_mb_per_min']} MB/min"
        )


def main(argv: list[str] | None = None) -> int:
    """Parse options, soak, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", required=True, help="postgresql://… (its schema is replaced)")
    parser.add_argument("--redis", required=True, help="redis://host:port/db for the bus")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    report = asyncio.run(soak(args))
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    errors = sum(row["errors"] for row in report["kinds"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
