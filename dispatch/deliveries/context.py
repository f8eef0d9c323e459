"""What a split reads before it solves: the booking the carrier holds, its load and order,
the plant's calendar, the lane, the trucks that may carry it and what their days already
hold. The planner's request comes out of it, with what a draft needs to be saved."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from core.clock import now
from core.errors import FieldError
from dispatch.deliveries import repository
from dispatch.deliveries.enums import PlanKind, PlanState
from dispatch.deliveries.exceptions import (
    BookingNotPlannable,
    CarrierOnly,
    NothingToPlan,
    PlanInputInvalid,
)
from dispatch.deliveries.models import OutboundDelivery
from dispatch.deliveries.schemas import SplitTerms, VehicleChoice
from dispatch.deliveries.splitting import (
    COST_PER_KM_CENTS,
    FIXED_COST_CENTS,
    CargoTerms,
    DayUse,
    FleetVehicle,
    ItemSpec,
    Lane,
    VehicleTerms,
    lane,
    local_day,
    pickup_days,
    planner_vehicle,
    plant_capacity,
    plant_zone,
    refusal,
    taken_trips,
)
from dispatch.fleet.capability import LoadNeeds
from dispatch.fleet.enums import BodyType as FleetBody
from dispatch.fleet.models import Vehicle as VehicleRow
from dispatch.guards import require_dispatcher
from dispatch.market.enums import BookingState
from dispatch.market.exceptions import BookingNotFound
from dispatch.market.models import Booking, LoadOffer
from dispatch.orders.enums import QuantityUnit
from dispatch.orders.models import SalesOrder
from dispatch.planning import SplitRequest, Vehicle

PLANNABLE_BOOKINGS = (BookingState.CONFIRMED, BookingState.PICKED_UP)


@dataclass(frozen=True)
class SplitContext:
    """Everything a preview needs, read in one go: solve ``request``, then save the draft."""

    booking: Booking
    offer: LoadOffer
    order: SalesOrder
    kind: PlanKind
    terms: SplitTerms
    request: SplitRequest
    quantity: int
    replaces: tuple[OutboundDelivery, ...] = ()

    @property
    def time_limit_s(self) -> float | None:
        """The dispatcher's time limit for the solve, if any."""
        return self.terms.time_limit_s


async def carrier_booking(
    session: AsyncSession,
    principal: Principal,
    booking_id: uuid.UUID,
    *,
    dispatcher: bool = True,
) -> tuple[Booking, LoadOffer, SalesOrder]:
    """A booking the caller's carrier holds, with its load and order, plannable now."""
    found = await repository.booking_terms(session, booking_id)
    if found is None:
        raise BookingNotFound("no such booking")
    booking, offer, order = found
    if principal.organization_id != booking.carrier_id:
        if principal.organization_id in (booking.shipper_id, booking.seller_id, booking.buyer_id):
            raise CarrierOnly("only the booking's carrier splits it into deliveries")
        raise BookingNotFound("no such booking")
    if not dispatcher:
        return booking, offer, order
    require_dispatcher(principal)
    if booking.state not in PLANNABLE_BOOKINGS:
        raise BookingNotPlannable(f"the booking is {booking.state.value}")
    return booking, offer, order


def fleet_vehicle(row: VehicleRow) -> FleetVehicle:
    """A vehicle row as the split sees it."""
    return FleetVehicle(
        id=row.id,
        plate=row.plate,
        body_type=row.body_type,
        payload_kg=row.payload_kg,
        volume_l=row.volume_l,
        pallet_places=row.pallet_places,
        compartments_l=tuple(row.compartments_l),
        hazard_classes=frozenset(row.hazard_classes),
        food_grade=row.food_grade,
        status=row.status,
    )


def cargo_terms(terms: SplitTerms, unit: QuantityUnit) -> CargoTerms:
    """The product's loading facts from the dispatcher's terms and the booking's unit."""
    item = terms.item
    return CargoTerms(
        unit=unit,
        density_kg_per_m3=terms.density_kg_per_m3,
        liquid=terms.liquid if terms.liquid is not None else unit == QuantityUnit.LITRE,
        viscous=terms.viscous,
        max_fill_ratio=terms.max_fill_ratio,
        item=None
        if item is None
        else ItemSpec(
            weight_kg=item.weight_kg,
            volume_m3=item.volume_m3,
            pallet_places=item.pallet_places,
            stackable=item.stackable,
        ),
    )


