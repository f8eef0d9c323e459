"""Geofence cost per ping, false events from GPS drift, and parse speed per wire format.

Three measurements, each against a baseline taken in the same run:

1. **Cost per ping** at 100, 1,000 and 10,000 fences, through the full
   :class:`~tracking.geofence.GeofenceEngine` (index lookup, exact metric test and the
   enter/exit state machine): batched as the ingest path calls it, and one ping per call.
   Baselines: the same engine over a *linear scan* that checks the fences one by one (with a
   bounding-box test first, as a careful hand-written loop would), and a numpy-vectorised
   scan of every fence's box.
2. **Drift trace**: a truck parked 30 m outside a fence edge for an hour, pinging every 5 to
   10 s with 50 m reported accuracy; its fixes wander around it as a mean-reverting random
   walk whose spread matches the reported accuracy (68 % of fixes within it). Counts enter
   and exit events from our state machine next to a bare point-in-polygon rule on the same
   pings, and the same for a truck parked 30 m inside the edge. A sweep over the walk's
   correlation time shows where hysteresis stops being enough.
3. **Parse speed** per wire format in pings per second, next to a bare ``orjson.loads`` of the
   same bodies (the floor any JSON parser pays), plus the per-ping cost of screening.

Figures from a shared 2-core machine are noisy: read ratios, and treat absolute numbers as
provisional. ``--quick`` finishes in well under a minute; ``--json PATH`` writes the results.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import shapely

from tracking.filtering import DeviceTrack, screen_batch
from tracking.formats import (
    parse_native_batch,
    parse_osmand,
    parse_overland,
    parse_owntracks,
    parse_traccar_json,
)
from tracking.geo import LocalFrame
from tracking.geofence import (
    DeviceFenceState,
    Fence,
    FenceEventKind,
    FenceIndex,
    GeofenceEngine,
)
from tracking.pings import Ping

FENCE_COUNTS = (100, 1_000, 10_000)
BATCH_SIZE = 50
T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
REGION_LAT = (50.0, 53.5)
REGION_LON = (3.0, 9.0)


def make_fences(count: int, *, seed: int) -> list[Fence]:
    """Scatter plant yards, docks and buyer sites: half circles, half irregular polygons."""
    rng = random.Random(seed)
    fences: list[Fence] = []
    for i in range(count):
        lat = rng.uniform(*REGION_LAT)
        lon = rng.uniform(*REGION_LON)
        if i % 2:
            fences.append(Fence.circle(f"c{i}", lat=lat, lon=lon, radius_m=rng.uniform(50, 400)))
            continue
        frame = LocalFrame(lat, lon)
        corners = rng.randint(4, 12)
        radius = rng.uniform(80, 500)
        ring = []
        for k in range(corners):
            angle = 2 * math.pi * k / corners
            reach = radius * rng.uniform(0.7, 1.0)
            p_lat, p_lon = frame.to_latlon(reach * math.cos(angle), reach * math.sin(angle))
            ring.append([p_lon, p_lat])
        ring.append(ring[0])
        fences.append(Fence.from_geojson(f"p{i}", {"type": "Polygon", "coordinates": [ring]}))
    return fences


def make_traffic(fences: Sequence[Fence], *, devices: int, pings: int, seed: int) -> list[Ping]:
    """Trucks driving to fences, parking inside a while, and driving on: time-ordered pings."""
    rng = random.Random(seed)
    per_device = pings // devices
    tracks: list[list[Ping]] = []
    for d in range(devices):
        track: list[Ping] = []
        t = rng.uniform(0, 10)
        while len(track) < per_device:
            target = fences[rng.randrange(len(fences))]
            frame = LocalFrame(target.lat, target.lon)
            bearing = rng.uniform(0, 2 * math.pi)
            east, north = 1500 * math.cos(bearing), 1500 * math.sin(bearing)
            # Drive in at 10 m/s, park for a few minutes near the centre, drive out.
            legs = [(-10.0, 150), (0.0, rng.randint(10, 40)), (10.0, 150)]
            for speed, steps in legs:
                for _ in range(steps):
                    if len(track) >= per_device:
                        break
                    dist = math.hypot(east, north)
                    if speed and dist > 1e-9:
                        move = speed * 10.0
                        if speed < 0:
                            move = min(-move, dist)
                            east -= move * east / dist
                            north -= move * north / dist
                        else:
                            east += move * math.cos(bearing)
                            north += move * math.sin(bearing)
                    lat, lon = frame.to_latlon(east + rng.gauss(0, 4), north + rng.gauss(0, 4))
                    track.append(
                        Ping(
                            f"truck-{d}",
                            T0 + timedelta(seconds=t),
                            lat,
                            lon,
                            abs(speed),
                            None,
                            None,
                            rng.uniform(4, 15),
                        )
                    )
                    t += rng.uniform(5, 10)
        tracks.append(track)
    merged = [p for track in tracks for p in track]
    merged.sort(key=lambda p: p.recorded_at)
    return merged


class LinearScanIndex(FenceIndex):
    """The baseline: the same fences and exact test, found by checking them one by one."""

    def __init__(self, fences: Sequence[Fence]) -> None:
        super().__init__(fences)
        self._boxes: list[tuple[float, float, float, float]] = []
        for fence in self.fences:
            frame = LocalFrame(fence.lat, fence.lon)
            if fence.radius_m is not None:
                half_lat = fence.radius_m / frame.m_per_deg_lat
                half_lon = fence.radius_m / frame.m_per_deg_lon
                box = (fence.lon - half_lon, fence.lat - half_lat)
                self._boxes.append((*box, fence.lon + half_lon, fence.lat + half_lat))
            else:
                assert fence.polygon is not None
                minx, miny, maxx, maxy = fence.polygon.bounds
                self._boxes.append((minx, miny, maxx, maxy))

    def query_point(self, lat: float, lon: float) -> list[int]:
        """Return the fences holding the point, checking every fence in turn."""
        hits = []
        for i, (minx, miny, maxx, maxy) in enumerate(self._boxes):
            if (
                minx <= lon <= maxx
                and miny <= lat <= maxy
                and self.signed_distance_point_m(i, lat=lat, lon=lon) <= 0.0
            ):
                hits.append(i)
        return hits

    def query(
        self, lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Run :meth:`query_point` for each point."""
        rows: list[int] = []
        found: list[int] = []
        for row, (lat, lon) in enumerate(zip(lats.tolist(), lons.tolist(), strict=True)):
            for fence in self.query_point(lat, lon):
                rows.append(row)
                found.append(fence)
        return np.asarray(rows, dtype=np.intp), np.asarray(found, dtype=np.intp)


