"""Real concurrent transactions on one chain: shares never exceed their grant, a pass is
checked in once and used up once, and the order grant counts each loading exactly once.

Each task runs in its own transaction on its own connection, as separate requests would; on
PostgreSQL they truly overlap, on SQLite BEGIN IMMEDIATE queues them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts import service as accounts
from accounts.principal import Principal
from accounts.tokens import TokenCache
from core.clock import FrozenClock
from core.database import Database
from core.errors import DomainError
from core.settings import DatabaseSettings, Settings
from dispatch.authorizations import gate, grants
from dispatch.authorizations.gate import GateVerdict
from dispatch.authorizations.models import PickupGrant, PickupPass
from dispatch.authorizations.passes import PassReason
from dispatch.authorizations.schemas import SubgrantCreate
from tests.dispatch.authz_factory import (
    Pickup,
    accept,
    long_session_settings,
    offer_grant,
    prepared,
    self_pickup,
    token_of,
    verify,
)
from tests.dispatch.market_factory import carrier

TASKS = 100
T = TypeVar("T")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the clock moving to the pickup day."""
    return long_session_settings(tmp_path)


@pytest.fixture
async def racing_database(database: Database, database_url: str) -> AsyncIterator[Database]:
    """A second engine with a bounded pool, so a hundred tasks queue for 10 connections."""
    racing = Database(
        database_url, DatabaseSettings(pool_size=10, max_overflow=0), key_ring=database.key_ring
    )
    yield racing
    await racing.dispose()


async def principal_of(database: Database, token: str) -> Principal:
    """The caller behind a token."""
    async with database.session() as session:
        return await accounts.authenticate(session, token=token, cache=TokenCache(ttl_s=0))


async def race(
    database: Database, work: Callable[[int, AsyncSession], Awaitable[T]]
) -> list[T | DomainError]:
    """TASKS concurrent transactions running ``work``; each result or domain error."""

    async def one(n: int) -> T | DomainError:
        async def run(session: AsyncSession) -> T:
            return await work(n, session)

        try:
            return await database.run(run)
        except DomainError as error:
            return error

    return await asyncio.gather(*(one(n) for n in range(TASKS)))


async def root_of(database: Database, grant_id: str) -> PickupGrant:
    """An order grant read back from the database."""
    async with database.session() as session:
        found = await session.get(PickupGrant, uuid.UUID(grant_id))
        assert found is not None
        return found


class TestShares:
    async def test_a_hundred_shares_at_once_never_exceed_the_grant(
        self, client: httpx.AsyncClient, clock: FrozenClock, racing_database: Database
    ) -> None:
        booked = await self_pickup(client)
        pickup = Pickup(booked=booked, deliveries=[])
        forwarder = await carrier(client, "Forwarder Ltd", vehicles=())
        offered = await offer_grant(
            client,
            pickup,
            booking_id=None,
            carrier_id=str(forwarder.org.id),
            quantity=100_000,
            may_subcontract=True,
        )
        grant = await accept(client, forwarder.headers, offered.json())
        caller = await principal_of(racing_database, forwarder.dispatcher_token)
        share = SubgrantCreate(carrier_id=booked.carrier.org.id, quantity=3_000)

        async def work(_n: int, session: AsyncSession) -> PickupGrant:
            return await grants.subcontract(
                session, principal=caller, grant_id=uuid.UUID(grant["id"]), data=share
            )

        results = await race(racing_database, work)
        made = [r for r in results if isinstance(r, PickupGrant)]
        refused = [r for r in results if isinstance(r, DomainError)]
        assert len(made) == 33
        assert {e.code for e in refused} == {"quantity_exceeds_parent"}
        root = await root_of(racing_database, grant["id"])
        assert root.allotted_quantity == 99_000


class TestSingleUse:
    async def test_a_hundred_presentations_of_one_pass_admit_one_truck(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        racing_database: Database,
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        clerk = await principal_of(racing_database, pickup.clerk_token)
        clock.advance(timedelta(days=1, hours=2))
        plate = pickup.passes[0]["vehicle_plate"]

        async def work(_n: int, session: AsyncSession) -> GateVerdict:
            return await gate.present_pass(
                session,
                principal=clerk,
                token=token,
                plate_seen=plate,
                plant_site_id=uuid.UUID(pickup.plant_id),
            )

        verdicts = [v for v in await race(racing_database, work) if isinstance(v, GateVerdict)]
        assert len(verdicts) == TASKS
        assert sum(v.valid for v in verdicts) == 1
        assert {v.reason for v in verdicts if not v.valid} == {PassReason.ALREADY_PRESENTED}

    async def test_racing_loadings_use_each_pass_once_and_count_once_on_the_grant(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        racing_database: Database,
    ) -> None:
        pickup = await prepared(client, database)
        tokens = [await token_of(client, pickup, 0), await token_of(client, pickup, 1)]
        clock.advance(timedelta(days=1, hours=2))
        for index, token in enumerate(tokens):
            plate = pickup.passes[index]["vehicle_plate"]
            admitted = await verify(client, pickup, token, plate=plate, path="/v1/passes/present")
            assert admitted.json()["valid"], admitted.text
        clerk = await principal_of(racing_database, pickup.clerk_token)
        loaded = [20_000, 21_000]

        async def work(n: int, session: AsyncSession) -> PickupPass:
            return await gate.consume_pass(
                session,
                principal=clerk,
                pass_id=uuid.UUID(pickup.passes[n % 2]["id"]),
                loaded_quantity=loaded[n % 2],
            )

        results = await race(racing_database, work)
        used = [r for r in results if isinstance(r, PickupPass)]
        refused: list[Any] = [r for r in results if isinstance(r, DomainError)]
        assert sorted(p.loaded_quantity or 0 for p in used) == loaded
        assert {e.code for e in refused} == {"consumed"}
        root = await root_of(racing_database, pickup.grant["id"])
        assert root.loaded_quantity == sum(loaded)
        assert root.quantity - root.loaded_quantity == pickup.grant["quantity"] - sum(loaded)
