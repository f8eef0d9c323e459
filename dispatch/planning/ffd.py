"""First-fit decreasing: what a dispatcher or a greedy engine does with items.

Trucks are taken in order of cost per share of the order they can carry, items from the
largest down, each into the first truck it fits. Then each load is moved to a cheaper free
truck that holds it, trucks left under the minimum fill are emptied into the others where
possible, and the one under-filled load is moved to the last day. It is the baseline the
solver must beat and the plan it starts from; with a set of preferred trucks, or balanced
over a fixed set, it is also the first packer the search tries on a proposal.
"""

from collections.abc import Collection

from dispatch.planning.capacity import ZERO_SIZE, ItemSize
from dispatch.planning.items import Assignment, PackingProblem, bin_load, canonical


def first_fit_decreasing(
    problem: PackingProblem,
    *,
    preferred: Collection[int] = (),
    by: str = "size",
    balanced: bool = False,
) -> Assignment | str:
    """Pack the items greedily; returns bins to item indices, or why the greedy failed.

    Items go largest first: by their biggest share of a truck (`by="size"`) or by one
    dimension (`"weight_kg"`, `"volume_l"`, `"half_places"`). Bins in `preferred` are
    tried before all others, day by day, so that what is left over lands on the last day.
    `balanced` puts each item where the room left best matches its shape (the largest dot
    product of the two, in shares of capacity) instead of the first bin it fits: it keeps
    a truck from filling up in one dimension while another stays empty, but it spreads the
    items over every bin, so it suits a fixed set of trucks, not the whole fleet.
    """
    request = problem.request
    ratio = request.min_fill_ratio
    total = problem.total()
    day_count = len(request.pickup_days)
    first = set(preferred)

    def bin_key(b: int) -> tuple[object, ...]:
        bin_ = problem.bins[b]
        efficiency = problem.cost(b) / _share(problem.capacity(b).dimensions(), total)
        if b in first:
            return (0, bin_.day_index, efficiency, bin_.class_index, bin_.ordinal)
        return (1, efficiency, bin_.day_index, bin_.class_index, bin_.ordinal)

    bin_order = sorted(range(len(problem.bins)), key=bin_key)
    largest: dict[str, int] = {}
    for item_class in problem.classes:
        for name, cap in item_class.capacity.dimensions():
            largest[name] = max(cap, largest.get(name, 0))

    def item_key(i: int) -> tuple[float, int, str]:
        size = problem.sizes[i]
        if by == "size":
            share = max(getattr(size, name) / cap for name, cap in largest.items())
        else:
            share = float(getattr(size, by))
        return (-share, -size.weight_kg, problem.items[i].id)

    item_order = sorted(range(len(problem.items)), key=item_key)
    state = _State(problem)
    for i in item_order:
        if balanced:
            options = [b for b in bin_order if state.can_add(b, i)]
            placed = max(options, key=lambda b: state.room_match(b, i), default=None)
        else:
            placed = next((b for b in bin_order if state.can_add(b, i)), None)
        if placed is None:
            return f"item {problem.items[i].id} fits in no free truck"
        state.add(placed, i)
    state.right_size(ratio)
    under = state.under_filled(ratio)
    if len(under) > 1:
        state.dissolve(under, ratio)
        under = state.under_filled(ratio)
    if len(under) > 1:
        return f"greedy leaves {len(under)} trips below the minimum fill"
    if under and not state.move_to_last_day(under[0], day_count):
        return "greedy cannot put its under-filled trip on the last day"
    return canonical(problem, state.members)


def _share(dimensions: tuple[tuple[str, int], ...], total: ItemSize) -> float:
    """The share of the whole order one trip can carry, by its tightest dimension."""
    shares = [cap / getattr(total, name) for name, cap in dimensions if getattr(total, name) > 0]
    return max(min(shares, default=1.0), 1e-9)


