from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenants.domain.errors import DomainError
from tenants.domain.points import (
    PointsLot,
    adjust_points,
    balance,
    bonus_lot,
    earn_lot,
    expire_points,
    expiring_points,
    lot_expiry,
    release_pending,
    spend_points,
    sum_entries,
)
from tenants.domain.program import Expiry, RedemptionWindow
from tenants.domain.purchase import MemberState, PurchaseLine, Tender, price_purchase
from tenants.domain.returns import PurchaseRecord, compute_return

from .conftest import program_from


def lot(lot_id: str, points: int, earned: date, *, available: date | None = None, expires: date | None = None):
    return PointsLot(lot_id, points, earned, available or earned, expires, purchase_id=lot_id)


def test_expiry_never_end_of_next_year_and_rolling_months_count_from_the_purchase_date():
    earned = date(2026, 8, 31)
    assert lot_expiry(Expiry(mode="never"), earned) is None
    assert lot_expiry(Expiry(mode="end_of_next_year"), earned) == date(2028, 1, 1)
    assert lot_expiry(Expiry(mode="rolling_months", months=6), earned) == date(2027, 2, 28)


def test_window_close_expiry_ends_points_after_the_next_redemption_window():
    november = RedemptionWindow(months=[11])
    assert lot_expiry(Expiry(mode="window_close"), date(2026, 3, 5), november) == date(2026, 12, 1)
    assert lot_expiry(Expiry(mode="window_close"), date(2026, 12, 5), november) == date(2027, 12, 1)


def test_earned_points_are_pending_for_the_return_window_then_available(clothing):
    movement = earn_lot(clothing, "l1", 150, date(2026, 5, 4), "p1")
    assert movement.entries[0].points == 150
    lots = movement.lots
    assert balance(lots, date(2026, 5, 10)).pending == 150
    assert balance(lots, date(2026, 5, 11)).available == 150
    assert [e.moved for e in release_pending(lots, date(2026, 5, 11))] == [150]
    assert release_pending(lots, date(2026, 5, 12)) == ()


def test_pending_points_cannot_be_spent():
    lots = [lot("a", 100, date(2026, 1, 1), available=date(2026, 1, 8))]
    with pytest.raises(DomainError) as caught:
        spend_points(lots, 1, date(2026, 1, 7))
    assert caught.value.code == "insufficient_points"
    assert caught.value.params == {"needed": 1, "available": 0}


def test_points_are_spent_soonest_expiring_first_and_never_expiring_last():
    lots = [
        lot("forever", 100, date(2026, 1, 1)),
        lot("late", 100, date(2026, 2, 1), expires=date(2028, 1, 1)),
        lot("soon", 100, date(2026, 3, 1), expires=date(2027, 1, 1)),
    ]
    movement = spend_points(lots, 250, date(2026, 6, 1), ref="r1")
    assert movement.allocations == (("soon", 100), ("late", 100), ("forever", 50))
    assert sum_entries(movement.entries) == -250
    assert [x.points for x in movement.lots] == [50, 0, 0]


def test_expired_points_cannot_be_spent_and_are_written_off_on_their_expiry_day():
    lots = [lot("a", 100, date(2025, 1, 1), expires=date(2026, 1, 1))]
    assert balance(lots, date(2025, 12, 31)).available == 100
    assert balance(lots, date(2026, 1, 1)).expired == 100
    with pytest.raises(DomainError):
        spend_points(lots, 1, date(2026, 1, 1))
    movement = expire_points(lots, date(2026, 1, 1))
    assert [e.points for e in movement.entries] == [-100]
    assert movement.lots[0].points == 0


def test_expiring_points_lists_what_will_expire_before_a_date():
    lots = [lot("a", 10, date(2025, 1, 1), expires=date(2026, 1, 1)), lot("b", 5, date(2025, 6, 1))]
    assert expiring_points(lots, date(2025, 12, 1), date(2026, 2, 1)) == 10


def test_manual_adjustments_add_a_lot_or_take_available_points_with_a_reason(clothing):
    lots = (lot("a", 100, date(2026, 1, 1)),)
    plus = adjust_points(clothing, lots, 50, date(2026, 2, 1), "adj1", "goodwill")
    assert balance(plus.lots, date(2026, 2, 1)).available == 150
    minus = adjust_points(clothing, plus.lots, -120, date(2026, 2, 1), "adj2", "correction")
    assert balance(minus.lots, date(2026, 2, 1)).total == 30
    assert {e.reason for e in minus.entries} == {"correction"}
    with pytest.raises(DomainError):
        adjust_points(clothing, minus.lots, -31, date(2026, 2, 1), "adj3", "too much")


