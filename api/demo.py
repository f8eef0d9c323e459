"""The demo world: a sugar mill, two buyers, three carriers, their people and fleets, a
500 t sugar order with loads on the market (posted, auctioned, tendered), a second buyer's
100 t load, a hazardous ethanol load only one carrier may take, a second 500 t sugar order
booked whole by Rapid Haulage and split across its food-grade silos into outbound deliveries
with drivers and pickup passes, a 52 t self-pickup order that the buyer authorizes Longroad
Logistics to collect with pickup passes on its driver's phone, the mill's yard with six docks
and slots for the deliveries with passes, a 24 t delivery received short with an open
dispute (api/demo_evidence.py), and ready tokens."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts import service as accounts
from accounts.enums import Department, OrgKind, PartnerRelation, Role, SiteKind
from accounts.principal import Principal
from accounts.schemas import MemberCreate, PartnershipCreate, SignupRequest, SiteCreate
from accounts.tokens import TokenCache
from api.demo_evidence import seed_evidence
from api.demo_yard import seed_yard
from core.clock import now
from core.database import Database
from core.files import FileStore
from dispatch.authorizations import grants, issuing
from dispatch.authorizations.schemas import DeliveryGrant, GrantCreate
from dispatch.deliveries import assignment, plans
from dispatch.deliveries.schemas import AssignRequest, PlanCommit, PlanCreate, VehicleChoice
from dispatch.deliveries.solver import SplitSolver
from dispatch.fleet import service as fleet
from dispatch.fleet.enums import BodyType, QualificationKind
from dispatch.fleet.schemas import (
    DriverCreate,
    PairDriver,
    ProfileUpdate,
    QualificationCreate,
    VehicleCreate,
)
from dispatch.market import grabs, offers
from dispatch.market.enums import PricingMode, RateBasis
from dispatch.market.schemas import OfferCreate
from dispatch.orders import service as orders
from dispatch.orders.enums import QuantityUnit, TransportBy
from dispatch.orders.schemas import OrderCreate
from dispatch.planning import Plan, SplitRequest, plan_split

DEMO_PASSWORD = "haulpoint-demo"  # noqa: S105 - printed for the demo, never used elsewhere
DEMO_TOKEN_TTL_S = 7 * 24 * 3600
_NO_CACHE = TokenCache(ttl_s=0)


@dataclass(frozen=True)
class DemoAccount:
    """A demo login and a token ready to paste."""

    organization: str
    role: str
    name: str
    login: str
    token: str


@dataclass(frozen=True)
class _Site:
    name: str
    kind: SiteKind
    lat: float
    lon: float
    address: str


@dataclass(frozen=True)
class _Org:
    name: str
    domain: str
    kinds: tuple[OrgKind, ...]
    owner: str
    members: tuple[tuple[str, Role, Department | None], ...]
    sites: tuple[_Site, ...] = ()


_WORLD = (
    _Org(
        "Sweet Sugar Mill",
        "sweetsugar.example",
        (OrgKind.SELLER, OrgKind.PLANT_OPERATOR),
        "Mei Chen",
        (
            ("Tom Baker", Role.DISPATCHER, Department.SALES),
            ("Gate Clerk Ana", Role.CLERK, Department.OPERATIONS),
            ("Finance Fay", Role.VIEWER, Department.FINANCE),
        ),
        (_Site("Uelzen sugar mill", SiteKind.PLANT, 52.9790, 10.5580, "Uelzen, Germany"),),
    ),
    _Org(
        "Acme Foods",
        "acmefoods.example",
        (OrgKind.BUYER,),
        "Raj Patel",
        (
            ("Purchasing Paula", Role.DISPATCHER, Department.PURCHASING),
            ("Finance Frank", Role.VIEWER, Department.FINANCE),
        ),
        (_Site("Hamburg bakery works", SiteKind.DELIVERY_SITE, 53.5460, 10.0820, "Hamburg"),),
    ),
    _Org(
        "Rapid Haulage",
        "rapidhaulage.example",
        (OrgKind.CARRIER,),
        "Omar Haddad",
        (
            ("Dispatcher Dana", Role.DISPATCHER, Department.TRANSPORT),
            ("Driver Li Wei", Role.DRIVER, Department.TRANSPORT),
            ("Driver Sam Okafor", Role.DRIVER, Department.TRANSPORT),
        ),
        (_Site("Lüneburg depot", SiteKind.DEPOT, 53.2510, 10.4140, "Lüneburg, Germany"),),
    ),
    _Org(
        "Longroad Logistics",
        "longroad.example",
        (OrgKind.CARRIER,),
        "Greta Nilsson",
        (
            ("Dispatcher Dirk", Role.DISPATCHER, Department.TRANSPORT),
            ("Driver Ivan Petrov", Role.DRIVER, Department.TRANSPORT),
        ),
        (_Site("Celle depot", SiteKind.DEPOT, 52.6230, 10.0800, "Celle, Germany"),),
    ),
    _Org(
        "Nordwind Confectionery",
        "nordwind.example",
        (OrgKind.BUYER,),
        "Lena Vogel",
        (("Purchasing Piet", Role.DISPATCHER, Department.PURCHASING),),
        (_Site("Bremen confectionery", SiteKind.DELIVERY_SITE, 53.0793, 8.8017, "Bremen"),),
    ),
    _Org(
        "Heide Bulk Transport",
        "heidebulk.example",
        (OrgKind.CARRIER,),
        "Jonas Berg",
        (
            ("Dispatcher Hanna", Role.DISPATCHER, Department.TRANSPORT),
            ("Driver Mateo Ruiz", Role.DRIVER, Department.TRANSPORT),
        ),
        (_Site("Soltau depot", SiteKind.DEPOT, 52.9860, 9.8430, "Soltau, Germany"),),
    ),
)

_BUYERS = ("Acme Foods", "Nordwind Confectionery")
_CARRIERS = ("Rapid Haulage", "Longroad Logistics", "Heide Bulk Transport")


def _login(name: str, domain: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{domain}"


async def seed(database: Database, *, files: FileStore | None = None) -> list[DemoAccount]:
    """Create the demo world in an empty database and return a token for every account;
    with ``files``, evidence files (a receipt's signature) are stored there."""
    async with database.transaction() as session:
        made = await _seed(session)
        await seed_evidence(session, {a.name: a.token for a in made}, files=files)
        return made


async def _seed(session: AsyncSession) -> list[DemoAccount]:
    made: list[DemoAccount] = []
    org_ids = {}
    principals: dict[str, Principal] = {}
    site_ids: dict[str, uuid.UUID] = {}
    for org in _WORLD:
        owner_login = _login(org.owner, org.domain)
        issued, organization, _owner, _ = await accounts.signup(
            session,
            data=SignupRequest(
                organization_name=org.name,
                kinds=list(org.kinds),
                owner_name=org.owner,
                email=owner_login,
                password=DEMO_PASSWORD,
            ),
            session_ttl_s=DEMO_TOKEN_TTL_S,
        )
        org_ids[org.name] = organization.id
        made.append(DemoAccount(org.name, "owner", org.owner, owner_login, issued.token))
        owner = await accounts.authenticate(session, token=issued.token, cache=_NO_CACHE)
        for name, role, department in org.members:
            login = _login(name, org.domain)
            member, _ = await accounts.create_member(
                session,
                principal=owner,
                data=MemberCreate(
                    name=name,
                    email=login,
                    password=DEMO_PASSWORD,
                    role=role,
                    department=department,
                ),
            )
            token = await accounts.issue_session(
                session, organization=organization, member=member, ttl_s=DEMO_TOKEN_TTL_S
            )
            made.append(DemoAccount(org.name, role.value, name, login, token.token))
            principals[name] = await accounts.authenticate(
                session, token=token.token, cache=_NO_CACHE
            )
        principals[org.name] = owner
        for site in org.sites:
            created = await accounts.create_site(
                session,
                principal=owner,
                data=SiteCreate(
                    name=site.name,
                    kind=site.kind,
                    lat=site.lat,
                    lon=site.lon,
                    address=site.address,
                    timezone="Europe/Berlin",
                ),
            )
            site_ids[site.name] = created.id
        if org.name == "Sweet Sugar Mill":
            seller_owner = owner
    for buyer in _BUYERS:
        await accounts.create_partnership(
            session,
            principal=seller_owner,
            data=PartnershipCreate(partner_id=org_ids[buyer], relation=PartnerRelation.CUSTOMER),
        )
    for carrier in _CARRIERS:
        await accounts.create_partnership(
            session,
            principal=seller_owner,
            data=PartnershipCreate(partner_id=org_ids[carrier], relation=PartnerRelation.CARRIER),
        )
    await _seed_market(session, principals, org_ids, site_ids)
    return made


@dataclass(frozen=True)
class _Vehicle:
    plate: str
    body: BodyType
    payload_kg: int
    food_grade: bool = False
    volume_l: int | None = None
    compartments_l: tuple[int, ...] = ()
    hazard_classes: tuple[str, ...] = ()
    pallet_places: int | None = None
    driver: str | None = None


@dataclass(frozen=True)
class _Fleet:
    carrier: str
    depot: str
    hazard_classes: tuple[str, ...]
    vehicles: tuple[_Vehicle, ...]
    drivers: tuple[tuple[str, str, bool], ...]  # name, licence class, hazmat training


_FLEETS = (
    _Fleet(
        "Rapid Haulage",
        "Lüneburg depot",
        ("3", "8"),
        (
            _Vehicle("LG-RH 101", BodyType.SILO, 26_000, True, 62_000, driver="Driver Sam Okafor"),
            _Vehicle("LG-RH 102", BodyType.SILO, 26_000, True, 62_000),
            _Vehicle(
                "LG-RH 201",
                BodyType.TANKER,
                24_000,
                compartments_l=(8_000, 8_000, 6_000, 8_000),
                hazard_classes=("3", "8"),
                driver="Driver Li Wei",
            ),
            _Vehicle("LG-RH 301", BodyType.TIPPER, 25_000, volume_l=30_000),
            _Vehicle("LG-RH 401", BodyType.CURTAINSIDER, 24_000, pallet_places=33),
        ),
        (("Driver Li Wei", "CE", True), ("Driver Sam Okafor", "CE", False)),
    ),
    _Fleet(
        "Longroad Logistics",
        "Celle depot",
        (),
        (
            _Vehicle("CE-LL 11", BodyType.SILO, 25_000, True, 58_000, driver="Driver Ivan Petrov"),
            _Vehicle("CE-LL 12", BodyType.CURTAINSIDER, 24_000, pallet_places=33),
            _Vehicle("CE-LL 13", BodyType.FLATBED, 25_000),
        ),
        (("Driver Ivan Petrov", "CE", False),),
    ),
    _Fleet(
        "Heide Bulk Transport",
        "Soltau depot",
        (),
        (
            _Vehicle("HK-HB 7", BodyType.SILO, 26_000, True, 60_000, driver="Driver Mateo Ruiz"),
            _Vehicle("HK-HB 8", BodyType.TIPPER, 25_000, True, volume_l=30_000),
        ),
        (("Driver Mateo Ruiz", "CE", False),),
    ),
)

_TONNE = 1000


async def _seed_fleet(
    session: AsyncSession, spec: _Fleet, principals: dict[str, Principal], depot: uuid.UUID
) -> dict[str, uuid.UUID]:
    owner = principals[spec.carrier]
    moment = now()
    await fleet.update_profile(
        session,
        principal=owner,
        data=ProfileUpdate(version=0, about=f"{spec.carrier}: bulk and food-grade haulage"),
    )
    kinds = [
        QualificationKind.TRANSPORT_LICENCE,
        QualificationKind.INSURANCE,
        QualificationKind.FOOD_GRADE,
    ]
    for kind in kinds:
        await fleet.add_qualification(
            session,
            principal=owner,
            data=QualificationCreate(
                kind=kind,
                document_ref=f"{kind.value.upper()}-{spec.carrier[:4].upper()}-2026",
                valid_from=moment - timedelta(days=30),
                expires_at=moment + timedelta(days=335),
            ),
        )
    if spec.hazard_classes:
        await fleet.add_qualification(
            session,
            principal=owner,
            data=QualificationCreate(
                kind=QualificationKind.HAZMAT_PERMIT,
                document_ref=f"ADR-{spec.carrier[:4].upper()}-2026",
                hazard_classes=list(spec.hazard_classes),
                valid_from=moment - timedelta(days=30),
                expires_at=moment + timedelta(days=335),
            ),
        )
    drivers = {}
    for name, licence, hazmat in spec.drivers:
        member = principals[name].membership_id
        assert member is not None
        driver, _, _ = await fleet.create_driver(
            session,
            principal=owner,
            data=DriverCreate(
                membership_id=member,
                licence_class=licence,
                licence_expires_at=moment + timedelta(days=900),
                hazmat_training_expires_at=moment + timedelta(days=400) if hazmat else None,
            ),
        )
        drivers[name] = driver.id
    for item in spec.vehicles:
        vehicle = await fleet.create_vehicle(
            session,
            principal=owner,
            data=VehicleCreate(
                plate=item.plate,
                body_type=item.body,
                payload_kg=item.payload_kg,
                volume_l=item.volume_l,
                pallet_places=item.pallet_places,
                compartments_l=list(item.compartments_l),
                hazard_classes=list(item.hazard_classes),
                food_grade=item.food_grade,
                home_site_id=depot,
            ),
        )
        if item.driver is not None:
            await fleet.pair_driver(
                session,
                principal=owner,
                vehicle_id=vehicle.id,
                data=PairDriver(version=vehicle.version, driver_id=drivers[item.driver]),
            )
    return drivers


async def _seed_market(
    session: AsyncSession,
    principals: dict[str, Principal],
    org_ids: dict[str, uuid.UUID],
    site_ids: dict[str, uuid.UUID],
) -> None:
    drivers: dict[str, uuid.UUID] = {}
    for spec in _FLEETS:
        drivers |= await _seed_fleet(session, spec, principals, site_ids[spec.depot])
    sales = principals["Tom Baker"]
    start = now().replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=1)
    sugar = await orders.create_order(
        session,
        principal=sales,
        data=OrderCreate(
            reference="SO-2026-0412",
            buyer_id=org_ids["Acme Foods"],
            commodity="white sugar EU2, bulk",
            quantity=500 * _TONNE,
            unit=QuantityUnit.KG,
            origin_site_id=site_ids["Uelzen sugar mill"],
            destination_site_id=site_ids["Hamburg bakery works"],
            pickup_from=start,
            pickup_until=start + timedelta(days=5),
            deliver_by=start + timedelta(days=6),
            transport_by=TransportBy.SELLER,
            food_grade=True,
        ),
    )
    bulk = [BodyType.SILO, BodyType.TIPPER]
    for data in (
        OfferCreate(
            order_id=sugar.id,
            quantity=200 * _TONNE,
            min_lot=25 * _TONNE,
            body_types=bulk,
            pricing_mode=PricingMode.POSTED,
            rate_basis=RateBasis.PER_TONNE,
            rate_cents=1850,
            notes="Grab in lots of 25 t; food-grade silo or lined tipper.",
        ),
        OfferCreate(
            order_id=sugar.id,
            quantity=200 * _TONNE,
            body_types=bulk,
            pricing_mode=PricingMode.AUCTION,
            rate_basis=RateBasis.PER_TONNE,
            ceiling_cents=2100,
            closes_at=now() + timedelta(days=2),
            sealed=False,
            notes="Open auction for the whole 200 t; best bid shown.",
        ),
        OfferCreate(
            order_id=sugar.id,
            quantity=100 * _TONNE,
            body_types=bulk,
            pricing_mode=PricingMode.TENDER,
            rate_basis=RateBasis.PER_TONNE,
            rate_cents=1900,
            tender_carrier_ids=[org_ids["Longroad Logistics"], org_ids["Rapid Haulage"]],
            response_timeout_s=2 * 3600,
            notes="Offered to our regular carriers first, then to the market.",
        ),
    ):
        await offers.post_offer(session, principal=sales, data=data)
    # The second buyer's order: 100 t to Bremen, open to every qualified carrier.
    bremen = await orders.create_order(
        session,
        principal=sales,
        data=OrderCreate(
            reference="SO-2026-0416",
            buyer_id=org_ids["Nordwind Confectionery"],
            commodity="white sugar EU2, bulk",
            quantity=100 * _TONNE,
            unit=QuantityUnit.KG,
            origin_site_id=site_ids["Uelzen sugar mill"],
            destination_site_id=site_ids["Bremen confectionery"],
            pickup_from=start,
            pickup_until=start + timedelta(days=4),
            deliver_by=start + timedelta(days=5),
            transport_by=TransportBy.SELLER,
            food_grade=True,
        ),
    )
    await offers.post_offer(
        session,
        principal=sales,
        data=OfferCreate(
            order_id=bremen.id,
            quantity=100 * _TONNE,
            min_lot=25 * _TONNE,
            body_types=bulk,
            pricing_mode=PricingMode.POSTED,
            rate_basis=RateBasis.PER_TONNE,
            rate_cents=2400,
            notes="Bremen, Mondays to Thursdays; lots of 25 t.",
        ),
    )
    ethanol = await orders.create_order(
        session,
        principal=sales,
        data=OrderCreate(
            reference="SO-2026-0413",
            buyer_id=org_ids["Acme Foods"],
            commodity="ethanol 96 %, from molasses",
            quantity=30_000,
            unit=QuantityUnit.LITRE,
            origin_site_id=site_ids["Uelzen sugar mill"],
            destination_site_id=site_ids["Hamburg bakery works"],
            pickup_from=start,
            pickup_until=start + timedelta(days=3),
            deliver_by=start + timedelta(days=4),
            transport_by=TransportBy.SELLER,
            hazard_class="3",
            un_number="UN1170",
        ),
    )
    await offers.post_offer(
        session,
        principal=sales,
        data=OfferCreate(
            order_id=ethanol.id,
            quantity=30_000,
            min_lot=10_000,
            body_types=[BodyType.TANKER],
            pricing_mode=PricingMode.POSTED,
            rate_basis=RateBasis.PER_M3,
            rate_cents=4500,
            notes="ADR class 3: a permit and an equipped tanker are needed.",
        ),
    )
    await _seed_deliveries(session, principals, org_ids, site_ids, drivers, start)
    await _seed_self_pickup(session, principals, org_ids, site_ids, drivers, start)
    await seed_yard(
        session, owner=principals["Sweet Sugar Mill"], site_id=site_ids["Uelzen sugar mill"]
    )


