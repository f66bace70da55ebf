from __future__ import annotations

from datetime import date

import pytest

from tenants.domain.errors import DomainError
from tenants.domain.points import PointsLot, earn_lot, spend_points, sum_entries
from tenants.domain.purchase import MemberState, PurchaseLine, Tender, price_purchase
from tenants.domain.returns import PurchaseRecord, compute_return

from .conftest import program_from

DAY = date(2026, 3, 2)


def buy(program, lines, tenders=(), lots=(), member=None, day=DAY):
    member = member or MemberState("regular")
    result = price_purchase(program, member, lines, list(tenders), day)
    used = next((t.points for t in tenders if t.kind == "points"), 0)
    spent = spend_points(tuple(lots), used, day, ref="p1")
    earned = earn_lot(program, "own", result.points_earned, day, "p1")
    record = PurchaseRecord.from_result(result, "p1", "m1", "own", spent.allocations)
    return result, record, spent.lots + earned.lots


def test_partial_returns_are_cumulative_and_add_up_to_a_full_return(clothing):
    result, record, lots = buy(clothing, [PurchaseLine("tee", 30000, 30000, quantity=3)])
    assert result.points_earned == 300
    taken = []
    returned: dict[str, int] = {}
    for _ in range(3):
        back = compute_return(clothing, record, "m1", returned, {"tee": 1}, lots, date(2026, 3, 4))
        lots, returned = back.lots, dict(back.returned)
        taken.append(back.points_taken_back)
    assert taken == [100, 100, 100]
    assert lots[-1].points == 0


def test_after_each_return_the_purchase_keeps_the_points_of_what_was_kept_rounded_for_the_business(clothing):
    _, record, lots = buy(clothing, [PurchaseLine("cap", 10000, 10000, quantity=3)])
    first = compute_return(clothing, record, "m1", {}, {"cap": 1}, lots, DAY)
    assert first.points_taken_back == 34  # keeps floor(66.67) = 66
    second = compute_return(clothing, record, "m1", first.returned, {"cap": 1}, first.lots, DAY)
    assert second.points_taken_back == 33  # keeps 33
    third = compute_return(clothing, record, "m1", second.returned, {"cap": 1}, second.lots, DAY)
    assert third.points_taken_back == 33
    assert first.refund_fen + second.refund_fen + third.refund_fen == 10000


def test_used_points_come_back_in_proportion_to_the_gross_value_returned_keeping_their_expiry(clothing):
    lots = (
        PointsLot("soon", 600, date(2025, 5, 1), date(2025, 5, 8), date(2027, 1, 1)),
        PointsLot("late", 600, date(2026, 1, 5), date(2026, 1, 12), date(2028, 1, 1)),
    )
    lines = [PurchaseLine("a", 6000, 6000), PurchaseLine("b", 4000, 4000)]
    member = MemberState("regular", available_points=1200)
    _, record, lots = buy(clothing, lines, [Tender("points", points=1000), Tender("cash", 9000)], lots, member)
    assert record.points_used_lots == (("soon", 600), ("late", 400))
    back = compute_return(clothing, record, "m1", {}, {"b": 1}, lots, DAY)
    assert back.points_given_back == 400  # 40 % of the gross value
    restored = {x.lot_id: x for x in back.lots}
    assert restored["late"].points == 600 and restored["late"].expires_on == date(2028, 1, 1)
    rest = compute_return(clothing, record, "m1", back.returned, {"a": 1}, back.lots, DAY)
    assert rest.points_given_back == 600
    assert {x.lot_id: x.points for x in rest.lots} == {"soon": 600, "late": 600, "own": 0}


def test_earned_points_are_taken_from_the_purchases_own_lot_first_then_soonest_expiring(clothing):
    other = (
        PointsLot("later", 500, date(2026, 1, 2), date(2026, 1, 2), date(2028, 1, 1)),
        PointsLot("sooner", 500, date(2025, 1, 2), date(2025, 1, 2), date(2027, 1, 1)),
    )
    _, record, lots = buy(clothing, [PurchaseLine("coat", 20000, 20000)], [], other)
    # 150 of the purchase's own 200 points were already spent.
    lots = tuple(
        x if x.lot_id != "own" else PointsLot("own", 50, DAY, date(2026, 3, 9), x.expires_on, "p1") for x in lots
    )
    back = compute_return(clothing, record, "m1", {}, {"coat": 1}, lots, date(2026, 3, 20))
    assert [(e.lot_id, e.points) for e in back.entries] == [("own", -50), ("sooner", -150)]
    assert back.shortfall_points == 0


