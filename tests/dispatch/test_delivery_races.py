"""Real concurrent transactions on one booking's ledger, one booking's drafts and one
driver's day: never more quantity on deliveries than booked, never a driver twice.

Each task runs in its own transaction on its own connection, as separate requests would; on
PostgreSQL they truly overlap, on SQLite BEGIN IMMEDIATE queues them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
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
from core.settings import DatabaseSettings
from dispatch.deliveries import assignment, plans, repository
from dispatch.deliveries.schemas import AssignRequest, PlanCommit
from tests.dispatch.delivery_factory import SILO, booked, driver, preview, split
from tests.dispatch.market_factory import SUGAR_T

T = TypeVar("T")


@pytest.fixture
async def racing_database(database: Database, database_url: str) -> AsyncIterator[Database]:
    """A second engine with a bounded pool, so a hundred tasks queue for 30 connections."""
    racing = Database(
        database_url, DatabaseSettings(pool_size=30, max_overflow=0), key_ring=database.key_ring
    )
    yield racing
    await racing.dispose()


async def principal_of(database: Database, token: str) -> Principal:
    """The caller behind a token."""
    async with database.session() as session:
        return await accounts.authenticate(session, token=token, cache=TokenCache(ttl_s=0))


async def race(
    database: Database, works: list[Callable[[AsyncSession], Awaitable[T]]]
) -> list[T | DomainError]:
    """Every work in its own transaction, all at once; their results or domain errors."""

    async def one(work: Callable[[AsyncSession], Awaitable[T]]) -> T | DomainError:
        try:
            return await database.run(work)
        except DomainError as error:
            return error

    return await asyncio.gather(*(one(work) for work in works))


async def ledger_of(database: Database, booking_id: str) -> tuple[int, int]:
    """(open, booked) of a booking's ledger."""
    async with database.session() as session:
        found = await repository.ledger(session, uuid.UUID(booking_id))
    assert found is not None
    return found.open_quantity, found.booked_quantity


class TestLedgerRace:
    async def test_a_hundred_claims_on_one_ledger_never_exceed_the_booking(
        self, client: httpx.AsyncClient, clock: FrozenClock, racing_database: Database
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        booking_id = uuid.UUID(deal.booking_id)
        async with racing_database.transaction() as session:
            found = await repository.booking_terms(session, booking_id)
            assert found is not None
            await repository.ensure_ledger(session, found[0])

        def claim(session: AsyncSession) -> Awaitable[bool]:
            return repository.plan_quantity(session, booking_id=booking_id, quantity=3 * SUGAR_T)

        results = await race(racing_database, [claim] * 100)
        assert results.count(True) == 33  # 33 x 3 t fit in 100 t, the 34th does not
        assert await ledger_of(racing_database, deal.booking_id) == (99 * SUGAR_T, 100 * SUGAR_T)

    async def test_of_many_drafts_committed_at_once_exactly_one_wins(
        self, client: httpx.AsyncClient, clock: FrozenClock, racing_database: Database
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        drafts = [(await preview(client, deal)).json() for _ in range(8)]
        caller = await principal_of(racing_database, deal.carrier.dispatcher_token)

        def committer(draft: dict[str, Any]) -> Callable[[AsyncSession], Awaitable[Any]]:
            async def work(session: AsyncSession) -> Any:
                return await plans.commit_plan(
                    session,
                    principal=caller,
                    plan_id=uuid.UUID(draft["id"]),
                    data=PlanCommit(version=draft["version"]),
                )

            return work

        results = await race(racing_database, [committer(d) for d in drafts])
        winners = [r for r in results if not isinstance(r, DomainError)]
        losers = [r for r in results if isinstance(r, DomainError)]
        assert len(winners) == 1
        assert {e.code for e in losers} == {"booking_overcommitted"}
        _, made = winners[0]
        assert sum(d.quantity for d in made) == 50 * SUGAR_T
        assert await ledger_of(racing_database, deal.booking_id) == (50 * SUGAR_T, 50 * SUGAR_T)
        listed = await client.get(
            "/v1/deliveries", headers=deal.carrier.headers, params={"booking_id": deal.booking_id}
        )
        assert listed.json()["count"] == len(made)


class TestDriverRace:
    async def test_one_driver_assigned_to_ten_trucks_of_one_day_gets_one(
        self, client: httpx.AsyncClient, clock: FrozenClock, racing_database: Database
    ) -> None:
        deal = await booked(client, quantity=10 * 26 * SUGAR_T, vehicles=[SILO] * 10)
        deliveries = await split(client, deal)
        day = min(d["planned_day"] for d in deliveries)
        same_day = [d for d in deliveries if d["planned_day"] == day]
        assert len(same_day) == 10
        sam = await driver(client, deal)
        caller = await principal_of(racing_database, deal.carrier.dispatcher_token)

        def assigner(delivery: dict[str, Any]) -> Callable[[AsyncSession], Awaitable[Any]]:
            async def work(session: AsyncSession) -> Any:
                return await assignment.assign(
                    session,
                    principal=caller,
                    delivery_id=uuid.UUID(delivery["id"]),
                    data=AssignRequest(version=delivery["version"], driver_id=uuid.UUID(sam.id)),
                )

            return work

        results = await race(racing_database, [assigner(d) for d in same_day])
        refused = [r for r in results if isinstance(r, DomainError)]
        assert len(results) - len(refused) == 1
        assert {e.code for e in refused} == {"driver_overbooked"}
