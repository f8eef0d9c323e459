"""Delivery plans over HTTP: previews, hand edits checked by the validator, commits that
check again, discards, and who may plan at all."""

from __future__ import annotations

from typing import Any

import httpx

from core.clock import FrozenClock
from tests.dispatch.delivery_factory import Booked, booked, commit, preview
from tests.dispatch.market_factory import SUGAR_T, grab, post_offer
from tests.helpers import signup

TANKER = {
    "body_type": "tanker",
    "payload_kg": 24_000,
    "compartments_l": [8_000, 8_000, 6_000, 8_000],
    "hazard_classes": ["3"],
    "food_grade": False,
}


async def drafted(client: httpx.AsyncClient, deal: Booked, **terms: Any) -> dict[str, Any]:
    """A previewed draft."""
    response = await preview(client, deal, **terms)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def edit(
    client: httpx.AsyncClient, deal: Booked, plan: dict[str, Any], *edits: dict[str, Any]
) -> httpx.Response:
    """Send edits to a draft."""
    return await client.patch(
        f"/v1/plans/{plan['id']}",
        headers=deal.carrier.headers,
        json={"version": plan["version"], "edits": list(edits)},
    )


def window_days(plan: dict[str, Any], deal: Booked) -> list[str]:
    """The plan's days, in order."""
    return sorted({trip["day"] for trip in plan["trips"]})


