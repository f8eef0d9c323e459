"""Race grabs over HTTP against a real server process, and check no unit ever has two owners.

The API runs in a subprocess (uvicorn on ``api.app:serve_app``, as ``haulpoint serve`` runs it,
migrations applied beforehand) on its own SQLite file or on a
PostgreSQL database given with ``--database`` (which is wiped). The world is seeded in this
process: a seller, a buyer, qualified carriers with dispatcher tokens, and loads bulk-inserted
from one load posted through the service. Then, over HTTP with one httpx client:

- whole-load rounds: 100 concurrent grabs of all of one load, round after round;
- partial rounds: 100 concurrent grabs of 1 to 5 t of a 25 t load;
- distinct loads: grabs spread over many loads, 100 in flight at a time (throughput).

In the same run, straight on the database with no HTTP, two baselines:

- naive: read the remaining quantity, decide in Python, write the new value and a booking
  (check-then-act, as a handler without a conditional update does) - to show what it breaks;
- raw: the bare conditional ``UPDATE ... WHERE remaining >= q RETURNING`` and commit, over
  distinct loads - the limit the HTTP path is compared with. It takes turns with the HTTP
  distinct-load race in four slices, so both meet the same neighbours on the CPU.

Afterwards every load is checked from the database: booked quantity never above the load's,
and ``remaining`` equal to what is not booked. The machine has 2 cores shared by the server,
the database and this load generator (and other work): figures are provisional, read ratios.

    python -m simulations.bench_grab [--quick] [--json PATH] [--database postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

import accounts.credentials
from accounts import service as accounts_service
from accounts.enums import OrgKind, Role, SiteKind
from accounts.principal import Principal
from accounts.schemas import MemberCreate, SignupRequest, SiteCreate
from accounts.tokens import TokenCache
from core.clock import now
from core.database import Database, normalize_url
from core.ids import new_id
from core.settings import DatabaseSettings, Settings
from core.signing import key_ring_from_settings
from core.sql import table_of
from dispatch.fleet import service as fleet
from dispatch.fleet.enums import BodyType, QualificationKind
from dispatch.fleet.schemas import QualificationCreate, VehicleCreate
from dispatch.market import offers
from dispatch.market.enums import BookingSource, BookingState, OfferState, PricingMode, RateBasis
from dispatch.market.models import Booking, LoadOffer
from dispatch.market.schemas import OfferCreate
from dispatch.orders import service as orders
from dispatch.orders.enums import QuantityUnit, TransportBy
from dispatch.orders.models import SalesOrder
from dispatch.orders.schemas import OrderCreate
from migrations import upgrade

TONNE = 1000
SLICES = 4
LOAD_KG = 25 * TONNE
PASSWORD = "bench-password-123"  # noqa: S105 - accounts of a throwaway benchmark database


@dataclass(frozen=True)
class Plan:
    """How much of each race to run."""

    whole_rounds: int
    partial_rounds: int
    distinct_grabs: int
    naive_rounds: int
    raw_grabs: int
    concurrency: int = 100
    carriers: int = 20

    @classmethod
    def for_run(cls, *, quick: bool) -> Plan:
        """The quick plan finishes in under a minute; the full one runs the issue's sizes."""
        if quick:
            return cls(
                whole_rounds=20,
                partial_rounds=8,
                distinct_grabs=800,
                naive_rounds=20,
                raw_grabs=1_600,
            )
        return cls(
            whole_rounds=1_000,
            partial_rounds=200,
            distinct_grabs=5_000,
            naive_rounds=100,
            raw_grabs=10_000,
        )


