"""The demo world's short delivery: a receipt, an open dispute both sides argue in, and a
bundle anyone party to it downloads and checks offline with `haulpoint verify`."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest

from api.cli import main
from api.demo import seed
from core.database import Database
from core.files import open_file_store
from core.settings import Settings
from tests.helpers import bearer


class TestDemoEvidence:
    async def test_the_short_delivery_has_a_dispute_and_a_bundle_that_verifies(
        self,
        client: httpx.AsyncClient,
        database: Database,
        settings: Settings,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        tokens = {a.name: a.token for a in await seed(database, files=open_file_store(settings))}
        buyer = bearer(tokens["Raj Patel"])
        listed = (await client.get("/v1/disputes", headers=buyer)).json()["data"]
        assert len(listed) == 1
        (dispute,) = listed
        assert (dispute["state"], dispute["reasons"]) == ("open", ["short_delivery"])
        assert dispute["details"]["difference"] == -620
        assert [s["party"] for s in dispute["statements"]] == ["buyer", "seller"]
        receipt = await client.get(
            f"/v1/deliveries/{dispute['delivery_id']}/receipt",
            headers=bearer(tokens["Dispatcher Dirk"]),
        )
        assert receipt.json()["seals_expected"] == ["S-4711"]
        signature = receipt.json()["signature_sha256"]
        image = await client.get(
            f"/v1/evidence/{dispute['delivery_id']}/files/{signature}", headers=buyer
        )
        assert image.content.startswith(b"\x89PNG")
        # Rapid Haulage carried none of it: it sees no dispute.
        other = await client.get("/v1/disputes", headers=bearer(tokens["Dispatcher Dana"]))
        assert other.json()["count"] == 0

        bundle = await client.get(f"/v1/disputes/{dispute['id']}/bundle", headers=buyer)
        assert bundle.status_code == 200
        path = tmp_path / "demo-bundle.zip"
        path.write_bytes(bundle.content)
        keys = tmp_path / "keys.json"
        keys.write_text((await client.get("/v1/keys?include_retired=true")).text)
        assert main(["verify", str(path), "--keys", str(keys)]) == 0
        assert "result:  VALID" in capsys.readouterr().out
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            trail = json.loads(archive.read("attachments/trail.geojson"))
        assert [r["sha256"] for r in manifest["references"]] == [signature]
        (feature,) = trail["features"]
        coordinates = feature["geometry"]["coordinates"]
        assert len(coordinates) > 100
        assert coordinates[-1] == [10.082, 53.546]  # the bakery
        damaged = bytearray(bundle.content)
        damaged[damaged.index(b"23380")] ^= 0x01
        path.write_bytes(bytes(damaged))
        assert main(["verify", str(path), "--keys", str(keys)]) == 1
