"""The page shells: public, data-free, locked down by a content security policy."""

from __future__ import annotations

import httpx
import pytest

PAGES = ["/app/sign-in", "/app/loads", "/app/map", "/app/driver", "/app/yard", "/app/shared"]


class TestShells:
    @pytest.mark.parametrize("path", PAGES)
    async def test_a_shell_needs_no_token_and_holds_no_data(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "connect-src 'self'" in policy
        script = f'src="/static/js/{path.removeprefix("/app/")}.js"'
        assert script in page.text
        assert (await client.get(f"/static/js/{path.removeprefix('/app/')}.js")).status_code == 200

    async def test_the_map_names_its_tile_server_and_nothing_else(
        self, client: httpx.AsyncClient
    ) -> None:
        page = await client.get("/app/map")
        assert (
            "img-src 'self' data: blob: https://tile.openstreetmap.org;"
            in (page.headers["content-security-policy"])
        )
        assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page.text.replace("&quot;", '"')
        assert (await client.get("/static/vendor/leaflet-1.9.4/leaflet.js")).status_code == 200

    async def test_the_pages_start_at_sign_in(self, client: httpx.AsyncClient) -> None:
        home = await client.get("/app")
        assert (home.status_code, home.headers["location"]) == (307, "/app/sign-in")

    async def test_static_files_stay_inside_their_directory(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.get("/static/../routers/pages.py")).status_code == 404
        assert (await client.get("/static/%2e%2e/routers/pages.py")).status_code == 404

    async def test_the_data_behind_a_page_still_needs_the_token(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.get("/v1/market/loads")).status_code == 401
        assert (await client.get("/v1/deliveries/mine")).status_code == 401
