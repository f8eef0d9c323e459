"""The web pages: HTML shells under ``/app/``, their scripts and styles under ``/static/``.

A shell holds no data: its script reads the bearer token the sign-in page keeps in the
browser's session storage and calls the JSON API with it, so the shells themselves are public
and every record still comes through a route that checks the token.
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import RuntimeDep, public
from api.routing import TransactionalRoute
from core.settings import WebSettings

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"

SHELL = public("an empty page shell; its script fetches every record with the signed-in token")

router = APIRouter(prefix="/app", tags=["pages"], route_class=TransactionalRoute)


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES_DIR / name).read_text(encoding="utf-8"))


def _tile_origin(tile_url: str) -> str:
    # The CSP names the tile server; a `{s}` subdomain placeholder becomes a wildcard.
    parts = urlsplit(tile_url.replace("{s}", "*"))
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def _policy(web: WebSettings) -> str:
    tiles = _tile_origin(web.tile_url)
    images = " ".join(filter(None, ("'self'", "data:", "blob:", tiles)))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


def _page(
    page: str, title: str, web: WebSettings, *, map_page: bool = False, scanner: bool = False
) -> HTMLResponse:
    config: dict[str, str | int] = {
        "tileUrl": web.tile_url,
        "tileAttribution": web.tile_attribution,
        "tileMaxZoom": web.tile_max_zoom,
    }
    head = ""
    if map_page:
        head = (
            '<link rel="stylesheet" href="/static/vendor/leaflet-1.9.4/leaflet.css">\n'
            '<script src="/static/vendor/leaflet-1.9.4/leaflet.js" defer></script>'
        )
    if scanner:
        head = '<script src="/static/vendor/jsqr-1.4.0/jsQR.js" defer></script>'
    body = _template(f"{page}.html").substitute()
    document = _template("base.html").substitute(
        title=html.escape(title),
        page=page,
        head=head,
        body=body,
        config=html.escape(json.dumps(config), quote=True),
    )
    return HTMLResponse(
        document,
        headers={
            "Content-Security-Policy": _policy(web),
            "Cache-Control": "no-cache",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("", response_class=RedirectResponse, **SHELL)
async def pages_home() -> RedirectResponse:
    """The pages start at sign-in, which sends each account on to its own page."""
    return RedirectResponse("/app/sign-in", status_code=307)


@router.get("/sign-in", response_class=HTMLResponse, **SHELL)
async def sign_in_page(runtime: RuntimeDep) -> HTMLResponse:
    """Sign-in: keeps the bearer token for this browser tab (public shell)."""
    return _page("sign-in", "Sign in", runtime.settings.web)


@router.get("/loads", response_class=HTMLResponse, **SHELL)
async def load_board_page(runtime: RuntimeDep) -> HTMLResponse:
    """The carrier's load board: open loads live, grab and bid, bookings (public shell)."""
    return _page("loads", "Load board", runtime.settings.web)


@router.get("/map", response_class=HTMLResponse, **SHELL)
async def live_map_page(runtime: RuntimeDep) -> HTMLResponse:
    """The live map: trucks moving, trails, states and the event timeline (public shell)."""
    return _page("map", "Live map", runtime.settings.web, map_page=True)


@router.get("/driver", response_class=HTMLResponse, **SHELL)
async def driver_page(runtime: RuntimeDep) -> HTMLResponse:
    """The driver's phone view: next delivery, slot, pass QR code, check-in (public shell)."""
    return _page("driver", "My deliveries", runtime.settings.web)


@router.get("/yard", response_class=HTMLResponse, **SHELL)
async def yard_board_page(runtime: RuntimeDep) -> HTMLResponse:
    """The gate clerk's yard board: arrivals by state, docks, pass checks, weights (public
    shell)."""
    return _page("yard", "Yard board", runtime.settings.web, scanner=True)


@router.get("/shared", response_class=HTMLResponse, **SHELL)
async def shared_shipment_page(runtime: RuntimeDep) -> HTMLResponse:
    """A share link's live view of one shipment; the link's token rides in the URL fragment,
    so it never reaches a server log (public shell)."""
    return _page("shared", "Shared shipment", runtime.settings.web, map_page=True)
