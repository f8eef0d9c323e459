"""The demo world's disputed delivery: 24 t of sugar that Longroad Logistics carried from the
mill to the bakery, loaded at 24,000 kg under seal S-4711 and received 620 kg short. The
driver's receipt (with the receiver's signature, when a file store is given) moved it to
delivered and opened a dispute; the buyer and the seller have each stated their case. Its
dispute bundle downloads from ``GET /v1/disputes/{id}/bundle`` and checks with
``haulpoint verify``.

The demo's mill has no yard set up, so the truck goes through the mill with the delivery's
own transitions, and the weighbridge ticket (tare, gross, net, seal) is written to the
delivery's log in the form the yard's weighbridge writes it (``yard.weighed``). The truck's
tracker has its two hours on the road stored as ingest would have stored them, so the
bundle's trail shows the drive from the mill to the bakery.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts import service as accounts
from accounts.principal import Principal
from accounts.tokens import TokenCache
from core import eventlog
from core.clock import now
from core.files import FileStore
from dispatch.deliveries import assignment, plans, transitions
from dispatch.deliveries.events import delivery_subject, parties
from dispatch.deliveries.schemas import AssignRequest, PlanCommit, PlanCreate, VehicleChoice
from dispatch.fleet import service as fleet
from dispatch.fleet.enums import BodyType
from dispatch.market import grabs, offers
from dispatch.market.enums import PricingMode, RateBasis
from dispatch.market.schemas import OfferCreate
from dispatch.orders import service as orders
from dispatch.orders.enums import QuantityUnit, TransportBy
from dispatch.orders.schemas import OrderCreate
from dispatch.planning import Plan, SplitRequest, plan_split
from tracking.devices import service as devices
from tracking.devices.schemas import DeviceCreate
from tracking.evidence import disputes
from tracking.evidence import service as evidence
from tracking.evidence.enums import Condition, FilePurpose
from tracking.evidence.schemas import ReceiptCreate, SealCheck, Stamp, StatementCreate
from tracking.evidence.service import WEIGHED
from tracking.pings import Ping
from tracking.positions import repository as positions
from tracking.positions.codec import to_row

REFERENCE: Final = "SO-2026-0415"
LOADED_KG: Final = 24_000
RECEIVED_KG: Final = 23_380
SEAL: Final = "S-4711"
PLATE: Final = "CE-LL 11"
MILL: Final = (52.9790, 10.5580)
BAKERY: Final = (53.5460, 10.0820)
ROUTE: Final = (MILL, (53.1200, 10.4700), (53.2500, 10.3000), (53.4000, 10.1800), BAKERY)
_NO_CACHE = TokenCache(ttl_s=0)
_SYSTEM = "system:demo"


class _InlineSolver:
    """Splits in the calling process: one truckload."""

    async def solve(self, request: SplitRequest, *, time_limit_s: float | None = None) -> Plan:
        """The plan for ``request``."""
        return plan_split(request, time_limit_s=time_limit_s or 5.0, workers=1)


def signature_png(width: int = 48, height: int = 16) -> bytes:
    """A small PNG of a scrawl, standing in for the receiver's signature on the phone."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            inked = abs(y - (height // 2 + int(4 * ((x % 12) / 6 - 1) ** 2) - 2)) < 1
            row += b"\x10\x10\x40" if inked else b"\xff\xff\xff"
        rows.append(bytes(row))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


async def _principal(session: AsyncSession, tokens: dict[str, str], name: str) -> Principal:
    return await accounts.authenticate(session, token=tokens[name], cache=_NO_CACHE)


async def seed_evidence(
    session: AsyncSession, tokens: dict[str, str], *, files: FileStore | None = None
) -> None:
    """Seed the disputed delivery; ``tokens`` are the demo accounts' by name."""
    sales = await _principal(session, tokens, "Tom Baker")
    buyer = await _principal(session, tokens, "Purchasing Paula")
    dispatcher = await _principal(session, tokens, "Dispatcher Dirk")
    driver = await _principal(session, tokens, "Driver Ivan Petrov")
    sites = {s.name: s for s in await accounts.list_sites(session, principal=sales)}
    bakery = {s.name: s for s in await accounts.list_sites(session, principal=buyer)}
    moment = now()
    order = await orders.create_order(
        session,
        principal=sales,
        data=OrderCreate(
            reference=REFERENCE,
            buyer_id=buyer.organization_id,
            commodity="white sugar EU2, bulk",
            quantity=LOADED_KG,
            unit=QuantityUnit.KG,
            origin_site_id=sites["Uelzen sugar mill"].id,
            destination_site_id=bakery["Hamburg bakery works"].id,
            pickup_from=moment - timedelta(hours=1),
            pickup_until=moment + timedelta(days=1),
            deliver_by=moment + timedelta(days=1),
            transport_by=TransportBy.SELLER,
            food_grade=True,
        ),
    )
    offer = await offers.post_offer(
        session,
        principal=sales,
        data=OfferCreate(
            order_id=order.id,
            quantity=LOADED_KG,
            body_types=[BodyType.SILO],
            pricing_mode=PricingMode.POSTED,
            rate_basis=RateBasis.PER_TONNE,
            rate_cents=1800,
            notes="One silo load to the bakery today.",
        ),
    )
    booking = await grabs.grab(session, principal=dispatcher, offer_id=offer.id, quantity=LOADED_KG)
    trucks = {v.plate: v for v in await fleet.list_vehicles(session, principal=dispatcher)}
    draft = await plans.preview(
        session,
        principal=dispatcher,
        solver=_InlineSolver(),
        data=PlanCreate(
            booking_id=booking.id, vehicles=[VehicleChoice(vehicle_id=trucks[PLATE].id)]
        ),
    )
    _, made = await plans.commit_plan(
        session, principal=dispatcher, plan_id=draft.id, data=PlanCommit(version=draft.version)
    )
    (delivery,) = made
    drivers = {
        row.membership_id: row
        for row, _name, _vehicle in await fleet.list_drivers(session, principal=dispatcher)
    }
    assert driver.membership_id is not None
    await assignment.assign(
        session,
        principal=dispatcher,
        delivery_id=delivery.id,
        data=AssignRequest(version=delivery.version, driver_id=drivers[driver.membership_id].id),
    )
    start = now() - timedelta(hours=5)
    await _through_the_mill(session, delivery.id, start)
    await _drive(session, dispatcher, trucks[PLATE].id, start + timedelta(minutes=55))
    await _receive(session, driver, delivery.id, files)
    found = await disputes.list_disputes(session, principal=buyer, delivery_id=delivery.id)
    dispute, _ = found[0]
    for who, text in (
        (buyer, "Our intake scale and the silo gauge both show 23.38 t."),
        (sales, f"Ticket WB-0415 weighed 24.00 t net; seal {SEAL} was intact on arrival."),
    ):
        await disputes.add_statement(
            session, principal=who, dispute_id=dispute.id, data=StatementCreate(text=text)
        )


