"""The electronic pickup pass: a short-lived, single-use, signed token the driver shows as a QR.

A pass is a compact JWS (EdDSA, header `{"alg", "kid", "typ": "hp-pass"}`) over a JSON payload
with short claim names, because it travels in a QR code:

| claim | meaning |
| --- | --- |
| jti | pass id |
| dlv | outbound delivery id |
| plt | plant id where the pass may be used |
| prd | product |
| qty, unt | maximum quantity (decimal string) and its unit |
| veh | vehicle plate, normalized (`normalize_plate`) |
| drv, dnm | driver id and display name |
| nbf, exp | validity window, seconds since the epoch |
| chn | hash of the grant chain the pass hangs from (`chain.chain_hash`) |

`verify_pass` decides what a gate can decide from the token alone plus a revocation list; the
service adds the online-only reasons (consumed, already presented, quantity exceeded, claims
tampered) from its stored state. All reasons share one enum, `PassReason`.

Check order, each step only once the previous one passed:

1. shape and header: three base64url parts, EdDSA, kid, typ `hp-pass` -> malformed
2. key: the kid names a published key -> unknown_key
3. signature over header and payload -> signature_invalid
4. claims: only now is the payload read, and it must be complete and well typed -> malformed
5. revocation -> revoked (a withdrawn pass is never explained away as merely late)
6. validity window with `leeway_s` of clock skew -> expired, not_yet_valid
7. plant, then vehicle plate -> wrong_plant, plate_mismatch

No claim is trusted, or returned, before step 3: a refusal at steps 1-3 carries no claims.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from core.signing import (
    BadSignature,
    JwksKeys,
    KeyResolver,
    KeyRing,
    MalformedJws,
    UnknownKey,
    verify_compact,
)

PICKUP_JWS_TYP = "hp-pass"
# Pickup windows are hours, not days; a key rotation keeps old keys published this long
# (plus leeway) so every pass outlives neither its key nor this bound.
MAX_PASS_LIFETIME_S = 24 * 3600
DEFAULT_LEEWAY_S = 120
# What `KeyRing.rotate` needs as `publish_for_s`: a pass signed just before the rotation is
# honoured until its expiry plus the verifiers' leeway.
RETIRED_KEY_PUBLISH_S = MAX_PASS_LIFETIME_S + DEFAULT_LEEWAY_S
MAX_TEXT_CHARS = 64
# Separators people put inside plates besides spaces and dashes (Unicode category Pd): the
# minus sign that autocorrect produces, and the middle dots of plates like 京A·12345.
_PLATE_SEPARATORS = frozenset("\u2212\u00b7\u30fb\u2022\u2027")


class PassReason(StrEnum):
    """Why a pass is refused: one vocabulary for gate devices, services and the API."""

    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    SIGNATURE_INVALID = "signature_invalid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    PLATE_MISMATCH = "plate_mismatch"
    WRONG_PLANT = "wrong_plant"
    # Decided online by the service from stored state:
    CONSUMED = "consumed"  # the pickup it authorizes has been loaded and closed
    ALREADY_PRESENTED = "already_presented"  # checked in once already: a copy, or a re-scan
    QUANTITY_EXCEEDED = "quantity_exceeded"  # loaded or requested more than `max_quantity`
    TAMPERED = "tampered"  # validly signed, but differs from the pass the platform issued


OFFLINE_REASONS = frozenset(
    {
        PassReason.MALFORMED,
        PassReason.UNKNOWN_KEY,
        PassReason.SIGNATURE_INVALID,
        PassReason.EXPIRED,
        PassReason.NOT_YET_VALID,
        PassReason.REVOKED,
        PassReason.PLATE_MISMATCH,
        PassReason.WRONG_PLANT,
    }
)
ONLINE_ONLY_REASONS = frozenset(PassReason) - OFFLINE_REASONS


class QuantityUnit(StrEnum):
    """Units a pass quantity may be given in."""

    KG = "kg"
    TONNE = "t"
    LITRE = "l"
    CUBIC_METRE = "m3"
    PALLET = "pallet"
    PIECE = "piece"


class PassClaimsError(ValueError):
    """Pass claims that cannot be issued or read."""


def normalize_plate(plate: str) -> str:
    """Normalize a vehicle plate: compatibility forms folded, upper case, no spaces or dashes."""
    folded = unicodedata.normalize("NFKC", plate)
    kept = (
        ch
        for ch in folded
        if not ch.isspace() and ch not in _PLATE_SEPARATORS and unicodedata.category(ch) != "Pd"
    )
    return "".join(kept).upper()


def _utc_seconds(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise PassClaimsError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


def _canonical_quantity(quantity: Decimal) -> str:
    # normalize() drops trailing zeros so 30.0 and 30 read the same; "f" avoids exponents.
    return format(quantity.normalize(), "f")


@dataclass(frozen=True)
class PassClaims:
    """What a pass says. Times are cut to whole seconds and the plate normalized on creation."""

    pass_id: str
    delivery_id: str
    plant_id: str
    product: str
    max_quantity: Decimal
    unit: QuantityUnit
    vehicle_plate: str
    driver_id: str
    driver_name: str
    not_before: datetime
    expires_at: datetime
    chain_hash: str

    def __post_init__(self) -> None:
        for name in ("pass_id", "delivery_id", "plant_id", "product", "driver_id", "chain_hash"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS:
                raise PassClaimsError(f"{name} must be 1 to {MAX_TEXT_CHARS} characters")
        if not isinstance(self.driver_name, str) or len(self.driver_name) > MAX_TEXT_CHARS:
            raise PassClaimsError(f"driver_name must be at most {MAX_TEXT_CHARS} characters")
        if not isinstance(self.max_quantity, Decimal) or not self.max_quantity.is_finite():
            raise PassClaimsError("max_quantity must be a finite Decimal")
        if self.max_quantity <= 0:
            raise PassClaimsError("max_quantity must be positive")
        object.__setattr__(self, "unit", QuantityUnit(self.unit))
        plate = normalize_plate(self.vehicle_plate)
        if not plate or len(plate) > MAX_TEXT_CHARS:
            raise PassClaimsError("vehicle_plate is empty or too long")
        object.__setattr__(self, "vehicle_plate", plate)
        object.__setattr__(self, "not_before", _utc_seconds(self.not_before, "not_before"))
        object.__setattr__(self, "expires_at", _utc_seconds(self.expires_at, "expires_at"))
        if self.expires_at <= self.not_before:
            raise PassClaimsError("expires_at must be after not_before")

    @property
    def lifetime_s(self) -> float:
        """Seconds between not_before and expires_at."""
        return (self.expires_at - self.not_before).total_seconds()

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON payload with its short claim names."""
        return {
            "jti": self.pass_id,
            "dlv": self.delivery_id,
            "plt": self.plant_id,
            "prd": self.product,
            "qty": _canonical_quantity(self.max_quantity),
            "unt": self.unit.value,
            "veh": self.vehicle_plate,
            "drv": self.driver_id,
            "dnm": self.driver_name,
            "nbf": int(self.not_before.timestamp()),
            "exp": int(self.expires_at.timestamp()),
            "chn": self.chain_hash,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> PassClaims:
        """Read claims from a decoded payload; unknown claims are ignored."""
        try:
            texts = {
                name: payload[claim]
                for name, claim in (
                    ("pass_id", "jti"),
                    ("delivery_id", "dlv"),
                    ("plant_id", "plt"),
                    ("product", "prd"),
                    ("vehicle_plate", "veh"),
                    ("driver_id", "drv"),
                    ("driver_name", "dnm"),
                    ("chain_hash", "chn"),
                )
            }
            quantity, unit = payload["qty"], payload["unt"]
            not_before, expires_at = payload["nbf"], payload["exp"]
        except KeyError as error:
            raise PassClaimsError(f"missing claim {error.args[0]}") from error
        if not all(isinstance(value, str) for value in texts.values()):
            raise PassClaimsError("text claims must be strings")
        if not isinstance(quantity, str) or not isinstance(unit, str):
            raise PassClaimsError("qty and unt must be strings")
        for value in (not_before, expires_at):
            # bool is an int in Python; a JSON true is no time.
            if not isinstance(value, int) or isinstance(value, bool):
                raise PassClaimsError("nbf and exp must be integers")
        try:
            return cls(
                **texts,
                max_quantity=Decimal(quantity),
                unit=QuantityUnit(unit),
                not_before=datetime.fromtimestamp(not_before, UTC),
                expires_at=datetime.fromtimestamp(expires_at, UTC),
            )
        except (InvalidOperation, ValueError, OverflowError, OSError) as error:
            raise PassClaimsError(str(error)) from error


@dataclass(frozen=True)
class PassCheck:
    """The verdict on a pass: valid when `reason` is None; claims only once the signature held."""

    reason: PassReason | None
    claims: PassClaims | None = None
    kid: str | None = None
    detail: str = ""

    @property
    def valid(self) -> bool:
        """True when the pass may be honoured (as far as this check can tell)."""
        return self.reason is None


def issue_pass(
    claims: PassClaims, *, ring: KeyRing, max_lifetime_s: float = MAX_PASS_LIFETIME_S
) -> str:
    """Sign `claims` with the ring's active key and return the compact JWS."""
    if claims.lifetime_s > max_lifetime_s:
        raise PassClaimsError(f"a pass may live at most {max_lifetime_s:.0f} s")
    payload = json.dumps(claims.to_payload(), separators=(",", ":"), ensure_ascii=False)
    return ring.sign_compact(payload.encode("utf-8"), typ=PICKUP_JWS_TYP)


def verify_pass(
    token: str,
    *,
    keys: KeyResolver | Mapping[str, Any],
    revoked: Container[str],
    plate_seen: str,
    plant_id: str,
    now: datetime,
    leeway_s: float = DEFAULT_LEEWAY_S,
) -> PassCheck:
    """Verify a pass at a gate; `keys` is a key ring, parsed JWKS or a JWKS document."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    resolver = JwksKeys.from_document(keys) if isinstance(keys, Mapping) else keys
    try:
        verified = verify_compact(token.strip(), keys=resolver, now=now, typ=PICKUP_JWS_TYP)
    except MalformedJws as error:
        return PassCheck(reason=PassReason.MALFORMED, detail=str(error))
    except UnknownKey as error:
        return PassCheck(reason=PassReason.UNKNOWN_KEY, kid=error.kid, detail=str(error))
    except BadSignature as error:
        return PassCheck(reason=PassReason.SIGNATURE_INVALID, kid=error.kid, detail=str(error))
    kid = verified.kid
    try:
        payload = json.loads(verified.payload)
        if not isinstance(payload, dict):
            raise PassClaimsError("payload is not a JSON object")
        claims = PassClaims.from_payload(payload)
    except (ValueError, RecursionError) as error:
        return PassCheck(reason=PassReason.MALFORMED, kid=kid, detail=f"bad claims: {error}")

    def refuse(reason: PassReason, detail: str) -> PassCheck:
        return PassCheck(reason=reason, claims=claims, kid=kid, detail=detail)

    if claims.pass_id in revoked:
        return refuse(PassReason.REVOKED, "the pass has been revoked")
    leeway = timedelta(seconds=leeway_s)
    if now >= claims.expires_at + leeway:
        return refuse(PassReason.EXPIRED, f"expired at {claims.expires_at.isoformat()}")
    if now < claims.not_before - leeway:
        return refuse(PassReason.NOT_YET_VALID, f"valid from {claims.not_before.isoformat()}")
    if claims.plant_id != plant_id:
        return refuse(PassReason.WRONG_PLANT, f"issued for plant {claims.plant_id}")
    if normalize_plate(plate_seen) != claims.vehicle_plate:
        return refuse(PassReason.PLATE_MISMATCH, f"issued for vehicle {claims.vehicle_plate}")
    return PassCheck(reason=None, claims=claims, kid=kid)
