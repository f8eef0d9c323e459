"""One-ping requests take a shortcut past the batch screening; it must decide the same."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tracking.filtering import DeviceTrack, screen_batch
from tracking.ingest import screen_one
from tracking.pings import Ping

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _trace(seed: int, count: int) -> list[Ping]:
    """A truck's fixes, shuffled a little, with bad ones mixed in as phones send them."""
    rng = random.Random(seed)
    pings = []
    for k in range(count):
        at = NOW - timedelta(seconds=600 - 5 * k + rng.choice((0, 0, 0, -40)))
        lat, lon = 52.0 + k * 5e-4, 10.0
        roll = rng.random()
        if roll < 0.05:
            lat = 95.0
        elif roll < 0.10:
            at = NOW + timedelta(hours=1)
        elif roll < 0.15:
            lat += 0.5  # a jump no truck makes in five seconds
        accuracy = 250.0 if rng.random() < 0.1 else rng.uniform(3, 20)
        pings.append(Ping("7", at, lat, lon, 12.0, None, None, accuracy))
    return pings


class TestOnePingShortcut:
    @settings(max_examples=60, deadline=None)
    @given(seed=st.integers(0, 10_000), count=st.integers(1, 40))
    def test_it_decides_as_the_batch_screening_does(self, seed: int, count: int) -> None:
        tracks: dict[str, DeviceTrack] = {}
        track: DeviceTrack | None = None
        for ping in _trace(seed, count):
            batch = screen_batch([ping], tracks=tracks, now=NOW)
            accepted, rejected, track = screen_one(ping, track, index=0, now=NOW)
            assert [p.flags for p in accepted] == [p.flags for p in batch.accepted]
            assert [(r.field, r.reason) for r in rejected] == [
                (r.field, r.reason) for r in batch.rejected
            ]
