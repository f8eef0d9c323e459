"""Benchmark of the dock scheduler: 400 trucks over 12 docks, against its own greedy plan.

Each seed draws a day of 400 loads for the stylised plant (open round the clock, about 80 %
busy, requests spread over the day, a due time on a third of the loads, a gate limit of three
starts per five minutes). It times the greedy plan (the baseline, measured in the same run),
the default solve (CP-SAT window by window within the time limit) and one whole-model CP-SAT
solve with the same limit, which gives the proven lower bound. Figures from a shared 2-core
machine are provisional: compare ratios.

Run: python -m simulations.yard_scheduler_bench [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulations.yard_plant import make_docks, random_load
from yard.scheduling import Delivery, Dock, Plan, SlotRules, schedule

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
        "greedy_objective": plan.greedy_objective,
        "best_bound": plan.best_bound,
        "unscheduled": len(plan.unscheduled),
        "status": str(plan.status),
        "solve_s": round(plan.solve_s, 3),
    }


def bench(seeds: Sequence[int], time_limit_s: float, workers: int) -> dict[str, Any]:
    """Greedy, default and whole-model solves on each seed's day."""
    runs: list[dict[str, Any]] = []
    for seed in seeds:
        docks, deliveries = make_day(seed)
        greedy = schedule(docks=docks, deliveries=deliveries, slots=SLOTS, time_limit_s=0)
        default = schedule(
            docks=docks,
            deliveries=deliveries,
            slots=SLOTS,
            time_limit_s=time_limit_s,
            workers=workers,
        )
        whole = schedule(
            docks=docks,
            deliveries=deliveries,
            slots=SLOTS,
            time_limit_s=time_limit_s,
            workers=workers,
            window_size=len(deliveries),
        )
        runs.append(
            {"seed": seed, "greedy": _row(greedy), "default": _row(default), "whole": _row(whole)}
        )
    summary = {
        "default_vs_greedy_objective": statistics.fmean(
            r["default"]["objective"] / r["greedy"]["objective"] for r in runs
        ),
        "default_solve_s_max": max(r["default"]["solve_s"] for r in runs),
        "greedy_solve_s_max": max(r["greedy"]["solve_s"] for r in runs),
    }
    return {
        "runs": runs,
        "summary": summary,
        "instance": "400 loads, 12 docks open 24 h (about 80 % busy), 5-min slots, 3 starts/slot",
        "time_limit_s": time_limit_s,
        "workers": workers,
        "provisional": "shared 2-core machine; compare ratios",
    }


def print_table(result: dict[str, Any], out: Any = sys.stdout) -> None:
    """One line per seed and solve."""
    print(
        f"{'seed':>5} {'solve':>8} {'objective':>10} {'bound':>8} {'unsched':>8} {'s':>6}", file=out
    )
    for r in result["runs"]:
        for name in ("greedy", "default", "whole"):
            row = r[name]
            bound = "-" if row["best_bound"] is None else str(row["best_bound"])
            print(
                f"{r['seed']:>5} {name:>8} {row['objective']:>10} {bound:>8} "
                f"{row['unscheduled']:>8} {row['solve_s']:>6.2f}",
                file=out,
            )
    s = result["summary"]
    print(f"default objective / greedy objective: {s['default_vs_greedy_objective']:.3f}", file=out)
    print(f"slowest default solve: {s['default_solve_s_max']:.2f} s", file=out)
    print(result["provisional"], file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="dock scheduler benchmark")
    parser.add_argument("--quick", action="store_true", help="one seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    seeds = range(1 if args.quick else args.seeds)
    result = bench(list(seeds), args.time_limit, args.workers)
    print_table(result)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
