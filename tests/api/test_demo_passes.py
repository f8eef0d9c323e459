"""The demo world's self-pickup order: its deliveries carry passes the drivers' phones show."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from api.demo import seed
from core.database import Database
from dispatch.authorizations.offline import verify_offline
from tests.helpers import bearer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class TestDemoPasses:
    async def test_each_self_pickup_driver_sees_a_pass_the_gate_accepts(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        tokens = {a.name: a.token for a in await seed(database)}
        jwks = (await client.get("/v1/keys")).json()
        name = "Driver Ivan Petrov"
        phone = bearer(tokens[name])
        listed = (await client.get("/v1/passes", headers=phone)).json()["data"]
        assert listed
        assert {p["state"] for p in listed} == {"issued"}
        for shown in listed:
            assert shown["driver_name"] == name
            assert shown["vehicle_plate"] == "CELL11"
            text = await client.get(f"/v1/passes/{shown['id']}/token", headers=phone)
            png = await client.get(f"/v1/passes/{shown['id']}/qr.png", headers=phone)
            assert png.content.startswith(PNG_SIGNATURE)
            at_gate = datetime.fromisoformat(shown["not_before"]) + timedelta(hours=2)
            check = verify_offline(
                text.json()["token"],
                jwks=jwks,
                revocations=(),
                plate_seen=shown["vehicle_plate"],
                plant_id=shown["plant_site_id"],
                now=at_gate,
            )
            assert check.valid, (shown["id"], check.reason)
        other = await client.get("/v1/passes", headers=bearer(tokens["Driver Sam Okafor"]))
        assert other.json()["count"] > 0
        assert {p["id"] for p in other.json()["data"]}.isdisjoint(p["id"] for p in listed)
        assert {p["driver_name"] for p in other.json()["data"]} == {"Driver Sam Okafor"}
        grants = await client.get("/v1/grants", headers=bearer(tokens["Raj Patel"]))
        # The buyer authorized Longroad (one order hop, a driver hop per pass); it also sees
        # the seller's authorization of Rapid Haulage on the other order it is party to.
        roots = {g["root_id"] for g in grants.json()["data"] if g["level"] == "order"}
        assert len(roots) == 2
        mine = [
            g
            for g in grants.json()["data"]
            if g["delivery_id"] in {p["delivery_id"] for p in listed}
        ]
        assert len(mine) == len(listed)
        assert all(g["level"] == "driver" for g in mine)
