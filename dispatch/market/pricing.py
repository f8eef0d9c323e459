"""What a quantity costs at a rate: exact, in minor units of the offer's currency.

Quantities are whole base units (kg, l, pallets, pieces) and rates whole minor units (cents)
per basis, so amounts are computed with integers and one half-up rounding at the end.
"""

from __future__ import annotations

from fractions import Fraction

from dispatch.market.enums import RateBasis
from dispatch.orders.enums import QuantityUnit

BASIS_UNITS: dict[RateBasis, frozenset[QuantityUnit]] = {
    RateBasis.PER_TONNE: frozenset({QuantityUnit.KG}),
    RateBasis.PER_M3: frozenset({QuantityUnit.LITRE}),
    RateBasis.PER_UNIT: frozenset({QuantityUnit.PALLET, QuantityUnit.PIECE}),
    RateBasis.PER_TRIP: frozenset(QuantityUnit),
    RateBasis.PER_LOAD: frozenset(QuantityUnit),
}
"""Which quantity units each rate basis can price."""


def basis_fits(basis: RateBasis, unit: QuantityUnit) -> bool:
    """Whether a rate per ``basis`` can price a quantity in ``unit``."""
    return unit in BASIS_UNITS[basis]


def trips(quantity: int, trip_size: int) -> int:
    """Trips needed to move ``quantity`` when one trip carries ``trip_size``."""
    return -(-quantity // trip_size)


def amount_cents(
    *, basis: RateBasis, rate_cents: int, quantity: int, load_quantity: int, trip_size: int
) -> int:
    """The price of ``quantity`` of a load of ``load_quantity`` at ``rate_cents`` per basis.

    Per tonne and per cubic metre divide kg and litres by 1000; per trip counts whole trips
    of ``trip_size``; per load prorates the lump sum by the share taken.
    """
    exact: Fraction
    if basis in (RateBasis.PER_TONNE, RateBasis.PER_M3):
        exact = Fraction(rate_cents * quantity, 1000)
    elif basis == RateBasis.PER_UNIT:
        exact = Fraction(rate_cents * quantity)
    elif basis == RateBasis.PER_TRIP:
        exact = Fraction(rate_cents * trips(quantity, trip_size))
    else:
        exact = Fraction(rate_cents * quantity, load_quantity)
    return _round_half_up(exact)


def _round_half_up(value: Fraction) -> int:
    whole, rest = divmod(value.numerator, value.denominator)
    return whole + (1 if 2 * rest >= value.denominator else 0)
