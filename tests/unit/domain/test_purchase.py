from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from tenants.domain.errors import DomainError
from tenants.domain.program import Program
from tenants.domain.purchase import MemberState, PurchaseLine, Tender, is_birthday_benefit_day, price_purchase

from .conftest import program_from

DAY = date(2026, 6, 1)


def line(line_id: str, regular: int, charged: int | None = None, **kw) -> PurchaseLine:
    return PurchaseLine(line_id, regular_fen=regular, charged_fen=regular if charged is None else charged, **kw)


def code_of(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


@pytest.fixture(scope="module")
def discounted() -> Program:
    """Clothing with 9.5折 for silver on regular-price goods, accessories excluded."""
    return program_from(
        "clothing",
        tiers=[
            *[t for t in program_from("clothing").model_dump(mode="json")["tiers"] if t["code"] != "silver"][:1],
            {
                "code": "silver",
                "name": {"zh_CN": "银卡", "en": "Silver"},
                "reach": [{"kind": "cumulative", "min": 100000}],
                "benefits": {
                    "discount_price_bp": 9500,
                    "excluded_categories": ["accessories"],
                    "points_multiplier": "1.5",
                    "birthday": {"price_bp": 8000},
                },
            },
        ],
    )


def test_the_tier_discount_applies_to_regular_price_lines_only_rounded_half_up_per_line(discounted):
    lines = [line("a", 1010), line("b", 1010), line("marked", 2000, 1500)]
    result = price_purchase(discounted, MemberState("silver"), lines, [], DAY)
    assert [ln.discount_fen for ln in result.lines] == [51, 51, 0]  # 50.5 → 51 on each line
    assert result.lines[0].discount_source == "tier"
    assert result.amount_due_fen == 959 + 959 + 1500


def test_special_offers_and_excluded_categories_get_no_tier_discount(discounted):
    lines = [line("special", 1000, special=True), line("belt", 1000, category="accessories")]
    result = price_purchase(discounted, MemberState("silver"), lines, [], DAY)
    assert result.discount_fen == 0


def test_a_combinable_benefit_also_discounts_marked_down_lines():
    program = program_from(
        "blank",
        tiers=[
            {"code": "member", "name": {"en": "Member"}, "benefits": {"discount_price_bp": 9000, "combinable": True}}
        ],
    )
    result = price_purchase(program, MemberState("member"), [line("marked", 2000, 1000)], [], DAY)
    assert result.discount_fen == 100


def test_on_the_birthday_the_better_of_tier_and_birthday_rates_applies_never_both(discounted):
    member = MemberState("silver", birthday=date(1990, 6, 1))
    result = price_purchase(discounted, member, [line("a", 10000)], [], DAY)
    assert (result.discount_fen, result.lines[0].discount_source) == (2000, "birthday")
    other_day = price_purchase(discounted, member, [line("a", 10000)], [], date(2026, 6, 2))
    assert (other_day.discount_fen, other_day.lines[0].discount_source) == (500, "tier")


def test_a_leap_day_birthday_is_celebrated_on_28_february(clothing):
    assert is_birthday_benefit_day(clothing, "regular", date(2000, 2, 29), date(2026, 2, 28))
    assert not is_birthday_benefit_day(clothing, "regular", date(2000, 2, 29), date(2026, 3, 1))


def test_a_birthday_month_window_covers_the_whole_month(pharmacy):
    assert is_birthday_benefit_day(pharmacy, "gold", date(1980, 9, 17), date(2026, 9, 1))


def test_vouchers_are_spread_before_points_and_points_before_the_discount(discounted):
    member = MemberState("silver", available_points=2000)
    tenders = [Tender("voucher", 1000), Tender("points", points=2000)]
    result = price_purchase(discounted, member, [line("a", 6000), line("b", 4000)], tenders, DAY)
    assert [ln.voucher_fen for ln in result.lines] == [600, 400]
    assert [ln.points_fen for ln in result.lines] == [1200, 800]
    assert [ln.discount_fen for ln in result.lines] == [210, 140]  # 5% of 4200 and 2800
    assert result.amount_due_fen == 6650


def test_vouchers_and_points_never_pay_shipping_and_shipping_earns_nothing(clothing):
    lines = [line("shirt", 10000), line("ship", 1000, kind="shipping")]
    result = price_purchase(clothing, MemberState("regular"), lines, [Tender("voucher", 2000)], DAY)
    assert [ln.voucher_fen for ln in result.lines] == [2000, 0]
    assert result.amount_due_fen == 9000
    assert result.points_earned == 80
    assert result.spend_fen == 8000
    assert result.lines[1].earn_class == "excluded"


def test_vouchers_and_points_above_the_goods_amount_are_refused(clothing):
    lines = [line("shirt", 1000), line("ship", 1000, kind="shipping")]
    member = MemberState("regular", available_points=10_000)
    assert code_of(lambda: price_purchase(clothing, member, lines, [Tender("voucher", 1500)], DAY)) == (
        "tender_exceeds_goods"
    )
    tenders = [Tender("voucher", 500), Tender("points", points=600)]
    assert code_of(lambda: price_purchase(clothing, member, lines, tenders, DAY)) == "tender_exceeds_goods"


def test_points_beyond_the_members_available_points_are_refused(clothing):
    member = MemberState("regular", available_points=99)
    call = lambda: price_purchase(clothing, member, [line("a", 1000)], [Tender("points", points=100)], DAY)  # noqa: E731
    assert code_of(call) == "insufficient_points"


def test_the_points_payment_minimum_share_and_whole_fen_rules_hold(pharmacy, hotel):
    member = MemberState("regular")
    small = lambda: price_purchase(pharmacy, member, [line("a", 10000)], [Tender("points", points=50)], DAY)  # noqa: E731
    assert code_of(small) == "points_below_minimum"
    too_much = lambda: price_purchase(pharmacy, member, [line("a", 10000)], [Tender("points", points=5100)], DAY)  # noqa: E731
    assert code_of(too_much) == "points_share_exceeded"
    disabled = lambda: price_purchase(hotel, MemberState("member"), [line("a", 100)], [Tender("points", points=1)], DAY)  # noqa: E731
    assert code_of(disabled) == "points_payment_disabled"
    odd_rate = program_from("blank", redemption={"payment": {"points": 3, "fen": 1}})
    odd = lambda: price_purchase(odd_rate, MemberState("member"), [line("a", 100)], [Tender("points", points=4)], DAY)  # noqa: E731
    assert code_of(odd) == "points_not_whole_step"


def test_money_tenders_must_add_up_to_the_amount_due(clothing):
    call = lambda: price_purchase(clothing, MemberState("regular"), [line("a", 1000)], [Tender("cash", 900)], DAY)  # noqa: E731
    assert code_of(call) == "tender_total_mismatch"


def test_money_from_an_excluded_tender_earns_nothing_and_does_not_count_as_spend(mall):
    tenders = [Tender("cash", 6000), Tender("gift_card", 4000)]
    result = price_purchase(mall, MemberState("regular"), [line("a", 10000)], tenders, DAY)
    assert result.points_earned == 60
    assert result.spend_fen == 6000


def test_stored_value_payments_still_get_the_tier_discount_and_earn(discounted):
    result = price_purchase(discounted, MemberState("silver"), [line("a", 10000)], [Tender("stored_value", 9500)], DAY)
    assert result.discount_fen == 500
    assert result.points_earned == 142  # 95 × 1.5 = 142.5, rounded down


def test_points_use_the_tier_in_force_before_the_purchase_and_round_down_once(clothing):
    result = price_purchase(clothing, MemberState("gold"), [line("a", 333), line("b", 333)], [], DAY)
    assert result.multiplier == 2
    assert [ln.exact_points for ln in result.lines] == [Fraction(666, 100)] * 2
    assert result.points_earned == 13
    assert sum(result.receipt_points.values()) == 13


def test_earning_classes_follow_the_tenants_markdown_table(clothing):
    lines = [
        line("full", 1000),
        line("ten-off", 1000, 900),
        line("at-35", 1000, 650),
        line("at-60", 1000, 400),
        line("beyond-60", 10000, 3999),
        line("special", 1000, special=True),
    ]
    result = price_purchase(clothing, MemberState("regular"), lines, [], DAY)
    assert [ln.earn_class for ln in result.lines] == [
        "regular",
        "regular",
        "off_35_60",
        "off_35_60",
        "off_deep",
        "special",
    ]
    assert [ln.earn_bp for ln in result.lines] == [10000, 10000, 7000, 7000, 5000, 0]


def test_the_purchase_that_creates_the_membership_can_be_made_to_earn_nothing():
    program = program_from("blank", earning={"first_purchase_earns": False})
    first = price_purchase(program, MemberState("member", first_purchase=True), [line("a", 10000)], [], DAY)
    later = price_purchase(program, MemberState("member"), [line("a", 10000)], [], DAY)
    assert (first.points_earned, later.points_earned) == (0, 100)


def test_a_mall_merchant_has_its_own_points_ratio_and_floor_discount(mall):
    member = MemberState("regular")
    cosmetics = price_purchase(mall, member, [line("a", 10000)], [], DAY, store="f1-cosmetics")
    assert (cosmetics.discount_fen, cosmetics.points_earned) == (200, 49)
    gold = price_purchase(mall, MemberState("gold"), [line("a", 10000)], [], DAY, store="f1-cosmetics")
    assert gold.discount_fen == 500 and gold.lines[0].discount_source == "store"
    elsewhere = price_purchase(mall, member, [line("a", 10000)], [], DAY, store="unknown-shop")
    assert (elsewhere.discount_fen, elsewhere.points_earned) == (0, 100)


def test_a_merchant_that_does_not_honour_the_card_is_refused(mall):
    call = lambda: price_purchase(mall, MemberState("regular"), [line("a", 100)], [], DAY, store="f6-cinema")  # noqa: E731
    assert code_of(call) == "card_not_honoured"


def test_hotel_rooms_and_dining_are_discounted_separately(hotel):
    lines = [line("room", 50000, category="rooms"), line("bar", 5000, category="minibar")]
    result = price_purchase(hotel, MemberState("member"), lines, [], DAY)
    assert [ln.discount_fen for ln in result.lines] == [6000, 0]
    assert result.lines[0].discount_source == "category"


def test_pending_until_is_the_business_date_plus_the_return_window(clothing, pharmacy):
    assert price_purchase(clothing, MemberState("regular"), [line("a", 1)], [], DAY).pending_until == date(2026, 6, 8)
    assert price_purchase(pharmacy, MemberState("regular"), [line("a", 1)], [], DAY).pending_until == DAY


def test_malformed_lines_are_refused(clothing):
    member = MemberState("regular")
    assert code_of(lambda: price_purchase(clothing, member, [line("a", 1), line("a", 2)], [], DAY)) == "duplicate_line"
    assert code_of(lambda: price_purchase(clothing, member, [line("a", 100, 200)], [], DAY)) == "invalid_line"
    assert code_of(lambda: price_purchase(clothing, member, [line("a", 1)], [Tender("cash", -1)], DAY)) == (
        "invalid_amount"
    )


def test_an_unknown_tier_is_a_domain_error(clothing):
    assert code_of(lambda: price_purchase(clothing, MemberState("emerald"), [line("a", 1)], [], DAY)) == "unknown_tier"


def test_redemption_windows_also_close_points_payment():
    program = program_from("blank", redemption={"window": {"months": [11]}})
    member = MemberState("member")
    call = lambda: price_purchase(program, member, [line("a", 1000)], [Tender("points", points=100)], DAY)  # noqa: E731
    assert code_of(call) == "redemption_window_closed"
    november = price_purchase(program, member, [line("a", 1000)], [Tender("points", points=100)], date(2026, 11, 3))
    assert november.points_value_fen == 100