class VectorScanIndex(FenceIndex):
    """A stronger baseline: every fence's box tested at once with numpy, no tree."""

    def __init__(self, fences: Sequence[Fence]) -> None:
        super().__init__(fences)
        boxes = shapely.bounds(self._tree.geometries)
        self._minx, self._miny, self._maxx, self._maxy = (boxes[:, k].copy() for k in range(4))

    def query_point(self, lat: float, lon: float) -> list[int]:
        """Return the fences whose box holds the point."""
        mask = (self._minx <= lon) & (lon <= self._maxx) & (self._miny <= lat) & (lat <= self._maxy)
        hits: list[int] = np.flatnonzero(mask).tolist()
        return hits

    def query(
        self, lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Run :meth:`query_point` for each point."""
        rows: list[int] = []
        found: list[int] = []
        for row, (lat, lon) in enumerate(zip(lats.tolist(), lons.tolist(), strict=True)):
            for fence in self.query_point(lat, lon):
                rows.append(row)
                found.append(fence)
        return np.asarray(rows, dtype=np.intp), np.asarray(found, dtype=np.intp)


def _us_per_ping(engine: GeofenceEngine, pings: Sequence[Ping], batch: int) -> tuple[float, int]:
    states: dict[str, DeviceFenceState] = {}
    events = 0
    start = time.perf_counter()
    for i in range(0, len(pings), batch):
        events += len(engine.process(pings[i : i + batch], states))
    return (time.perf_counter() - start) / len(pings) * 1e6, events


def geofence_us_per_ping(
    fence_counts: Sequence[int] = FENCE_COUNTS,
    *,
    pings: int = 20_000,
    single_pings: int = 4_000,
    linear_budget: int = 2_000_000,
    devices: int = 200,
    seed: int = 7,
) -> dict[int, dict[str, float]]:
    """Measure the engine's cost per ping for each fence count, with scan baselines.

    ``linear_budget`` caps fence checks per baseline run (pings x fences), so the one-by-one
    scan stays quick at 10,000 fences; its pings are the first of the same traffic.
    """
    results: dict[int, dict[str, float]] = {}
    for count in fence_counts:
        fences = make_fences(count, seed=seed)
        start = time.perf_counter()
        index = FenceIndex(fences)
        build_ms = (time.perf_counter() - start) * 1e3
        traffic = make_traffic(fences, devices=devices, pings=pings, seed=seed + 1)
        engine = GeofenceEngine(index)
        batched_us, events = _us_per_ping(engine, traffic, BATCH_SIZE)
        single_us, _ = _us_per_ping(engine, traffic[:single_pings], 1)

        scan_pings = max(50, min(len(traffic), linear_budget // count))
        scan_sample = traffic[:scan_pings]
        linear_us, linear_events = _us_per_ping(
            GeofenceEngine(LinearScanIndex(fences)), scan_sample, BATCH_SIZE
        )
        vector_us, _ = _us_per_ping(
            GeofenceEngine(VectorScanIndex(fences)), scan_sample, BATCH_SIZE
        )
        _, check_events = _us_per_ping(engine, scan_sample, BATCH_SIZE)
        if check_events != linear_events:
            raise AssertionError(
                f"{count} fences: index gave {check_events} events, linear scan {linear_events}"
            )
        results[count] = {
            "indexed_batch_us": batched_us,
            "indexed_single_us": single_us,
            "linear_scan_us": linear_us,
            "numpy_scan_us": vector_us,
            "speedup_vs_linear": linear_us / batched_us,
            "speedup_vs_numpy_scan": vector_us / batched_us,
            "index_build_ms": build_ms,
            "pings": float(len(traffic)),
            "baseline_pings": float(scan_pings),
            "events": float(events),
        }
    return results


def _drift_pings(
    *,
    seed: int,
    frame: LocalFrame,
    north_m: float,
    hours: float,
    accuracy_m: float,
    tau_s: float,
    start_s: float = 0.0,
) -> list[Ping]:
    """A parked truck's fixes: a mean-reverting random walk (tau_s = 0: independent noise)."""
    rng = random.Random(seed)
    # Per-axis spread such that 68 % of fixes fall within the reported accuracy radius.
    sigma = accuracy_m / math.sqrt(2 * math.log(1 / 0.32))
    ex, ey = rng.gauss(0, sigma), rng.gauss(0, sigma)
    pings = []
    t = start_s
    while t < start_s + hours * 3600:
        dt = rng.uniform(5, 10)
        t += dt
        if tau_s <= 0:
            ex, ey = rng.gauss(0, sigma), rng.gauss(0, sigma)
        else:
            rho = math.exp(-dt / tau_s)
            step = sigma * math.sqrt(1 - rho * rho)
            ex = ex * rho + rng.gauss(0, step)
            ey = ey * rho + rng.gauss(0, step)
        reported = accuracy_m * math.exp(rng.gauss(0, 0.15))
        lat, lon = frame.to_latlon(ex, north_m + ey)
        pings.append(
            Ping(
                "parked",
                T0 + timedelta(seconds=t),
                lat,
                lon,
                abs(rng.gauss(0, 0.3)),
                None,
                None,
                reported,
            )
        )
    return pings


def _yard(frame: LocalFrame) -> Fence:
    """A 300 m x 200 m yard whose south edge runs along y = 0 of the frame."""
    ring = []
    for east, north in ((-150, 0), (150, 0), (150, 200), (-150, 200), (-150, 0)):
        lat, lon = frame.to_latlon(float(east), float(north))
        ring.append([lon, lat])
    return Fence.from_geojson("yard", {"type": "Polygon", "coordinates": [ring]})


def _naive_counts(fence: Fence, pings: Sequence[Ping], *, start_inside: bool) -> dict[str, int]:
    assert fence.polygon is not None
    shapely.prepare(fence.polygon)
    inside = shapely.contains_xy(
        fence.polygon, np.array([p.lon for p in pings]), np.array([p.lat for p in pings])
    ).tolist()
    counts = {"enter": 0, "exit": 0}
    previous = start_inside
    for now_inside in inside:
        if now_inside != previous:
            counts["enter" if now_inside else "exit"] += 1
        previous = now_inside
    return counts


def false_geofence_events(
    *,
    seeds: Sequence[int] = range(10),
    hours: float = 1.0,
    offset_m: float = 30.0,
    accuracy_m: float = 50.0,
    tau_s: float = 60.0,
) -> dict[str, Any]:
    """Count enter/exit events from parked trucks near a fence edge, ours against naive.

    Each seed is one hour-long trace outside the edge and one inside it (the inside truck is
    first seen entering, so only exits are false there). Totals are over all seeds.
    """
    frame = LocalFrame(52.0, 5.0)
    fence = _yard(frame)
    engine = GeofenceEngine(FenceIndex([fence]))
    ours_out = {"enter": 0, "exit": 0}
    ours_in = {"enter": 0, "exit": 0}
    naive_out = {"enter": 0, "exit": 0}
    naive_in = {"enter": 0, "exit": 0}
    pings_total = 0
    for seed in seeds:
        outside = _drift_pings(
            seed=seed,
            frame=frame,
            north_m=-offset_m,
            hours=hours,
            accuracy_m=accuracy_m,
            tau_s=tau_s,
        )
        states: dict[str, DeviceFenceState] = {}
        for i in range(0, len(outside), 20):
            for event in engine.process(outside[i : i + 20], states):
                ours_out[event.kind.value] += 1
        for kind, n in _naive_counts(fence, outside, start_inside=False).items():
            naive_out[kind] += n

        # Park inside: drive in cleanly first so the truck is known to be inside.
        states = {}
        arrival = [
            Ping("parked", T0 + timedelta(seconds=10 * k), *frame.to_latlon(0.0, 100.0))
            for k in range(30)
        ]
        entered = engine.process(arrival, states)
        assert [e.kind for e in entered] == [FenceEventKind.ENTER]
        inside = _drift_pings(
            seed=seed + 10_000,
            frame=frame,
            north_m=offset_m,
            hours=hours,
            accuracy_m=accuracy_m,
            tau_s=tau_s,
            start_s=400.0,
        )
        for i in range(0, len(inside), 20):
            for event in engine.process(inside[i : i + 20], states):
                ours_in[event.kind.value] += 1
        for kind, n in _naive_counts(fence, inside, start_inside=True).items():
            naive_in[kind] += n
        pings_total += len(outside) + len(inside)

    return {
        "ours": {"outside": ours_out, "inside": ours_in},
        "naive": {"outside": naive_out, "inside": naive_in},
        "ours_total": sum(ours_out.values()) + sum(ours_in.values()),
        "naive_total": sum(naive_out.values()) + sum(naive_in.values()),
        "traces": 2 * len(seeds),
        "hours_each": hours,
        "pings": pings_total,
        "offset_m": offset_m,
        "accuracy_m": accuracy_m,
        "tau_s": tau_s,
    }


def _native_body(count: int) -> bytes:
    return orjson.dumps(
        {
            "device_id": "TRK-0042",
            "pings": [
                {
                    "id": f"{i:06d}",
                    "recorded_at": f"2025-03-01T08:{i // 60 % 60:02d}:{i % 60:02d}.250Z",
                    "lat": 52.37 + i * 1e-4,
                    "lon": 4.89,
                    "speed_mps": 13.9,
                    "heading_deg": 271.0,
                    "altitude_m": 2.0,
                    "accuracy_m": 6.5,
                    "battery_pct": 81,
                }
                for i in range(count)
            ],
        }
    )


def _overland_body(count: int) -> bytes:
    return orjson.dumps(
        {
            "locations": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [4.89, 52.37 + i * 1e-4]},
                    "properties": {
                        "timestamp": f"2025-03-01T08:{i // 60 % 60:02d}:{i % 60:02d}Z",
                        "altitude": 2,
                        "speed": 13.9,
                        "horizontal_accuracy": 8,
                        "vertical_accuracy": -1,
                        "motion": ["driving"],
                        "battery_state": "unplugged",
                        "battery_level": 0.81,
                        "device_id": "iphone-7",
                        "wifi": "",
                    },
                }
                for i in range(count)
            ]
        }
    )


