from __future__ import annotations

import json
import math
from pathlib import Path

from simulations.yard_sim import (
    RUNNERS,
    Options,
    Scenario,
    make_trucks,
    run,
)

SMALL = Scenario(
    n_docks=4,
    opens_min=360,
    closes_min=720,
    day_plan_time_limit_s=0.0,
    replan_time_limit_s=0.0,
    trip_min=(30.0, 60.0),
)


class TestSameTrucks:
    def test_every_policy_serves_the_same_trucks(self) -> None:
        trucks = make_trucks(SMALL, seed=3)
        showing = {t.truck_id for t in trucks if not t.no_show}
        assert showing
        for name, runner in RUNNERS.items():
            yard = runner(SMALL, trucks, 3)
            served = {tid for tid, v in yard.visits.items() if not math.isnan(v.end_min)}
            assert served == showing, name
            for visit in yard.visits.values():
                if not math.isnan(visit.end_min):
                    assert visit.wait_min >= 0, (name, visit.truck.truck_id)
                    assert visit.turn_min >= visit.wait_min

    def test_the_same_seed_gives_the_same_day(self) -> None:
        assert make_trucks(SMALL, seed=5) == make_trucks(SMALL, seed=5)
        assert make_trucks(SMALL, seed=5) != make_trucks(SMALL, seed=6)


class TestCommandLine:
    def test_writes_json_with_every_policy_and_the_plots(self, tmp_path: Path) -> None:
        out = tmp_path / "yard.json"
        options = Options(
            quick=True,
            replications=1,
            patterns=("uniform", "morning_peak"),
            json_path=out,
            plots_dir=tmp_path,
            progress=False,
            scenario_overrides={"n_docks": 4, "closes_min": 720, "trip_min": (30.0, 60.0)},
        )
        run(options)
        result = json.loads(out.read_text())
        for key in ("fifo", "plain_slots", "haulpoint", "fifo_morning_peak"):
            row = result[key]
            for field in ("mean_wait_min", "p95_wait_min", "mean_turn_min", "dock_utilization"):
                assert row[field] >= 0
        assert result["fifo"]["trucks_served"] == result["haulpoint"]["trucks_served"]
        assert "mean_wait_reduction" in result
        assert result["scenario"]["sigma_min"] == 20.0
        assert (tmp_path / "yard_wait_distribution.png").stat().st_size > 0
        assert (tmp_path / "yard_queue_over_day.png").stat().st_size > 0
