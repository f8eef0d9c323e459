"""Real concurrent transactions racing for one load: never two owners for one unit.

Each task runs its grab in its own transaction on its own connection, as separate requests
would; on PostgreSQL they truly overlap, on SQLite BEGIN IMMEDIATE queues them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts import service as accounts
from accounts.principal import Principal
from accounts.tokens import TokenCache
from core.clock import FrozenClock
from core.database import Database
from core.errors import DomainError
from core.settings import DatabaseSettings
from dispatch.market import grabs
from dispatch.market.models import Booking, LoadOffer
from tests.dispatch.market_factory import SUGAR_T, carrier, post_offer, trade

TASKS = 100


@pytest.fixture
async def racing_database(database: Database, database_url: str) -> AsyncIterator[Database]:
    """A second engine with a bounded pool, so a hundred tasks queue for 30 connections."""
    racing = Database(
        database_url, DatabaseSettings(pool_size=30, max_overflow=0), key_ring=database.key_ring
    )
    yield racing
    await racing.dispose()


async def principals(database: Database, tokens: list[str]) -> list[Principal]:
    """The callers behind some tokens."""
    cache = TokenCache(ttl_s=0)
    async with database.session() as session:
        return [await accounts.authenticate(session, token=t, cache=cache) for t in tokens]


async def race(
    database: Database, callers: list[Principal], offer_id: uuid.UUID, quantity: int
) -> list[Any]:
    """TASKS concurrent grabs, each in its own transaction; their bookings or errors."""

    async def one(n: int) -> Any:
        async def work(session: AsyncSession) -> Booking:
            return await grabs.grab(
                session, principal=callers[n % len(callers)], offer_id=offer_id, quantity=quantity
            )

        try:
            return await database.run(work)
        except DomainError as error:
            return error

    return await asyncio.gather(*(one(n) for n in range(TASKS)))


async def booked(database: Database, offer_id: uuid.UUID) -> tuple[int, int, int]:
    """(bookings, booked quantity, remaining) of a load, read back from the database."""
    async with database.session() as session:
        count, total = (
            await session.exec(
                select(func.count(), func.coalesce(func.sum(col(Booking.quantity)), 0)).where(
                    col(Booking.offer_id) == offer_id
                )
            )
        ).one()
        offer = await session.get(LoadOffer, offer_id)
        assert offer is not None
        return int(count), int(total), offer.remaining


class TestGrabRace:
    async def test_a_hundred_whole_load_grabs_make_exactly_one_booking(
        self, client: httpx.AsyncClient, clock: FrozenClock, racing_database: Database
    ) -> None:
        deal = await trade(client)
        hauliers = [await carrier(client, f"Haulier {n}") for n in range(4)]
        offer = await post_offer(client, deal.seller, deal.order_id, min_lot=None)
        callers = await principals(racing_database, [h.dispatcher_token for h in hauliers])
        results = await race(racing_database, callers, uuid.UUID(offer["id"]), 25 * SUGAR_T)
        winners = [r for r in results if isinstance(r, Booking)]
        losers = [r for r in results if isinstance(r, DomainError)]
        assert len(winners) == 1
        assert len(losers) == TASKS - 1
        assert {e.code for e in losers} == {"load_taken"}
        assert await booked(racing_database, uuid.UUID(offer["id"])) == (1, 25 * SUGAR_T, 0)

    async def test_a_hundred_partial_grabs_never_exceed_the_quantity(
        self, client: httpx.AsyncClient, clock: FrozenClock, racing_database: Database
    ) -> None:
        deal = await trade(client)
        hauliers = [await carrier(client, f"Haulier {n}") for n in range(4)]
        offer = await post_offer(client, deal.seller, deal.order_id, min_lot=SUGAR_T)
        callers = await principals(racing_database, [h.dispatcher_token for h in hauliers])
        results = await race(racing_database, callers, uuid.UUID(offer["id"]), 2 * SUGAR_T)
        winners = [r for r in results if isinstance(r, Booking)]
        # 25 t in lots of 2 t: twelve grabs fit, and the last tonne only as "all that remains".
        assert len(winners) == 12
        assert await booked(racing_database, uuid.UUID(offer["id"])) == (
            12,
            24 * SUGAR_T,
            SUGAR_T,
        )