class _State:
    """Loads per bin with the plant's per-day counters kept in step."""

    def __init__(self, problem: PackingProblem) -> None:
        self.problem = problem
        self.members: dict[int, list[int]] = {}
        self.loads: dict[int, ItemSize] = {}
        day_count = len(problem.request.pickup_days)
        self.day_trips = [0] * day_count
        self.day_mass = [0] * day_count

    def _day_ok(self, d: int, new_trips: int, new_mass: int) -> bool:
        trips_limit, mass_limit = self.problem.limits[d]
        return (trips_limit is None or self.day_trips[d] + new_trips <= trips_limit) and (
            mass_limit is None or self.day_mass[d] + new_mass <= mass_limit
        )

    def can_add(self, b: int, i: int) -> bool:
        problem = self.problem
        bin_ = problem.bins[b]
        if bin_.class_index not in problem.fits[i]:
            return False
        size = problem.sizes[i]
        if not problem.capacity(b).holds(self.loads.get(b, ZERO_SIZE) + size):
            return False
        opening = 0 if self.members.get(b) else 1
        return self._day_ok(bin_.day_index, opening, size.weight_kg)

    def room_match(self, b: int, i: int) -> float:
        """How well the room left in bin `b` matches item `i`'s shape."""
        load = self.loads.get(b, ZERO_SIZE)
        size = self.problem.sizes[i]
        return sum(
            float(getattr(size, name)) * (cap - int(getattr(load, name))) / (cap * cap)
            for name, cap in self.problem.capacity(b).dimensions()
            if cap > 0
        )

    def add(self, b: int, i: int) -> None:
        d = self.problem.bins[b].day_index
        if not self.members.get(b):
            self.day_trips[d] += 1
        self.members.setdefault(b, []).append(i)
        self.loads[b] = self.loads.get(b, ZERO_SIZE) + self.problem.sizes[i]
        self.day_mass[d] += self.problem.sizes[i].weight_kg

    def remove(self, b: int) -> list[int]:
        d = self.problem.bins[b].day_index
        members = self.members.pop(b, [])
        load = self.loads.pop(b, ZERO_SIZE)
        if members:
            self.day_trips[d] -= 1
            self.day_mass[d] -= load.weight_kg
        return members

    def used(self) -> list[int]:
        return [b for b, members in self.members.items() if members]

    def under_filled(self, ratio: float) -> list[int]:
        return sorted(
            (
                b
                for b in self.used()
                if not self.problem.capacity(b).full_enough(self.loads[b], ratio)
            ),
            key=lambda b: self.loads[b].weight_kg,
        )

    def _fits_whole(self, b: int, members: list[int]) -> bool:
        problem = self.problem
        bin_ = problem.bins[b]
        load = bin_load(problem, members)
        return (
            not self.members.get(b)
            and all(bin_.class_index in problem.fits[i] for i in members)
            and problem.capacity(b).holds(load)
            and self._day_ok(bin_.day_index, 1, load.weight_kg)
        )

    def right_size(self, ratio: float) -> None:
        """Move each load to the cheapest free truck that holds it, if that is cheaper.

        A load that met the minimum fill only moves where it still does.
        """
        problem = self.problem
        for b in sorted(self.used(), key=lambda b: -problem.cost(b)):
            was_full = problem.capacity(b).full_enough(self.loads[b], ratio)
            members = self.remove(b)
            load = bin_load(problem, members)
            options = [
                c
                for c in range(len(problem.bins))
                if problem.cost(c) < problem.cost(b)
                and self._fits_whole(c, members)
                and (not was_full or problem.capacity(c).full_enough(load, ratio))
            ]
            target = min(options, key=lambda c: (problem.cost(c), c), default=b)
            for i in members:
                self.add(target, i)

    def snapshot(self) -> tuple[dict[int, list[int]], dict[int, ItemSize], list[int], list[int]]:
        return (
            {b: list(m) for b, m in self.members.items()},
            dict(self.loads),
            list(self.day_trips),
            list(self.day_mass),
        )

    def restore(
        self, saved: tuple[dict[int, list[int]], dict[int, ItemSize], list[int], list[int]]
    ) -> None:
        members, loads, day_trips, day_mass = saved
        self.members = {b: list(m) for b, m in members.items()}
        self.loads, self.day_trips, self.day_mass = dict(loads), list(day_trips), list(day_mass)

    def dissolve(self, under: list[int], ratio: float) -> None:
        """Empty under-filled trucks into the others, lightest first, while it works."""
        for b in under:
            if len(self.under_filled(ratio)) <= 1:
                return
            saved = self.snapshot()
            members = self.remove(b)
            for i in members:
                target = next((c for c in self.used() if self.can_add(c, i)), None)
                if target is None:
                    self.restore(saved)
                    break
                self.add(target, i)

    def move_to_last_day(self, b: int, day_count: int) -> bool:
        """Put the under-filled load on the plan's last day, by a swap or a move."""
        problem = self.problem
        last_day = max(problem.bins[c].day_index for c in self.used())
        bin_ = problem.bins[b]
        if bin_.day_index == last_day:
            return True
        for c in self.used():
            other = problem.bins[c]
            if other.day_index == last_day and other.class_index == bin_.class_index:
                saved = self.snapshot()
                mine, theirs = self.remove(b), self.remove(c)
                for i in theirs:
                    self.add(b, i)
                for i in mine:
                    self.add(c, i)
                if all(self._day_ok(d, 0, 0) for d in range(day_count)):
                    return True
                self.restore(saved)
        members = self.remove(b)
        options = [
            c
            for c in range(len(problem.bins))
            if problem.bins[c].day_index >= last_day and self._fits_whole(c, members)
        ]
        target = min(options, key=lambda c: (problem.cost(c), c), default=None)
        for i in members:
            self.add(b if target is None else target, i)
        return target is not None