@dataclass
class World:
    """What the races run against."""

    tokens: list[str]
    carrier_ids: list[uuid.UUID]
    whole: list[uuid.UUID] = field(default_factory=list)
    partial: list[uuid.UUID] = field(default_factory=list)
    distinct: list[uuid.UUID] = field(default_factory=list)
    naive: list[uuid.UUID] = field(default_factory=list)
    raw: list[uuid.UUID] = field(default_factory=list)
    booking_template: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Race:
    """One HTTP race: statuses and latencies of every request, and its wall time."""

    statuses: list[int]
    latencies_ms: list[float]
    elapsed_s: float

    @property
    def granted(self) -> int:
        """Requests answered 201."""
        return sum(1 for s in self.statuses if s == 201)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def reset_database(url: str) -> None:
    """Empty the benchmark's database (a fresh SQLite file, or PostgreSQL's public schema)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_async_engine(parsed, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    elif parsed.database:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240


async def seed(database: Database, plan: Plan) -> World:
    """Sign up the parties, qualify the carriers and bulk-insert the loads every race needs."""
    # Cheap password hashing: the seeded accounts log in with tokens, never passwords.
    accounts.credentials._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    cache = TokenCache(ttl_s=0)
    async with database.transaction() as session:
        seller = await _organization(session, "Bench Sugar Mill", [OrgKind.SELLER], cache)
        buyer = await _organization(session, "Bench Bakery", [OrgKind.BUYER], cache)
        plant = await accounts_service.create_site(
            session,
            principal=seller,
            data=SiteCreate(name="Mill", kind=SiteKind.PLANT, lat=52.98, lon=10.56),
        )
        bakery = await accounts_service.create_site(
            session,
            principal=buyer,
            data=SiteCreate(name="Bakery", kind=SiteKind.DELIVERY_SITE, lat=53.55, lon=10.08),
        )
        start = now() + timedelta(days=1)
        order = await orders.create_order(
            session,
            principal=seller,
            data=OrderCreate(
                reference="BENCH-1",
                buyer_id=buyer.organization_id,
                commodity="sugar EU2",
                quantity=10**12,
                unit=QuantityUnit.KG,
                origin_site_id=plant.id,
                destination_site_id=bakery.id,
                pickup_from=start,
                pickup_until=start + timedelta(days=3),
                deliver_by=start + timedelta(days=4),
                transport_by=TransportBy.SELLER,
                food_grade=True,
            ),
        )
        template = await offers.post_offer(
            session,
            principal=seller,
            data=OfferCreate(
                order_id=order.id,
                quantity=LOAD_KG,
                min_lot=TONNE,
                body_types=[BodyType.SILO],
                pricing_mode=PricingMode.POSTED,
                rate_basis=RateBasis.PER_TONNE,
                rate_cents=1850,
            ),
        )
        tokens: list[str] = []
        carrier_ids: list[uuid.UUID] = []
        for n in range(plan.carriers):
            token, carrier_id = await _carrier(session, n, cache)
            tokens.append(token)
            carrier_ids.append(carrier_id)
    world = World(tokens=tokens, carrier_ids=carrier_ids)
    row = {c.name: getattr(template, c.name) for c in table_of(LoadOffer).c}
    counts = {
        "whole": plan.whole_rounds,
        "partial": plan.partial_rounds,
        "distinct": plan.distinct_grabs,
        "naive": plan.naive_rounds,
        "raw": plan.raw_grabs,
    }
    total = sum(counts.values())
    async with database.transaction() as session:
        ids = [new_id() for _ in range(total)]
        table = table_of(LoadOffer)
        for start_at in range(0, total, 2_000):
            chunk = [{**row, "id": i} for i in ids[start_at : start_at + 2_000]]
            await (await session.connection()).execute(insert(table), chunk)
        sales = table_of(SalesOrder)
        await session.exec(
            update(sales)
            .where(sales.c.id == order.id)
            .values(offered_quantity=(total + 1) * LOAD_KG)
        )
    taken = 0
    for name, count in counts.items():
        setattr(world, name, ids[taken : taken + count])
        taken += count
    world.booking_template = {
        "order_id": order.id,
        "shipper_id": seller.organization_id,
        "seller_id": seller.organization_id,
        "buyer_id": buyer.organization_id,
        "source": BookingSource.GRAB.value,
        "unit": QuantityUnit.KG.value,
        "currency": "EUR",
        "rate_basis": RateBasis.PER_TONNE.value,
        "rate_cents": 1850,
        "pickup_from": template.pickup_from,
        "pickup_until": template.pickup_until,
        "deliver_by": template.deliver_by,
        "state": BookingState.CONFIRMED.value,
        "counts_against_carrier": False,
        "version": 1,
    }
    return world


async def _organization(
    session: AsyncSession, name: str, kinds: list[OrgKind], cache: TokenCache
) -> Principal:
    issued, _, _, _ = await accounts_service.signup(
        session,
        data=SignupRequest(
            organization_name=name,
            kinds=kinds,
            owner_name=f"{name} owner",
            email=f"owner@{uuid.uuid4().hex[:12]}.example",
            password=PASSWORD,
        ),
        session_ttl_s=24 * 3600,
    )
    return await accounts_service.authenticate(session, token=issued.token, cache=cache)


async def _carrier(session: AsyncSession, n: int, cache: TokenCache) -> tuple[str, uuid.UUID]:
    owner = await _organization(session, f"Bench Carrier {n}", [OrgKind.CARRIER], cache)
    moment = now()
    for kind in (
        QualificationKind.TRANSPORT_LICENCE,
        QualificationKind.INSURANCE,
        QualificationKind.FOOD_GRADE,
    ):
        await fleet.add_qualification(
            session,
            principal=owner,
            data=QualificationCreate(
                kind=kind,
                document_ref=f"{kind.value}-{n}",
                valid_from=moment - timedelta(days=1),
                expires_at=moment + timedelta(days=365),
            ),
        )
    await fleet.create_vehicle(
        session,
        principal=owner,
        data=VehicleCreate(
            plate=f"BE-{n:04d}", body_type=BodyType.SILO, payload_kg=26_000, food_grade=True
        ),
    )
    member, _ = await accounts_service.create_member(
        session,
        principal=owner,
        data=MemberCreate(
            name=f"Dispatcher {n}",
            email=f"dispatcher@{uuid.uuid4().hex[:12]}.example",
            password=PASSWORD,
            role=Role.DISPATCHER,
        ),
    )
    organization = await accounts_service.get_organization(session, principal=owner)
    issued = await accounts_service.issue_session(
        session, organization=organization, member=member, ttl_s=24 * 3600
    )
    return issued.token, owner.organization_id


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(url: str, *, workers: int, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The API in a subprocess on this database; returns it and its base URL once ready."""
    port = free_port()
    env = {
        **os.environ,
        "HAULPOINT_DATABASE__URL": url,
        "HAULPOINT_DATA_DIR": str(data_dir),
        "HAULPOINT_LOG_LEVEL": "WARNING",
        "HAULPOINT_SECURITY__TOKEN_CACHE_S": "60",
        "HAULPOINT_MARKET__SWEEP_INTERVAL_S": "3600",
        "HAULPOINT_DATABASE__POOL_SIZE": "12",
        "HAULPOINT_DATABASE__MAX_OVERFLOW": "0",
        "HAULPOINT_DATABASE__SQLITE_BUSY_TIMEOUT_MS": "30000",
    }
    # uvicorn on the app factory ``haulpoint serve`` runs, with a keep-alive longer than any
    # round, so the client never reuses a connection the server is closing.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:serve_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--timeout-keep-alive",
            "120",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "server.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the server did not become ready")