def _rate(fn: Callable[[], object], pings_per_call: int, seconds: float) -> float:
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn()
        calls += 1
        now = time.perf_counter()
        if now >= deadline:
            return calls * pings_per_call / (now - start)


def parse_pings_per_s(*, seconds: float = 1.0) -> dict[str, dict[str, float]]:
    """Pings per second each parser reaches, next to ``orjson.loads`` of the same body."""
    native = _native_body(50)
    overland = _overland_body(200)
    traccar = orjson.dumps(
        {
            "location": {
                "timestamp": "2025-03-01T08:00:05.000Z",
                "coords": {
                    "latitude": 52.37,
                    "longitude": 4.89,
                    "accuracy": 9.5,
                    "speed": 13.9,
                    "heading": 271.5,
                    "altitude": 2.0,
                },
                "is_moving": True,
                "battery": {"level": 0.81, "is_charging": False},
                "activity": {"type": "in_vehicle"},
            },
            "device_id": "48241179",
        }
    )
    owntracks = orjson.dumps(
        {
            "_type": "location",
            "lat": 48.85833,
            "lon": 2.29513,
            "tst": 1740816005,
            "acc": 12,
            "vel": 54,
            "cog": 90,
            "batt": 77,
            "tid": "JJ",
            "topic": "owntracks/jane/phone",
        }
    )
    query = (
        "id=864895030279012&timestamp=1740816005&lat=52.37012&lon=4.89231"
        "&speed=10.0&bearing=271.5&altitude=2.0&accuracy=12.0&batt=81.0"
    )
    cases: list[tuple[str, Callable[[], object], Callable[[], object] | None, int]] = [
        (
            "native (50/request)",
            lambda: parse_native_batch(native),
            lambda: orjson.loads(native),
            50,
        ),
        (
            "overland (200/request)",
            lambda: parse_overland(overland),
            lambda: orjson.loads(overland),
            200,
        ),
        ("traccar json (1)", lambda: parse_traccar_json(traccar), lambda: orjson.loads(traccar), 1),
        ("owntracks (1)", lambda: parse_owntracks(owntracks), lambda: orjson.loads(owntracks), 1),
        ("osmand query (1)", lambda: parse_osmand(query), None, 1),
    ]
    results: dict[str, dict[str, float]] = {}
    for name, parse, floor, per_call in cases:
        rate = _rate(parse, per_call, seconds)
        entry = {"pings_per_s": rate}
        if floor is not None:
            floor_rate = _rate(floor, per_call, seconds)
            entry["orjson_loads_pings_per_s"] = floor_rate
            entry["cost_vs_loads"] = floor_rate / rate
        results[name] = entry

    pings = parse_native_batch(native).pings
    now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def screen() -> None:
        screen_batch(pings, tracks={"TRK-0042": DeviceTrack()}, now=now)

    results["screen_batch (50/request)"] = {"pings_per_s": _rate(screen, 50, seconds)}
    return results


