from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.signing import KeyRing, generate_private_key
from dispatch.authorizations.passes import (
    DEFAULT_LEEWAY_S,
    MAX_PASS_LIFETIME_S,
    ONLINE_ONLY_REASONS,
    PICKUP_JWS_TYP,
    RETIRED_KEY_PUBLISH_S,
    PassCheck,
    PassClaims,
    PassClaimsError,
    PassReason,
    QuantityUnit,
    issue_pass,
    normalize_plate,
    verify_pass,
)
from tests.dispatch.pass_factory import NOW, PLANT, PLATE, make_claims

RING = KeyRing(active=generate_private_key())
LEEWAY = timedelta(seconds=DEFAULT_LEEWAY_S)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value).encode())


def check(
    token: str,
    *,
    keys: Any = RING,
    revoked: frozenset[str] = frozenset(),
    plate_seen: str = PLATE,
    plant_id: str = PLANT,
    now: datetime = NOW + timedelta(hours=1),
) -> PassCheck:
    return verify_pass(
        token, keys=keys, revoked=revoked, plate_seen=plate_seen, plant_id=plant_id, now=now
    )


def signed_with_payload(payload: object, *, typ: str = PICKUP_JWS_TYP) -> str:
    return RING.sign_compact(json.dumps(payload).encode(), typ=typ)


class TestValidPass:
    def test_a_fresh_pass_verifies_and_returns_what_was_issued(self) -> None:
        claims = make_claims()
        result = check(issue_pass(claims, ring=RING))
        assert result.valid
        assert result.reason is None
        assert result.claims == claims
        assert result.kid == RING.active_kid

    def test_it_verifies_from_the_published_jwks_document(self) -> None:
        result = check(issue_pass(make_claims(), ring=RING), keys=RING.jwks(now=NOW))
        assert result.valid

    def test_a_scanner_trailing_newline_does_not_matter(self) -> None:
        assert check(issue_pass(make_claims(), ring=RING) + "\r\n").valid

    def test_the_token_is_a_compact_jws_with_kid_and_typ(self) -> None:
        token = issue_pass(make_claims(), ring=RING)
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header == {"alg": "EdDSA", "kid": RING.active_kid, "typ": "hp-pass"}

    @given(
        ids=st.lists(st.text(min_size=1, max_size=40), min_size=5, max_size=5),
        name=st.text(max_size=40),
        quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3),
        unit=st.sampled_from(QuantityUnit),
        start_s=st.integers(min_value=0, max_value=4_000_000_000),
        lifetime_s=st.integers(min_value=1, max_value=86_400),
    )
    def test_any_claims_survive_the_round_trip(
        self,
        ids: list[str],
        name: str,
        quantity: Decimal,
        unit: QuantityUnit,
        start_s: int,
        lifetime_s: int,
    ) -> None:
        start = datetime.fromtimestamp(start_s, UTC)
        claims = make_claims(
            pass_id=ids[0],
            delivery_id=ids[1],
            plant_id=ids[2],
            product=ids[3],
            driver_id=ids[4],
            driver_name=name,
            max_quantity=quantity,
            unit=unit,
            not_before=start,
            expires_at=start + timedelta(seconds=lifetime_s),
        )
        result = check(issue_pass(claims, ring=RING), plant_id=ids[2], now=start)
        assert result.valid, result.detail
        assert result.claims == claims


class TestSignatureRefusals:
    def test_a_pass_forged_with_another_key_under_our_kid_is_signature_invalid(self) -> None:
        forger = KeyRing(active=generate_private_key())
        head = b64url_json({"alg": "EdDSA", "kid": RING.active_kid, "typ": "hp-pass"})
        body = issue_pass(make_claims(), ring=forger).split(".")[1]
        forged = f"{head}.{body}.{b64url(forger.active.sign(f'{head}.{body}'.encode()))}"
        result = check(forged)
        assert result.reason is PassReason.SIGNATURE_INVALID
        assert result.claims is None

    def test_a_tampered_payload_is_signature_invalid_and_its_claims_are_not_shown(
        self,
    ) -> None:
        head, body, signature = issue_pass(make_claims(), ring=RING).split(".")
        payload = json.loads(base64.urlsafe_b64decode(body + "=="))
        payload["qty"] = "60"
        result = check(f"{head}.{b64url_json(payload)}.{signature}")
        assert result.reason is PassReason.SIGNATURE_INVALID
        assert result.claims is None

    def test_a_pass_signed_by_a_key_we_never_published_is_unknown_key(self) -> None:
        stranger = KeyRing(active=generate_private_key())
        result = check(issue_pass(make_claims(), ring=stranger))
        assert result.reason is PassReason.UNKNOWN_KEY
        assert result.kid == stranger.active_kid
        assert result.claims is None


