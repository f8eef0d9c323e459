"""Which vehicles may carry an order at all, and why the others may not."""

from collections import Counter

from dispatch.planning.request import BodyType, BulkCargo, SplitRequest, Vehicle


def hazard_permitted(permits: frozenset[str], hazard_class: str) -> bool:
    """Whether an ADR permit set covers a class; a permit for "1" covers divisions "1.1"..."""
    return any(
        hazard_class == permit or hazard_class.startswith(permit + ".") for permit in permits
    )


def incompatibility(vehicle: Vehicle, request: SplitRequest) -> str | None:
    """Why `vehicle` may not carry the order, or None when it may."""
    needs = request.needs
    cargo = request.cargo
    if needs.bodies is not None and vehicle.body not in needs.bodies:
        return f"body {vehicle.body.value} not allowed"
    if isinstance(cargo, BulkCargo):
        if cargo.liquid and vehicle.body is not BodyType.TANKER:
            return "a liquid needs a tanker"
        if vehicle.body is BodyType.TANKER and cargo.density_kg_per_m3 is None:
            return "a tanker needs the cargo's density"
    elif vehicle.body is BodyType.TANKER:
        return "a tanker carries no items"
    if needs.food_grade and not vehicle.food_grade:
        return "not food-grade"
    if needs.hazard_class is not None and not hazard_permitted(
        vehicle.hazard_classes, needs.hazard_class
    ):
        return f"no ADR permit for class {needs.hazard_class}"
    return None


def compatible_fleet(request: SplitRequest) -> tuple[tuple[Vehicle, ...], Counter[str]]:
    """The vehicles that may carry the order, and how many were turned away for each reason."""
    kept: list[Vehicle] = []
    refused: Counter[str] = Counter()
    for vehicle in request.fleet:
        reason = incompatibility(vehicle, request)
        if reason is None:
            kept.append(vehicle)
        else:
            refused[reason] += 1
    return tuple(kept), refused


def describe_refusals(total: int, refused: Counter[str]) -> str:
    """A one-line account of why no vehicle of the fleet qualifies."""
    if total == 0:
        return "the fleet is empty"
    parts = ", ".join(f"{count} {reason}" for reason, count in refused.most_common())
    return f"no compatible vehicle among {total}: {parts}"
