"""A stylised bulk plant for yard simulations and scheduler benchmarks: docks and loads.

Four dock kinds: bulk sugar (tippers, hoppers), general cargo (bagged sugar and timber on
curtainsiders and flatbeds), steel coil (flatbeds, timber too) and a hazardous tanker bay (two
liquids with a flush between them). Loads are drawn so every dock kind is about equally busy;
a day's loads can also be dealt out in exact proportions (`deal_kinds`), as a plant releases
its outbound loads per product line to match that line's docks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from yard.scheduling import Dock, Load, loading_duration_min


@dataclass(frozen=True)
class DockKind:
    """A template for docks of one kind and the loads they take."""

    name: str
    products: tuple[str, ...]
    bodies: tuple[str, ...]
    hazardous_bay: bool
    loading_rate_kg_per_min: float | None
    fixed_duration_min: int | None
    handling_min: int
    changeover_min: int
    # trucks per dock of this kind, relative to the others (flushes cost the tanker bay time)
    demand_weight: float
    # (product, body, hazardous, smallest kg, largest kg) of loads that only this kind takes
    loads: tuple[tuple[str, str, bool, int, int], ...]


DOCK_KINDS: tuple[DockKind, ...] = (
    DockKind(
        name="bulk",
        products=("sugar_bulk",),
        bodies=("tipper", "hopper"),
        hazardous_bay=False,
        loading_rate_kg_per_min=1000,
        fixed_duration_min=None,
        handling_min=6,
        changeover_min=0,
        demand_weight=1.0,
        loads=(
            ("sugar_bulk", "tipper", False, 24_000, 30_000),
            ("sugar_bulk", "hopper", False, 24_000, 30_000),
        ),
    ),
    DockKind(
        name="general",
        products=("sugar_bagged", "timber_boards"),
        bodies=("curtainsider", "flatbed"),
        hazardous_bay=False,
        loading_rate_kg_per_min=800,
        fixed_duration_min=None,
        handling_min=8,
        changeover_min=5,
        demand_weight=0.93,
        loads=(
            ("sugar_bagged", "curtainsider", False, 18_000, 24_000),
            ("timber_boards", "curtainsider", False, 18_000, 24_000),
        ),
    ),
    DockKind(
        name="steel",
        products=("steel_coil", "timber_boards"),
        bodies=("flatbed",),
        hazardous_bay=False,
        loading_rate_kg_per_min=None,
        fixed_duration_min=35,
        handling_min=0,
        changeover_min=10,
        demand_weight=1.0,
        loads=(
            ("steel_coil", "flatbed", False, 20_000, 25_000),
            ("timber_boards", "flatbed", False, 18_000, 24_000),
        ),
    ),
    DockKind(
        name="liquid",
        products=("ethanol", "caustic_soda"),
        bodies=("tanker",),
        hazardous_bay=True,
        loading_rate_kg_per_min=1000,
        fixed_duration_min=None,
        handling_min=8,
        changeover_min=15,
        demand_weight=0.85,
        loads=(
            ("ethanol", "tanker", True, 22_000, 28_000),
            ("caustic_soda", "tanker", True, 22_000, 28_000),
        ),
    ),
)

# a twelve-dock plant: four bulk, four general, two steel, two liquid, interleaved
DOCK_ORDER: tuple[int, ...] = (0, 1, 2, 3, 0, 1, 0, 2, 1, 3, 0, 1)


def make_docks(*, n_docks: int, opens_min: int, closes_min: int) -> list[Dock]:
    """The plant's docks, cycling through the dock kinds in a fixed order."""
    docks = []
    for i in range(n_docks):
        kind = DOCK_KINDS[DOCK_ORDER[i % len(DOCK_ORDER)]]
        docks.append(
            Dock(
                dock_id=f"D{i + 1:02d}-{kind.name}",
                products=frozenset(kind.products),
                bodies=frozenset(kind.bodies),
                hazardous_bay=kind.hazardous_bay,
                loading_rate_kg_per_min=kind.loading_rate_kg_per_min,
                fixed_duration_min=kind.fixed_duration_min,
                handling_min=kind.handling_min,
                changeover_min=kind.changeover_min,
                opens_min=opens_min,
                closes_min=closes_min,
            )
        )
    return docks


def _kind_of(dock: Dock) -> DockKind:
    return next(k for k in DOCK_KINDS if dock.dock_id.endswith(f"-{k.name}"))


def mean_loading_min(docks: list[Dock]) -> float:
    """Mean planned loading time of a load drawn by `random_load` for these docks."""
    rng = random.Random(12345)
    samples = [_duration(docks, random_load(rng, docks)) for _ in range(4000)]
    return sum(samples) / len(samples)


def _duration(docks: list[Dock], load: Load) -> int:
    from yard.scheduling import is_compatible

    return min(loading_duration_min(d, load) for d in docks if is_compatible(d, load))


def random_load(rng: random.Random, docks: list[Dock]) -> Load:
    """A load whose dock kind is drawn in proportion to the docks of that kind and its weight."""
    kinds = [_kind_of(d) for d in docks]
    kind = rng.choices(kinds, weights=[k.demand_weight for k in kinds])[0]
    return load_of_kind(rng, kind)


def deal_kinds(rng: random.Random, docks: list[Dock], n_loads: int) -> list[DockKind]:
    """The dock kinds of `n_loads` loads in exact proportion to `random_load`'s odds, shuffled."""
    weights: dict[str, float] = {}
    for dock in docks:
        kind = _kind_of(dock)
        weights[kind.name] = weights.get(kind.name, 0.0) + kind.demand_weight
    total = sum(weights.values())
    shares = {name: n_loads * w / total for name, w in weights.items()}
    counts = {name: int(share) for name, share in shares.items()}
    # largest remainders get the loads that rounding down left over
    for name in sorted(shares, key=lambda k: counts[k] - shares[k])[
        : n_loads - sum(counts.values())
    ]:
        counts[name] += 1
    by_name = {k.name: k for k in DOCK_KINDS}
    dealt = [by_name[name] for name, n in counts.items() for _ in range(n)]
    rng.shuffle(dealt)
    return dealt


def load_of_kind(rng: random.Random, kind: DockKind) -> Load:
    """One of the loads that docks of this kind take, with a random quantity."""
    product, body, hazardous, low_kg, high_kg = rng.choice(kind.loads)
    quantity_kg = float(rng.randrange(low_kg, high_kg + 1, 500))
    return Load(product=product, body=body, quantity_kg=quantity_kg, hazardous=hazardous)
