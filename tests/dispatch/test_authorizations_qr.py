from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest

from core.signing import KeyRing, generate_private_key
from dispatch.authorizations.passes import issue_pass
from dispatch.authorizations.qr import (
    QUIET_ZONE_MODULES,
    PassQrError,
    pass_qr,
    pass_qr_png,
    pass_qr_svg,
)
from tests.dispatch.pass_factory import make_claims

Image = pytest.importorskip("PIL.Image", reason="decoding the QR back needs pillow")
zxingcpp = pytest.importorskip("zxingcpp", reason="decoding the QR back needs zxing-cpp")

RING = KeyRing(active=generate_private_key())
TOKEN = issue_pass(make_claims(), ring=RING)


def decode(image: object) -> list[tuple[str, str]]:
    # QR codes only: a linear-barcode reader now and then sees a false code in the pattern.
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [(symbol.text, symbol.ec_level) for symbol in found]


def svg_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """Read the dark modules back out of segno's one-path SVG (moves and horizontal runs)."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted XML
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None
    scaled = re.fullmatch(r"scale\((\d+)\)", path.attrib["transform"])
    assert scaled is not None
    scale = float(scaled[1])
    size = round(float(root.attrib["width"]) / scale)
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.attrib["d"]):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(y), int(x) + i) for i in range(int(float(a))))
            x += float(a)
    return size, dark


class TestPng:
    def test_the_png_decodes_back_to_the_token_at_level_m_or_better(self) -> None:
        png = pass_qr_png(TOKEN)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        ((text, level),) = decode(Image.open(io.BytesIO(png)))
        assert text == TOKEN
        assert level in {"M", "Q", "H"}

    def test_it_still_decodes_at_two_pixels_a_module(self) -> None:
        ((text, _),) = decode(Image.open(io.BytesIO(pass_qr_png(TOKEN, scale=2))))
        assert text == TOKEN


class TestSvg:
    def test_the_svg_draws_a_symbol_that_decodes_back_to_the_token(self) -> None:
        svg = pass_qr_svg(TOKEN, scale=5)
        assert not svg.startswith("<?xml")
        size, dark = svg_modules(svg)
        symbol_size = len(pass_qr(TOKEN).matrix) + 2 * QUIET_ZONE_MODULES
        assert size == symbol_size
        pixels = 4
        image = Image.new("L", (size * pixels, size * pixels), 255)
        for row, column in dark:
            left, top = column * pixels, row * pixels
            image.paste(0, (left, top, left + pixels, top + pixels))
        ((text, _),) = decode(image)
        assert text == TOKEN


class TestLimits:
    def test_a_typical_pass_stays_within_version_20(self) -> None:
        version = pass_qr(TOKEN).version
        assert isinstance(version, int)
        assert version <= 20

    def test_a_token_too_long_for_a_phone_screen_is_refused(self) -> None:
        with pytest.raises(PassQrError, match="version"):
            pass_qr("x" * 1200)

    @pytest.mark.parametrize("token", ["", "two lines\nof text", "ключ"])
    def test_what_is_not_a_token_is_refused(self, token: str) -> None:
        with pytest.raises(PassQrError):
            pass_qr(token)