async def timed(request: Awaitable[int]) -> tuple[int, float]:
    """Await a request; its status and latency in ms."""
    started = time.perf_counter()
    status = await request
    return status, (time.perf_counter() - started) * 1000


class Connection:
    """One keep-alive HTTP/1.1 connection that posts JSON and reads the status and body.

    The load generator shares the 2 cores with the server and the database; httpx spends about
    as much CPU per request as the server does, so the races use this bare client instead.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def post(self, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        """POST a JSON body; the status and the response body."""
        self._writer.write(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        """Hang up."""
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class Pool:
    """Connections to the server, one per concurrent request."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._idle: list[Connection] = []

    async def grab(self, token: str, offer_id: uuid.UUID, quantity: int) -> int:
        """One grab over HTTP; its status (201 or 409, anything else stops the run)."""
        connection = self._idle.pop() if self._idle else await Connection.open(self.host, self.port)
        status, body = await connection.post(
            f"/v1/market/offers/{offer_id}/grab", token, b'{"quantity":%d}' % quantity
        )
        self._idle.append(connection)
        if status not in (201, 409):
            raise RuntimeError(f"unexpected {status}: {body[:300]!r}")
        return status

    async def close(self) -> None:
        """Close every connection."""
        for connection in self._idle:
            await connection.close()
        self._idle.clear()


