"""Ping ingest over HTTP: throughput, ping-to-subscriber latency and bytes per stored ping.

The API runs in a subprocess (``uvicorn``, two workers by default) on SQLite, or on
PostgreSQL with ``--postgres URL`` (an empty database the benchmark may wipe), with Redis as
the bus with ``--redis URL``. Thousands of simulated phones are registered, then:

1. **No-op baseline**: the same HTTP batches sent to an endpoint that reads the body and
   stores nothing. Where the server's time goes before any work of ours.
2. **Batches**: phones post our app's JSON, 50 pings a request, while ``--subscribers``
   websocket clients (spread over the carriers, each watching its own fleet) stay connected
   and a probe phone posts one fresh ping every 50 ms; the probe's pings are timed from the
   request to their arrival at each of its organization's subscribers.
3. **Single pings**: phones send one OsmAnd-protocol GET each, as Traccar Client and OsmAnd
   do; every 200 means the ping is committed.
4. **Raw insert baseline**: the same kind of rows written straight into the database by its
   fastest means (COPY on PostgreSQL, executemany in big transactions on SQLite), no HTTP.
5. **Geofences**: cost per ping at 100, 1,000 and 10,000 fences and the false events of a
   parked truck's drift trace, from :mod:`simulations.bench_geofence`.

Load comes from ``wrk`` (Debian package ``wrk``) with Lua scripts that give every request
fresh fix times, so the server is the bottleneck and not the client; the subscribers and the
probe run in one Python process. All of it shares a 2-core machine with the database and
other work: figures are provisional, compare the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 50
PACED_CONNECTIONS = 48
BENCH_PASSWORD = "bench-password-1234"  # noqa: S105 - throwaway accounts in a scratch database


@dataclass
class Fleet:
    """Who the load generators and subscribers act as."""

    org_tokens: list[str]
    batch_tokens: list[str]
    trackers: list[str]
    probe_token: str
    probe_device_id: str


@dataclass
class Phase:
    """One wrk run's outcome."""

    name: str
    requests: int
    duration_s: float
    errors: int
    p50_ms: float
    p99_ms: float
    pings_per_request: int
    server_cpu_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def requests_per_s(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def pings_per_s(self) -> float:
        """Acknowledged pings per second."""
        ok = max(self.requests - self.errors, 0)
        return ok * self.pings_per_request / self.duration_s if self.duration_s else 0.0

    def to_json(self) -> dict[str, Any]:
        """The phase for the JSON report."""
        ok = max(self.requests - self.errors, 0) * self.pings_per_request
        return {
            "requests": self.requests,
            "requests_per_s": self.requests_per_s,
            "pings_per_s": self.pings_per_s,
            "errors": self.errors,
            "request_p50_ms": self.p50_ms,
            "request_p99_ms": self.p99_ms,
            "server_cpu_s": self.server_cpu_s,
            "server_cpu_us_per_ping": self.server_cpu_s * 1e6 / ok if ok else None,
            **self.extra,
        }


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _reset_and_migrate(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from core.database import Database, normalize_url
    from migrations import upgrade

    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_async_engine(parsed, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    database = Database(url)
    try:
        await upgrade(database.engine)
    finally:
        await database.dispose()


async def _seed(url: str, *, orgs: int, batch_phones: int, single_phones: int) -> Fleet:
    from argon2 import PasswordHasher

    from accounts import credentials
    from accounts import service as accounts
    from accounts.enums import OrgKind
    from accounts.schemas import SignupRequest
    from core.database import Database
    from tracking.devices.credentials import (
        new_device_token,
        new_tracker_id,
        owntracks_user,
        secret_hash,
    )
    from tracking.devices.models import Device

    # Setup only: cheap password hashing for a hundred throwaway owners.
    credentials._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    database = Database(url)
    org_ids: list[uuid.UUID] = []
    org_tokens: list[str] = []
    batch_tokens: list[str] = []
    trackers: list[str] = []
    try:
        async with database.transaction() as session:
            for i in range(orgs):
                issued, organization, _, _ = await accounts.signup(
                    session,
                    data=SignupRequest(
                        organization_name=f"Bench carrier {i}",
                        kinds=[OrgKind.CARRIER],
                        owner_name=f"Owner {i}",
                        email=f"bench-{i}@example.com",
                        password=BENCH_PASSWORD,
                    ),
                    session_ttl_s=24 * 3600,
                )
                org_ids.append(organization.id)
                org_tokens.append(issued.token)
            rows = []
            total = batch_phones + single_phones + 1
            for number in range(1, total + 1):
                token, tracker = new_device_token(), new_tracker_id()
                rows.append(
                    Device(
                        name=f"phone {number}",
                        vehicle_id=uuid.uuid4(),
                        organization_id=org_ids[number % orgs],
                        number=number,
                        token_hash=secret_hash(token),
                        token_prefix=token[:12],
                        tracker_hash=secret_hash(tracker),
                        owntracks_user=owntracks_user(number),
                    )
                )
                if number <= batch_phones:
                    batch_tokens.append(token)
                elif number < total:
                    trackers.append(tracker)
                else:
                    probe_token, probe = token, rows[-1]
            # The probe belongs to organization 0, whose subscribers time its pings.
            probe.organization_id = org_ids[0]
            session.add_all(rows)
    finally:
        await database.dispose()
    return Fleet(org_tokens, batch_tokens, trackers, probe_token, str(probe.id))


def _lua_list(values: Sequence[str]) -> str:
    return "{" + ",".join(f'"{v}"' for v in values) + "}"


_LUA_COMMON = """
local threads = {}
local counter = 0
setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
init = function(args)
  tid = tonumber(tid) or 0
  nthreads = #threads > 0 and #threads or 1
  idx = tid
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def batch_script(
    tokens: Sequence[str], *, path: str, base_s: int, delay_ms: float | None = None
) -> str:
    """Each request: one phone's next 50 fixes, one second apart, as our app's JSON.

    With ``delay_ms`` each connection waits that long between requests, which paces the
    load instead of saturating the server.
    """
    pacing = "" if delay_ms is None else f"delay = function() return {delay_ms:.1f} end\n"
    return (
        _LUA_COMMON
        + pacing
        + f"""
local tokens = {_lua_list(tokens)}
local sent = {{}}
local base = {base_s}
request = function()
  local n = #tokens
  local d = (idx % n) + 1
  idx = idx + nthreads
  local c = sent[d] or 0
  sent[d] = c + 1
  local t0 = (base + c * {BATCH}) * 1000
  local lat0 = 50.0 + (d % 300) * 0.01
  local parts = {{}}
  for j = 0, {BATCH - 1} do
    parts[j + 1] = string.format(
      '{{"id":"%d-%d","recorded_at":%d,"lat":%.6f,"lon":%.6f,"speed_mps":12.5,' ..
      '"heading_deg":0,"accuracy_m":6,"battery_pct":77}}',
      c, j, t0 + j * 1000, lat0 + (c * {BATCH} + j) * 0.00011, 8.0 + (d % 200) * 0.01)
  end
  local body = '{{"pings":[' .. table.concat(parts, ",") .. ']}}'
  return wrk.format("POST", "{path}",
    {{["Authorization"] = "Bearer " .. tokens[d], ["Content-Type"] = "application/json"}}, body)
end
"""
    )


def single_script(trackers: Sequence[str], *, base_s: int) -> str:
    """Each request: one phone's next fix as an OsmAnd-protocol GET, as Traccar Client sends."""
    return (
        _LUA_COMMON
        + f"""
local trackers = {_lua_list(trackers)}
local sent = {{}}
local base = {base_s}
request = function()
  local n = #trackers
  local d = (idx % n) + 1
  idx = idx + nthreads
  local c = sent[d] or 0
  sent[d] = c + 1
  local path = string.format(
    "/v1/ingest/osmand?id=%s&timestamp=%d&lat=%.6f&lon=%.6f&speed=20&bearing=90" ..
    "&accuracy=8&batt=64", trackers[d], base + c, 51.0 + (d % 300) * 0.01 + c * 0.0001,
    9.0 + (d % 200) * 0.01)
  return wrk.format("GET", path)
end
"""
    )


def run_wrk(
    base_url: str, script: Path, *, duration_s: float, connections: int, threads: int
) -> dict[str, Any]:
    """Run wrk and return the JSON line its Lua ``done`` wrote."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    raise RuntimeError(f"wrk printed no summary:\n{output}")


def warm_up(base_url: str, script: Path, *, requests: int, limit_s: float) -> None:
    """Send a script's requests until about ``requests`` completed (or the time runs out).

    Lua state lives for one wrk run, so later rounds resend fixes already stored: harmless,
    they are duplicates, and warm-up rows are not counted.
    """
    done = 0
    started = time.monotonic()
    while done < requests and time.monotonic() - started < limit_s:
        done += run_wrk(base_url, script, duration_s=2, connections=64, threads=1)["requests"]


def _phase(name: str, raw: dict[str, Any], pings_per_request: int, cpu_s: float) -> Phase:
    errors = sum(raw[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors"))
    return Phase(
        name=name,
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        errors=errors,
        p50_ms=raw["p50_us"] / 1e3,
        p99_ms=raw["p99_us"] / 1e3,
        pings_per_request=pings_per_request,
        server_cpu_s=cpu_s,
        extra={"wrk": raw},
    )


def _tree_pids(pid: int) -> list[int]:
    pids = [pid]
    for child_pid in list(pids):
        try:
            children = Path(f"/proc/{child_pid}/task/{child_pid}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            pids.extend(_tree_pids(int(child)))
    return pids


def tree_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process and its descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for each in _tree_pids(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def start_server(
    *, port: int, workers: int, database_url: str, bus_url: str, data_dir: Path
) -> subprocess.Popen[bytes]:
    """The API in a subprocess, configured for the benchmark."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HAULPOINT_ENVIRONMENT": "test",
        "HAULPOINT_DATA_DIR": str(data_dir),
        "HAULPOINT_DATABASE__URL": database_url,
        # The database is shared with other work: stay well under its connection limit.
        "HAULPOINT_DATABASE__POOL_SIZE": "6",
        "HAULPOINT_DATABASE__MAX_OVERFLOW": "4",
        "HAULPOINT_BUS__URL": bus_url,
        "HAULPOINT_LOG_LEVEL": "WARNING",
        "HAULPOINT_TRACKING__NOOP_ENDPOINT": "true",
        "HAULPOINT_TRACKING__INGEST_RATE_PER_S": "1000000",
        "HAULPOINT_TRACKING__INGEST_BURST": "1000000",
        "HAULPOINT_TRACKING__LIVE_CONNECTIONS_PER_TOKEN": "100000",
        "HAULPOINT_SECURITY__TOKEN_CACHE_S": "60",
        "HAULPOINT_TRACKING__DEVICE_CACHE_S": "60",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:serve_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_ready(base_url: str, *, timeout_s: float = 60) -> None:
    """Block until the server answers its readiness probe."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


async def _subscribers(
    address: str, fleet: Fleet, *, subscribers: int, commands: Any, results: Any
) -> None:
    """Hold websocket subscribers open; on each ("probe", seconds) command, time the probe."""
    import httpx
    import orjson
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    orgs = len(fleet.org_tokens)
    probe = fleet.probe_device_id
    window: dict[str, Any] = {"latencies": [], "frames": 0, "positions": 0}

    async def watch(i: int, stop: asyncio.Event) -> None:
        token = fleet.org_tokens[i % orgs]
        url = f"ws://{address}/v1/live/positions?access_token={token}"
        for attempt in range(5):
            try:
                ws = await connect(url, max_queue=None, open_timeout=60)
                break
            except (OSError, InvalidStatus, TimeoutError):
                await asyncio.sleep(1 + attempt)
        else:
            failed.append(i)
            return
        async with ws:
            connected.append(i)
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return
                received = time.time()
                frame = orjson.loads(raw)
                window["frames"] += 1
                for position in frame.get("positions", ()):
                    window["positions"] += 1
                    if position["device_id"] == probe and frame["type"] == "positions":
                        sent = datetime.fromisoformat(position["recorded_at"]).timestamp()
                        window["latencies"].append((received - sent) * 1000)

    connected: list[int] = []
    failed: list[int] = []
    stop = asyncio.Event()
    tasks = []
    for i in range(subscribers):
        tasks.append(asyncio.create_task(watch(i, stop)))
        if i % 20 == 19:
            await asyncio.sleep(0.1)  # a ramp the server takes in its stride
    while len(connected) + len(failed) < subscribers:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    results.put({"connected": len(connected)})
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http:
        sent = 0
        while True:
            command = await loop.run_in_executor(None, commands.get)
            if command is None:
                break
            _, seconds = command
            window.update(latencies=[], frames=0, positions=0)
            probes = 0
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                ping = {
                    "id": str(sent),
                    "recorded_at": datetime.now(UTC).isoformat(),
                    "lat": 52.5,
                    "lon": 10.0,
                }
                sent += 1
                try:
                    response = await http.post(
                        "/v1/ingest/pings",
                        headers={"Authorization": f"Bearer {fleet.probe_token}"},
                        json={"pings": [ping]},
                    )
                except httpx.HTTPError:
                    continue
                probes += response.status_code == 200
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # the last probes reach the subscribers
            results.put(_latency_summary(window, probes=probes, connected=len(connected)))
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


def _latency_summary(window: dict[str, Any], *, probes: int, connected: int) -> dict[str, Any]:
    ordered = sorted(window["latencies"])

    def pct(q: float) -> float | None:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None

    return {
        "connected": connected,
        "frames": window["frames"],
        "positions": window["positions"],
        "probe_pings": probes,
        "samples": len(ordered),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1] if ordered else None,
        "mean_ms": statistics.fmean(ordered) if ordered else None,
    }


def _subscriber_process(
    address: str, fleet: Fleet, subscribers: int, commands: Any, results: Any
) -> None:
    asyncio.run(
        _subscribers(address, fleet, subscribers=subscribers, commands=commands, results=results)
    )


async def _stored_rows(url: str, *, size: bool = True) -> tuple[int, float | None]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from core.database import normalize_url

    parsed = normalize_url(url)
    postgres = parsed.get_backend_name() == "postgresql"
    engine = create_async_engine(parsed, isolation_level="AUTOCOMMIT" if postgres else None)
    try:
        async with engine.connect() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM positions"))).scalar()
            rows = int(count or 0)
            if not postgres or rows == 0 or not size:
                return rows, None
            await connection.execute(text("VACUUM (ANALYZE) positions"))
            total_bytes = (
                await connection.execute(text("SELECT pg_total_relation_size('positions')"))
            ).scalar()
            return rows, float(total_bytes or 0) / rows
    finally:
        await engine.dispose()


def raw_insert_rows_per_s(url: str, *, rows: int, chunk: int) -> dict[str, Any]:
    """Write rows like the ingest path's straight into the database, its fastest way."""
    from core.database import normalize_url

    base = datetime.now(UTC) - timedelta(days=5)
    first_device = 10_000_000
    devices = 2000

    def row(k: int) -> tuple[Any, ...]:
        device = first_device + k % devices
        seconds = k // devices
        return (
            base + timedelta(seconds=seconds),
            device,
            520000000 + (k % 997) * 1000,
            100000000 + seconds * 10,
            1250,
            90,
            -32768,  # altitude unknown, as the ingest path stores it
            6,
            77,
            0,
        )

    data = [row(k) for k in range(rows)]
    parsed = normalize_url(url)
    started = time.perf_counter()
    if parsed.get_backend_name() == "postgresql":
        import psycopg

        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as connection:
            columns = (
                "recorded_at, device_no, lat_e7, lon_e7, speed_cmps, heading_deg, "
                "altitude_m, accuracy_m, battery_pct, flags"
            )
            started = time.perf_counter()
            for offset in range(0, rows, chunk):
                with (
                    connection.cursor() as cursor,
                    cursor.copy(f"COPY positions ({columns}) FROM STDIN") as copy,
                ):
                    for item in data[offset : offset + chunk]:
                        copy.write_row(item)
                connection.commit()
            elapsed = time.perf_counter() - started
            connection.execute("DELETE FROM positions WHERE device_no >= %s", (first_device,))
            connection.commit()
        means = f"COPY, {chunk} rows per commit"
    else:
        path = parsed.database or ""
        lite = sqlite3.connect(path, isolation_level=None)
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=FULL")
        text_rows = [(item[0].replace(tzinfo=None).isoformat(sep=" "), *item[1:]) for item in data]
        started = time.perf_counter()
        for offset in range(0, rows, chunk):
            lite.execute("BEGIN IMMEDIATE")
            lite.executemany(
                "INSERT OR IGNORE INTO positions VALUES (?,?,?,?,?,?,?,?,?,?)",
                text_rows[offset : offset + chunk],
            )
            lite.execute("COMMIT")
        elapsed = time.perf_counter() - started
        lite.execute("DELETE FROM positions WHERE device_no >= ?", (first_device,))
        lite.close()
        means = f"executemany, {chunk} rows per commit"
    return {"rows": rows, "rows_per_s": rows / elapsed, "means": means}


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def _print_table(result: dict[str, Any]) -> None:
    print()
    print(f"Ingest on {result['database']} ({result['workers']} workers, bus {result['bus']}).")
    print("Figures from a shared 2-core machine: provisional; compare the ratios.")
    print(f"{'':<34}{'pings/s':>12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/ping':>13}")
    for key, label in (
        ("noop", "no-op endpoint, 50-ping batches"),
        ("batches", "ingest, 50-ping batches"),
        ("paced", "ingest, batches paced"),
        ("single", "ingest, one ping per request"),
    ):
        phase = result["phases"][key]
        cpu = phase["server_cpu_us_per_ping"]
        print(
            f"{label:<34}{phase['pings_per_s']:>12,.0f}{phase['requests_per_s']:>10,.0f}"
            f"{phase['request_p50_ms']:>9.1f}{phase['request_p99_ms']:>9.1f}"
            f"{cpu if cpu is not None else float('nan'):>13.1f}"
        )
    raw = result["raw_insert"]
    print(f"{'raw insert (' + raw['means'] + ')':<34}{raw['rows_per_s']:>12,.0f}")
    print()
    print(f"batches vs raw insert:  {result['ratios']['batches_vs_raw_insert']:.0%}")
    print(f"batches vs no-op:       {result['ratios']['batches_vs_noop']:.0%}")
    for key, when in (("live", "paced load"), ("live_saturated", "saturated")):
        live = result[key]
        print(
            f"ping -> subscriber ({when}): p50 {_ms(live['p50_ms'])}, p99 "
            f"{_ms(live['p99_ms'])} over {live['samples']} deliveries to {live['connected']} "
            f"subscribers ({live['frames']} frames received)"
        )
    bpp = result["bytes_per_ping"]
    print(f"bytes per stored ping: {bpp:.1f}" if bpp else "bytes per stored ping: n/a (SQLite)")
    print(f"stored {result['stored_rows']:,} rows; acknowledged {result['acknowledged']:,} pings")
    geo = result["geofence_us_per_ping"]
    print("geofence us/ping: " + ", ".join(f"{k} fences {v:.2f}" for k, v in geo.items()))
    print(f"false geofence events on the drift trace: {result['false_geofence_events']}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print a table, write JSON when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON here")
    parser.add_argument(
        "--postgres", metavar="URL", help="an empty PostgreSQL database to use (it is wiped)"
    )
    parser.add_argument("--redis", metavar="URL", help="use Redis as the bus")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, help="seconds per phase")
    parser.add_argument("--subscribers", type=int, help="websocket subscribers (default 1000)")
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=20_000,
        help="pings/s of the paced phase where ping-to-subscriber latency is measured",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("needs wrk: apt-get install wrk", file=sys.stderr)
        return 2

    quick = bool(args.quick)
    duration_s = args.duration or (4.0 if quick else 20.0)
    warm_limit_s = 4.0 if quick else 40.0
    subscribers = args.subscribers if args.subscribers is not None else (200 if quick else 1000)
    orgs = 50 if quick else 100
    batch_phones = 1000 if quick else 2000
    single_phones = 1000 if quick else 3000

    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    database_url = args.postgres or f"sqlite+aiosqlite:///{scratch / 'bench.db'}"
    database = "postgresql" if args.postgres else "sqlite"
    bus_url = args.redis or "memory://"
    if bus_url == "memory://" and args.workers > 1:
        print("note: memory:// bus with several workers: subscribers see their worker's pings")

    load_at_start = os.getloadavg()
    asyncio.run(_reset_and_migrate(database_url))
    fleet = asyncio.run(
        _seed(database_url, orgs=orgs, batch_phones=batch_phones, single_phones=single_phones)
    )
    # Each phase's fixes are newer than the last phase's, so every phase moves the phones'
    # newest fixes forward and its rows are its own (fixes may be up to 7 days old).
    day_s = 24 * 3600
    warm_base_s = int(time.time()) - 6 * day_s - day_s // 2
    base_s = warm_base_s + day_s
    paced_base_s = base_s + day_s
    scripts = {
        "warm-batch": batch_script(fleet.batch_tokens, path="/v1/ingest/pings", base_s=warm_base_s),
        "noop": batch_script(fleet.batch_tokens, path="/v1/ingest/noop", base_s=warm_base_s),
        "batch": batch_script(fleet.batch_tokens, path="/v1/ingest/pings", base_s=base_s),
        "paced": batch_script(
            fleet.batch_tokens,
            path="/v1/ingest/pings",
            base_s=paced_base_s,
            # Each connection waits out its share of the target rate, less a typical
            # request's time (wrk's delay runs after the response).
            delay_ms=max(PACED_CONNECTIONS / (args.paced_rate / BATCH) * 1000 - 40, 1),
        ),
        "warm-single": single_script(fleet.trackers, base_s=warm_base_s),
        "single": single_script(fleet.trackers, base_s=base_s),
    }
    for name, text in scripts.items():
        (scratch / f"{name}.lua").write_text(text)
    warm_batch_lua, noop_lua, batch_lua, paced_lua, warm_single_lua, single_lua = (
        scratch / f"{name}.lua" for name in scripts
    )

    port = free_port()
    address = f"127.0.0.1:{port}"
    base_url = f"http://{address}"
    server = start_server(
        port=port,
        workers=args.workers,
        database_url=database_url,
        bus_url=bus_url,
        data_dir=scratch,
    )
    phases: dict[str, Phase] = {}
    try:
        wait_ready(base_url)
        # Warm every worker's device cache and connection pool before measuring: phones
        # that keep sending stay cached, so cold lookups are not the steady state.
        run_wrk(base_url, noop_lua, duration_s=1, connections=16, threads=1)
        for script, phones in ((warm_batch_lua, batch_phones), (warm_single_lua, single_phones)):
            warm_up(base_url, script, requests=3 * phones * args.workers, limit_s=warm_limit_s)
        stored_before, _ = asyncio.run(_stored_rows(database_url, size=False))

        cpu = tree_cpu_s(server.pid)
        raw = run_wrk(base_url, noop_lua, duration_s=duration_s, connections=64, threads=1)
        phases["noop"] = _phase("noop", raw, BATCH, tree_cpu_s(server.pid) - cpu)

        context = multiprocessing.get_context("spawn")
        commands, results = context.Queue(), context.Queue()
        watcher = context.Process(
            target=_subscriber_process, args=(address, fleet, subscribers, commands, results)
        )
        watcher.start()
        results.get(timeout=180)  # every subscriber connected

        cpu, client_cpu = tree_cpu_s(server.pid), tree_cpu_s(watcher.pid or 0)
        commands.put(("probe", duration_s))
        raw = run_wrk(base_url, batch_lua, duration_s=duration_s, connections=64, threads=1)
        phases["batches"] = _phase("batches", raw, BATCH, tree_cpu_s(server.pid) - cpu)
        live_saturated = results.get(timeout=120)
        live_saturated["subscriber_process_cpu_s"] = tree_cpu_s(watcher.pid or 0) - client_cpu

        # The latency target is for a sustained load, not a saturated server: pace the
        # phones at the target rate and time the probe again.
        cpu, client_cpu = tree_cpu_s(server.pid), tree_cpu_s(watcher.pid or 0)
        commands.put(("probe", duration_s))
        raw = run_wrk(
            base_url, paced_lua, duration_s=duration_s, connections=PACED_CONNECTIONS, threads=1
        )
        phases["paced"] = _phase("paced", raw, BATCH, tree_cpu_s(server.pid) - cpu)
        live = results.get(timeout=120)
        live["subscriber_process_cpu_s"] = tree_cpu_s(watcher.pid or 0) - client_cpu
        commands.put(None)
        watcher.join(30)

        cpu = tree_cpu_s(server.pid)
        raw = run_wrk(base_url, single_lua, duration_s=duration_s, connections=128, threads=1)
        phases["single"] = _phase("single", raw, 1, tree_cpu_s(server.pid) - cpu)
    finally:
        server.terminate()
        server.wait(30)

    stored_total, bytes_per_ping = asyncio.run(_stored_rows(database_url))
    stored = stored_total - stored_before
    acknowledged = sum(
        max(phases[k].requests - phases[k].errors, 0) * phases[k].pings_per_request
        for k in ("batches", "paced", "single")
    )
    raw_insert = raw_insert_rows_per_s(database_url, rows=60_000 if quick else 400_000, chunk=2000)

    from simulations.bench_geofence import false_geofence_events, geofence_us_per_ping

    if quick:
        geo = geofence_us_per_ping(pings=3000, single_pings=300, linear_budget=60_000)
        drift = false_geofence_events(seeds=range(2))
    else:
        geo = geofence_us_per_ping()
        drift = false_geofence_events(seeds=range(10))

    batches = phases["batches"]
    result: dict[str, Any] = {
        "benchmark": "bench_ingest",
        "provisional": True,
        "quick": quick,
        "database": database,
        "bus": bus_url.split("://")[0],
        "workers": args.workers,
        "duration_s": duration_s,
        "phones": {"batch": batch_phones, "single": single_phones, "organizations": orgs},
        "load_generator": "wrk (Lua scripts, 1 thread; 64 connections for batches, 128 single)",
        "pings_per_s": batches.pings_per_s,
        "single_pings_per_s": phases["single"].pings_per_s,
        "noop_pings_per_s": phases["noop"].pings_per_s,
        "raw_insert_pings_per_s": raw_insert["rows_per_s"],
        "latency_p50_ms": live["p50_ms"],
        "latency_p99_ms": live["p99_ms"],
        "subscribers": live["connected"],
        "bytes_per_ping": bytes_per_ping,
        "geofence_us_per_ping": {str(k): v["indexed_batch_us"] for k, v in geo.items()},
        "false_geofence_events": drift["ours_total"],
        "ratios": {
            "batches_vs_raw_insert": batches.pings_per_s / raw_insert["rows_per_s"],
            "batches_vs_noop": batches.pings_per_s / phases["noop"].pings_per_s,
        },
        "phases": {name: phase.to_json() for name, phase in phases.items()},
        "live": live,
        "live_saturated": live_saturated,
        "paced_pings_per_s": phases["paced"].pings_per_s,
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
        "raw_insert": raw_insert,
        "stored_rows": stored,
        "acknowledged": acknowledged,
        "every_acknowledged_ping_stored": stored >= acknowledged,
        "naive_geofence_events": drift["naive_total"],
    }
    _print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