def _print_geofence(results: dict[int, dict[str, float]]) -> None:
    print("\nGeofence cost per ping (us), full engine incl. state machine")
    header = (
        f"{'fences':>7} {'batch50':>8} {'single':>8} {'linear':>9} {'numpy scan':>10}"
        f" {'x linear':>9} {'x numpy':>8} {'build ms':>9}"
    )
    print(header)
    for count, row in results.items():
        print(
            f"{count:>7} {row['indexed_batch_us']:>8.2f} {row['indexed_single_us']:>8.2f}"
            f" {row['linear_scan_us']:>9.1f} {row['numpy_scan_us']:>10.1f}"
            f" {row['speedup_vs_linear']:>9.1f} {row['speedup_vs_numpy_scan']:>8.1f}"
            f" {row['index_build_ms']:>9.1f}"
        )


def _print_drift(main: dict[str, Any], sweep: dict[float, dict[str, Any]]) -> None:
    print(
        f"\nDrift: parked {main['offset_m']:.0f} m from the edge, {main['accuracy_m']:.0f} m"
        f" accuracy, {main['traces']} traces of {main['hours_each']:.0f} h"
        f" ({main['pings']} pings), walk correlation {main['tau_s']:.0f} s"
    )
    print(f"{'':>18} {'ours':>6} {'naive':>6}")
    for side in ("outside", "inside"):
        for kind in ("enter", "exit"):
            print(
                f"{side + ' ' + kind:>18} {main['ours'][side][kind]:>6}"
                f" {main['naive'][side][kind]:>6}"
            )
    print("\nCorrelation sweep (false events, all traces):")
    print(f"{'tau s':>7} {'ours':>6} {'naive':>6}")
    for tau, row in sweep.items():
        print(f"{tau:>7.0f} {row['ours_total']:>6} {row['naive_total']:>6}")