async def http_rounds(
    pool: Pool,
    world: World,
    loads: Sequence[uuid.UUID],
    *,
    concurrency: int,
    quantity: Callable[[random.Random], int],
) -> Race:
    """For each load in turn, ``concurrency`` grabs fired at once."""
    rng = random.Random(7)
    statuses: list[int] = []
    latencies: list[float] = []
    started = time.perf_counter()
    for load in loads:
        wanted = [quantity(rng) for _ in range(concurrency)]
        results = await asyncio.gather(
            *(
                timed(pool.grab(world.tokens[n % len(world.tokens)], load, wanted[n]))
                for n in range(concurrency)
            )
        )
        statuses += [s for s, _ in results]
        latencies += [ms for _, ms in results]
    return Race(statuses, latencies, time.perf_counter() - started)


async def http_distinct(
    pool: Pool, world: World, loads: Sequence[uuid.UUID], *, concurrency: int
) -> Race:
    """One whole-load grab per load, ``concurrency`` in flight at a time."""
    queue: asyncio.Queue[tuple[int, uuid.UUID]] = asyncio.Queue()
    for n, load in enumerate(loads):
        queue.put_nowait((n, load))
    statuses: list[int] = []
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            n, load = queue.get_nowait()
            token = world.tokens[n % len(world.tokens)]
            status, ms = await timed(pool.grab(token, load, LOAD_KG))
            statuses.append(status)
            latencies.append(ms)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Race(statuses, latencies, time.perf_counter() - started)


async def naive_rounds(
    database: Database, world: World, loads: Sequence[uuid.UUID], *, concurrency: int
) -> list[int]:
    """Read-check-write whole-load grabs, ``concurrency`` at once per load; winners per load."""
    offers_table = table_of(LoadOffer)
    bookings_table = table_of(Booking)

    async def attempt(load: uuid.UUID, carrier_id: uuid.UUID) -> bool:
        async with database.session() as session:
            connection = await session.connection()
            remaining = (
                await connection.execute(
                    select(offers_table.c.remaining).where(offers_table.c.id == load)
                )
            ).scalar_one()
        if remaining < LOAD_KG:
            return False
        async with database.transaction() as session:
            await session.exec(
                update(offers_table)
                .where(offers_table.c.id == load)
                .values(remaining=remaining - LOAD_KG)
            )
            await session.exec(
                insert(bookings_table).values(
                    **world.booking_template,
                    id=new_id(),
                    offer_id=load,
                    carrier_id=carrier_id,
                    quantity=LOAD_KG,
                    amount_cents=25 * 1850,
                    confirmation_no=f"NAIVE-{uuid.uuid4().hex[:12]}",
                    created_at=now(),
                    confirmed_at=now(),
                )
            )
        return True

    winners = []
    for load in loads:
        results = await asyncio.gather(
            *(
                attempt(load, world.carrier_ids[n % len(world.carrier_ids)])
                for n in range(concurrency)
            )
        )
        winners.append(sum(results))
    return winners


