"""The planner's requests and trips as JSON, so a draft keeps exactly what was solved."""

from __future__ import annotations

from datetime import date
from typing import Any

from dispatch.planning import (
    BodyType,
    BulkCargo,
    Compartment,
    CompartmentLoad,
    DayCapacity,
    Item,
    ItemCargo,
    OrderNeeds,
    PlantCapacity,
    SplitRequest,
    SurgeRule,
    TakenTrip,
    Trip,
    Vehicle,
)

JSON = dict[str, Any]


def encode_request(request: SplitRequest) -> JSON:
    """A split request as JSON-ready data."""
    return {
        "cargo": _encode_cargo(request.cargo),
        "fleet": [_encode_vehicle(vehicle) for vehicle in request.fleet],
        "pickup_days": [day.isoformat() for day in request.pickup_days],
        "needs": {
            "hazard_class": request.needs.hazard_class,
            "food_grade": request.needs.food_grade,
            "bodies": None
            if request.needs.bodies is None
            else sorted(body.value for body in request.needs.bodies),
        },
        "plant": None if request.plant is None else _encode_plant(request.plant),
        "min_fill_ratio": request.min_fill_ratio,
        "round_trip_km": request.round_trip_km,
        "taken_trips": [
            {"vehicle_id": t.vehicle_id, "day": t.day.isoformat(), "mass_kg": t.mass_kg}
            for t in request.taken_trips
        ],
    }


def decode_request(data: JSON) -> SplitRequest:
    """A split request from ``encode_request``'s data."""
    needs = data["needs"]
    return SplitRequest(
        cargo=_decode_cargo(data["cargo"]),
        fleet=tuple(_decode_vehicle(vehicle) for vehicle in data["fleet"]),
        pickup_days=tuple(date.fromisoformat(day) for day in data["pickup_days"]),
        needs=OrderNeeds(
            hazard_class=needs["hazard_class"],
            food_grade=needs["food_grade"],
            bodies=None
            if needs["bodies"] is None
            else frozenset(BodyType(body) for body in needs["bodies"]),
        ),
        plant=None if data["plant"] is None else _decode_plant(data["plant"]),
        min_fill_ratio=data["min_fill_ratio"],
        round_trip_km=data["round_trip_km"],
        taken_trips=tuple(
            TakenTrip(
                vehicle_id=t["vehicle_id"], day=date.fromisoformat(t["day"]), mass_kg=t["mass_kg"]
            )
            for t in data["taken_trips"]
        ),
    )


def encode_trip(trip: Trip) -> JSON:
    """A trip as JSON-ready data."""
    return {
        "vehicle_id": trip.vehicle_id,
        "plate": trip.plate,
        "day": trip.day.isoformat(),
        "trip_no": trip.trip_no,
        "mass_kg": trip.mass_kg,
        "cost_cents": trip.cost_cents,
        "fill_ratio": trip.fill_ratio,
        "volume_m3": trip.volume_m3,
        "item_ids": list(trip.item_ids),
        "compartments": [
            {
                "index": c.index,
                "capacity_l": c.capacity_l,
                "mass_kg": c.mass_kg,
                "volume_l": c.volume_l,
            }
            for c in trip.compartments
        ],
    }


def decode_trip(data: JSON) -> Trip:
    """A trip from ``encode_trip``'s data."""
    return Trip(
        vehicle_id=data["vehicle_id"],
        plate=data["plate"],
        day=date.fromisoformat(data["day"]),
        trip_no=data["trip_no"],
        mass_kg=data["mass_kg"],
        cost_cents=data["cost_cents"],
        fill_ratio=data["fill_ratio"],
        volume_m3=data["volume_m3"],
        item_ids=tuple(data["item_ids"]),
        compartments=tuple(
            CompartmentLoad(
                index=c["index"],
                capacity_l=c["capacity_l"],
                mass_kg=c["mass_kg"],
                volume_l=c["volume_l"],
            )
            for c in data["compartments"]
        ),
    )


