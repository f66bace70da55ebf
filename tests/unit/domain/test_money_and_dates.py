from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenants.domain.dates import (
    add_months,
    add_working_days,
    birthday_in_year,
    in_half_open,
    working_days_between,
)
from tenants.domain.money import allocate, format_fen, largest_remainder, round_half_up, yuan


def test_yuan_text_becomes_exact_fen_and_more_than_two_decimals_is_refused():
    assert yuan("12.34") == 1234
    assert yuan(5) == 500
    with pytest.raises(ValueError):
        yuan("0.001")


def test_fen_are_formatted_as_yuan_with_two_decimals():
    assert format_fen(123456) == "1234.56"
    assert format_fen(-5) == "-0.05"


def test_half_fen_round_up_and_negative_halves_round_away_from_zero():
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(249, 100)) == 2
    assert round_half_up(Fraction(-5, 2)) == -3


def test_an_amount_is_spread_in_proportion_and_the_parts_add_up_exactly():
    assert allocate(5000, [60000, 30000, 10000]) == [3000, 1500, 500]
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(0, [0, 0]) == [0, 0]


def test_spreading_over_nothing_is_an_error():
    with pytest.raises(ValueError):
        allocate(1, [0, 0])


@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=8).filter(lambda w: sum(w) > 0))
def test_allocation_always_adds_up_and_each_part_is_within_one_of_its_exact_share(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - Fraction(total * weight, sum(weights))) < 1


def test_largest_remainder_gives_the_missing_units_to_the_biggest_remainders_first():
    assert largest_remainder([Fraction(1, 2), Fraction(1, 2), Fraction(2)], 3) == [1, 0, 2]


def test_adding_months_clamps_the_day_to_the_end_of_the_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_periods_are_half_open():
    assert in_half_open(date(2026, 3, 1), date(2026, 3, 1), date(2027, 3, 1))
    assert not in_half_open(date(2027, 3, 1), date(2026, 3, 1), date(2027, 3, 1))
    assert in_half_open(date(2099, 1, 1), date(2026, 3, 1), None)


def test_working_days_skip_weekends_and_listed_holidays():
    friday = date(2026, 3, 6)
    assert working_days_between(friday, date(2026, 3, 9)) == 1
    assert add_working_days(friday, 3) == date(2026, 3, 11)
    assert add_working_days(friday, 1, holidays={date(2026, 3, 9)}) == date(2026, 3, 10)


def test_a_29_february_birthday_falls_on_28_february_in_other_years():
    assert birthday_in_year(date(2000, 2, 29), 2026) == date(2026, 2, 28)
    assert birthday_in_year(date(2000, 2, 29), 2028) == date(2028, 2, 29)


def test_a_work_calendar_skips_weekday_holidays_and_counts_adjusted_weekend_working_days():
    from tenants.domain.dates import WorkCalendar

    golden_week = WorkCalendar(holidays=frozenset(date(2026, 10, d) for d in (1, 2, 5, 6, 7)),
                               workdays=frozenset({date(2026, 10, 10)}))
    wednesday = date(2026, 9, 30)
    assert add_working_days(wednesday, 3, calendar=golden_week) == date(2026, 10, 10)  # 8th, 9th, Saturday 10th
    assert working_days_between(wednesday, date(2026, 10, 9), calendar=golden_week) == 2
    assert add_working_days(wednesday, 3) == date(2026, 10, 5)  # Monday to Friday only