# Which driver takes the trips of each of Rapid Haulage's food-grade silos.
_SILO_DRIVERS = {"LG-RH 101": "Driver Sam Okafor", "LG-RH 102": "Driver Li Wei"}


async def _seed_deliveries(
    session: AsyncSession,
    principals: dict[str, Principal],
    org_ids: dict[str, uuid.UUID],
    site_ids: dict[str, uuid.UUID],
    drivers: dict[str, uuid.UUID],
    start: datetime,
) -> None:
    sales = principals["Tom Baker"]
    order = await orders.create_order(
        session,
        principal=sales,
        data=OrderCreate(
            reference="SO-2026-0411",
            buyer_id=org_ids["Acme Foods"],
            commodity="white sugar EU2, bulk",
            quantity=500 * _TONNE,
            unit=QuantityUnit.KG,
            origin_site_id=site_ids["Uelzen sugar mill"],
            destination_site_id=site_ids["Hamburg bakery works"],
            pickup_from=start,
            pickup_until=start + timedelta(days=5),
            deliver_by=start + timedelta(days=6),
            transport_by=TransportBy.SELLER,
            food_grade=True,
        ),
    )
    offer = await offers.post_offer(
        session,
        principal=sales,
        data=OfferCreate(
            order_id=order.id,
            quantity=500 * _TONNE,
            body_types=[BodyType.SILO, BodyType.TIPPER],
            pricing_mode=PricingMode.POSTED,
            rate_basis=RateBasis.PER_TONNE,
            rate_cents=1800,
            notes="The whole 500 t to one carrier.",
        ),
    )
    dana = principals["Dispatcher Dana"]
    booking = await grabs.grab(session, principal=dana, offer_id=offer.id, quantity=500 * _TONNE)
    # The lane runs twice a day with 45 minutes at each end.
    terms = PlanCreate(booking_id=booking.id, handling_s=90 * 60)
    solver = SplitSolver(processes=1, time_limit_s=10)
    try:
        draft = await plans.preview(session, principal=dana, solver=solver, data=terms)
    finally:
        await asyncio.to_thread(solver.close)
    _, made = await plans.commit_plan(
        session, principal=dana, plan_id=draft.id, data=PlanCommit(version=draft.version)
    )
    for delivery in made:
        driver = _SILO_DRIVERS.get(delivery.vehicle_plate)
        if driver is None:
            continue
        await assignment.assign(
            session,
            principal=dana,
            delivery_id=delivery.id,
            data=AssignRequest(version=delivery.version, driver_id=drivers[driver]),
        )
    # The seller arranges this transport, so it authorizes its carrier at the plant, and the
    # carrier passes that on to the driver and truck of each trip. The earliest trip left the
    # mill this morning (api/demo_fleet.py puts it on the road); every later one holds a
    # pickup pass, and the mill's yard gives it a slot.
    offered = await grants.offer_grant(
        session,
        principal=sales,
        data=GrantCreate(
            order_id=order.id,
            booking_id=booking.id,
            carrier_id=org_ids["Rapid Haulage"],
            quantity=500 * _TONNE,
        ),
    )
    accepted = await grants.accept_grant(
        session, principal=dana, grant_id=offered.id, version=offered.version
    )
    driven = [d for d in made if d.vehicle_plate in _SILO_DRIVERS]
    driven.sort(key=lambda d: (d.planned_day, d.trip_no, d.vehicle_plate))
    for delivery in driven[1:]:
        await issuing.grant_delivery(
            session,
            principal=dana,
            grant_id=accepted.id,
            data=DeliveryGrant(delivery_id=delivery.id),
        )