def _encode_cargo(cargo: BulkCargo | ItemCargo) -> JSON:
    if isinstance(cargo, BulkCargo):
        return {
            "kind": "bulk",
            "mass_kg": cargo.mass_kg,
            "density_kg_per_m3": cargo.density_kg_per_m3,
            "liquid": cargo.liquid,
            "viscous": cargo.viscous,
            "max_fill_ratio": cargo.max_fill_ratio,
            "surge": {
                "low_max_ratio": cargo.surge.low_max_ratio,
                "high_min_ratio": cargo.surge.high_min_ratio,
                "exempt_up_to_l": cargo.surge.exempt_up_to_l,
            },
        }
    return {
        "kind": "items",
        "items": [
            {
                "id": item.id,
                "weight_kg": item.weight_kg,
                "volume_m3": item.volume_m3,
                "pallet_places": item.pallet_places,
                "stackable": item.stackable,
            }
            for item in cargo.items
        ],
    }


def _decode_cargo(data: JSON) -> BulkCargo | ItemCargo:
    if data["kind"] == "bulk":
        return BulkCargo(
            mass_kg=data["mass_kg"],
            density_kg_per_m3=data["density_kg_per_m3"],
            liquid=data["liquid"],
            viscous=data["viscous"],
            max_fill_ratio=data["max_fill_ratio"],
            surge=SurgeRule(**data["surge"]),
        )
    return ItemCargo(items=tuple(Item(**item) for item in data["items"]))


def _encode_vehicle(vehicle: Vehicle) -> JSON:
    return {
        "id": vehicle.id,
        "plate": vehicle.plate,
        "body": vehicle.body.value,
        "payload_kg": vehicle.payload_kg,
        "volume_m3": vehicle.volume_m3,
        "pallet_places": vehicle.pallet_places,
        "compartments": [[c.capacity_l, c.baffled] for c in vehicle.compartments],
        "fixed_cost_cents": vehicle.fixed_cost_cents,
        "cost_per_km_cents": vehicle.cost_per_km_cents,
        "round_trip_km": vehicle.round_trip_km,
        "trips_per_day": vehicle.trips_per_day,
        "available_days": None
        if vehicle.available_days is None
        else sorted(day.isoformat() for day in vehicle.available_days),
        "hazard_classes": sorted(vehicle.hazard_classes),
        "food_grade": vehicle.food_grade,
    }


def _decode_vehicle(data: JSON) -> Vehicle:
    return Vehicle(
        id=data["id"],
        plate=data["plate"],
        body=BodyType(data["body"]),
        payload_kg=data["payload_kg"],
        volume_m3=data["volume_m3"],
        pallet_places=data["pallet_places"],
        compartments=tuple(
            Compartment(capacity_l, baffled=baffled) for capacity_l, baffled in data["compartments"]
        ),
        fixed_cost_cents=data["fixed_cost_cents"],
        cost_per_km_cents=data["cost_per_km_cents"],
        round_trip_km=data["round_trip_km"],
        trips_per_day=data["trips_per_day"],
        available_days=None
        if data["available_days"] is None
        else frozenset(date.fromisoformat(day) for day in data["available_days"]),
        hazard_classes=frozenset(data["hazard_classes"]),
        food_grade=data["food_grade"],
    )


def _encode_plant(plant: PlantCapacity) -> JSON:
    return {
        "trips_per_day": plant.trips_per_day,
        "mass_kg_per_day": plant.mass_kg_per_day,
        "exceptions": [
            {"day": e.day.isoformat(), "trips": e.trips, "mass_kg": e.mass_kg}
            for e in plant.exceptions
        ],
    }


def _decode_plant(data: JSON) -> PlantCapacity:
    return PlantCapacity(
        trips_per_day=data["trips_per_day"],
        mass_kg_per_day=data["mass_kg_per_day"],
        exceptions=tuple(
            DayCapacity(day=date.fromisoformat(e["day"]), trips=e["trips"], mass_kg=e["mass_kg"])
            for e in data["exceptions"]
        ),
    )
