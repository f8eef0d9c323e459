"""What the service reads from a token besides its verified claims."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from core.signing import KeyRing, generate_private_key
from dispatch.authorizations.passes import issue_pass
from dispatch.authorizations.tokens import (
    MAX_TOKEN_CHARS,
    claims_digest,
    peek_pass_id,
    signature_segment,
)
from tests.dispatch.pass_factory import make_claims

RING = KeyRing(active=generate_private_key())
PASS_ID = uuid.UUID("01900000-0000-7000-8000-0000000000aa")


class TestClaimsDigest:
    def test_equal_claims_digest_alike_and_any_change_shows(self) -> None:
        claims = make_claims()
        assert claims_digest(claims) == claims_digest(replace(claims))
        # 32.50 and 32.5 are one quantity: the digest follows the claim, not its spelling.
        assert claims_digest(replace(claims, max_quantity=Decimal("32.50"))) == (
            claims_digest(claims)
        )
        assert claims_digest(replace(claims, max_quantity=Decimal("32.6"))) != (
            claims_digest(claims)
        )
        assert claims_digest(replace(claims, vehicle_plate="AB-12 CDF")) != (claims_digest(claims))


class TestPeek:
    def test_the_pass_id_and_signature_of_a_token_are_read_without_trusting_it(self) -> None:
        token = issue_pass(make_claims(pass_id=str(PASS_ID)), ring=RING)
        assert peek_pass_id(token) == PASS_ID
        assert signature_segment(token) == token.split(".")[2]

    def test_what_is_not_a_pass_names_no_pass(self) -> None:
        for junk in ("", "a.b", "a.b.c", "x" * (MAX_TOKEN_CHARS + 1), "e30.e30.e30"):
            assert peek_pass_id(junk) is None

    @given(st.text(max_size=300))
    def test_peeking_never_raises(self, text: str) -> None:
        found = peek_pass_id(text)
        assert found is None or isinstance(found, uuid.UUID)
