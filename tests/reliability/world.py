"""A seeded world to attack: the demo's trade network (A), an unrelated organization (U) and
an organization related to A but party to none of its records (R), each with every role.

A is the demo: a sugar mill, its buyer and two carriers, with orders, offers (posted, auction,
tender), a bid, bookings, plans, outbound deliveries, pickup grants and passes, devices and
their positions, and the event log all of that wrote. Its records' ids are found by reading
the API as A's accounts, so whatever a new route returns is harvested too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.responses import StreamingResponse

from api.demo import DemoAccount, seed
from api.demo_fleet import DemoTruck, drive, seed_fleet
from core.database import Database
from core.files import open_file_store
from core.settings import Settings
from tests.helpers import Org, add_member, bearer, signup

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHA256_TEXT = re.compile(r"[0-9a-f]{64}")
PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")

ROLES = ("owner", "admin", "dispatcher", "clerk", "driver", "viewer")
ALL_KINDS = ["seller", "buyer", "carrier", "plant_operator"]

SUBJECT_KINDS = {
    "delivery": "delivery_id",
    "booking": "booking_id",
    "order": "order_id",
    "load": "offer_id",
    "carrier": "carrier_id",
    "plant": "plant_site_id",
    "device": "device_id",
}
"""Event-log subjects (``kind:id``) and the pool of ids each kind is filled from."""


@dataclass(frozen=True)
class Principal:
    """Someone who calls the API: an organization's label, a role and a token."""

    org: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization headers."""
        return bearer(self.token)

    def __str__(self) -> str:
        return f"{self.org}/{self.role}"


@dataclass
class World:
    """A's accounts and trucks, the outsiders, and what was harvested of A's records."""

    accounts: list[DemoAccount]
    trucks: list[DemoTruck]
    outsiders: dict[str, list[Principal]]
    outsider_orgs: dict[str, Org]
    pool: dict[str, list[str]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    public: set[str] = field(default_factory=set)
    partners_of: dict[str, set[str]] = field(default_factory=dict)
    own: dict[str, set[str]] = field(default_factory=dict)

    @property
    def insiders(self) -> list[Principal]:
        """Every account of A's network."""
        return [Principal(a.organization, a.role, a.token) for a in self.accounts]

    def owner(self, organization: str) -> Principal:
        """The owner of one of A's organizations."""
        return next(p for p in self.insiders if p.org == organization and p.role == "owner")

    def secrets(self) -> set[str]:
        """A's tokens: none may ever reach an outsider."""
        return {a.token for a in self.accounts} | {t.token for t in self.trucks}

    def forbidden_for(self, outsider: str) -> set[str]:
        """A's identifiers an outsider may not learn: everything seen, less the open market's
        public listing, the outsider's own ids and (for R) what its partnerships show it."""
        allowed = (
            self.public | self.partners_of.get(outsider, set()) | self.own.get(outsider, set())
        )
        return self.seen - allowed

    def add(self, name: str, value: str) -> None:
        """Remember one id under a parameter name."""
        values = self.pool.setdefault(name, [])
        if value not in values:
            values.append(value)

    def prefer(self, name: str, value: str) -> None:
        """Try ``value`` first for ``name`` (routes are called with the first few ids only)."""
        values = self.pool.setdefault(name, [])
        if value in values:
            values.remove(value)
        values.insert(0, value)


def api_routes(app: FastAPI) -> Iterator[tuple[APIRoute, str]]:
    """Every HTTP route of the app with its full path (routers included)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path:
            yield route, context.path


def websocket_routes(app: FastAPI) -> list[str]:
    """The paths of every websocket route."""
    return [
        str(context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIWebSocketRoute)
    ]


def is_stream(route: APIRoute) -> bool:
    """A route that answers with an endless stream (server-sent events)."""
    response_class = getattr(route.response_class, "value", route.response_class)
    return isinstance(response_class, type) and issubclass(response_class, StreamingResponse)


def is_public(route: APIRoute) -> bool:
    """A route the OpenAPI document marks public with its reason."""
    return bool((route.openapi_extra or {}).get("x-public"))


def path_params(path: str) -> list[str]:
    """The names of a path's parameters."""
    return PARAM.findall(path)


def required_query(route: APIRoute) -> list[str]:
    """The names of the query parameters a route cannot do without."""
    return [p.name for p in route.dependant.query_params if p.field_info.is_required()]


def singular_id(segment: str) -> str:
    """``deliveries`` → ``delivery_id``, ``passes`` → ``pass_id``, ``bids`` → ``bid_id``."""
    if segment.endswith("ies"):
        stem = segment[:-3] + "y"
    elif segment.endswith("sses"):
        stem = segment[:-2]
    elif segment.endswith("s"):
        stem = segment[:-1]
    else:
        stem = segment
    return stem.replace("-", "_") + "_id"