class TestRotation:
    def test_a_pass_from_a_retired_key_verifies_until_publish_until_then_unknown_key(
        self,
    ) -> None:
        old_ring = KeyRing(active=generate_private_key())
        claims = make_claims(expires_at=NOW + timedelta(hours=8))
        token = issue_pass(claims, ring=old_ring)
        rotated = old_ring.rotate(generate_private_key(), now=NOW, publish_for_s=2 * 3600)

        still = check(token, keys=rotated, now=NOW + timedelta(hours=1))
        assert still.valid
        after = check(token, keys=rotated, now=NOW + timedelta(hours=2))
        assert after.reason is PassReason.UNKNOWN_KEY
        from_jwks = check(
            token, keys=rotated.jwks(now=NOW + timedelta(hours=2)), now=NOW + timedelta(hours=2)
        )
        assert from_jwks.reason is PassReason.UNKNOWN_KEY

    def test_rotating_with_the_advised_window_keeps_the_longest_pass_to_its_end(self) -> None:
        old_ring = KeyRing(active=generate_private_key())
        claims = make_claims(expires_at=NOW + timedelta(seconds=MAX_PASS_LIFETIME_S))
        token = issue_pass(claims, ring=old_ring)
        rotated = old_ring.rotate(
            generate_private_key(), now=NOW, publish_for_s=RETIRED_KEY_PUBLISH_S
        )
        last_moment = claims.expires_at + LEEWAY - timedelta(seconds=1)
        assert check(token, keys=rotated.jwks(now=last_moment), now=last_moment).valid


class TestTimeRefusals:
    def test_an_expired_pass_is_refused_once_the_leeway_is_spent(self) -> None:
        claims = make_claims()
        token = issue_pass(claims, ring=RING)
        assert check(token, now=claims.expires_at + LEEWAY - timedelta(seconds=1)).valid
        result = check(token, now=claims.expires_at + LEEWAY)
        assert result.reason is PassReason.EXPIRED
        assert result.claims == claims

    def test_a_pass_used_before_its_not_before_is_not_yet_valid(self) -> None:
        claims = make_claims(not_before=NOW + timedelta(hours=2))
        token = issue_pass(claims, ring=RING)
        assert check(token, now=claims.not_before - LEEWAY).valid
        result = check(token, now=claims.not_before - LEEWAY - timedelta(seconds=1))
        assert result.reason is PassReason.NOT_YET_VALID

    def test_a_naive_clock_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="timezone"):
            check(issue_pass(make_claims(), ring=RING), now=datetime(2025, 3, 14, 9))


class TestBindingRefusals:
    def test_a_revoked_pass_is_refused(self) -> None:
        claims = make_claims()
        result = check(issue_pass(claims, ring=RING), revoked=frozenset({claims.pass_id}))
        assert result.reason is PassReason.REVOKED

    def test_revocation_is_reported_even_when_the_pass_also_expired(self) -> None:
        claims = make_claims()
        result = check(
            issue_pass(claims, ring=RING),
            revoked=frozenset({claims.pass_id}),
            now=claims.expires_at + timedelta(days=1),
        )
        assert result.reason is PassReason.REVOKED

    def test_another_vehicle_is_a_plate_mismatch(self) -> None:
        result = check(issue_pass(make_claims(), ring=RING), plate_seen="AB-12 CDF")
        assert result.reason is PassReason.PLATE_MISMATCH

    @pytest.mark.parametrize("seen", ["ab12cde", "AB 12 CDE", "ab-12-cde", " AB\u201312\tCDE "])
    def test_the_same_plate_written_differently_matches(self, seen: str) -> None:
        assert check(issue_pass(make_claims(), ring=RING), plate_seen=seen).valid

    def test_another_plant_is_wrong_plant(self) -> None:
        result = check(issue_pass(make_claims(), ring=RING), plant_id="plant-antwerp-1")
        assert result.reason is PassReason.WRONG_PLANT
        assert result.claims is not None
        assert result.claims.plant_id == PLANT


class TestPlateNormalization:
    def test_the_briefed_example(self) -> None:
        assert normalize_plate("ab-12 cd") == normalize_plate("AB12CD") == "AB12CD"

    @pytest.mark.parametrize(
        ("written", "normal"),
        [
            ("京A·12345", "京A12345"),
            ("\uff21\uff22\uff11\uff12\uff23\uff24", "AB12CD"),
            ("B-MW 1234", "BMW1234"),
        ],
    )
    def test_dots_and_full_width_forms_fold(self, written: str, normal: str) -> None:
        assert normalize_plate(written) == normal

    @given(plate=st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=1, max_size=9))
    def test_separators_anywhere_do_not_change_a_plate(self, plate: str) -> None:
        noisy = " - ".join(plate.lower())
        assert normalize_plate(noisy) == plate
        assert normalize_plate(normalize_plate(noisy)) == plate


