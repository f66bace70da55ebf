"""SPEC §17 worked examples 1–7 at the domain level (example 9 is the app's idempotency test)."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

import pytest

from tenants.domain.cards import check_card_usable, issue_card, replace_card, report_lost
from tenants.domain.errors import DomainError
from tenants.domain.explain import explain_tier
from tenants.domain.points import PointsLot, balance, earn_lot, spend_points
from tenants.domain.program import Program
from tenants.domain.purchase import MemberState, PurchaseLine, Tender, price_purchase
from tenants.domain.redemption import redeem_nights
from tenants.domain.returns import PurchaseRecord, compute_return
from tenants.domain.segments import abc_by_spend
from tenants.domain.stored_value import top_up
from tenants.domain.tiers import PURCHASE, MemberTierState, TierActivity, evaluate_tier, initial_tier_state

from .conftest import program_from


def full_price(line_id: str, fen: int, **kw) -> PurchaseLine:
    return PurchaseLine(line_id=line_id, regular_fen=fen, charged_fen=fen, **kw)


def purchase_activity(result, ref: str = "") -> TierActivity:
    return TierActivity(
        PURCHASE,
        result.pending_until,
        spend_fen=result.spend_fen,
        points=result.points_earned,
        amount_fen=result.spend_fen,
        ref=ref,
    )


def test_example_1_a_member_reaches_silver_after_the_return_window_and_then_earns_one_and_a_half_points(
    clothing: Program,
):
    joined = date(2026, 1, 5)
    state = initial_tier_state(clothing, joined)
    history = [TierActivity(PURCHASE, date(2026, 2, 1), spend_fen=90000, points=900, amount_fen=90000)]
    state = evaluate_tier(clothing, state, history, date(2026, 5, 3)).state
    assert state.tier_code == "regular"

    bought = date(2026, 5, 4)
    result = price_purchase(clothing, MemberState("regular"), [full_price("1", 15000)], [Tender("cash", 15000)], bought)
    assert result.points_earned == 150
    assert result.pending_until == date(2026, 5, 11)
    lot = earn_lot(clothing, "lot-1", result.points_earned, bought, "p1").lots[0]
    assert balance([lot], date(2026, 5, 10)).pending == 150
    assert balance([lot], date(2026, 5, 11)).available == 150

    history.append(purchase_activity(result))
    assert evaluate_tier(clothing, state, history, date(2026, 5, 10)).tier_code == "regular"
    decision = evaluate_tier(clothing, state, history, date(2026, 5, 11))
    assert decision.tier_code == "silver"
    assert decision.changes[0].reason.code == "reached_cumulative_spend"

    nxt = price_purchase(
        clothing, MemberState("silver"), [full_price("1", 10000)], [Tender("cash", 10000)], date(2026, 5, 12)
    )
    assert nxt.points_earned == 150


def test_example_2_a_voucher_is_spread_over_the_lines_and_the_bill_earns_769_points(clothing: Program):
    lines = [
        full_price("full", 60000),
        PurchaseLine("forty-off", regular_fen=50000, charged_fen=30000),
        PurchaseLine("special", regular_fen=10000, charged_fen=10000, special=True),
    ]
    result = price_purchase(
        clothing, MemberState("regular"), lines, [Tender("cash", 95000), Tender("voucher", 5000)], date(2026, 6, 1)
    )
    assert [line.voucher_fen for line in result.lines] == [3000, 1500, 500]
    assert [line.earn_bp for line in result.lines] == [10000, 7000, 0]
    assert [line.exact_points for line in result.lines] == [570, Fraction(399, 2), 0]
    assert result.points_earned == 769
    assert result.receipt_points == {"full": 570, "forty-off": 199, "special": 0}
    assert result.amount_due_fen == 95000
    assert result.spend_fen == 95000


def test_example_3_points_pay_part_of_a_bill_the_discount_applies_to_the_cash_part_and_a_full_return_undoes_it(
    clothing: Program,
):
    # The clothing preset's birthday 8折 is the discount in force (a 普通 member has no other).
    day = date(2026, 7, 8)
    member = MemberState("regular", birthday=date(1990, 7, 8), available_points=3456)
    old_lot = PointsLot("old", 3456, date(2026, 1, 2), date(2026, 1, 9), date(2028, 1, 1), "p0")
    lines = [full_price("coat", 12000), full_price("scarf", 8000)]
    result = price_purchase(clothing, member, lines, [Tender("points", points=3456), Tender("cash", 13235)], day)

    assert result.points_value_fen == 3456
    assert sum(line.charged_fen - line.points_fen for line in result.lines) == 16544
    assert result.discount_fen == 3309  # 8折 on ¥165.44 only, half up per line: 19.85 + 13.24
    assert result.amount_due_fen == 13235
    assert result.points_earned == 132

    spent = spend_points([old_lot], 3456, day, ref="p1")
    earned = earn_lot(clothing, "new", result.points_earned, day, "p1")
    lots = spent.lots + earned.lots
    record = PurchaseRecord.from_result(result, "p1", "m1", "new", spent.allocations)

    back = compute_return(clothing, record, "m1", {}, {"coat": 1, "scarf": 1}, lots, date(2026, 7, 10))
    assert back.points_given_back == 3456
    assert back.points_taken_back == 132
    assert back.shortfall_points == 0
    assert back.refund_fen == 13235
    assert {lot.lot_id: lot.points for lot in back.lots} == {"old": 3456, "new": 0}
    assert next(lot for lot in back.lots if lot.lot_id == "old").expires_on == date(2028, 1, 1)


@pytest.fixture()
def yearly_silver() -> Program:
    return program_from(
        "clothing",
        tiers=[
            {"code": "base", "name": {"zh_CN": "普通", "en": "Base"}},
            {
                "code": "silver",
                "name": {"zh_CN": "银卡", "en": "Silver"},
                "reach": [{"kind": "cumulative", "window": "lifetime", "min": 50000}],
                "validity_months": 12,
                "keep": {"measure": "spend", "min": 80000},
            },
            {
                "code": "gold",
                "name": {"zh_CN": "金卡", "en": "Gold"},
                "reach": [{"kind": "cumulative", "window": "current_period", "min": 100000}],
                "validity_months": 12,
                "keep": {"measure": "spend", "min": 100000},
            },
        ],
    )


SILVER_2026 = MemberTierState(
    "silver",
    since=date(2026, 3, 1),
    period_start=date(2026, 3, 1),
    period_end=date(2027, 3, 1),
    tier_counter_after=date(2026, 2, 28),
)


def spend(day: date, fen: int) -> TierActivity:
    return TierActivity(PURCHASE, day, spend_fen=fen, amount_fen=fen)


def test_example_4_silver_is_renewed_on_2027_03_01_when_800_yuan_were_spent_in_the_year(yearly_silver):
    history = [spend(date(2026, 6, 1), 50000), spend(date(2027, 2, 28), 30000)]
    decision = evaluate_tier(yearly_silver, SILVER_2026, history, date(2027, 3, 1))
    assert decision.tier_code == "silver"
    assert (decision.state.period_start, decision.state.period_end) == (date(2027, 3, 1), date(2028, 3, 1))
    assert [c.action for c in decision.changes] == ["renew"]


def test_example_4_silver_becomes_gold_the_moment_spend_in_the_year_reaches_1000_yuan(yearly_silver):
    history = [spend(date(2026, 6, 1), 60000), spend(date(2026, 9, 15), 40000)]
    assert evaluate_tier(yearly_silver, SILVER_2026, history, date(2026, 9, 14)).tier_code == "silver"
    decision = evaluate_tier(yearly_silver, SILVER_2026, history, date(2026, 9, 15))
    assert decision.tier_code == "gold"
    assert decision.state.period_end == date(2027, 9, 15)


def test_example_4_silver_falls_to_the_base_tier_at_expiry_when_less_than_800_yuan_were_spent(yearly_silver):
    history = [spend(date(2026, 6, 1), 48800)]
    assert evaluate_tier(yearly_silver, SILVER_2026, history, date(2027, 2, 28)).tier_code == "silver"
    explanation = explain_tier(yearly_silver, SILVER_2026, history, date(2027, 2, 1))
    assert explanation.keep is not None
    assert (explanation.keep.missing, explanation.keep.deadline) == (31200, date(2027, 3, 1))
    assert explanation.keep.reason.code == "spend_more_to_keep"
    decision = evaluate_tier(yearly_silver, SILVER_2026, history, date(2027, 3, 1))
    assert decision.tier_code == "base"
    assert decision.changes[0].reason.code == "keep_not_met"


def test_example_5_hotel_top_ups_waive_the_card_fee_unlock_rooms_at_80_percent_and_stays_earn_a_free_night(
    hotel: Program,
):
    assert top_up(hotel, 50000, card_fee_due=True).card_fee_fen == 0
    assert top_up(hotel, 49900, card_fee_due=True).card_fee_fen == 3800
    unlocked = top_up(hotel, 100000, card_fee_due=False).unlock_category_price_bp
    assert unlocked == {"rooms": 8000}

    member = MemberState("member", unlocked_category_price_bp=unlocked)
    room = PurchaseLine("room", regular_fen=62500, charged_fen=62500, category="rooms")
    dining = PurchaseLine("dinner", regular_fen=10000, charged_fen=10000, category="dining")
    stay = price_purchase(hotel, member, [room, dining], [], date(2026, 4, 1))
    assert [line.due_fen for line in stay.lines] == [50000, 8800]

    points = 0
    for month in range(1, 11):
        result = price_purchase(hotel, member, [room], [], date(2026, month, 10))
        points += result.points_earned
    assert points == 50
    assert redeem_nights(hotel, 1, points, date(2026, 11, 1)).points == 50


def test_example_6_a_lost_card_is_refused_at_once_and_its_replacement_carries_the_same_member(clothing: Program):
    card = issue_card(clothing, "8800001", "m1", date(2026, 1, 2))
    lost_at = datetime(2026, 3, 6, 10, 0)  # a Friday
    lost = report_lost(card, lost_at)
    check_card_usable(lost, datetime(2026, 3, 6, 9, 59))  # an offline sale before the report still passes
    with pytest.raises(DomainError) as refused:
        check_card_usable(lost, lost_at)
    assert refused.value.code == "card_blocked"

    swap = replace_card(clothing, lost, "8800002", date(2026, 3, 9))
    assert swap.new.member_id == "m1" and swap.new.status == "active"
    assert swap.fee_fen == 1000
    check_card_usable(swap.new, datetime(2026, 3, 9, 12, 0))
    with pytest.raises(DomainError) as old:
        check_card_usable(swap.old, datetime(2026, 3, 9, 12, 0))
    assert old.value.code == "card_replaced"


def test_example_7_abc_puts_the_top_two_of_ten_members_in_a_and_the_next_three_in_b(clothing: Program):
    spends = {f"m{n:02d}": n * 10 for n in range(1, 11)}
    result = abc_by_spend(spends, clothing.segments.abc)
    assert {m for m, c in result.classes.items() if c == "A"} == {"m10", "m09"}
    assert {m for m, c in result.classes.items() if c == "B"} == {"m08", "m07", "m06"}
    summary = {row.cls: row for row in result.summary}
    assert summary["A"].spend_share == Fraction(190, 550)
    assert summary["C"].members == 5
