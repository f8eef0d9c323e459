"""QR rendering of a pickup pass for the driver's phone screen (PNG bytes, SVG text).

Error correction M (15 %): a phone held under a gate scanner suffers glare, a cracked screen
or a thumb over a corner rather than wear, and M keeps the symbol small enough to show with
large modules; segno raises the level further when that costs no extra size. The symbol
carries the compact JWS as it is, in byte mode, so any scanner hands the app the token.
"""

from __future__ import annotations

import io

import segno

QR_ERROR_LEVEL = "m"
# A pass of ~600 characters is version 19 (93 modules a side); past version 25 (117) modules
# get too fine for an ordinary phone screen at scanner distance, so refuse instead.
MAX_QR_VERSION = 25
QUIET_ZONE_MODULES = 4


class PassQrError(ValueError):
    """A token that cannot be rendered as a pass QR code."""


def pass_qr(token: str) -> segno.QRCode:
    """Return the QR symbol for a pass token."""
    if not token or not token.isascii() or any(ch.isspace() for ch in token):
        raise PassQrError("a pass token is one line of ASCII")
    try:
        symbol = segno.make_qr(token, error=QR_ERROR_LEVEL, mode="byte", boost_error=True)
    except segno.DataOverflowError as error:
        raise PassQrError("the token does not fit in a QR code") from error
    version = symbol.version
    if not isinstance(version, int) or version > MAX_QR_VERSION:
        raise PassQrError(f"the token needs QR version {version}, above {MAX_QR_VERSION}")
    return symbol


def pass_qr_png(token: str, *, scale: int = 6) -> bytes:
    """Render a pass token as a black-on-white PNG with a four-module quiet zone."""
    buffer = io.BytesIO()
    pass_qr(token).save(buffer, kind="png", scale=scale, border=QUIET_ZONE_MODULES)
    return buffer.getvalue()


def pass_qr_svg(token: str, *, scale: int = 6) -> str:
    """Render a pass token as standalone SVG text (no XML declaration, so it also inlines)."""
    buffer = io.BytesIO()
    pass_qr(token).save(
        buffer, kind="svg", scale=scale, border=QUIET_ZONE_MODULES, xmldecl=False, svgns=True
    )
    return buffer.getvalue().decode("utf-8")