class TestPreview:
    async def test_a_preview_is_a_proven_optimal_draft_within_every_truck(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        plan = await drafted(client, deal)
        assert (plan["state"], plan["status"], plan["kind"]) == ("draft", "optimal", "split")
        assert plan["gap"] == 0.0
        assert plan["total_cost_cents"] == plan["lower_bound_cents"]
        assert sum(t["quantity"] for t in plan["trips"]) == 100 * SUGAR_T
        assert all(t["quantity"] <= 26_000 for t in plan["trips"])
        # every trip but one at least 80 % full
        assert sum(1 for t in plan["trips"] if t["fill_ratio"] < 0.8) <= 1
        # nothing is a delivery before the commit
        listed = await client.get("/v1/deliveries", headers=deal.carrier.headers)
        assert listed.json()["count"] == 0

    async def test_a_tankers_compartments_are_allocated(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(
            client,
            quantity=50_000,
            unit="l",
            commodity="ethanol 96 %",
            food_grade=False,
            hazard_class="3",
            un_number="UN1170",
            vehicles=[TANKER, TANKER],
            body_types=["tanker"],
            hazard_classes=["3"],
        )
        plan = await drafted(client, deal, density_kg_per_m3=789)
        assert sum(t["quantity"] for t in plan["trips"]) == 50_000
        committed = await commit(client, deal, plan)
        assert committed.status_code == 201, committed.text
        for delivery in committed.json()["deliveries"]:
            compartments = delivery["compartments"]
            assert [c["capacity_l"] for c in compartments] == [8_000, 8_000, 6_000, 8_000]
            assert sum(c["quantity"] for c in compartments) == delivery["quantity"]
            for c in compartments:
                assert 0 <= c["quantity"] <= c["capacity_l"]
                if c["capacity_l"] > 7_500:  # surge rule: at most 20 % or at least 80 % full
                    share = c["quantity"] / c["capacity_l"]
                    assert share <= 0.2 or share >= 0.8, compartments

    async def test_a_litre_booking_needs_the_density(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(
            client,
            quantity=20_000,
            unit="l",
            food_grade=False,
            hazard_class="3",
            un_number="UN1170",
            vehicles=[TANKER],
            body_types=["tanker"],
            hazard_classes=["3"],
        )
        refused = await preview(client, deal)
        assert refused.status_code == 422
        assert refused.json()["code"] == "plan_input_invalid"
        assert [e["field"] for e in refused.json()["errors"]] == ["body.density_kg_per_m3"]

    async def test_named_vehicles_that_cannot_carry_the_load_are_refused_by_name(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(
            client,
            quantity=50 * SUGAR_T,
            vehicles=[
                {"body_type": "silo", "payload_kg": 26_000, "volume_l": 60_000},
                {"body_type": "flatbed", "payload_kg": 25_000},
            ],
        )
        silo, flatbed = deal.carrier.vehicle_ids
        refused = await preview(
            client, deal, vehicles=[{"vehicle_id": silo}, {"vehicle_id": flatbed}]
        )
        assert refused.status_code == 422
        (error,) = refused.json()["errors"]
        assert (error["field"], error["type"]) == ("body.vehicles.1.vehicle_id", "vehicle_body")
        # with the whole fleet, the flatbed is left out silently
        plan = await drafted(client, deal)
        assert {t["vehicle_id"] for t in plan["trips"]} == {silo}

    async def test_a_fleet_too_small_for_the_window_says_why(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        refused = await preview(
            client, deal, vehicles=[{"vehicle_id": deal.carrier.vehicle_ids[0]}]
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "no_split"
        assert "at most" in refused.json()["detail"]

    async def test_only_the_carriers_dispatchers_plan(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        body = {"booking_id": deal.booking_id}
        seller = await client.post("/v1/plans", headers=deal.deal.seller.headers, json=body)
        assert (seller.status_code, seller.json()["code"]) == (403, "carrier_only")
        stranger = await signup(client, "Nosy Freight", ["carrier"])
        hidden = await client.post("/v1/plans", headers=stranger.headers, json=body)
        assert (hidden.status_code, hidden.json()["code"]) == (404, "booking_not_found")
        plan = await drafted(client, deal)
        peek = await client.get(f"/v1/plans/{plan['id']}", headers=stranger.headers)
        assert peek.status_code == 404


class TestEdits:
    async def test_moving_the_short_trip_to_a_free_later_day_is_accepted(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        plan = await drafted(client, deal)
        short = min(plan["trips"], key=lambda t: t["quantity"])
        later = "2026-03-05"  # the window's third day; the plan uses the first two
        assert later not in window_days(plan, deal)
        moved = await edit(client, deal, plan, {"op": "move", "trip": short["index"], "day": later})
        assert moved.status_code == 200, moved.text
        body = moved.json()
        assert body["edited"] is True
        assert body["status"] == "feasible"
        assert body["version"] == plan["version"] + 1
        assert later in window_days(body, deal)
        assert sum(t["quantity"] for t in body["trips"]) == 100 * SUGAR_T

    async def test_an_edit_that_breaks_a_rule_is_refused_with_its_violations(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        plan = await drafted(client, deal)
        outside = await edit(client, deal, plan, {"op": "move", "trip": 0, "day": "2026-03-09"})
        assert outside.status_code == 422
        assert outside.json()["code"] == "plan_invalid"
        assert {v["kind"] for v in outside.json()["violations"]} == {"day"}
        over = await edit(client, deal, plan, {"op": "quantity", "trip": 0, "quantity": 27_000})
        assert over.status_code == 422
        kinds = {v["kind"] for v in over.json()["violations"]}
        assert kinds == {"payload", "quantity"}
        assert {e["field"] for e in over.json()["errors"]} == {"trips.0", "plan"}
        # two trips of one truck below 80 % full: only the last trip may be
        low = [
            {"op": "quantity", "trip": 0, "quantity": 10_000},
            {
                "op": "add",
                "vehicle_id": plan["trips"][0]["vehicle_id"],
                "day": "2026-03-05",
                "quantity": plan["trips"][0]["quantity"] - 10_000,
            },
        ]
        under = await edit(client, deal, plan, *low)
        assert under.status_code == 422
        assert "min_fill" in {v["kind"] for v in under.json()["violations"]}
        unchanged = await client.get(f"/v1/plans/{plan['id']}", headers=deal.carrier.headers)
        assert unchanged.json()["version"] == plan["version"]
        assert unchanged.json()["trips"] == plan["trips"]

    async def test_quantities_moved_between_trips_and_a_vehicle_changed(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        plan = await drafted(client, deal)
        first, second = [t for t in plan["trips"] if t["day"] == plan["trips"][0]["day"]]
        pair = first["quantity"] + second["quantity"]
        evened = await edit(
            client,
            deal,
            plan,
            {"op": "quantity", "trip": first["index"], "quantity": pair // 2},
            {"op": "quantity", "trip": second["index"], "quantity": pair - pair // 2},
        )
        assert evened.status_code == 200, evened.text
        edited = {first["index"], second["index"]}
        others = [t["quantity"] for t in plan["trips"] if t["index"] not in edited]
        assert sorted(t["quantity"] for t in evened.json()["trips"]) == sorted(
            [*others, pair // 2, pair - pair // 2]
        )
        # two trips of one truck on a day it can run only one
        doubled = await edit(
            client,
            deal,
            evened.json(),
            {"op": "vehicle", "trip": 1, "vehicle_id": evened.json()["trips"][0]["vehicle_id"]},
        )
        assert doubled.status_code == 422
        assert "trips_per_day" in {v["kind"] for v in doubled.json()["violations"]}

    async def test_a_stale_version_and_an_unknown_trip_are_refused(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        plan = await drafted(client, deal)
        stale = await edit(client, deal, {**plan, "version": 9}, {"op": "remove", "trip": 0})
        assert (stale.status_code, stale.json()["code"]) == (409, "stale_version")
        missing = await edit(client, deal, plan, {"op": "remove", "trip": 99})
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "body.edits.0.trip"


class TestCommit:
    async def test_an_edited_draft_commits_as_edited(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        plan = await drafted(client, deal)
        short = min(plan["trips"], key=lambda t: t["quantity"])
        moved = await edit(
            client, deal, plan, {"op": "move", "trip": short["index"], "day": "2026-03-05"}
        )
        committed = await commit(client, deal, moved.json())
        assert committed.status_code == 201, committed.text
        days = sorted(d["planned_day"] for d in committed.json()["deliveries"])
        assert days[-1] == "2026-03-05"
        assert committed.json()["plan"]["state"] == "committed"
        again = await commit(client, deal, committed.json()["plan"])
        assert (again.status_code, again.json()["code"]) == (409, "plan_not_draft")

    async def test_a_truck_that_broke_down_after_the_preview_stops_the_commit(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        plan = await drafted(client, deal)
        broken = deal.carrier.vehicle_ids[0]
        vehicle = await client.get(f"/v1/fleet/vehicles/{broken}", headers=deal.carrier.headers)
        await client.patch(
            f"/v1/fleet/vehicles/{broken}",
            headers=deal.carrier.headers,
            json={"version": vehicle.json()["version"], "status": "maintenance"},
        )
        refused = await commit(client, deal, plan)
        assert refused.status_code == 422
        assert "unknown_vehicle" in {v["kind"] for v in refused.json()["violations"]}
        listed = await client.get("/v1/deliveries", headers=deal.carrier.headers)
        assert listed.json()["count"] == 0

    async def test_a_discarded_draft_cannot_be_committed(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        plan = await drafted(client, deal)
        discarded = await client.post(
            f"/v1/plans/{plan['id']}/discard",
            headers=deal.carrier.headers,
            json={"version": plan["version"]},
        )
        assert discarded.json()["state"] == "discarded"
        refused = await commit(client, deal, discarded.json())
        assert (refused.status_code, refused.json()["code"]) == (409, "plan_not_draft")
        plans = await client.get(
            "/v1/plans", headers=deal.carrier.headers, params={"booking_id": deal.booking_id}
        )
        assert [p["state"] for p in plans.json()["data"]] == ["discarded"]

    async def test_a_second_plan_for_a_fully_planned_booking_is_refused(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        first = await drafted(client, deal)
        second = await drafted(client, deal)
        assert (await commit(client, deal, first)).status_code == 201
        late = await commit(client, deal, second)
        assert (late.status_code, late.json()["code"]) == (409, "booking_overcommitted")
        nothing = await preview(client, deal)
        assert (nothing.status_code, nothing.json()["code"]) == (422, "nothing_to_plan")


class TestTrucksSharedBetweenBookings:
    async def test_a_second_booking_is_planned_around_the_first_ones_trips(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        first = await booked(client, quantity=50 * SUGAR_T)
        made = await commit(client, first, await drafted(client, first))
        busy = {(d["vehicle_id"], d["planned_day"]) for d in made.json()["deliveries"]}
        assert len(busy) == 2  # both trucks' one trip of the first day
        # the same carrier books a second load of the same order on the same trucks
        offer = await post_offer(
            client, first.deal.seller, first.deal.order_id, quantity=40 * SUGAR_T, min_lot=None
        )
        second = await grab(client, first.carrier, offer["id"], 40 * SUGAR_T)
        again = Booked(deal=first.deal, carrier=first.carrier, booking=second.json(), offer=offer)
        plan = await drafted(client, again)
        planned = {(t["vehicle_id"], t["day"]) for t in plan["trips"]}
        assert planned.isdisjoint(busy)
        assert sum(t["quantity"] for t in plan["trips"]) == 40 * SUGAR_T
