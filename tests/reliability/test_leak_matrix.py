"""The leak matrix: every read route and stream of the app, called by every role of an
unrelated organization (U) and of a related one that is party to nothing (R), on the records
of A's trade network. They see nothing of A: the answer is the one a made-up id gets (404,
an empty list, a refusal), and no identifier or secret of A appears in any body or frame.

Routes are enumerated from the app, so a new endpoint is in the matrix the day it lands. Its
path parameters are filled with A's ids, harvested by reading the API as A's accounts; a
route whose parameters cannot be filled, or that none of A's accounts can read, fails here by
name: seed what it needs in ``tests/reliability/world.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api.demo_fleet import drive
from core.database import Database
from core.settings import Settings
from tests.api.live_server import serving
from tests.reliability.world import (
    SHA256_TEXT,
    UUID_TEXT,
    Principal,
    World,
    api_routes,
    build_world,
    harvest,
    is_public,
    is_stream,
    path_params,
    random_like,
    required_query,
    subjects,
    websocket_routes,
)

pytestmark = pytest.mark.slow

VALUES_PER_PARAM = 5
"""How many of A's ids each parameter is tried with when looking for A's readable records."""
TARGETS_PER_ROUTE = 2
"""How many of A's readable records per route every outsider tries."""


PUBLIC_BY_DESIGN = {
    "get_reliability": "a carrier's on-time record is the market's public record",
}
"""Routes whose answer about A's records any organization may read, and why. Their bodies are
still checked for A's other identifiers."""

GUESSED = {"token": "share-link-guessed-by-an-outsider"}
"""Stream path parameters an outsider can only guess (a share link's secret)."""

UNREACHED = {
    "my_queue_place": "a truck has a place only once checked in at the gate, and the seeded "
    "passes are valid from tomorrow: outsiders are still asked, with A's delivery ids",
}
"""Routes the seeded world cannot make readable for A, and why. They stay in the matrix with
A's ids; only the check that A reads them is waived."""

PLAIN_QUERY = {
    "start": str(date.today() - timedelta(days=7)),
    "end": str(date.today()),
    "day": str(date.today() + timedelta(days=1)),
}
"""Required query parameters that name no record, and a value for each."""


@dataclass(frozen=True)
class Target:
    """One request for one of A's records: a path and its query."""

    route: str
    path: str
    query: tuple[tuple[str, str], ...]

    def decoy(self) -> Target:
        """The same request naming records that do not exist."""
        path = self.path
        for value in set(_ids_in_path(self.path)):
            path = path.replace(value, random_like(value))
        query = tuple((k, random_like(v) if _is_id(v) else v) for k, v in self.query)
        return Target(self.route, path, query)


def _is_id(value: str) -> bool:
    return bool(UUID_TEXT.search(value))


def _ids_in_path(path: str) -> list[str]:
    return UUID_TEXT.findall(path)


def _values(world: World, name: str) -> list[str]:
    if name == "subject":
        return subjects(world)
    if name in PLAIN_QUERY:
        return [PLAIN_QUERY[name]]
    return world.pool.get(name, [])[:VALUES_PER_PARAM]


def _targets(world: World, route: Any, path: str) -> list[Target] | None:
    """Every combination of A's ids for a route's parameters; None when one has no value."""
    names = path_params(path) + required_query(route)
    choices = [_values(world, name) for name in names]
    if any(not values for values in choices):
        return None
    query_names = required_query(route)
    made = []
    for combination in itertools.islice(itertools.product(*choices), 25):
        filled = dict(zip(names, combination, strict=True))
        url = path
        for name in path_params(path):
            url = url.replace("{" + name + "}", filled[name])
        made.append(Target(path, url, tuple((n, filled[n]) for n in query_names)))
    return made


async def _get(client: httpx.AsyncClient, target: Target, who: Principal) -> httpx.Response:
    return await client.get(target.path, params=dict(target.query), headers=who.headers)


