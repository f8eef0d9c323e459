"""Delivery records as the API shows them."""

from __future__ import annotations

import uuid
from typing import Any

from accounts.models import Site
from dispatch.deliveries.enums import NEXT_STEPS
from dispatch.deliveries.models import BookingLedger, DeliveryPlan, OutboundDelivery
from dispatch.deliveries.schemas import (
    CompartmentPublic,
    DeliveryPublic,
    DriverDeliveryPublic,
    LedgerPublic,
    PlacePublic,
    PlanPublic,
    TripPublic,
    VehicleRef,
)
from dispatch.orders.enums import QuantityUnit

_ITEM_UNITS = (QuantityUnit.PALLET, QuantityUnit.PIECE)


def compartments_public(stored: list[dict[str, Any]]) -> list[CompartmentPublic]:
    """A stored tank allocation as the API shows it."""
    return [CompartmentPublic.model_validate(entry) for entry in stored]


def delivery_public(delivery: OutboundDelivery) -> DeliveryPublic:
    """A delivery as the API shows it, with the driver's next step."""
    data = delivery.model_dump()
    data["compartments"] = compartments_public(delivery.compartments)
    data["next_step"] = NEXT_STEPS[delivery.state]
    return DeliveryPublic.model_validate(data)


def plan_public(plan: DeliveryPlan) -> PlanPublic:
    """A plan as the API shows it, each trip's quantity in the booking's unit."""
    items = plan.unit in _ITEM_UNITS
    trips = [
        TripPublic(
            index=index,
            vehicle_id=uuid.UUID(trip["vehicle_id"]),
            plate=trip["plate"],
            day=trip["day"],
            trip_no=trip["trip_no"],
            quantity=len(trip["item_ids"]) if items else trip["mass_kg"],
            fill_ratio=trip["fill_ratio"],
            cost_cents=trip["cost_cents"],
            compartments=[
                CompartmentPublic(
                    index=c["index"],
                    capacity_l=c["capacity_l"],
                    quantity=c["mass_kg"],
                    volume_l=c["volume_l"],
                )
                for c in trip["compartments"]
            ],
        )
        for index, trip in enumerate(plan.trips)
    ]
    bound = plan.lower_bound_cents
    gap = None
    if bound is not None and bound > 0 and trips:
        gap = round((plan.total_cost_cents - bound) / bound, 6)
    return PlanPublic(
        id=plan.id,
        version=plan.version,
        booking_id=plan.booking_id,
        carrier_id=plan.carrier_id,
        kind=plan.kind,
        state=plan.state,
        unit=plan.unit,
        quantity=plan.quantity,
        status=plan.status,
        method=plan.method,
        bound_method=plan.bound_method,
        reason=plan.reason,
        total_cost_cents=plan.total_cost_cents,
        lower_bound_cents=bound,
        gap=gap,
        solve_s=plan.solve_s,
        edited=plan.edited,
        trip_count=len(trips),
        trips=trips,
        replaces=[uuid.UUID(entry["id"]) for entry in plan.replaces],
        created_at=plan.created_at,
        committed_at=plan.committed_at,
    )


def ledger_public(ledger: BookingLedger) -> LedgerPublic:
    """A booking's ledger as the API shows it."""
    return LedgerPublic(
        booking_id=ledger.booking_id,
        unit=ledger.unit,
        booked_quantity=ledger.booked_quantity,
        open_quantity=ledger.open_quantity,
        moving_quantity=ledger.moving_quantity,
        delivered_quantity=ledger.delivered_quantity,
        unplanned_quantity=ledger.unplanned_quantity,
    )


def driver_delivery_public(delivery: OutboundDelivery, plant: Site) -> DriverDeliveryPublic:
    """A delivery as the driver's phone shows it."""
    return DriverDeliveryPublic(
        id=delivery.id,
        version=delivery.version,
        number=delivery.number,
        state=delivery.state,
        next_step=NEXT_STEPS[delivery.state],
        planned_day=delivery.planned_day,
        trip_no=delivery.trip_no,
        slot_starts_at=delivery.slot_starts_at,
        plant=PlacePublic(
            site_id=plant.id,
            name=plant.name,
            address=plant.address,
            lat=plant.lat,
            lon=plant.lon,
            instructions=plant.instructions,
        ),
        destination=PlacePublic(
            site_id=delivery.destination_site_id,
            name=delivery.destination_address,
            address=delivery.destination_address,
            lat=delivery.destination_lat,
            lon=delivery.destination_lon,
        ),
        product=delivery.product,
        hazard_class=delivery.hazard_class,
        un_number=delivery.un_number,
        quantity=delivery.quantity,
        unit=delivery.unit,
        compartments=compartments_public(delivery.compartments),
        vehicle=VehicleRef(id=delivery.vehicle_id, plate=delivery.vehicle_plate),
    )
