"""What a user types into each supported app to make it send positions to us."""

from __future__ import annotations

from tracking.devices.schemas import AppSetup, DeviceCredentials

NATIVE_PATH = "/v1/ingest/pings"
OSMAND_PATH = "/v1/ingest/osmand"
OSMAND_MPS_PATH = "/v1/ingest/osmand/mps"
OWNTRACKS_PATH = "/v1/ingest/owntracks"
OVERLAND_PATH = "/v1/ingest/overland"

# OsmAnd fills {0}..{6} itself; its {3} ("hdop" in its docs) is the fix's accuracy in metres.
_OSMAND_TEMPLATE = (
    "?id={id}&lat={{0}}&lon={{1}}&timestamp={{2}}&accuracy={{3}}"
    "&altitude={{4}}&speed={{5}}&bearing={{6}}"
)


def app_setup(base_url: str, credentials: DeviceCredentials) -> list[AppSetup]:
    """The settings for our app, Traccar Client, OsmAnd, OwnTracks and Overland."""
    base = base_url.rstrip("/")
    return [
        AppSetup(
            app="Haulpoint app",
            fields={
                "URL": base + NATIVE_PATH,
                "Authorization": f"Bearer {credentials.token}",
            },
            note="POST batches of pings as JSON; each ping carries its own id.",
        ),
        AppSetup(
            app="Traccar Client",
            fields={
                "Server URL": base + OSMAND_PATH,
                "Device identifier": credentials.tracker_id,
            },
            note="The identifier is the device's secret: keep it off screenshots.",
        ),
        AppSetup(
            app="OsmAnd",
            fields={
                "Online tracking web address": base
                + OSMAND_MPS_PATH
                + _OSMAND_TEMPLATE.format(id=credentials.tracker_id),
            },
            note="Trip recording plugin, online tracking on; OsmAnd sends speed in m/s.",
        ),
        AppSetup(
            app="OwnTracks",
            fields={
                "Mode": "HTTP",
                "URL": base + OWNTRACKS_PATH,
                "Authentication": "on",
                "Username": credentials.owntracks_user,
                "Password": credentials.owntracks_password,
            },
            note="Device ID and Tracker ID may be anything: the login names the device.",
        ),
        AppSetup(
            app="Overland",
            fields={"Receiver Endpoint": f"{base}{OVERLAND_PATH}?token={credentials.token}"},
            note="The token may also go in Overland's access token setting instead.",
        ),
    ]
