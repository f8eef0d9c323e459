"""The thresholds of shipment tracking, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from tracking.eta import DEFAULT_SLIP_POLICY, SlipPolicy
from tracking.geofence import DEFAULT_FENCE_POLICY, FencePolicy
from tracking.stops import DEFAULT_STOP_POLICY, StopPolicy


@dataclass(frozen=True)
class ShipmentPolicy:
    """How shipments are watched: fence sizes, ETA throttles, alert thresholds."""

    plant_radius_m: float = 300.0
    """The plant's fence when its gate polygon is not known: a circle around the site."""
    destination_radius_m: float = 250.0
    fences: FencePolicy = DEFAULT_FENCE_POLICY
    stops: StopPolicy = DEFAULT_STOP_POLICY
    slip: SlipPolicy = DEFAULT_SLIP_POLICY
    eta_every_s: float = 60.0
    """An ETA is kept (and checked for slip) at most once per this much fix time."""
    eta_log_change_s: float = 300.0
    """An ETA goes to the event log (and the streams) when it moved by this much ..."""
    eta_log_every_s: float = 900.0
    """... or when this much fix time passed since the last one logged."""
    silence_s: float = 900.0
    """A shipment in transit with no ping for this long raises a silence alert."""
    resolve_ttl_s: float = 120.0
    """How long a process trusts its device-to-delivery answer; delivery events evict it at
    once, so this only bounds a message the bus lost and the turn of the day."""
    linger_s: float = 0.05
    """The tracker gathers this long after waking, so it works in batches under load."""
    sweep_every_s: float = 30.0
    max_pending: int = 50_000
    """Ping batches waiting for the tracker; past this the oldest are dropped (counted)."""


DEFAULT_SHIPMENT_POLICY = ShipmentPolicy()