def harvest(world: World, path: str, body: Any) -> None:
    """Take every id out of a response A's account received."""
    text_ids = set(UUID_TEXT.findall(str(body)))
    world.seen |= text_ids
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if isinstance(body, dict) and isinstance(body.get("data"), list) and "{" not in last:
        for item in body["data"]:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                world.add(singular_id(last), item["id"])
    _harvest_keys(world, body)


def _harvest_keys(world: World, body: Any) -> None:
    if isinstance(body, dict):
        for key, value in body.items():
            if key.endswith("_id") and isinstance(value, str) and UUID_TEXT.fullmatch(value):
                world.add(key, value)
            elif key == "sha256" and isinstance(value, str) and SHA256_TEXT.fullmatch(value):
                world.add(key, value)
                world.seen.add(value)
            else:
                _harvest_keys(world, value)
    elif isinstance(body, list):
        for item in body:
            _harvest_keys(world, item)


def subjects(world: World) -> list[str]:
    """Event-log subjects of A's records."""
    found = []
    for kind, param in SUBJECT_KINDS.items():
        found += [f"{kind}:{value}" for value in world.pool.get(param, [])[:3]]
    return found


async def outsider(client: httpx.AsyncClient, label: str, name: str) -> tuple[Org, list[Principal]]:
    """An organization playing every kind, with an account of every role."""
    org = await signup(client, name, ALL_KINDS)
    principals = [Principal(label, "owner", org.token)]
    for role in ROLES[1:]:
        _, token = await add_member(client, org, role)
        principals.append(Principal(label, role, token))
    return org, principals


async def build_world(client: httpx.AsyncClient, database: Database, settings: Settings) -> World:
    """Seed A, U and R, give A a bid, positions and a yard visit, and R its partnerships."""
    accounts = await seed(database, files=open_file_store(settings))
    trucks = await seed_fleet(database, accounts)
    await drive(client, trucks, rounds=2, interval_s=0.0)
    u_org, u_people = await outsider(client, "U", "Unrelated Trading")
    r_org, r_people = await outsider(client, "R", "Related Freight")
    world = World(
        accounts=accounts,
        trucks=trucks,
        outsiders={"U": u_people, "R": r_people},
        outsider_orgs={"U": u_org, "R": r_org},
    )
    mill = world.owner("Sweet Sugar Mill")
    buyer = world.owner("Acme Foods")
    for partner, relation in ((mill, "carrier"), (buyer, "carrier")):
        made = await client.post(
            "/v1/partners",
            headers=partner.headers,
            json={"partner_id": str(r_org.id), "relation": relation},
        )
        assert made.status_code == 201, made.text
    plant = next(
        s["id"]
        for s in (await client.get("/v1/sites", headers=mill.headers)).json()["data"]
        if s["kind"] == "plant"
    )
    visit = await client.post(
        f"/v1/yard/plants/{plant}/visits",
        headers=mill.headers,
        json={"plate": "HH-AB 123", "product": "sugar", "body": "silo", "quantity_kg": 24000},
    )
    assert visit.status_code == 201, visit.text
    world.add("visit_id", visit.json()["id"])
    offers = (await client.get("/v1/market/offers", headers=mill.headers)).json()["data"]
    auction = next(o for o in offers if o["pricing_mode"] == "auction")
    bid = await client.post(
        f"/v1/market/offers/{auction['id']}/bids",
        headers=world.owner("Rapid Haulage").headers,
        json={"rate_cents": 2000},
    )
    assert bid.status_code in (200, 201), bid.text
    # The auction is the offer whose bids and ranking A's accounts can read.
    world.add("bid_id", bid.json()["id"])
    world.prefer("offer_id", auction["id"])
    for offer in offers:
        if offer["visibility"] == "open" and offer["state"] in ("open", "partially_booked"):
            # The load board shows these to every carrier: that is what a market is.
            world.public |= {
                offer[key]
                for key in ("id", "order_id", "shipper_id", "origin_site_id", "destination_site_id")
                if offer.get(key)
            }
    for label, org in world.outsider_orgs.items():
        # A's partner list names R: R's own ids are not A's secret.
        world.own[label] = set()
        for path in ("/v1/me", "/v1/organization", "/v1/members"):
            mine = await client.get(path, headers=org.headers)
            world.own[label] |= set(UUID_TEXT.findall(mine.text))
        world.partners_of[label] = set()
        partners = (await client.get("/v1/partners", headers=org.headers)).json()
        for item in partners.get("data", []):
            world.partners_of[label] |= set(UUID_TEXT.findall(str(item)))
    return world


def random_like(value: str) -> str:
    """A well-formed id (or subject) that names no record."""
    if ":" in value:
        kind, _ = value.split(":", 1)
        return f"{kind}:{uuid.uuid4()}"
    return str(uuid.uuid4())
