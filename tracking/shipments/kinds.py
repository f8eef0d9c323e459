"""The event kinds tracking appends to a delivery's log (subject ``delivery:<id>``).

Geofences: ``shipment.arrived_plant``, ``shipment.departed_plant``,
``shipment.arrived_destination``, ``shipment.departed_destination``. Estimates:
``shipment.eta`` (throttled), ``shipment.eta_recovered``. Stops: ``shipment.stop_ended``.
Alerts: ``alert.long_stop``, ``alert.eta_slipped``, ``alert.silent``. Sharing:
``shipment.shared``.
"""

from __future__ import annotations

from typing import Final

ARRIVED_PLANT: Final = "shipment.arrived_plant"
DEPARTED_PLANT: Final = "shipment.departed_plant"
ARRIVED_DESTINATION: Final = "shipment.arrived_destination"
DEPARTED_DESTINATION: Final = "shipment.departed_destination"
ETA: Final = "shipment.eta"
ETA_RECOVERED: Final = "shipment.eta_recovered"
STOP_ENDED: Final = "shipment.stop_ended"
SHARED: Final = "shipment.shared"
ALERT_LONG_STOP: Final = "alert.long_stop"
ALERT_ETA_SLIPPED: Final = "alert.eta_slipped"
ALERT_SILENT: Final = "alert.silent"

PLANT_FENCE: Final = "plant"
DESTINATION_FENCE: Final = "destination"

LEG_PLANT: Final = "plant"
LEG_DESTINATION: Final = "destination"
