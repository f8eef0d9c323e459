"""Figures, table and plots of the yard simulation, pooled over replications."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from simulations.yard_day import Scenario
from simulations.yard_run import Yard

DEFINITIONS = {
    "wait": (
        "gate arrival until called to a dock (fifo and plain_slots: until a dock takes the "
        "truck from the queue), plus any time it then stands at the dock before loading; gate "
        "paperwork (10-20 min) or the pass scan (about 1 min) comes first and is included"
    ),
    "turn": "gate arrival to the end of loading, gate formalities included",
    "on_time": "booked truck that reached the gate within 15 minutes (either way) of the "
    "arrival it aimed at when it set off",
    "dock_utilization": "loading minutes inside opening hours / (docks x opening minutes)",
    "work_ratio": "all loading minutes of the day / (docks x opening minutes): the demand, "
    "the same trucks and loads for every policy",
    "overtime_dock_min": "loading minutes after closing, all docks, per day",
    "start_after_request": "loading start minus the time the carrier asked for (waiting at "
    "home or at the plant alike)",
    "idle_with_waiting_dock_min": "dock minutes in opening hours with the dock free, no truck "
    "on its way to it, and a truck it could load checked in and waiting",
}


def model_notes(sc: Scenario) -> dict[str, str]:
    """The modelling choices behind the figures, with this run's numbers, for the output."""
    hours = f"{sc.opens_min // 60:02d}:00-{sc.closes_min // 60:02d}:00"
    return {
        "plant": f"{sc.n_docks} docks of four kinds (bulk, general, steel, tanker), open {hours}",
        "demand": (
            f"planned work of the trucks that turn up = {sc.load_factor:.0%} of the docks' "
            "opening-hours capacity, dealt to the product lines in proportion to their docks; "
            f"{sc.unplanned_share:.0%} of them unplanned; booked trucks scaled up for "
            f"{sc.no_show_prob:.0%} no-shows"
        ),
        "arrival_noise": (
            f"deviation from the appointment N(0, {sc.sigma_min:g} min) for every truck: road "
            f"noise sd {sc.road_sd_share:.0%} of the trip ({sc.trip_min[0]:g}-"
            f"{sc.trip_min[1]:g} min trips), the rest in the departure (late from the job "
            "before, or early); tracking sees the departure and the road delay as it builds"
        ),
        "flexibility": (
            f"{sc.flexible_share:.0%} of carriers could load {sc.flexible_min[0]:g}-"
            f"{sc.flexible_min[1]:g} min earlier than asked if the plant wants; any truck "
            "can come later"
        ),
        "gate": (
            f"paperwork {sc.paperwork_min[0]:g}-{sc.paperwork_min[1]:g} min (fifo, plain "
            f"slots), pass scan {sc.pass_scan_min[0]:g}-{sc.pass_scan_min[1]:g} min "
            "(Haulpoint), before the call in every case"
        ),
        "service": (
            f"planned loading time x lognormal ({sc.service_cv:.0%} spread), changeovers "
            f"between products, {sc.dock_drive_min[0]:g}-{sc.dock_drive_min[1]:g} min from "
            "the queue to the dock"
        ),
        "fifo": "own arrival time, first come first served at any dock that can load it",
        "plain_slots": (
            "evenly spaced slots per dock (mean loading time + half a changeover), booked in "
            "random order nearest the wish on any compatible dock; drivers aim "
            f"{sc.plain_check_in_lead_min:g} min before the slot; served in slot order at "
            "any compatible dock; late trucks and walk-ins after slot holders"
        ),
        "haulpoint": (
            "day plan by the scheduler; re-plans every "
            f"{sc.replan_every_min} min and on each unplanned check-in from live ETAs; "
            "drivers not yet on the road get new times (moves of "
            f"{sc.notify_change_min}+ min only); call-forward one drive ahead of the "
            f"forecast end of the load; parking buffer {sc.arrival_buffer_min:g} min"
        ),
        "overtime": (
            "every truck that turns up is loaded; work after closing is overtime, reported "
            "for every policy"
        ),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile of values, interpolated between order statistics."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(yards: Sequence[Yard], scenario: Scenario, policy: str) -> dict[str, Any]:
    """Pool the replications of one policy into the reported figures."""
    waits: list[float] = []
    turns: list[float] = []
    on_time_waits: list[float] = []
    booked_waits: list[float] = []
    unplanned_waits: list[float] = []
    after_request: list[float] = []
    booked_shown = on_time = 0
    per_day: dict[str, list[float]] = {
        key: []
        for key in (
            "trucks_served",
            "dock_utilization",
            "work_ratio",
            "overtime_dock_min",
            "last_departure_min",
            "changeover_dock_min",
            "idle_with_waiting_dock_min",
        )
    }
    capacity = scenario.n_docks * (scenario.closes_min - scenario.opens_min)
    for yard in yards:
        done = [v for v in yard.visits.values() if v.served]
        for v in done:
            waits.append(v.wait_min)
            turns.append(v.turn_min)
            after_request.append(v.service_start_min - v.truck.requested_min)
            (booked_waits if v.truck.planned else unplanned_waits).append(v.wait_min)
            if v.truck.planned and policy != "fifo":
                booked_shown += 1
                if abs(v.arrived_min - v.target_arrival_min) <= scenario.late_tolerance_min:
                    on_time += 1
                    on_time_waits.append(v.wait_min)
        runs = yard.runs.values()
        in_hours = sum(r.loading_in_hours_min for r in runs)
        after = sum(r.loading_after_close_min for r in runs)
        per_day["trucks_served"].append(len(done))
        per_day["dock_utilization"].append(in_hours / capacity)
        per_day["work_ratio"].append((in_hours + after) / capacity)
        per_day["overtime_dock_min"].append(after)
        per_day["last_departure_min"].append(max(v.end_min for v in done))
        per_day["changeover_dock_min"].append(sum(r.changeover_total_min for r in runs))
        per_day["idle_with_waiting_dock_min"].append(yard.idle_with_waiting_min)
    row: dict[str, Any] = {
        "mean_wait_min": statistics.fmean(waits),
        "p95_wait_min": percentile(waits, 0.95),
        "median_wait_on_time_min": statistics.median(on_time_waits) if on_time_waits else None,
        "mean_turn_min": statistics.fmean(turns),
        "on_time_share": on_time / booked_shown if booked_shown else None,
        "mean_wait_booked_min": statistics.fmean(booked_waits) if booked_waits else None,
        "mean_wait_unplanned_min": statistics.fmean(unplanned_waits) if unplanned_waits else None,
        "p95_wait_unplanned_min": percentile(unplanned_waits, 0.95),
        "mean_start_after_request_min": statistics.fmean(after_request),
        "p95_start_after_request_min": percentile(after_request, 0.95),
    }
    row.update({key: statistics.fmean(values) for key, values in per_day.items()})
    notes: dict[str, list[float]] = {}
    for yard in yards:
        for key, value in yard.notes.items():
            notes.setdefault(key, []).append(value)
    if notes:
        row["scheduler"] = {key: statistics.fmean(values) for key, values in notes.items()}
    return row


def mean_queue(yards: Sequence[Yard]) -> list[tuple[float, float]]:
    """Trucks at the plant not yet loading, averaged over replications, through the day."""
    by_time: dict[float, list[int]] = {}
    for yard in yards:
        for t, n in yard.queue_samples:
            by_time.setdefault(round(t, 3), []).append(n)
    return [(t, sum(ns) / len(yards)) for t, ns in sorted(by_time.items())]


COLUMNS = (
    ("mean_wait_min", "wait", 7),
    ("p95_wait_min", "p95", 7),
    ("median_wait_on_time_min", "ontime-med", 11),
    ("mean_turn_min", "turn", 7),
    ("dock_utilization", "util", 6),
    ("work_ratio", "work", 6),
    ("overtime_dock_min", "overtime", 9),
    ("last_departure_min", "last-out", 9),
    ("mean_wait_unplanned_min", "unpl-wait", 10),
    ("mean_start_after_request_min", "start-req", 10),
    ("on_time_share", "on-time", 8),
    ("idle_with_waiting_dock_min", "idle-w/q", 9),
)


def _cell(key: str, value: float | None, width: int) -> str:
    if value is None:
        return f"{'-':>{width}}"
    if key == "last_departure_min":
        return f"{int(value // 60):>{width - 3}d}:{int(value % 60):02d}"
    if key in ("dock_utilization", "work_ratio", "on_time_share"):
        return f"{value:>{width}.2f}"
    return f"{value:>{width}.1f}"


def print_table(result: dict[str, Any], out: TextIO = sys.stdout) -> None:
    """The comparison as a plain table, with the definitions under it."""
    print(f"{'policy':<26}" + "".join(f"{label:>{w}}" for _, label, w in COLUMNS), file=out)
    for name, row in result.items():
        if not isinstance(row, dict) or "mean_wait_min" not in row:
            continue
        cells = "".join(_cell(key, row[key], w) for key, _, w in COLUMNS)
        print(f"{name:<26}{cells}", file=out)
    for key, value in result.items():
        if key.startswith("mean_") and isinstance(value, float):
            print(f"{key}: {value:.1%}", file=out)
    for name, row in result.items():
        if isinstance(row, dict) and "scheduler" in row:
            sched = row["scheduler"]
            print(
                f"{name} scheduler: day plan {sched['day_plan_objective']:.0f} "
                f"(greedy {sched['day_plan_greedy_objective']:.0f}, "
                f"{sched['day_plan_solve_s']:.2f} s), {sched['replans']:.0f} re-plans "
                f"at {1000 * sched['replan_mean_solve_s']:.0f} ms, "
                f"{sched['driver_time_changes']:.0f} changed departure times",
                file=out,
            )
    for key, text in DEFINITIONS.items():
        print(f"{key}: {text}", file=out)
    for key, text in result.get("model", {}).items():
        print(f"model, {key}: {text}", file=out)
    for pattern, text in result["scenario"]["arrival_patterns"].items():
        print(f"fifo arrivals, {pattern}: {text}", file=out)
    print(result["provisional"], file=out)


def write_plots(result: dict[str, Any], waits: dict[str, list[float]], out_dir: Path) -> None:
    """Wait distributions and queue length over the day, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, values in waits.items():
        ordered = sorted(values)
        ax.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=name)
    ax.set_xlabel("wait from gate arrival to call (min)")
    ax.set_ylabel("share of trucks waiting at most this long")
    ax.set_xscale("symlog", linthresh=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "yard_wait_distribution.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, row in result.items():
        if isinstance(row, dict) and "queue_over_day" in row:
            series = row["queue_over_day"]
            ax.plot([t / 60 for t, _ in series], [n for _, n in series], label=name)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("trucks at the plant not yet loading (mean)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "yard_queue_over_day.png", dpi=110)
    plt.close(fig)
