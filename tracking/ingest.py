"""Ingest: screen a device's parsed pings and store the good ones through the group commit.

The reply is **per ping**: a request whose body parses is stored in part when some of its
pings are refused (coordinates out of range, a fix time too far ahead or too old), and the
answer lists each refused ping with its index, client id, field and reason. Refused pings
are not worth retrying; the rest are stored exactly once (the key is device and fix time).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.clock import now
from tracking.devices.identity import DeviceIdentity
from tracking.filtering import (
    DEFAULT_POLICY,
    DeviceTrack,
    QualityPolicy,
    Rejection,
    assess,
    check_ping,
    screen_batch,
)
from tracking.formats import ParsedBatch
from tracking.pings import Ping
from tracking.positions.codec import Row, to_row
from tracking.positions.writer import PositionWriter


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of one request's pings."""

    accepted: int
    """Stored now or already stored by an earlier try of the same request."""
    rejected: list[Rejection]
    ignored: int
    """Messages that are not locations (OwnTracks transitions, Overland visits)."""

    def to_json(self) -> dict[str, object]:
        """The reply body of the native and OsmAnd endpoints."""
        return {
            "accepted": self.accepted,
            "rejected": [
                {
                    "index": r.index,
                    "id": r.client_ping_id,
                    "field": r.field,
                    "reason": r.reason.value,
                    "detail": r.detail,
                }
                for r in self.rejected
            ],
            "ignored": self.ignored,
        }


class Ingestor:
    """Screens pings per device and hands the accepted ones to the process's writer.

    The quality tracks (a few recent good fixes per device) live in this process, bounded by
    ``max_tracks``; behind several processes each sees the pings it received.
    """

    def __init__(
        self,
        writer: PositionWriter,
        *,
        policy: QualityPolicy = DEFAULT_POLICY,
        max_tracks: int = 100_000,
        observer: Callable[[DeviceIdentity, Sequence[Row]], None] | None = None,
    ) -> None:
        self.writer = writer
        # Told of every committed batch; it must not wait (the shipment tracker queues it).
        self.observer = observer
        self._policy = policy
        self._max_tracks = max_tracks
        self._tracks: OrderedDict[str, DeviceTrack] = OrderedDict()

    async def ingest(self, device: DeviceIdentity, parsed: ParsedBatch) -> IngestResult:
        """Screen, store and answer one request's pings; returns after the commit."""
        key = device.key
        pings = parsed.pings
        tracks = self._tracks
        track = tracks.pop(key, None)
        # Every ping is the authenticated device's, whatever name the app gave itself (a
        # tracker id, an OwnTracks topic). Screening goes by that name, so lend it the
        # device's track under it rather than rewriting every ping.
        if len(pings) == 1:
            # Stock apps send one ping a request: skip the batch machinery's sorting and
            # grouping, which cost more than the checks themselves.
            index = parsed.source_indices[0] if parsed.source_indices else 0
            accepted, rejected, tracks[key] = screen_one(
                pings[0], track, index=index, now=now(), policy=self._policy
            )
        else:
            named = pings[0].device_key if pings else key
            if any(ping.device_key != named for ping in pings):
                pings = [ping._replace(device_key=key) for ping in pings]
                named = key
            lent: dict[str, DeviceTrack] = {} if track is None else {named: track}
            screened = screen_batch(
                pings,
                tracks=lent,
                now=now(),
                policy=self._policy,
                source_indices=parsed.source_indices or None,
            )
            if named in lent:
                tracks[key] = lent[named]
            accepted, rejected = screened.accepted, screened.rejected
        while len(tracks) > self._max_tracks:
            tracks.popitem(last=False)
        number = device.number
        rows = [to_row(number, ping) for ping in accepted]
        await self.writer.write(device, rows)
        if self.observer is not None and rows:
            self.observer(device, rows)
        return IngestResult(len(rows), rejected, parsed.ignored)


def screen_one(
    ping: Ping,
    track: DeviceTrack | None,
    *,
    index: int,
    now: datetime,
    policy: QualityPolicy = DEFAULT_POLICY,
) -> tuple[list[Ping], list[Rejection], DeviceTrack]:
    """What :func:`~tracking.filtering.screen_batch` decides for a request of one ping."""
    track = track if track is not None else DeviceTrack()
    problem = check_ping(ping, now=now, policy=policy)
    if problem is not None:
        field, reason, detail = problem
        return [], [Rejection(index, ping.client_ping_id, field, reason, detail)], track
    extra = assess(ping, track, policy=policy)
    if extra and (ping.flags | extra) != ping.flags:
        ping = ping._replace(flags=ping.flags | extra)
    return [ping], [], track
