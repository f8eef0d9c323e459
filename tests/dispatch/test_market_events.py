"""What the market writes to the event log, and who may read each entry."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from core import eventlog
from core.clock import FrozenClock
from core.database import Database
from core.eventlog import EventEntry
from tests.dispatch.market_factory import SUGAR_T, auction, bid, carrier, grab, post_offer, trade
from tests.helpers import add_member, bearer


async def entries(database: Database, subject: str) -> list[EventEntry]:
    """A subject's entries in order."""
    async with database.session() as session:
        statement = (
            select(EventEntry)
            .where(col(EventEntry.subject) == subject)
            .order_by(col(EventEntry.seq))
        )
        return list((await session.exec(statement)).all())


class TestAudiences:
    async def test_a_carrier_is_never_in_the_audience_of_another_carriers_bid(
        self, client: httpx.AsyncClient, clock: FrozenClock, database: Database
    ) -> None:
        deal = await trade(client)
        first = await carrier(client, "Rapid Haulage")
        second = await carrier(client, "Longroad Logistics")
        offer = await auction(client, deal.seller, deal.order_id)
        await bid(client, first, offer["id"], 1700)
        await bid(client, second, offer["id"], 1650)
        log = await entries(database, f"load:{offer['id']}")
        assert [e.kind for e in log] == ["load.posted", "bid.placed", "bid.placed"]
        posted, first_bid, second_bid = log
        assert set(posted.audience) == {str(deal.seller.id), str(deal.buyer.id)}
        assert set(first_bid.audience) == {str(deal.seller.id), str(first.org.id)}
        assert set(second_bid.audience) == {str(deal.seller.id), str(second.org.id)}
        assert database.key_ring is not None
        async with database.session() as session:
            report = await eventlog.verify_subject(
                session, subject=f"load:{offer['id']}", keys=database.key_ring
            )
        assert report.ok, report.finding

    async def test_a_grab_is_logged_for_the_shipper_and_the_carrier(
        self, client: httpx.AsyncClient, clock: FrozenClock, database: Database
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        booking = (await grab(client, haulier, offer["id"], 10 * SUGAR_T)).json()
        grabbed = (await entries(database, f"load:{offer['id']}"))[-1]
        assert grabbed.kind == "load.grabbed"
        assert set(grabbed.audience) == {str(deal.seller.id), str(haulier.org.id)}
        assert str(grabbed.actor).startswith("member:")
        assert f'"booking_id":"{booking["id"]}"' in grabbed.payload
        order_log = await entries(database, f"order:{deal.order_id}")
        assert [e.kind for e in order_log] == ["order.created", "order.load_posted"]
        assert set(order_log[0].audience) == {str(deal.seller.id), str(deal.buyer.id)}


class TestOpenWork:
    async def test_an_owner_hands_a_leaving_dispatchers_loads_to_another(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        leaving_id, leaving = await add_member(client, deal.seller, "dispatcher")
        staying_id, _ = await add_member(client, deal.seller, "dispatcher")
        response = await client.post(
            "/v1/market/offers",
            headers=bearer(leaving),
            json={
                "order_id": deal.order_id,
                "quantity": 25 * SUGAR_T,
                "pricing_mode": "posted",
                "rate_basis": "per_tonne",
                "rate_cents": 1850,
            },
        )
        assert response.status_code == 201
        moved = await client.post(
            f"/v1/members/{leaving_id}/reassign",
            headers=deal.seller.headers,
            json={"to_member_id": staying_id},
        )
        assert moved.json()["moved"]["load_offers"] == 1
        assert moved.json()["moved"]["sales_orders"] == 0  # the owner created the order
