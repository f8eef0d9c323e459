"""Yard simulation: today's first come, first served against plain slots and Haulpoint's yard.

One plant, one day of trucks, three policies on the same trucks, loads, service times, noise
and docks (common random numbers): `simulations.yard_baselines` holds today's practice (fifo)
and plain appointments, `simulations.yard_haulpoint` Haulpoint's yard on the service's own
scheduler and queue policy; `simulations.yard_day` says how the day and its trucks are drawn
and `simulations.yard_run` what wait and turn time mean. Every modelling choice is stated in
those modules' docstrings and printed with the results.

Run: python -m simulations.yard_sim [--quick] [--json PATH] [--plots DIR]
     [--sigma MIN] [--no-show P] [--pattern uniform|morning_peak|both] [--replications N]
     [--buffer MIN]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from simulations.yard_baselines import run_fifo, run_plain_slots
from simulations.yard_day import PATTERN_SOURCES, PATTERNS, Scenario, Truck, make_trucks
from simulations.yard_haulpoint import run_haulpoint
from simulations.yard_report import (
    DEFINITIONS,
    mean_queue,
    model_notes,
    print_table,
    summarize,
    write_plots,
)
from simulations.yard_run import Yard

__all__ = ["RUNNERS", "Options", "Scenario", "make_trucks", "run", "simulate"]

POLICIES = ("fifo", "plain_slots", "haulpoint")

RUNNERS: dict[str, Callable[[Scenario, Sequence[Truck], int], Yard]] = {
    "fifo": run_fifo,
    "plain_slots": run_plain_slots,
    "haulpoint": run_haulpoint,
}


@dataclass(frozen=True)
class Options:
    """Parsed command-line options."""

    quick: bool = False
    replications: int = 6
    sigma_min: float = 20.0
    no_show_prob: float = 0.10
    patterns: tuple[str, ...] = PATTERNS
    json_path: Path | None = None
    plots_dir: Path | None = None
    progress: bool = True
    scenario_overrides: dict[str, Any] = field(default_factory=dict)


def simulate(options: Options) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Run every policy on the same days: the results (what --json writes) and all waits."""
    base = Scenario(
        sigma_min=options.sigma_min, no_show_prob=options.no_show_prob, **options.scenario_overrides
    )
    if options.quick:
        base = replace(base, day_plan_time_limit_s=min(base.day_plan_time_limit_s, 1.0))
    reps = 1 if options.quick else options.replications
    jobs = [(p, s, pol) for p in options.patterns for s in range(reps) for pol in POLICIES]
    yards: dict[tuple[str, str], list[Yard]] = {}
    started = time.perf_counter()
    trucks_cache: dict[tuple[str, int], list[Truck]] = {}
    for pattern, seed, policy in tqdm(
        jobs, desc="yard simulation", disable=not options.progress, file=sys.stderr
    ):
        scenario = replace(base, arrival_pattern=pattern)
        key = (pattern, seed)
        if key not in trucks_cache:
            trucks_cache[key] = make_trucks(scenario, 1000 + seed)
        yard = RUNNERS[policy](scenario, trucks_cache[key], seed)
        yards.setdefault((pattern, policy), []).append(yard)
    result: dict[str, Any] = {}
    for (pattern, policy), runs in yards.items():
        name = policy if pattern == "uniform" else f"{policy}_{pattern}"
        result[name] = summarize(runs, replace(base, arrival_pattern=pattern), policy)
        result[name]["queue_over_day"] = mean_queue(runs)
    for pattern in options.patterns:
        suffix = "" if pattern == "uniform" else f"_{pattern}"
        fifo = result["fifo"] if "fifo" in result else result[f"fifo{suffix}"]
        plain, hp = result[f"plain_slots{suffix}"], result[f"haulpoint{suffix}"]
        # the issue measures Haulpoint against today's practice with uniform arrivals
        result[f"mean_wait_reduction{suffix}"] = 1 - hp["mean_wait_min"] / fifo["mean_wait_min"]
        result[f"mean_turn_reduction{suffix}"] = 1 - hp["mean_turn_min"] / fifo["mean_turn_min"]
        result[f"mean_wait_reduction_vs_plain{suffix}"] = (
            1 - hp["mean_wait_min"] / plain["mean_wait_min"]
        )
        if suffix:
            same = result[f"fifo{suffix}"]
            result[f"mean_wait_reduction_vs_own_fifo{suffix}"] = (
                1 - hp["mean_wait_min"] / same["mean_wait_min"]
            )
    result["scenario"] = {k: v for k, v in asdict(base).items() if k != "arrival_pattern"}
    result["scenario"]["replications"] = reps
    result["scenario"]["arrival_patterns"] = {p: PATTERN_SOURCES[p] for p in options.patterns}
    result["definitions"] = DEFINITIONS
    result["model"] = model_notes(base)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    result["provisional"] = (
        "figures from a stylised plant on a shared 2-core machine; compare ratios, not minutes"
    )
    waits = {
        (policy if pattern == "uniform" else f"{policy}_{pattern}"): [
            v.wait_min for y in runs for v in y.visits.values() if v.served
        ]
        for (pattern, policy), runs in yards.items()
    }
    return result, waits


def parse_args(argv: Sequence[str] | None) -> Options:
    """Options from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one replication, 1 s day plan")
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--sigma", type=float, default=20.0, help="arrival noise sd, minutes")
    parser.add_argument("--no-show", type=float, default=0.10, help="no-show probability")
    parser.add_argument("--pattern", choices=[*PATTERNS, "both"], default="both")
    parser.add_argument(
        "--buffer",
        type=float,
        default=None,
        help="Haulpoint: minutes early that trucks are asked to reach the gate (default 0)",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plots", type=Path, default=None)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    overrides = {} if args.buffer is None else {"arrival_buffer_min": args.buffer}
    return Options(
        quick=args.quick,
        replications=args.replications,
        sigma_min=args.sigma,
        no_show_prob=args.no_show,
        patterns=PATTERNS if args.pattern == "both" else (args.pattern,),
        json_path=args.json,
        plots_dir=args.plots,
        progress=not args.no_progress,
        scenario_overrides=overrides,
    )


def run(options: Options) -> dict[str, Any]:
    """Simulate, print the table, and write the JSON and plots that the options ask for."""
    result, waits = simulate(options)
    print_table(result)
    if options.plots_dir is not None:
        write_plots(result, waits, options.plots_dir)
    if options.json_path is not None:
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        options.json_path.write_text(json.dumps(result, indent=2))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