class _InlineSolver:
    """Splits in the calling process: the demo's split is two trucks, done in milliseconds."""

    async def solve(self, request: SplitRequest, *, time_limit_s: float | None = None) -> Plan:
        """The plan for ``request``."""
        return plan_split(request, time_limit_s=time_limit_s or 5.0, workers=1)


_SELF_PICKUP_TRUCKS = {"CE-LL 11": "Driver Ivan Petrov"}


async def _seed_self_pickup(
    session: AsyncSession,
    principals: dict[str, Principal],
    org_ids: dict[str, uuid.UUID],
    site_ids: dict[str, uuid.UUID],
    drivers: dict[str, uuid.UUID],
    start: datetime,
) -> None:
    """Acme Foods collects 52 t itself: it books Longroad Logistics, which splits the booking
    over its silo, puts its driver on it, and passes the buyer's authorization on to him."""
    quantity = 52 * _TONNE
    order = await orders.create_order(
        session,
        principal=principals["Tom Baker"],
        data=OrderCreate(
            reference="SO-2026-0414",
            buyer_id=org_ids["Acme Foods"],
            commodity="white sugar EU2, bulk",
            quantity=quantity,
            unit=QuantityUnit.KG,
            origin_site_id=site_ids["Uelzen sugar mill"],
            destination_site_id=site_ids["Hamburg bakery works"],
            pickup_from=start,
            pickup_until=start + timedelta(days=2),
            deliver_by=start + timedelta(days=3),
            transport_by=TransportBy.BUYER,
            food_grade=True,
        ),
    )
    buyer = principals["Purchasing Paula"]
    offer = await offers.post_offer(
        session,
        principal=buyer,
        data=OfferCreate(
            order_id=order.id,
            quantity=quantity,
            body_types=[BodyType.SILO],
            pricing_mode=PricingMode.POSTED,
            rate_basis=RateBasis.PER_TONNE,
            rate_cents=1700,
            notes="Self-pickup: we send our own carrier with a pickup pass.",
        ),
    )
    dispatcher = principals["Dispatcher Dirk"]
    booking = await grabs.grab(session, principal=dispatcher, offer_id=offer.id, quantity=quantity)
    trucks = {
        v.plate: v
        for v in await fleet.list_vehicles(session, principal=principals["Longroad Logistics"])
    }
    draft = await plans.preview(
        session,
        principal=dispatcher,
        solver=_InlineSolver(),
        data=PlanCreate(
            booking_id=booking.id,
            vehicles=[VehicleChoice(vehicle_id=trucks[plate].id) for plate in _SELF_PICKUP_TRUCKS],
        ),
    )
    _, deliveries = await plans.commit_plan(
        session, principal=dispatcher, plan_id=draft.id, data=PlanCommit(version=draft.version)
    )
    for delivery in deliveries:
        await assignment.assign(
            session,
            principal=dispatcher,
            delivery_id=delivery.id,
            data=AssignRequest(
                version=delivery.version,
                driver_id=drivers[_SELF_PICKUP_TRUCKS[delivery.vehicle_plate]],
            ),
        )
    offered = await grants.offer_grant(
        session,
        principal=buyer,
        data=GrantCreate(
            order_id=order.id,
            booking_id=booking.id,
            carrier_id=org_ids["Longroad Logistics"],
            quantity=quantity,
        ),
    )
    accepted = await grants.accept_grant(
        session, principal=dispatcher, grant_id=offered.id, version=offered.version
    )
    for delivery in deliveries:
        await issuing.grant_delivery(
            session,
            principal=dispatcher,
            grant_id=accepted.id,
            data=DeliveryGrant(delivery_id=delivery.id),
        )