def _body_text(response: httpx.Response) -> str:
    return response.content.decode("utf-8", errors="replace")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def _find_readable(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> tuple[dict[str, list[Target]], list[str]]:
    """Read every route as A's accounts: harvest ids, keep the requests that answered 2xx."""
    routes = [
        (route, path)
        for route, path in api_routes(app)
        if "GET" in (route.methods or ()) and not is_public(route) and not is_stream(route)
    ]
    readable: dict[str, list[Target]] = {}
    unfillable: list[str] = []
    # Owners see all their organization holds; drivers alone see their own trips.
    owners = [p for p in world.insiders if p.role in ("owner", "driver")]
    for round_ in range(3):
        unfillable = []
        for route, path in routes:
            targets = _targets(world, route, path)
            if targets is None:
                unfillable.append(f"{route.name} {path}")
                continue
            readers = world.insiders if not targets[0].query and "{" not in path else owners
            if route.name in UNREACHED:
                readable[path] = targets[:TARGETS_PER_ROUTE]
                continue
            for target in targets:
                if target in readable.get(path, []):
                    continue
                for who in readers:
                    response = await _get(client, target, who)
                    if response.is_success:
                        harvest(world, path, _json(response) or {})
                        found = readable.setdefault(path, [])
                        if target not in found:
                            found.append(target)
        if round_ > 0 and not unfillable:
            break
    return readable, unfillable


def _leaks(world: World, outsider: str, text: str, asked: Target | None = None) -> list[str]:
    # The ids the outsider sent may come back (a problem document names its request).
    asked_text = asked.path + str(asked.query) if asked else ""
    echoed = set(UUID_TEXT.findall(asked_text)) | set(SHA256_TEXT.findall(asked_text))
    found = [value for value in world.forbidden_for(outsider) - echoed if value in text]
    found += [f"secret {secret[:8]}…" for secret in world.secrets() if secret in text]
    return found


@pytest.fixture
async def world(client: httpx.AsyncClient, database: Database, settings: Settings) -> World:
    """A, U and R, seeded."""
    return await build_world(client, database, settings)


class TestReadRoutes:
    async def test_outsiders_see_none_of_a_records(
        self, client: httpx.AsyncClient, app: FastAPI, world: World
    ) -> None:
        readable, unfillable = await _find_readable(client, world, app)
        assert unfillable == [], "routes whose parameters no seeded record fills"
        routes = {
            path: route
            for route, path in api_routes(app)
            if "GET" in (route.methods or ()) and not is_public(route) and not is_stream(route)
        }
        unread = sorted(f"{routes[p].name} {p}" for p in routes if p not in readable)
        assert unread == [], "routes none of A's accounts could read: the matrix would be empty"
        assert len(world.seen) > 100, "too few of A's ids harvested to mean anything"

        problems: list[str] = []
        calls = 0
        for label, people in world.outsiders.items():
            for who in people:
                for path, targets in readable.items():
                    for target in targets[:TARGETS_PER_ROUTE]:
                        answer = await _get(client, target, who)
                        decoy = await _get(client, target.decoy(), who)
                        calls += 2
                        where = f"{who} GET {target.path}?{dict(target.query)}"
                        if answer.status_code >= 500:
                            problems.append(f"{where}: {answer.status_code}")
                        on_the_board = set(_ids_in_path(target.path)) <= world.public
                        if on_the_board or routes[path].name in PUBLIC_BY_DESIGN:
                            pass
                        elif answer.status_code != decoy.status_code:
                            problems.append(
                                f"{where}: {answer.status_code} where a made-up id gets "
                                f"{decoy.status_code}: the record's existence shows"
                            )
                        leaked = _leaks(world, label, _body_text(answer), target)
                        if leaked:
                            problems.append(f"{where}: A's {sorted(leaked)[:3]} in the body")
        print(
            f"leak matrix: {len(readable)} read routes, "
            f"{sum(len(t[:TARGETS_PER_ROUTE]) for t in readable.values())} of A's records, "
            f"{sum(len(p) for p in world.outsiders.values())} outsiders, {calls} calls, "
            f"{len(world.seen)} ids of A watched for"
        )
        assert problems == [], "\n".join(problems[:40])
        assert calls > 500


class TestStreams:
    async def test_outsiders_streams_carry_nothing_of_a(
        self, client: httpx.AsyncClient, app: FastAPI, world: World
    ) -> None:
        stream_paths = [
            path
            for route, path in api_routes(app)
            if "GET" in (route.methods or ()) and is_stream(route)
        ]
        socket_paths = websocket_routes(app)
        assert stream_paths, "no server-sent-event routes found: the enumeration is broken"
        assert socket_paths, "no websocket routes found: the enumeration is broken"
        stream_paths = [_guess(path) for path in stream_paths]
        socket_paths = [_guess(path) for path in socket_paths]
        problems: list[str] = []
        received: dict[str, list[str]] = {}
        async with serving(app) as address:
            outsiders = [(label, who) for label, ps in world.outsiders.items() for who in ps]
            readers = [
                _read_sse(address, path, who, received, problems)
                for path in stream_paths
                for _, who in outsiders
            ] + [
                _read_socket(address, path, who, received, problems)
                for path in socket_paths
                for _, who in outsiders
            ]
            # A control: A's own carrier listens the same way and must hear its trucks.
            insider = world.owner("Rapid Haulage")
            readers += [_read_sse(address, p, insider, received, problems) for p in stream_paths]
            readers += [_read_socket(address, p, insider, received, problems) for p in socket_paths]
            tasks = [asyncio.create_task(reader) for reader in readers]
            await asyncio.sleep(0.5)
            # A's trucks move and A's market changes while the outsiders listen.
            await drive(client, world.trucks, rounds=2, interval_s=0.05)
            await _a_market_moves(client, world)
            await asyncio.sleep(1.0)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        rapid = {str(t.device_id) for t in world.trucks if t.carrier == "Rapid Haulage"}
        heard = "\n".join(
            "\n".join(frames) for key, frames in received.items() if key.startswith(str(insider))
        )
        assert rapid & set(UUID_TEXT.findall(heard)), "the control heard nothing of its trucks"
        for key, frames in received.items():
            label = key.split("/", 1)[0]
            if label not in world.outsiders:
                continue
            leaked = _leaks(world, label, "\n".join(frames))
            if leaked:
                problems.append(f"{key}: A's {sorted(leaked)[:3]} in the stream")
        assert problems == []
        assert received, "no outsider stream said anything: nothing was checked"


def _guess(path: str) -> str:
    unknown = [p for p in path_params(path) if p not in GUESSED]
    assert not unknown, f"stream {path} takes {unknown}: say in GUESSED what outsiders send"
    for name in path_params(path):
        path = path.replace("{" + name + "}", GUESSED[name])
    return path


async def _a_market_moves(client: httpx.AsyncClient, world: World) -> None:
    """A private change on A's market: the mill cancels its tender load (not on the board)."""
    mill = world.owner("Sweet Sugar Mill")
    offers = (await client.get("/v1/market/offers", headers=mill.headers)).json()["data"]
    tender = next(o for o in offers if o["visibility"] == "tender")
    cancelled = await client.post(
        f"/v1/market/offers/{tender['id']}/cancel",
        headers=mill.headers,
        json={"reason": "leak matrix"},
    )
    assert cancelled.status_code == 200, cancelled.text


async def _read_sse(
    address: str, path: str, who: Principal, received: dict[str, list[str]], problems: list[str]
) -> None:
    key = f"{who} SSE {path}"
    async with (
        httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http,
        http.stream("GET", path, headers=who.headers) as response,
    ):
        if response.status_code >= 500:
            problems.append(f"{key}: {response.status_code}")
        async for chunk in response.aiter_text():
            received.setdefault(key, []).append(chunk)


async def _read_socket(
    address: str, path: str, who: Principal, received: dict[str, list[str]], problems: list[str]
) -> None:
    key = f"{who} WS {path}"
    try:
        async with connect(f"ws://{address}{path}", additional_headers=who.headers) as ws:
            while True:
                frame = await ws.recv()
                received.setdefault(key, []).append(
                    frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                )
    except InvalidStatus as refused:
        status = refused.response.status_code
        received.setdefault(key, []).append(f"refused {status}")
        if status >= 500:
            problems.append(f"{key}: handshake {status}")
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        received.setdefault(key, []).append(f"closed {code}")
        if code == 1011:
            problems.append(f"{key}: closed with an internal error")
