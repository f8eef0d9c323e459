"""One simulated plant day: its parameters and its trucks, shared by every policy.

The plant: twelve docks of four kinds (`simulations.yard_plant`), open 06:00-22:00.

Demand. `load_factor` is the planned loading work of the trucks that turn up (booked trucks
that are not no-shows, plus unplanned ones) over the docks' capacity in opening hours: 0.92.
With service-time noise the work of the day is about 0.95 of that capacity, the same trucks
and loads for every policy. Booked trucks are scaled up by the no-show rate, so every
no-show rate gives the same work. Loads are dealt to the product lines in exact proportion
to their docks (a plant releases outbound loads per line to match the line); drawn at random
instead, one line would often get 10 % more work than its docks can do in a day while
another idles. 8 % of the trucks that turn up are unplanned: they come when they like
(uniformly over the admission hours) without an appointment.

When trucks want to come. Each truck has a requested time: for today's practice the time the
driver turns up; for the appointment policies the time the carrier asks for. The pattern is
`arrival_pattern` (uniform over 06:00-21:00, or a morning peak; see `PATTERN_SOURCES`).

Where a truck's deviation from its appointment comes from. Its departure: late from the job
before (or a driver who sets off early), drawn once per truck; and the road, whose noise has
a standard deviation of `road_sd_share` of the trip time (10 %: 3 minutes on a 30-minute trip,
18 on a three-hour one; trips 30-180 minutes). The departure part takes the rest of the
variance, so every truck's arrival deviation is normal with exactly `sigma_min`, as the
issue sets it. The plant sees the departure when the truck moves and the road part build up
as it drives.

Flexibility. `flexible_share` (40 %) of the carriers say at booking that their truck could
load up to 30-120 minutes earlier than they asked if the plant wanted; the rest cannot come
earlier. Every truck can come later.

Other draws: gate paperwork 10-20 minutes (today's practice and plain appointments), a pass
scan of 0.5-1.5 minutes (Haulpoint), loading time = planned time x a lognormal factor (12 %
spread), 2-5 minutes from the queue to the dock, 3 % of drivers miss their first call.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from simulations.yard_plant import deal_kinds, load_of_kind, make_docks, mean_loading_min
from yard.scheduling import Load

PATTERNS = ("uniform", "morning_peak")
PATTERN_SOURCES = {
    "uniform": "arrivals spread evenly over the admission hours: the kindest case for fifo",
    "morning_peak": (
        "45 % of drivers arrive in the first three hours, the rest evenly: a stylised form of "
        "the early-day gate peaks reported for truck terminals (NCFRP Report 11, Truck "
        "Drayage Productivity Guide, 2011; Kourounioti and Polydoropoulou, time-of-day "
        "models of truck arrivals), not a measured plant profile"
    ),
}


@dataclass(frozen=True)
class Scenario:
    """Every parameter of a simulated day."""

    n_docks: int = 12
    opens_min: int = 6 * 60
    closes_min: int = 22 * 60
    load_factor: float = 0.92
    unplanned_share: float = 0.08
    no_show_prob: float = 0.10
    sigma_min: float = 20.0
    road_sd_share: float = 0.10
    flexible_share: float = 0.4
    flexible_min: tuple[float, float] = (30.0, 120.0)
    service_cv: float = 0.12
    paperwork_min: tuple[float, float] = (10.0, 20.0)
    pass_scan_min: tuple[float, float] = (0.5, 1.5)
    trip_min: tuple[float, float] = (30.0, 180.0)
    dock_drive_min: tuple[float, float] = (2.0, 5.0)
    missed_call_prob: float = 0.03
    # drivers stop coming of their own accord this long before closing
    last_arrival_before_close_min: int = 60
    arrival_pattern: str = "uniform"
    # plain appointments: drivers aim to reach the gate this long before the slot, to check in
    plain_check_in_lead_min: float = 15.0
    # Haulpoint: trucks are asked to reach the gate this long before they are needed, on top
    # of the pass scan and the drive to the dock, so that a freeing dock finds someone
    arrival_buffer_min: float = 0.0
    late_tolerance_min: float = 15.0
    # a booked truck that has not left this long after it was told to is written off
    no_show_after_min: int = 120
    replan_every_min: int = 5
    # trucks due further ahead than this keep their appointment through a re-plan
    replan_horizon_min: int = 240
    # a driver hears of a new time only when it moves by at least this much
    notify_change_min: int = 10
    # appointments to the minute: a five-minute grid loses about 2.5 dock minutes per load
    slot_min: int = 1
    # the plan may run docks this long past closing, each minute at the overtime cost
    overtime_allowed_min: int = 240
    # how well a dock forecasts the end of the load under way, to call the next truck ahead
    finish_forecast_sd_min: float = 2.0
    day_plan_time_limit_s: float = 2.0
    # re-plans: greedy, retime and reinsert only (deterministic); more time adds CP-SAT windows
    replan_time_limit_s: float = 0.001
    solver_workers: int = 1


@dataclass(frozen=True)
class Truck:
    """One truck of the day and every random draw that concerns it (shared by all policies)."""

    truck_id: str
    load: Load
    planned: bool
    no_show: bool
    # when the carrier would like to load; for fifo, when the driver turns up
    requested_min: float
    # how much earlier than requested it could load if asked (0 for most)
    flexible_min: float
    trip_min: float
    # departure relative to the time the driver was told (late from the job before, or early)
    departure_dev_min: float
    road_dev_min: float
    paperwork_min: float
    pass_scan_min: float
    service_factor: float
    dock_drive_min: float
    misses_first_call: bool
    eta_seed: int


def road_sd_min(scenario: Scenario, trip_min: float) -> float:
    """Road-noise standard deviation for a trip, capped so the departure part stays real."""
    return min(scenario.road_sd_share * trip_min, scenario.sigma_min)


def arrival_count(scenario: Scenario) -> tuple[int, int]:
    """Booked trucks (no-shows included) and unplanned trucks of one day."""
    docks = make_docks(
        n_docks=scenario.n_docks, opens_min=scenario.opens_min, closes_min=scenario.closes_min
    )
    capacity = scenario.n_docks * (scenario.closes_min - scenario.opens_min)
    arriving = scenario.load_factor * capacity / mean_loading_min(docks)
    n_unplanned = round(arriving * scenario.unplanned_share)
    n_booked = round(arriving * (1 - scenario.unplanned_share) / (1 - scenario.no_show_prob))
    return n_booked, n_unplanned


def make_trucks(scenario: Scenario, seed: int) -> list[Truck]:
    """The day's trucks for one replication; the same list feeds every policy."""
    rng = random.Random(seed)
    docks = make_docks(
        n_docks=scenario.n_docks, opens_min=scenario.opens_min, closes_min=scenario.closes_min
    )
    n_booked, n_unplanned = arrival_count(scenario)
    first = scenario.opens_min
    last = scenario.closes_min - scenario.last_arrival_before_close_min
    kinds = deal_kinds(rng, docks, n_booked) + deal_kinds(rng, docks, n_unplanned)
    trucks = []
    for i in range(n_booked + n_unplanned):
        planned = i < n_booked
        load = load_of_kind(rng, kinds[i])
        if planned and scenario.arrival_pattern == "morning_peak" and rng.random() < 0.45:
            requested = rng.uniform(first, first + 180)
        else:
            requested = rng.uniform(first, last)
        trip = rng.uniform(*scenario.trip_min)
        road_sd = road_sd_min(scenario, trip)
        departure_sd = math.sqrt(max(0.0, scenario.sigma_min**2 - road_sd**2))
        flexible = planned and rng.random() < scenario.flexible_share
        trucks.append(
            Truck(
                truck_id=f"T{i:04d}",
                load=load,
                planned=planned,
                no_show=planned and rng.random() < scenario.no_show_prob,
                requested_min=requested,
                flexible_min=rng.uniform(*scenario.flexible_min) if flexible else 0.0,
                trip_min=trip,
                departure_dev_min=rng.gauss(0, departure_sd),
                # a truck cannot beat the road by more than a third of the trip
                road_dev_min=max(-trip / 3, rng.gauss(0, road_sd)),
                paperwork_min=rng.uniform(*scenario.paperwork_min),
                pass_scan_min=rng.uniform(*scenario.pass_scan_min),
                service_factor=math.exp(rng.gauss(0, scenario.service_cv)),
                dock_drive_min=rng.uniform(*scenario.dock_drive_min),
                misses_first_call=rng.random() < scenario.missed_call_prob,
                eta_seed=rng.randrange(2**31),
            )
        )
    return trucks


def departure_min(truck: Truck, *, told_min: float, first_told_min: float) -> float:
    """When a truck leaves, given when it is told to and when it was first told to.

    A truck late from its previous job leaves that much after the earlier of the two times
    (asked to come earlier, it carries its delay along; asked later, the delay may be
    absorbed); a driver who sets off early does so before the latest time.
    """
    dev = truck.departure_dev_min
    return max(min(told_min, first_told_min) + dev, told_min + min(0.0, dev))
