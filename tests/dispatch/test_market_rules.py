"""The market's pure rules: prices, auction scores, reliability, and what carriers qualify for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from geopy.distance import geodesic
from hypothesis import given
from hypothesis import strategies as st

from dispatch.fleet.capability import (
    CarrierCapability,
    HeldQualification,
    LoadNeeds,
    VehicleClass,
    bounding_box,
    distance_km,
    hazard_class_covers,
    shortfalls,
)
from dispatch.fleet.enums import BodyType, QualificationKind
from dispatch.market.enums import RateBasis
from dispatch.market.pricing import amount_cents, trips
from dispatch.market.reliability import Outcome, OutcomeKind, Tier, reliability
from dispatch.market.scoring import Candidate, rank

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class TestPricing:
    def test_per_tonne_rounds_half_up_once(self) -> None:
        # 12 345 kg at 18.55 EUR/t is 22 899.975 cents: one rounding, half up.
        assert (
            amount_cents(
                basis=RateBasis.PER_TONNE,
                rate_cents=1855,
                quantity=12_345,
                load_quantity=25_000,
                trip_size=1,
            )
            == 22_900
        )  # 22 899.975 rounds up
        assert (
            amount_cents(
                basis=RateBasis.PER_TONNE,
                rate_cents=1,
                quantity=499,
                load_quantity=1000,
                trip_size=1,
            )
            == 0
        )
        assert (
            amount_cents(
                basis=RateBasis.PER_TONNE,
                rate_cents=1,
                quantity=500,
                load_quantity=1000,
                trip_size=1,
            )
            == 1
        )

    def test_per_trip_counts_started_trips(self) -> None:
        assert trips(50_000, 25_000) == 2
        assert trips(50_001, 25_000) == 3
        assert (
            amount_cents(
                basis=RateBasis.PER_TRIP,
                rate_cents=45_000,
                quantity=60_000,
                load_quantity=100_000,
                trip_size=25_000,
            )
            == 3 * 45_000
        )

    @given(
        rate=st.integers(1, 10**6),
        load=st.integers(1, 10**7),
        split=st.lists(st.integers(1, 10**6), min_size=1, max_size=20),
    )
    def test_a_lump_sum_split_into_parts_stays_within_a_cent_per_part(
        self, rate: int, load: int, split: list[int]
    ) -> None:
        parts = [min(p, load) for p in split]
        total = sum(
            amount_cents(
                basis=RateBasis.PER_LOAD,
                rate_cents=rate,
                quantity=p,
                load_quantity=load,
                trip_size=1,
            )
            for p in parts
        )
        exact = Fraction(rate * sum(parts), load)
        assert abs(total - exact) <= Fraction(len(parts), 2)


def candidate(amount: int, reliability_score: Fraction, minutes: int = 0) -> Candidate:
    return Candidate(
        bid_id=uuid.uuid4(),
        carrier_id=uuid.uuid4(),
        amount_cents=amount,
        reliability=reliability_score,
        placed_at=NOW + timedelta(minutes=minutes),
    )


class TestScoring:
    def test_reliability_can_outweigh_a_cheaper_price(self) -> None:
        cheap = candidate(40_000, Fraction(3, 10))
        steady = candidate(42_500, Fraction(95, 100))
        assert rank([cheap, steady], price_weight_pct=50)[0].candidate == steady
        assert rank([cheap, steady], price_weight_pct=100)[0].candidate == cheap

    def test_ties_go_to_the_lower_amount_then_the_earlier_bid(self) -> None:
        early = candidate(40_000, Fraction(1, 2), minutes=0)
        late = candidate(40_000, Fraction(1, 2), minutes=5)
        assert [s.candidate for s in rank([late, early], price_weight_pct=70)] == [early, late]

    @given(
        bids=st.lists(
            st.tuples(st.integers(1, 10**9), st.fractions(0, 1)), min_size=1, max_size=30
        ),
        weight=st.integers(0, 100),
    )
    def test_scores_are_ordered_and_bounded(
        self, bids: list[tuple[int, Fraction]], weight: int
    ) -> None:
        ranked = rank([candidate(a, r) for a, r in bids], price_weight_pct=weight)
        scores = [s.score for s in ranked]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= s <= 1 for s in scores)
        if weight == 100:
            assert ranked[0].candidate.amount_cents == min(a for a, _ in bids)

    def test_a_weight_outside_0_to_100_is_refused(self) -> None:
        with pytest.raises(ValueError, match="between 0 and 100"):
            rank([candidate(1, Fraction(1))], price_weight_pct=101)


def delivered(day: int, *, on_time: bool = True) -> Outcome:
    return Outcome(
        OutcomeKind.DELIVERED,
        NOW + timedelta(days=day),
        picked_up_on_time=on_time,
        delivered_on_time=on_time,
    )


class TestReliability:
    def test_a_new_carrier_scores_the_prior(self) -> None:
        fresh = reliability([])
        assert (fresh.bookings, fresh.score, fresh.tier) == (0, Fraction(4, 5), Tier.NEW)

    def test_a_late_cancellation_lowers_the_score(self) -> None:
        history = [delivered(d) for d in range(6)]
        before = reliability(history)
        after = reliability([*history, Outcome(OutcomeKind.LATE_CANCELLATION, NOW + timedelta(7))])
        assert after.score < before.score
        assert after.cancellation_rate == Fraction(1, 7)

    def test_only_the_last_twenty_count(self) -> None:
        old_failures = [
            Outcome(OutcomeKind.NO_SHOW, NOW - timedelta(days=100 + d)) for d in range(5)
        ]
        recent = [delivered(d) for d in range(20)]
        found = reliability([*old_failures, *recent])
        assert (found.bookings, found.cancellation_rate, found.tier) == (20, Fraction(0), Tier.TOP)

    def test_tiers_follow_the_five_percent_and_ninety_five_percent_anchor(self) -> None:
        one_late = [delivered(d, on_time=d != 0) for d in range(20)]
        assert reliability(one_late).tier == Tier.TOP  # 95 % on time
        two_late = [delivered(d, on_time=d > 1) for d in range(20)]
        assert reliability(two_late).tier == Tier.GOOD
        cancels = [
            *(delivered(d) for d in range(17)),
            *(
                Outcome(OutcomeKind.LATE_CANCELLATION, NOW + timedelta(days=30 + d))
                for d in range(3)
            ),
        ]
        assert reliability(cancels).tier == Tier.WATCH

    @given(st.lists(st.sampled_from(list(OutcomeKind)), max_size=40))
    def test_the_score_stays_between_0_and_1(self, kinds: list[OutcomeKind]) -> None:
        outcomes = [
            Outcome(
                kind, NOW + timedelta(hours=n), picked_up_on_time=True, delivered_on_time=n % 2 == 0
            )
            for n, kind in enumerate(kinds)
        ]
        assert 0 <= reliability(outcomes).score <= 1


def capability(
    *,
    held: tuple[tuple[QualificationKind, frozenset[str]], ...] = (),
    vehicles: tuple[VehicleClass, ...] = (),
    expires: datetime = NOW + timedelta(days=30),
) -> CarrierCapability:
    base: tuple[tuple[QualificationKind, frozenset[str]], ...] = (
        (QualificationKind.TRANSPORT_LICENCE, frozenset()),
        (QualificationKind.INSURANCE, frozenset()),
    )
    return CarrierCapability(
        carrier_id=uuid.uuid4(),
        qualifications=tuple(
            HeldQualification(kind, NOW - timedelta(days=1), expires, classes)
            for kind, classes in (*base, *held)
        ),
        vehicle_classes=frozenset(vehicles),
    )


class TestCapability:
    def test_a_whole_class_covers_its_divisions_but_not_siblings(self) -> None:
        assert hazard_class_covers("4", "4.1")
        assert hazard_class_covers("1.1", "1.1D")
        assert hazard_class_covers("3", "3")
        assert not hazard_class_covers("4.1", "4.2")
        assert not hazard_class_covers("4.1", "4")
        assert not hazard_class_covers("2", "3")

    def test_one_vehicle_must_meet_all_vehicle_needs_at_once(self) -> None:
        needs = LoadNeeds(
            hazard_class="3", food_grade=False, body_types=frozenset({BodyType.TANKER})
        )
        split = capability(
            held=((QualificationKind.HAZMAT_PERMIT, frozenset({"3"})),),
            vehicles=(
                VehicleClass(BodyType.TANKER, False, frozenset()),
                VehicleClass(BodyType.FLATBED, False, frozenset({"3"})),
            ),
        )
        assert shortfalls(needs, split, NOW) == ["vehicle"]
        equipped = capability(
            held=((QualificationKind.HAZMAT_PERMIT, frozenset({"3"})),),
            vehicles=(VehicleClass(BodyType.TANKER, False, frozenset({"3", "8"})),),
        )
        assert shortfalls(needs, equipped, NOW) == []

    def test_expired_documents_do_not_count(self) -> None:
        needs = LoadNeeds()
        lapsed = capability(
            vehicles=(VehicleClass(BodyType.BOX, False),), expires=NOW - timedelta(seconds=1)
        )
        assert shortfalls(needs, lapsed, NOW) == ["transport_licence", "insurance"]

    @given(
        lat=st.floats(-80, 80),
        lon=st.floats(-170, 170),
        bearing_lat=st.floats(-1, 1),
        bearing_lon=st.floats(-1, 1),
        radius=st.floats(1, 500),
    )
    def test_the_bounding_box_holds_every_point_within_the_radius(
        self, lat: float, lon: float, bearing_lat: float, bearing_lon: float, radius: float
    ) -> None:
        centre = (lat, lon)
        point = (lat + bearing_lat * radius / 111.0, lon + bearing_lon * radius / 111.0)
        if abs(point[0]) > 89 or distance_km(centre, point) > radius:
            return
        min_lat, max_lat, min_lon, max_lon = bounding_box(centre, radius)
        assert min_lat <= point[0] <= max_lat
        assert min_lon <= point[1] <= max_lon

    def test_distances_agree_with_geopy_within_half_a_percent(self) -> None:
        uelzen, hamburg, lisbon = (52.979, 10.558), (53.546, 10.082), (38.72, -9.14)
        for a, b in ((uelzen, hamburg), (hamburg, lisbon)):
            expected = geodesic(a, b).km
            assert abs(distance_km(a, b) - expected) < 0.005 * expected