async def split_context(
    session: AsyncSession,
    booking: Booking,
    offer: LoadOffer,
    order: SalesOrder,
    *,
    terms: SplitTerms,
    kind: PlanKind,
    replaces: Sequence[OutboundDelivery] = (),
    replaced_ids: Iterable[uuid.UUID] = (),
    lost: Iterable[uuid.UUID] = (),
    quantity: int | None = None,
    strict: bool = True,
) -> SplitContext:
    """The planner's request for a booking: its unplanned quantity plus what ``replaces``
    carry (or exactly ``quantity``), over the trucks that fit and are not ``lost``, around
    the trips the booking keeps and other bookings hold. With ``strict``, named vehicles
    that cannot carry the load are an input error; without, they are left out."""
    cargo = cargo_terms(terms, booking.unit)
    missing = cargo.check()
    if missing:
        raise PlanInputInvalid(
            "; ".join(message for _, message in missing),
            errors=[FieldError(("body", field), message) for field, message in missing],
        )
    plant = (await repository.sites_by_id(session, [order.origin_site_id]))[order.origin_site_id]
    zone = plant_zone(plant.timezone)
    days = pickup_days(
        booking.pickup_from, booking.pickup_until, zone=zone, today=local_day(now(), zone)
    )
    route = lane(
        (order.origin_lat, order.origin_lon),
        (order.destination_lat, order.destination_lon),
        round_trip_km=terms.round_trip_km,
        average_speed_kmh=terms.average_speed_kmh,
        handling_s=terms.handling_s,
        working_day_s=terms.working_day_s,
    )
    needs = LoadNeeds(
        hazard_class=offer.hazard_class,
        food_grade=offer.food_grade,
        body_types=frozenset(FleetBody(body) for body in offer.body_types),
    )
    fleet = await _fleet(
        session, booking, terms, cargo, needs, route, lost=set(lost), strict=strict
    )
    replaced = {d.id for d in replaces} | set(replaced_ids)
    if quantity is None:
        ledger = await repository.ledger(session, booking.id)
        unplanned = booking.quantity if ledger is None else ledger.unplanned_quantity
        quantity = unplanned + sum(d.quantity for d in replaces)
    if quantity <= 0:
        raise NothingToPlan("every unit of the booking is on a delivery already")
    use = await _day_use(session, booking.id, fleet, days, exclude=replaced)
    taken, elsewhere = taken_trips(
        fleet, use, days=days, working_day_s=terms.working_day_s, cargo=cargo
    )
    limit = terms.plant
    request = SplitRequest(
        cargo=cargo.cargo(quantity),
        fleet=tuple(fleet),
        pickup_days=days,
        plant=None
        if limit is None
        else plant_capacity(
            trips_per_day=limit.trips_per_day,
            quantity_per_day=limit.quantity_per_day,
            cargo=cargo,
            elsewhere=elsewhere,
        ),
        min_fill_ratio=terms.min_fill_ratio,
        round_trip_km=route.round_trip_km,
        taken_trips=taken,
    )
    return SplitContext(
        booking=booking,
        offer=offer,
        order=order,
        kind=kind,
        terms=terms,
        request=request,
        quantity=quantity,
        replaces=tuple(replaces),
    )


async def _fleet(
    session: AsyncSession,
    booking: Booking,
    terms: SplitTerms,
    cargo: CargoTerms,
    needs: LoadNeeds,
    route: Lane,
    *,
    lost: set[uuid.UUID],
    strict: bool,
) -> list[Vehicle]:
    rows = {row.id: row for row in await repository.carrier_vehicles(session, booking.carrier_id)}
    probe = SplitRequest(
        cargo=cargo.cargo(0), fleet=(), pickup_days=(), round_trip_km=route.round_trip_km
    )
    chosen = terms.vehicles
    explicit = chosen is not None
    candidates = (
        [(row, None) for row in rows.values()]
        if chosen is None
        else [(rows.get(choice.vehicle_id), choice) for choice in chosen]
    )
    fleet: list[Vehicle] = []
    errors: list[FieldError] = []
    for position, (row, choice) in enumerate(candidates):
        where = ("body", "vehicles", position, "vehicle_id")
        if row is None:
            errors.append(FieldError(where, "not a vehicle of your fleet", "vehicle_not_found"))
            continue
        vehicle = fleet_vehicle(row)
        refused = refusal(vehicle, needs, cargo, probe)
        if refused is None and vehicle.id in lost:
            refused = ("vehicle_lost", f"{vehicle.plate} is out of this plan")
        if refused is not None:
            if explicit:
                errors.append(FieldError(where, refused[1], refused[0]))
            continue
        fleet.append(
            planner_vehicle(
                vehicle,
                VehicleTerms(
                    fixed_cost_cents=_pick(choice, "fixed_cost_cents", FIXED_COST_CENTS),
                    cost_per_km_cents=_pick(choice, "cost_per_km_cents", COST_PER_KM_CENTS),
                    trips_per_day=_pick(choice, "trips_per_day", route.trips_per_day),
                ),
                cargo,
            )
        )
    if errors and strict:
        raise PlanInputInvalid(
            "some vehicles cannot carry this booking: " + "; ".join(e.msg for e in errors),
            errors=errors,
        )
    return fleet


def _pick(choice: VehicleChoice | None, name: str, default: int) -> int:
    value = None if choice is None else getattr(choice, name)
    return default if value is None else int(value)


async def _day_use(
    session: AsyncSession,
    booking_id: uuid.UUID,
    fleet: Sequence[Vehicle],
    days: Sequence[date],
    *,
    exclude: set[uuid.UUID],
) -> dict[tuple[str, date], DayUse]:
    found = await repository.vehicle_day_use(
        session,
        vehicle_ids=[uuid.UUID(vehicle.id) for vehicle in fleet],
        days=days,
        exclude=list(exclude),
    )
    use: dict[tuple[str, date], DayUse] = {}
    for (vehicle_id, day), rows in found.items():
        own = tuple(row.quantity for row in rows if row.booking_id == booking_id)
        other_s = sum(row.trip_duration_s for row in rows if row.booking_id != booking_id)
        use[(str(vehicle_id), day)] = DayUse(own_quantities=own, other_s=other_s)
    return use


async def last_terms(session: AsyncSession, booking_id: uuid.UUID) -> SplitTerms:
    """The terms of the booking's last committed plan (the defaults if it has none)."""
    committed = await repository.plans_of_booking(session, booking_id, state=PlanState.COMMITTED)
    if not committed:
        return SplitTerms()
    return SplitTerms.model_validate(committed[0].inputs)