class TestMalformed:
    @pytest.mark.parametrize(
        "token",
        [
            "",
            "not a token",
            "a.b",
            "a.b.c.d",
            "eyJ!.eyJ!.abc",
            f"{b64url(b'not json')}.{b64url(b'{}')}.{b64url(bytes(64))}",
            f"{b64url_json(['alg', 'EdDSA'])}.{b64url(b'{}')}.{b64url(bytes(64))}",
            f"{b64url_json({'alg': 'none', 'typ': 'hp-pass'})}.{b64url(b'{}')}.",
            "ключ.ключ.ключ",
        ],
        ids=[
            "empty",
            "words",
            "two-parts",
            "four-parts",
            "bad-base64",
            "header-not-json",
            "header-not-object",
            "alg-none",
            "non-ascii",
        ],
    )
    def test_garbage_is_malformed_without_claims(self, token: str) -> None:
        result = check(token)
        assert result.reason is PassReason.MALFORMED
        assert result.claims is None

    def test_a_token_of_another_type_signed_by_us_is_malformed(self) -> None:
        token = signed_with_payload(make_claims().to_payload(), typ="hp-receipt")
        assert check(token).reason is PassReason.MALFORMED

    @pytest.mark.parametrize(
        "change",
        [
            {"veh": None},
            {"nbf": True},
            {"exp": "tomorrow"},
            {"qty": 32.5},
            {"qty": "-1"},
            {"unt": "barrels"},
            {"jti": ""},
        ],
        ids=["no-plate", "bool-time", "text-time", "float-qty", "negative", "unit", "empty-id"],
    )
    def test_signed_but_unreadable_claims_are_malformed(self, change: dict[str, object]) -> None:
        payload = make_claims().to_payload()
        for name, value in change.items():
            if value is None:
                del payload[name]
            else:
                payload[name] = value
        result = check(signed_with_payload(payload))
        assert result.reason is PassReason.MALFORMED
        assert result.kid == RING.active_kid
        assert result.claims is None

    def test_a_payload_that_is_not_an_object_is_malformed(self) -> None:
        assert check(signed_with_payload(["jti"])).reason is PassReason.MALFORMED


class TestIssuing:
    def test_a_pass_longer_than_a_day_is_not_issued(self) -> None:
        with pytest.raises(PassClaimsError):
            issue_pass(make_claims(expires_at=NOW + timedelta(hours=25)), ring=RING)

    @pytest.mark.parametrize(
        "change",
        [
            {"not_before": datetime(2025, 3, 14, 8)},
            {"expires_at": NOW},
            {"max_quantity": Decimal(0)},
            {"max_quantity": Decimal("NaN")},
            {"vehicle_plate": " - "},
            {"driver_name": "x" * 65},
        ],
        ids=["naive-time", "empty-window", "zero-qty", "nan-qty", "blank-plate", "long-name"],
    )
    def test_bad_claims_are_refused_before_signing(self, change: dict[str, object]) -> None:
        with pytest.raises(PassClaimsError):
            make_claims(**change)

    def test_claims_are_cut_to_whole_seconds_and_utc(self) -> None:
        claims = make_claims(
            not_before=(NOW + timedelta(microseconds=900)).astimezone(
                datetime.now(UTC).astimezone().tzinfo
            )
        )
        assert claims.not_before == NOW
        assert claims.not_before.tzinfo is UTC


class TestReasonVocabulary:
    def test_codes_are_the_stable_strings_clients_match_on(self) -> None:
        assert {r.value for r in PassReason} == {
            "malformed",
            "unknown_key",
            "signature_invalid",
            "expired",
            "not_yet_valid",
            "revoked",
            "plate_mismatch",
            "wrong_plant",
            "consumed",
            "already_presented",
            "quantity_exceeded",
            "tampered",
        }
        assert {
            PassReason.CONSUMED,
            PassReason.ALREADY_PRESENTED,
            PassReason.QUANTITY_EXCEEDED,
            PassReason.TAMPERED,
        } == ONLINE_ONLY_REASONS

    def test_claims_read_back_equal_claims_issued_so_tampering_is_a_comparison(self) -> None:
        issued = make_claims()
        presented = PassClaims.from_payload(issued.to_payload())
        assert presented == issued
        assert PassClaims.from_payload({**issued.to_payload(), "qty": "33"}) != issued