def _print_parse(results: dict[str, dict[str, float]]) -> None:
    print("\nParse speed (pings/s); x loads = time over a bare orjson.loads of the same body")
    for name, row in results.items():
        ratio = row.get("cost_vs_loads")
        extra = f"   x loads {ratio:5.1f}" if ratio is not None else ""
        print(f"{name:>26} {row['pings_per_s']:>12,.0f}{extra}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print tables, and write JSON when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller runs, under a minute")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON here")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    if args.quick:
        geo = geofence_us_per_ping(
            pings=6_000, single_pings=1_500, linear_budget=400_000, seed=args.seed
        )
        seeds: Sequence[int] = range(4)
        sweep_taus: tuple[float, ...] = (0.0, 120.0)
        parse_s = 0.3
    else:
        geo = geofence_us_per_ping(seed=args.seed)
        seeds = range(20)
        sweep_taus = (0.0, 30.0, 120.0, 300.0)
        parse_s = 1.0
    print("Figures from a shared 2-core machine: provisional; compare the ratios.")
    _print_geofence(geo)

    drift = false_geofence_events(seeds=seeds)
    sweep = {tau: false_geofence_events(seeds=seeds, tau_s=tau) for tau in sweep_taus}
    _print_drift(drift, sweep)

    parse = parse_pings_per_s(seconds=parse_s)
    _print_parse(parse)

    if args.json:
        document = {
            "benchmark": "bench_geofence",
            "provisional": True,
            "quick": bool(args.quick),
            "seed": args.seed,
            "geofence_us_per_ping": {str(k): v for k, v in geo.items()},
            "false_geofence_events": drift,
            "false_geofence_events_by_tau_s": {str(k): v for k, v in sweep.items()},
            "parse_pings_per_s": parse,
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
