"""Assigning a driver and a vehicle to a delivery, refused with a reason code when they may
not take it (see ``assignment_rules``).

The vehicle's and the driver's rows are locked first, so two dispatchers assigning the same
truck or driver for the same day queue up and the second sees the first's trip; the
delivery itself moves in one conditional UPDATE guarded by its state and version.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from core.errors import FieldError
from dispatch.deliveries import repository, transitions
from dispatch.deliveries.assignment_rules import (
    DriverRecord,
    Refusal,
    capacity_refusal,
    driver_refusals,
    overbooked,
)
from dispatch.deliveries.context import cargo_terms, fleet_vehicle
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.exceptions import AssignmentRefused, CarrierOnly, PlanNotFound
from dispatch.deliveries.models import OutboundDelivery
from dispatch.deliveries.schemas import AssignRequest, SplitTerms
from dispatch.deliveries.service import get_delivery
from dispatch.deliveries.splitting import (
    COST_PER_KM_CENTS,
    FIXED_COST_CENTS,
    CargoTerms,
    FleetVehicle,
    VehicleTerms,
    compartment_allocation,
    day_end,
    planner_vehicle,
    plant_zone,
    refusal,
)
from dispatch.fleet.capability import LoadNeeds
from dispatch.fleet.enums import BodyType as FleetBody
from dispatch.fleet.exceptions import DriverNotFound, VehicleNotFound
from dispatch.fleet.models import Vehicle as VehicleRow
from dispatch.guards import require_dispatcher
from dispatch.planning import BodyType, BulkCargo, SplitRequest, Trip, Vehicle
from dispatch.planning.capacity import allocate_compartments

ASSIGNABLE = (DeliveryState.PLANNED, DeliveryState.ASSIGNED)


async def assign(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID, data: AssignRequest
) -> OutboundDelivery:
    """Put a driver and a vehicle on a delivery of the caller's carrier."""
    require_dispatcher(principal)
    delivery = await get_delivery(session, principal=principal, delivery_id=delivery_id)
    if delivery.carrier_id != principal.organization_id:
        raise CarrierOnly("only the delivery's carrier assigns its driver and vehicle")
    vehicle_id = data.vehicle_id or delivery.vehicle_id
    vehicle = await session.get(VehicleRow, vehicle_id)
    if vehicle is None or vehicle.organization_id != delivery.carrier_id:
        raise VehicleNotFound("no such vehicle in your fleet")
    found = await repository.driver_with_name(session, data.driver_id)
    if found is None or found[0].organization_id != delivery.carrier_id:
        raise DriverNotFound("no such driver in your organization")
    driver, member, name = found
    await repository.lock_vehicles(session, [vehicle.id])
    await repository.lock_driver(session, driver.id)
    plan = await repository.plan(session, delivery.plan_id)
    if plan is None:
        raise PlanNotFound("the delivery's plan is gone")
    terms = SplitTerms.model_validate(plan.inputs)
    cargo = cargo_terms(terms, delivery.unit)
    as_planned = fleet_vehicle(vehicle)
    planned = planner_vehicle(
        as_planned, VehicleTerms(FIXED_COST_CENTS, COST_PER_KM_CENTS, 1), cargo
    )
    plant = (await repository.sites_by_id(session, [delivery.plant_site_id]))[
        delivery.plant_site_id
    ]
    refusals = driver_refusals(
        DriverRecord(
            name=name,
            active=driver.active and member.active,
            licence_expires_at=driver.licence_expires_at,
            hazmat_training_expires_at=driver.hazmat_training_expires_at,
        ),
        hazardous=delivery.hazard_class is not None,
        valid_until=day_end(delivery.planned_day, plant_zone(plant.timezone)),
    )
    refusals += await _vehicle_refusals(session, delivery, as_planned, planned, cargo, terms)
    refusals += await _day_refusals(session, delivery, vehicle, member.id, name, terms)
    if refusals:
        raise AssignmentRefused(
            "; ".join(r.detail for r in refusals),
            code=refusals[0].code,
            errors=[FieldError(("body", r.field), r.detail, r.code) for r in refusals],
            extra={"reasons": [r.code for r in refusals]},
        )
    compartments = delivery.compartments
    if vehicle.id != delivery.vehicle_id:
        compartments = _compartments(planned, cargo, delivery.quantity)
    return await transitions.advance(
        session,
        delivery_id=delivery.id,
        to_state=DeliveryState.ASSIGNED,
        kind="delivery.assigned",
        actor=principal.actor,
        values={
            "driver_member_id": member.id,
            "vehicle_id": vehicle.id,
            "vehicle_plate": vehicle.plate,
            "compartments": compartments,
        },
        extra={
            "driver_id": str(driver.id),
            "driver_name": name,
            "assigned_vehicle_id": str(vehicle.id),
            "assigned_plate": vehicle.plate,
        },
        expected_version=data.version,
        from_states=ASSIGNABLE,
    )


async def _vehicle_refusals(
    session: AsyncSession,
    delivery: OutboundDelivery,
    vehicle: FleetVehicle,
    planned: Vehicle,
    cargo: CargoTerms,
    terms: SplitTerms,
) -> list[Refusal]:
    booking = await repository.booking_terms(session, delivery.booking_id)
    assert booking is not None
    _, offer, _ = booking
    needs = LoadNeeds(
        hazard_class=delivery.hazard_class,
        food_grade=delivery.food_grade,
        body_types=frozenset(FleetBody(body) for body in offer.body_types),
    )
    probe = SplitRequest(cargo=cargo.cargo(0), fleet=(), pickup_days=(), round_trip_km=1.0)
    refused = refusal(vehicle, needs, cargo, probe)
    if refused is not None:
        return [Refusal(refused[0], refused[1], "vehicle_id")]
    too_small = capacity_refusal(planned, cargo, delivery.quantity)
    return [] if too_small is None else [too_small]


async def _day_refusals(
    session: AsyncSession,
    delivery: OutboundDelivery,
    vehicle: VehicleRow,
    member_id: uuid.UUID,
    name: str,
    terms: SplitTerms,
) -> list[Refusal]:
    day = delivery.planned_day
    vehicle_busy_s = await repository.busy_seconds(
        session, day=day, vehicle_id=vehicle.id, exclude=delivery.id
    )
    driver_busy_s = await repository.busy_seconds(
        session, day=day, driver_member_id=member_id, exclude=delivery.id
    )
    checks = (
        overbooked(
            busy_s=vehicle_busy_s,
            trip_s=delivery.trip_duration_s,
            working_day_s=terms.working_day_s,
            code="vehicle_overbooked",
            who=vehicle.plate,
            field="vehicle_id",
        ),
        overbooked(
            busy_s=driver_busy_s,
            trip_s=delivery.trip_duration_s,
            working_day_s=terms.working_day_s,
            code="driver_overbooked",
            who=name,
            field="driver_id",
        ),
    )
    return [found for found in checks if found is not None]


def _compartments(
    vehicle: Vehicle, cargo: CargoTerms, quantity: int
) -> list[dict[str, float | int]]:
    if vehicle.body is not BodyType.TANKER:
        return []
    load = cargo.cargo(quantity)
    assert isinstance(load, BulkCargo)
    allocation = allocate_compartments(vehicle, load, quantity) or ()
    trip = Trip(
        vehicle_id=vehicle.id,
        plate=vehicle.plate,
        day=date.min,
        trip_no=1,
        mass_kg=quantity,
        cost_cents=0,
        fill_ratio=0.0,
        compartments=allocation,
    )
    return compartment_allocation(trip)
