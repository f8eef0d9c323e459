"""Batched credential lookups: many misses at once answered by one query (PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from accounts.enums import OrgKind
from accounts.models import Organization
from core.clock import now
from core.database import Database
from tracking.devices.credentials import secret_hash
from tracking.devices.lookup import Column, DeviceLookup
from tracking.devices.models import Device

pytestmark = pytest.mark.postgres


@pytest.fixture
async def lookup(database: Database) -> AsyncIterator[DeviceLookup]:
    dsn = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
    batched = DeviceLookup(dsn)
    await batched.start()
    yield batched
    await batched.close()


async def _devices(database: Database, count: int) -> list[Device]:
    async with database.transaction() as session:
        organization = Organization(name="Rapid Haulage", kinds=[OrgKind.CARRIER])
        session.add(organization)
        await session.flush()
        made = [
            Device(
                name=f"phone {n}",
                vehicle_id=uuid.uuid4(),
                organization_id=organization.id,
                number=n,
                token_hash=secret_hash(f"token-{n}"),
                token_prefix="hpd_x",
                tracker_hash=secret_hash(f"tracker-{n}"),
                owntracks_user=f"hp{n}",
                revoked_at=now() if n == 1 else None,
            )
            for n in range(1, 41)
        ]
        session.add_all(made)
    return made


class TestBatchedLookups:
    async def test_concurrent_misses_share_queries_and_find_the_right_devices(
        self, database: Database, lookup: DeviceLookup
    ) -> None:
        made = await _devices(database, 40)
        answer = lookup._answer
        queries = 0

        async def counting(column: Column, batch: dict[str, Any]) -> None:
            nonlocal queries
            queries += 1
            await answer(column, batch)

        lookup._answer = counting  # type: ignore[method-assign]
        found = await asyncio.gather(
            *(lookup.find("token_hash", secret_hash(f"token-{n}")) for n in range(1, 41)),
            lookup.find("tracker_hash", secret_hash("tracker-7")),
            lookup.find("token_hash", secret_hash("nobody")),
        )
        by_number = {d.number: d for d in made}
        assert found[0] is None  # revoked
        for n, identity in enumerate(found[1:40], start=2):
            assert identity is not None
            assert (identity.number, identity.id) == (n, by_number[n].id)
        assert found[40] is not None
        assert found[40].number == 7
        assert found[41] is None
        assert queries <= 3  # one per credential kind, not one per device

    async def test_it_survives_a_lost_connection(
        self, database: Database, lookup: DeviceLookup
    ) -> None:
        await _devices(database, 40)
        assert await lookup.find("token_hash", secret_hash("token-3")) is not None
        await lookup._disconnect()  # as if the server had closed it
        assert await lookup.find("token_hash", secret_hash("token-4")) is not None