def test_a_shortfall_is_deducted_from_the_refund_under_the_default_policy(clothing):
    _, record, lots = buy(clothing, [PurchaseLine("coat", 15000, 15000)], [Tender("cash", 15000)])
    spent = spend_points(lots, 150, date(2026, 3, 9))  # released and spent elsewhere
    back = compute_return(clothing, record, "m1", {}, {"coat": 1}, spent.lots, date(2026, 3, 10))
    assert (back.shortfall_points, back.shortfall_fen, back.deducted_fen) == (150, 150, 150)
    assert back.refund_fen == 14850
    assert back.refund_by_tender == {"cash": 14850}
    assert all(x.points >= 0 for x in back.lots)


def test_a_shortfall_is_written_off_when_the_tenant_says_so():
    program = program_from("clothing", returns={"shortfall_policy": "write_off"})
    _, record, lots = buy(program, [PurchaseLine("coat", 15000, 15000)])
    spent = spend_points(lots, 150, date(2026, 3, 9))
    back = compute_return(program, record, "m1", {}, {"coat": 1}, spent.lots, date(2026, 3, 10))
    assert (back.shortfall_points, back.deducted_fen, back.written_off_fen) == (150, 0, 150)
    assert back.refund_fen == 15000


def test_a_return_reverses_tier_spend_on_the_later_of_the_return_and_release_days(clothing):
    _, record, lots = buy(clothing, [PurchaseLine("a", 10000, 10000), PurchaseLine("b", 5000, 5000)])
    early = compute_return(clothing, record, "m1", {}, {"b": 1}, lots, date(2026, 3, 4))
    assert early.spend_reversed_fen == 5000
    assert early.tier_counts_on == date(2026, 3, 9)
    late = compute_return(clothing, record, "m1", early.returned, {"a": 1}, early.lots, date(2026, 4, 1))
    assert late.tier_counts_on == date(2026, 4, 1)


def test_stored_value_and_cash_are_refunded_in_proportion_to_how_the_bill_was_paid(clothing):
    tenders = [Tender("cash", 6000), Tender("stored_value", 4000)]
    _, record, lots = buy(clothing, [PurchaseLine("a", 10000, 10000)], tenders)
    back = compute_return(clothing, record, "m1", {}, {"a": 1}, lots, DAY)
    assert back.refund_by_tender == {"cash": 6000, "stored_value": 4000}
    assert sum_entries(back.entries) == -100


@pytest.mark.parametrize(
    ("member", "previous", "returning", "code"),
    [
        ("m2", {}, {"a": 1}, "return_member_mismatch"),
        ("m1", {}, {"zz": 1}, "return_unknown_line"),
        ("m1", {"a": 1}, {"a": 1}, "return_exceeds_purchase"),
        ("m1", {}, {"a": 0}, "return_empty"),
        ("m1", {}, {"a": -1}, "invalid_amount"),
    ],
)
def test_returns_must_reference_the_members_purchase_and_not_exceed_it(clothing, member, previous, returning, code):
    _, record, lots = buy(clothing, [PurchaseLine("a", 100, 100)])
    with pytest.raises(DomainError) as caught:
        compute_return(clothing, record, member, previous, returning, lots, DAY)
    assert caught.value.code == code


def test_the_spend_a_return_reverses_is_the_goods_money_it_refunds_to_the_fen(clothing):
    _, record, lots = buy(clothing, [PurchaseLine("tee", 10000, 10000, quantity=3)])  # ¥100 for three
    returned: dict[str, int] = {}
    reversed_, refunded = [], []
    for _ in range(3):
        back = compute_return(clothing, record, "m1", returned, {"tee": 1}, lots, date(2026, 3, 4))
        lots, returned = back.lots, dict(back.returned)
        reversed_.append(back.spend_reversed_fen)
        refunded.append(back.refund_fen)
    assert reversed_ == refunded == [3333, 3333, 3334]  # never a fen more reversed than refunded
    assert back.tier_belongs_on == record.released_on


def test_the_stored_value_part_of_partial_refunds_is_cumulative_and_adds_up_to_a_full_return(clothing):
    tenders = [Tender("cash", 5000), Tender("stored_value", 5000)]
    _, record, lots = buy(clothing, [PurchaseLine("tee", 10000, 10000, quantity=3)], tenders)
    full = compute_return(clothing, record, "m1", {}, {"tee": 3}, lots, DAY).refund_by_tender
    returned: dict[str, int] = {}
    parts = []
    for _ in range(3):
        back = compute_return(clothing, record, "m1", returned, {"tee": 1}, lots, DAY)
        lots, returned = back.lots, dict(back.returned)
        parts.append(dict(back.refund_by_tender))
    # stored value: floor(cumulative refund × 5000 / 10000) = floor(3333 / 2), floor(6666 / 2), 10000 / 2
    assert [p["stored_value"] for p in parts] == [1666, 1667, 1667]
    assert [p["cash"] for p in parts] == [1667, 1666, 1667]
    assert full == {"cash": 5000, "stored_value": 5000}
    assert {k: sum(p[k] for p in parts) for k in full} == full