async def raw_distinct(
    database: Database, loads: Sequence[uuid.UUID], *, concurrency: int
) -> tuple[float, list[float]]:
    """The bare conditional UPDATE and commit per load, ``concurrency`` in flight."""
    table = table_of(LoadOffer)
    queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
    for load in loads:
        queue.put_nowait(load)
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            load = queue.get_nowait()
            began = time.perf_counter()
            async with database.transaction() as session:
                row = (
                    await session.exec(
                        update(table)
                        .where(
                            table.c.id == load,
                            table.c.state == OfferState.OPEN.value,
                            table.c.remaining >= LOAD_KG,
                        )
                        .values(remaining=table.c.remaining - LOAD_KG)
                        .returning(table.c.remaining)
                    )
                ).first()
                assert row is not None
            latencies.append((time.perf_counter() - began) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


@dataclass(frozen=True)
class Check:
    """What the database says about a set of loads after a race."""

    loads: int
    over_allocated: int
    inconsistent: int
    max_bookings: int
    booked_kg: int


async def check(database: Database, loads: Sequence[uuid.UUID]) -> Check:
    """Booked quantity per load against its quantity and its remaining."""
    offers_table = table_of(LoadOffer)
    bookings_table = table_of(Booking)
    per_load = (
        select(
            bookings_table.c.offer_id,
            func.count().label("bookings"),
            func.sum(bookings_table.c.quantity).label("booked"),
        )
        .group_by(bookings_table.c.offer_id)
        .subquery()
    )
    over = inconsistent = most = booked_total = 0
    wanted = set(loads)
    async with database.session() as session:
        connection = await session.connection()
        rows = (
            await connection.execute(
                select(
                    offers_table.c.id,
                    offers_table.c.quantity,
                    offers_table.c.remaining,
                    per_load.c.bookings,
                    per_load.c.booked,
                ).outerjoin(per_load, per_load.c.offer_id == offers_table.c.id)
            )
        ).all()
    for load_id, quantity, remaining, bookings, booked in rows:
        if load_id not in wanted:
            continue
        booked = int(booked or 0)
        booked_total += booked
        most = max(most, int(bookings or 0))
        over += booked > quantity
        inconsistent += quantity - remaining != booked
    return Check(len(wanted), over, inconsistent, most, booked_total)


async def run(plan: Plan, *, url: str, workers: int, quick: bool) -> dict[str, Any]:
    """Seed, serve, race, check; the result document."""
    data_dir = Path(tempfile.mkdtemp(prefix="haulpoint-bench-"))
    if url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    await reset_database(url)
    # PostgreSQL here allows 100 connections, shared with the server and other work.
    # The server processes sign with the development key in the same data directory.
    key_ring = key_ring_from_settings(Settings(data_dir=data_dir))
    database = Database(url, DatabaseSettings(pool_size=15, max_overflow=0), key_ring=key_ring)
    await upgrade(database.engine)
    seeding = time.perf_counter()
    world = await seed(database, plan)
    seeded_s = time.perf_counter() - seeding
    process, base = start_server(url, workers=workers, data_dir=data_dir)
    client_cpu = time.process_time()
    raw_s = 0.0
    raw_latencies: list[float] = []
    try:
        host, port = base.removeprefix("http://").split(":")
        pool = Pool(host, int(port))
        try:
            whole = await http_rounds(
                pool, world, world.whole, concurrency=plan.concurrency, quantity=lambda _: LOAD_KG
            )
            partial = await http_rounds(
                pool,
                world,
                world.partial,
                concurrency=plan.concurrency,
                quantity=lambda rng: rng.randint(1, 5) * TONNE,
            )
            # HTTP and raw take turns in slices, so both meet the same neighbours on the CPU.
            slices: list[Race] = []
            for part in range(SLICES):
                slices.append(
                    await http_distinct(
                        pool, world, world.distinct[part::SLICES], concurrency=plan.concurrency
                    )
                )
                elapsed, latencies = await raw_distinct(
                    database, world.raw[part::SLICES], concurrency=plan.concurrency
                )
                raw_s += elapsed
                raw_latencies += latencies
            distinct = Race(
                [s for r in slices for s in r.statuses],
                [ms for r in slices for ms in r.latencies_ms],
                sum(r.elapsed_s for r in slices),
            )
        finally:
            await pool.close()
        client_cpu = time.process_time() - client_cpu
    finally:
        process.terminate()
        process.wait(timeout=30)
    naive = await naive_rounds(database, world, world.naive, concurrency=plan.concurrency)
    whole_check = await check(database, world.whole)
    partial_check = await check(database, world.partial)
    distinct_check = await check(database, world.distinct)
    naive_check = await check(database, world.naive)
    await database.dispose()

    http_rate = len(distinct.statuses) / distinct.elapsed_s
    raw_rate = len(world.raw) / raw_s
    return {
        "database": database.dialect,
        "quick": quick,
        "provisional": (
            "2 shared cores run the server, the database and the load generator (and other "
            "work): compare ratios, not absolute figures"
        ),
        "client": "one process: a bare asyncio HTTP/1.1 keep-alive client, one connection per "
        "request in flight",
        "server_workers": workers,
        "concurrency": plan.concurrency,
        "carriers": plan.carriers,
        "seed_s": round(seeded_s, 2),
        "over_allocations": whole_check.over_allocated
        + partial_check.over_allocated
        + distinct_check.over_allocated,
        "inconsistent_loads": whole_check.inconsistent
        + partial_check.inconsistent
        + distinct_check.inconsistent,
        "max_winners_per_load": whole_check.max_bookings,
        "whole_rounds": plan.whole_rounds,
        "whole_winners": whole.granted,
        "partial_rounds": plan.partial_rounds,
        "partial_grants": partial.granted,
        "partial_booked_kg": partial_check.booked_kg,
        "partial_offered_kg": plan.partial_rounds * LOAD_KG,
        "naive_over_allocations": naive_check.over_allocated,
        "naive_max_winners_per_load": max(naive, default=0),
        "naive_mean_winners_per_load": round(statistics.fmean(naive), 1) if naive else 0,
        "http_p50_ms": round(percentile(whole.latencies_ms, 50), 1),
        "http_p99_ms": round(percentile(whole.latencies_ms, 99), 1),
        "http_round_s": round(whole.elapsed_s / max(plan.whole_rounds, 1), 4),
        "http_distinct_p50_ms": round(percentile(distinct.latencies_ms, 50), 1),
        "http_distinct_p99_ms": round(percentile(distinct.latencies_ms, 99), 1),
        "http_grabs_per_s": round(http_rate, 1),
        "http_contended_requests_per_s": round(len(whole.statuses) / whole.elapsed_s, 1),
        "raw_grabs_per_s": round(raw_rate, 1),
        "raw_p50_ms": round(percentile(raw_latencies, 50), 2),
        "raw_p99_ms": round(percentile(raw_latencies, 99), 2),
        "http_vs_raw": round(http_rate / raw_rate, 3),
        "client_cpu_s": round(client_cpu, 1),
    }


def print_table(result: dict[str, Any]) -> None:
    """The figures as a small table."""
    rows = [
        ("database", result["database"]),
        ("over-allocations (all HTTP races)", result["over_allocations"]),
        ("loads whose remaining disagrees with bookings", result["inconsistent_loads"]),
        ("max winners per whole load", result["max_winners_per_load"]),
        (
            "whole-load rounds: winners / rounds",
            f"{result['whole_winners']} / {result['whole_rounds']}",
        ),
        (
            "partial rounds: booked / offered kg",
            f"{result['partial_booked_kg']} / {result['partial_offered_kg']}",
        ),
        (
            "naive read-check-write: loads over-allocated",
            f"{result['naive_over_allocations']} (max {result['naive_max_winners_per_load']} "
            f"winners, mean {result['naive_mean_winners_per_load']})",
        ),
        (
            "HTTP, 100 grabbers on one load: p50 / p99 ms",
            f"{result['http_p50_ms']} / {result['http_p99_ms']}",
        ),
        (
            "HTTP, distinct loads: p50 / p99 ms",
            f"{result['http_distinct_p50_ms']} / {result['http_distinct_p99_ms']}",
        ),
        ("HTTP grabs/s (distinct loads)", result["http_grabs_per_s"]),
        ("raw conditional UPDATE grabs/s (baseline)", result["raw_grabs_per_s"]),
        ("HTTP / raw", result["http_vs_raw"]),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"bench_grab ({'quick' if result['quick'] else 'full'}; {result['provisional']})")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="finish in under a minute")
    parser.add_argument("--json", type=Path, help="write the result document here")
    parser.add_argument(
        "--database",
        default="sqlite",
        help="postgresql://... to race on PostgreSQL (the database is wiped); SQLite otherwise",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="server processes (1 on SQLite, 2 on PostgreSQL)"
    )
    args = parser.parse_args(argv)
    plan = Plan.for_run(quick=args.quick)
    on_postgres = args.database.startswith("postgres")
    workers = args.workers or (2 if on_postgres else 1)
    result = asyncio.run(run(plan, url=args.database, workers=workers, quick=args.quick))
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    failed = result["over_allocations"] or result["inconsistent_loads"]
    return 1 if failed or result["max_winners_per_load"] > 1 else 0


if __name__ == "__main__":
    sys.exit(main())
