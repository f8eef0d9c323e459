"""The split solver's process pool: solves run in worker processes, the caller's event loop
keeps running meanwhile, and the pool's time limit caps what a caller asks for."""

from __future__ import annotations

import asyncio
import random
import time

from dispatch.deliveries.solver import SplitSolver
from dispatch.planning import BodyType, Item, ItemCargo, Plan, SplitRequest, validate_plan
from tests.dispatch.planning_factories import truck, window


def mixed_pallets(items: int, trucks: int) -> SplitRequest:
    """Heterogeneous pallets over a heterogeneous fleet: a packing no solver closes at once."""
    rng = random.Random(7)
    goods = tuple(
        Item(
            f"P{n:04d}",
            weight_kg=rng.randint(150, 1_400),
            volume_m3=rng.choice((1.2, 1.4, 1.7)),
            pallet_places=1,
            stackable=rng.random() < 0.3,
        )
        for n in range(items)
    )
    models = ((24_000, 90.0, 33, 15_000), (18_000, 70.0, 26, 12_500), (12_000, 45.0, 18, 9_500))
    fleet = tuple(
        truck(
            f"V{n:03d}",
            body=BodyType.CURTAINSIDER,
            payload_kg=payload,
            volume_m3=volume,
            pallet_places=places,
            fixed_cost_cents=cost + rng.randrange(0, 2_000, 100),
            round_trip_km=rng.choice((140.0, 190.0, 230.0)),
        )
        for n, (payload, volume, places, cost) in ((n, rng.choice(models)) for n in range(trucks))
    )
    return SplitRequest(cargo=ItemCargo(goods), fleet=fleet, pickup_days=window(3))


class TestSplitSolver:
    async def test_the_loop_keeps_running_while_a_worker_solves(self) -> None:
        solver = SplitSolver(processes=1, time_limit_s=1.5)
        request = mixed_pallets(160, 40)
        ticks = 0
        solving = True

        async def tick() -> None:
            nonlocal ticks
            while solving:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        plans: list[Plan] = []
        try:
            # solve again until the worker has been busy long enough to tell
            while time.perf_counter() - started < 0.6 and len(plans) < 20:
                plans.append(await solver.solve(request, time_limit_s=60))
        finally:
            solving = False
            await ticker
            await asyncio.to_thread(solver.close)
        elapsed = time.perf_counter() - started
        for plan in plans:
            assert plan.ok
            assert validate_plan(request, plan) == []
            # the pool's limit wins over the caller's (plus a little slack)
            assert plan.solve_s <= 1.5 + 0.5
        assert elapsed >= 0.6
        # a solve on the loop's thread would have starved the ticker for all that time
        assert ticks * 0.01 >= 0.5 * elapsed

    async def test_solves_side_by_side_each_get_their_plan(self) -> None:
        solver = SplitSolver(processes=2, time_limit_s=2.0)
        small = mixed_pallets(30, 10)
        large = mixed_pallets(80, 20)
        try:
            plans = await asyncio.gather(solver.solve(small), solver.solve(large))
        finally:
            await asyncio.to_thread(solver.close)
        for request, plan in zip((small, large), plans, strict=True):
            assert plan.ok
            assert validate_plan(request, plan) == []
            assert sum(len(trip.item_ids) for trip in plan.trips) == len(request.cargo.items)  # type: ignore[union-attr]