async def _through_the_mill(session: AsyncSession, delivery_id: uuid.UUID, start: datetime) -> None:
    """What the gate and the weighbridge record: pass, slot, arrival, loading, ticket, exit."""
    await transitions.authorize(session, delivery_id=delivery_id, actor=_SYSTEM)
    await transitions.slot(session, delivery_id=delivery_id, slot_starts_at=start, actor=_SYSTEM)
    await transitions.arrive(
        session, delivery_id=delivery_id, actor=_SYSTEM, at=start + timedelta(minutes=5)
    )
    loaded = await transitions.load(
        session,
        delivery_id=delivery_id,
        loaded_quantity=LOADED_KG,
        actor=_SYSTEM,
        at=start + timedelta(minutes=45),
        ticket="WB-0415",
    )
    await eventlog.append(
        session,
        subject=delivery_subject(delivery_id),
        kind=WEIGHED,
        payload={
            "ticket": "WB-0415",
            "plate": PLATE,
            "tare_kg": 14_820,
            "gross_kg": 14_820 + LOADED_KG,
            "net_kg": LOADED_KG,
            "planned_kg": LOADED_KG,
            "loaded_quantity": LOADED_KG,
            "out_of_tolerance": False,
            "seal_numbers": [SEAL],
        },
        audience=parties(loaded),
        actor=_SYSTEM,
    )
    await transitions.depart(
        session, delivery_id=delivery_id, actor=_SYSTEM, at=start + timedelta(minutes=55)
    )


async def _drive(
    session: AsyncSession, dispatcher: Principal, vehicle_id: uuid.UUID, left_at: datetime
) -> None:
    """The truck's tracker: registered on the vehicle, with a fix a minute on the road from
    the mill to the bakery (two hours), as ingest would have stored them."""
    device, _ = await devices.register_device(
        session,
        principal=dispatcher,
        data=DeviceCreate(name=f"{PLATE} tracker", vehicle_id=vehicle_id),
    )
    legs = list(pairwise(ROUTE))
    minutes = 120
    rows = []
    for minute in range(minutes + 1):
        along = minute / minutes * len(legs)
        index = min(int(along), len(legs) - 1)
        share = along - index
        (lat0, lon0), (lat1, lon1) = legs[index]
        ping = Ping(
            device_key=str(device.id),
            recorded_at=left_at + timedelta(minutes=minute),
            lat=lat0 + (lat1 - lat0) * share,
            lon=lon0 + (lon1 - lon0) * share,
            speed_mps=0.0 if minute == minutes else 19.0,
            accuracy_m=5.0,
        )
        rows.append(to_row(device.number, ping))
    await positions.insert_positions(session, rows)


def _stamp(minutes_ago: int) -> Stamp:
    return Stamp(
        at=now() - timedelta(minutes=minutes_ago), lat=BAKERY[0], lon=BAKERY[1], accuracy_m=6.0
    )


async def _receive(
    session: AsyncSession, driver: Principal, delivery_id: uuid.UUID, files: FileStore | None
) -> None:
    """The driver's receipt at the bakery, with the receiver's signature when files are kept."""
    signature: str | None = None
    if files is not None:
        stored = await evidence.upload_file(
            session,
            principal=driver,
            store=files,
            delivery_id=delivery_id,
            data=signature_png(),
            declared_size=None,
            purpose=FilePurpose.SIGNATURE,
            captured_at=now() - timedelta(minutes=82),
            lat=BAKERY[0],
            lon=BAKERY[1],
        )
        signature = stored.sha256
    await evidence.record_receipt(
        session,
        principal=driver,
        delivery_id=delivery_id,
        data=ReceiptCreate(
            arrival=_stamp(124),
            unloading_started=_stamp(115),
            unloading_ended=_stamp(80),
            received_quantity=RECEIVED_KG,
            unit=QuantityUnit.KG,
            condition=Condition.GOOD,
            seals=[SealCheck(number=SEAL, intact=True)],
            receiver_name="Hamburg bakery works, intake: B. Krüger",
            signature_sha256=signature,
        ),
    )
