"""Benchmark of the dock scheduler: 400 trucks over 12 docks, against its own greedy plan.

Each seed draws a day of 400 loads for the stylised plant (open round the clock, about 80 %
busy, requests spread over 22 hours, ready an hour before the wish, a due time on a third of
the loads, a gate limit of three starts per five minutes). For each day it runs, in the same
process: the greedy plan (the baseline); the greedy plan polished once (per-dock retiming by
dynamic programme, reinsertion, trading places: no solver); the default solve (polish, then
CP-SAT windows, within the time limit); optionally a longer solve; and the LP lower bound of
`yard.scheduling_bound`. The gap is (objective - bound) / objective: the bound leaves out
changeovers and lets loads split, so part of any gap is the bound's own slack. Figures from
a shared 2-core machine are provisional: compare ratios.

Run: python -m simulations.yard_scheduler_bench [--quick] [--seeds N] [--long S] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulations.yard_plant import make_docks, random_load
from yard.scheduling import Delivery, Dock, Plan, SlotRules, schedule
from yard.scheduling_bound import lower_bound

SLOTS = SlotRules(slot_min=5, capacity_per_slot=3)


def make_day(
    seed: int, *, n_trucks: int = 400, n_docks: int = 12
) -> tuple[list[Dock], list[Delivery]]:
    """A day of loads for the benchmark."""
    rng = random.Random(seed)
    docks = make_docks(n_docks=n_docks, opens_min=0, closes_min=24 * 60)
    deliveries = []
    for i in range(n_trucks):
        requested = rng.randrange(0, 22 * 60)
        deliveries.append(
            Delivery(
                delivery_id=f"T{i:03d}",
                load=random_load(rng, docks),
                ready_min=max(0, requested - 60),
                preferred_min=requested,
                due_min=requested + 240 if rng.random() < 0.3 else None,
            )
        )
    return docks, deliveries


def _row(plan: Plan) -> dict[str, Any]:
    return {
        "objective": plan.objective,
        "unscheduled": len(plan.unscheduled),
        "status": str(plan.status),
        "solve_s": round(plan.solve_s, 3),
    }


def bench(
    seeds: Sequence[int], *, time_limit_s: float, workers: int, long_s: float | None
) -> dict[str, Any]:
    """Greedy, polished, default and (optionally) long solves and the bound, per seed."""
    runs: list[dict[str, Any]] = []
    for seed in seeds:
        docks, day = make_day(seed)

        def solve(
            limit_s: float, docks: list[Dock] = docks, day: list[Delivery] = day
        ) -> dict[str, Any]:
            plan = schedule(
                docks=docks,
                deliveries=day,
                slots=SLOTS,
                time_limit_s=limit_s,
                workers=workers,
            )
            return _row(plan)

        run: dict[str, Any] = {
            "seed": seed,
            "greedy": solve(0.0),
            # one polishing round and no solver time
            "polished": solve(1e-3),
            "default": solve(time_limit_s),
        }
        if long_s is not None:
            run["long"] = solve(long_s)
        started = time.perf_counter()
        run["bound"] = lower_bound(docks=docks, deliveries=day, slots=SLOTS)
        run["bound_s"] = round(time.perf_counter() - started, 3)
        runs.append(run)

    def ratio(name: str, base: str) -> float:
        return statistics.fmean(r[name]["objective"] / r[base]["objective"] for r in runs)

    summary: dict[str, Any] = {
        "default_vs_greedy_objective": ratio("default", "greedy"),
        "polished_vs_greedy_objective": ratio("polished", "greedy"),
        "default_vs_polished_objective": ratio("default", "polished"),
        "default_gap_to_bound": statistics.fmean(
            (r["default"]["objective"] - r["bound"]) / r["default"]["objective"] for r in runs
        ),
        "default_solve_s_max": max(r["default"]["solve_s"] for r in runs),
        "greedy_solve_s_max": max(r["greedy"]["solve_s"] for r in runs),
    }
    if long_s is not None:
        summary["long_vs_default_objective"] = ratio("long", "default")
        summary["long_gap_to_bound"] = statistics.fmean(
            (r["long"]["objective"] - r["bound"]) / r["long"]["objective"] for r in runs
        )
    return {
        "runs": runs,
        "summary": summary,
        "instance": "400 loads, 12 docks open 24 h (about 80 % busy), 5-min slots, 3 starts/slot",
        "time_limit_s": time_limit_s,
        "long_s": long_s,
        "workers": workers,
        "provisional": "shared 2-core machine; compare ratios",
    }


def print_table(result: dict[str, Any], out: Any = sys.stdout) -> None:
    """One line per seed and solve, then the ratios."""
    print(
        f"{'seed':>5} {'solve':>9} {'objective':>10} {'bound':>8} {'gap':>6} "
        f"{'unsched':>8} {'s':>6}",
        file=out,
    )
    for r in result["runs"]:
        for name in ("greedy", "polished", "default", "long"):
            if name not in r:
                continue
            row = r[name]
            gap = (row["objective"] - r["bound"]) / row["objective"]
            print(
                f"{r['seed']:>5} {name:>9} {row['objective']:>10} {r['bound']:>8} {gap:>6.0%} "
                f"{row['unscheduled']:>8} {row['solve_s']:>6.2f}",
                file=out,
            )
    s = result["summary"]
    print(f"default / greedy objective: {s['default_vs_greedy_objective']:.3f}", file=out)
    print(f"polished / greedy objective: {s['polished_vs_greedy_objective']:.3f}", file=out)
    print(
        f"default / polished objective (CP-SAT windows' share): "
        f"{s['default_vs_polished_objective']:.3f}",
        file=out,
    )
    print(f"default gap to the LP bound: {s['default_gap_to_bound']:.0%}", file=out)
    if "long_vs_default_objective" in s:
        print(f"long / default objective: {s['long_vs_default_objective']:.3f}", file=out)
    print(f"slowest default solve: {s['default_solve_s_max']:.2f} s", file=out)
    print(result["provisional"], file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="dock scheduler benchmark")
    parser.add_argument("--quick", action="store_true", help="one seed, no long solve")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--long", type=float, default=None, help="also solve this long")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    seeds = range(1 if args.quick else args.seeds)
    result = bench(
        list(seeds),
        time_limit_s=args.time_limit,
        workers=args.workers,
        long_s=None if args.quick else args.long,
    )
    print_table(result)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
