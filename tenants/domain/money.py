"""Money and exact arithmetic.

Money is always an ``int`` of minor units (fen: 1 yuan = 100 fen), never a float. Ratios
(discount rates, earning percentages, proportional spreads) are computed exactly with
``Fraction`` and turned back into whole fen or whole points only by the rounding rules of
SPEC §19: discounts round half up to the fen per line, points round down, and any split of
a whole amount over lines uses the largest-remainder method so the parts add up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction

Fen = int
"""An amount of money in minor units (fen). A plain int, so it travels through JSON and SQL."""

BP = 10_000
"""Basis points in one whole: rates are stored as ints out of 10 000 (8800 = 88% = 8.8折)."""


def yuan(value: str | int) -> Fen:
    """Convert a yuan amount written as text ("12.34") or an int (12) into fen, exactly.

    More than two decimals is refused rather than rounded: money typed by a person must be exact.
    """
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"more than two decimals: {value!r}")
    return int(fen)


def format_fen(fen: Fen) -> str:
    """Render fen as a yuan string with two decimals ("-12.30"), for messages and receipts."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def round_half_up(value: Fraction | int) -> int:
    """Round an exact value to the nearest integer, halves away from zero (0.5 → 1, −0.5 → −1)."""
    value = Fraction(value)
    if value < 0:
        return -round_half_up(-value)
    return int((value + Fraction(1, 2)).__floor__())


def floor(value: Fraction | int) -> int:
    """Round an exact value down (toward minus infinity)."""
    return Fraction(value).__floor__()


def ceil(value: Fraction | int) -> int:
    """Round an exact value up (toward plus infinity)."""
    return Fraction(value).__ceil__()


def of_bp(amount: int, bp: int) -> Fraction:
    """The exact share ``bp``/10 000 of ``amount`` (no rounding)."""
    return Fraction(amount * bp, BP)


def largest_remainder(exact: Sequence[Fraction], total: int) -> list[int]:
    """Whole parts of the non-negative ``exact`` values that add up to ``total``.

    Each part starts at the floor of its exact value; the units still missing go to the parts
    with the largest fractional remainders, earlier parts first on ties. ``total`` must lie
    between the sum of the floors and that sum plus the number of parts with a remainder,
    which holds whenever ``total`` is the floor (or the exact value) of the sum.
    """
    floors = [floor(x) for x in exact]
    missing = total - sum(floors)
    remainders = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    if missing < 0 or missing > sum(1 for i in remainders if exact[i] != floors[i]):
        raise ValueError("total cannot be spread by largest remainder")
    for i in remainders[:missing]:
        floors[i] += 1
    return floors


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Spread a whole ``total`` over parts in proportion to non-negative ``weights``.

    The parts are whole (fen or points), add up to ``total`` exactly, and are rounded by largest
    remainder. Used to spread a voucher or a points payment over the lines of a bill (§19.3).
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate needs non-negative amounts")
    weight_sum = sum(weights)
    if total == 0:
        return [0] * len(weights)
    if weight_sum == 0:
        raise ValueError("cannot spread an amount over nothing")
    return largest_remainder([Fraction(total * w, weight_sum) for w in weights], total)