def test_referral_and_birthday_bonus_points_are_available_at_once(clothing):
    movement = bonus_lot(clothing, "ref1", 200, date(2026, 4, 1), ref="referral:m2")
    assert balance(movement.lots, date(2026, 4, 1)).available == 200
    assert movement.lots[0].expires_on == date(2028, 1, 1)


# -- the lot rules as properties -------------------------------------------------------------

START = date(2026, 1, 1)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, 40), st.integers(1, 50000), st.integers(0, 3000)),
        st.tuples(st.just("spend"), st.integers(0, 40), st.integers(1, 3000)),
        st.tuples(st.just("expire"), st.integers(0, 800)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(operations)
def test_balance_is_the_sum_of_entries_never_negative_and_full_returns_restore_points(ops):
    program = program_from("clothing", expiry={"mode": "rolling_months", "months": 12})
    lots: tuple[PointsLot, ...] = ()
    entries = []
    records: list[tuple[PurchaseRecord, date]] = []
    day = START
    for n, op in enumerate(ops):
        day = day + timedelta(days=op[1] if op[0] != "expire" else 0)
        if op[0] == "buy":
            _, _, amount, use = op
            available = balance(lots, day).available
            use = min(use, available, amount)
            tenders = [Tender("points", points=use)] if use else []
            result = price_purchase(program, MemberState("regular"), [PurchaseLine("x", amount, amount)], tenders, day)
            spent = spend_points(lots, use, day, ref=f"p{n}")
            earned = earn_lot(program, f"l{n}", result.points_earned, day, f"p{n}")
            lots = spent.lots + earned.lots
            entries += [*spent.entries, *earned.entries]
            records.append((PurchaseRecord.from_result(result, f"p{n}", "m", f"l{n}", spent.allocations), day))
        elif op[0] == "spend":
            want = min(op[2], balance(lots, day).available)
            movement = spend_points(lots, want, day)
            lots, entries = movement.lots, entries + list(movement.entries)
        else:
            movement = expire_points(lots, day + timedelta(days=op[1]))
            lots, entries = movement.lots, entries + list(movement.entries)
        assert sum_entries(entries) == sum(x.points for x in lots)
        assert all(x.points >= 0 for x in lots)

    # Returning every purchase, newest first, gives back every used point and takes back at most
    # what was earned; whatever could not be taken is reported as a shortfall.
    total_before = sum(x.points for x in lots)
    given = taken = shortfall = 0
    for record, bought in reversed(records):
        back = compute_return(program, record, "m", {}, {"x": 1}, lots, max(day, bought))
        lots, entries = back.lots, entries + list(back.entries)
        given += back.points_given_back
        taken += back.points_taken_back
        shortfall += back.shortfall_points
        assert back.points_given_back == record.points_used
        assert back.points_to_take_back == record.points_earned
        assert all(x.points >= 0 for x in lots)
    assert sum_entries(entries) == sum(x.points for x in lots) == total_before + given - taken
    assert taken + shortfall == sum(r.points_earned for r, _ in records)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200000), st.integers(0, 5000), st.integers(1, 4))
def test_a_purchase_returned_at_once_leaves_the_member_where_they_were(amount, used, pieces):
    program = program_from("clothing")
    start = (lot("old", 5000, date(2025, 12, 1), expires=date(2027, 1, 1)),)
    day = date(2026, 3, 1)
    used = min(used, amount)
    lines = [PurchaseLine(str(i), amount, amount) for i in range(pieces)]
    tenders = [Tender("points", points=used)] if used else []
    result = price_purchase(program, MemberState("regular"), lines, tenders, day)
    spent = spend_points(start, used, day)
    earned = earn_lot(program, "new", result.points_earned, day, "p")
    record = PurchaseRecord.from_result(result, "p", "m", "new", spent.allocations)
    back = compute_return(program, record, "m", {}, {str(i): 1 for i in range(pieces)}, spent.lots + earned.lots, day)
    assert {x.lot_id: x.points for x in back.lots} == {"old": 5000, "new": 0}
    assert back.refund_fen == result.amount_due_fen
