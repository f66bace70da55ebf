from __future__ import annotations

from datetime import date

import pytest

from tenants.domain.errors import DomainError
from tenants.domain.redemption import (
    check_redemption_open,
    points_for_fen,
    points_payment_value,
    redeem_catalogue_item,
    redeem_nights,
    redeem_stepped,
    redeem_threshold_reward,
)

from .conftest import program_from

DAY = date(2026, 6, 1)


def code_of(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


def test_points_pay_at_the_tenants_rate_and_fen_convert_back_rounding_up(clothing, pharmacy):
    assert points_payment_value(clothing, 3456, 20000) == 3456
    assert points_payment_value(pharmacy, 5000, 10000) == 5000
    assert points_for_fen(program_from("blank", redemption={"payment": {"points": 3, "fen": 2}}), 5) == 8


def test_a_catalogue_item_needs_stock_and_enough_points(clothing):
    result = redeem_catalogue_item(clothing, "tote-bag", available_points=3000, stock=2, on=DAY, quantity=2)
    assert (result.points, result.value_fen, result.gift.en) == (3000, 6000, "Brand tote bag")
    assert code_of(lambda: redeem_catalogue_item(clothing, "tote-bag", 3000, 0, DAY)) == "out_of_stock"
    assert code_of(lambda: redeem_catalogue_item(clothing, "tote-bag", 1499, 5, DAY)) == "insufficient_points"
    assert code_of(lambda: redeem_catalogue_item(clothing, "yacht", 10**9, 5, DAY)) == "unknown_reward"


def test_every_2000_points_buy_a_voucher_and_6000_points_buy_a_gift(mall):
    vouchers = redeem_threshold_reward(mall, "gift-money", available_points=4500, on=DAY)
    assert (vouchers.quantity, vouchers.points, vouchers.voucher_fen) == (2, 4000, 4000)
    gift = redeem_threshold_reward(mall, "gift-6000", available_points=7000, on=DAY)
    assert (gift.quantity, gift.points) == (1, 6000)
    assert code_of(lambda: redeem_threshold_reward(mall, "gift-6000", 5999, DAY)) == "insufficient_points"


def test_stepped_rates_apply_from_their_threshold_in_whole_steps(mall):
    result = redeem_stepped(mall, 3000, available_points=7200, on=DAY)
    assert (result.quantity, result.value_fen) == (3, 3540)
    assert code_of(lambda: redeem_stepped(mall, 1000, 6999, DAY)) == "insufficient_points"
    assert code_of(lambda: redeem_stepped(mall, 1500, 8000, DAY)) == "points_not_whole_step"


def test_hotel_nights_cost_fifty_points_each(hotel, clothing):
    assert redeem_nights(hotel, 2, 120, DAY).points == 100
    assert code_of(lambda: redeem_nights(hotel, 3, 120, DAY)) == "insufficient_points"
    assert code_of(lambda: redeem_nights(clothing, 1, 120, DAY)) == "redemption_disabled"


def test_a_yearly_window_at_the_issuing_store_closes_redemption_elsewhere_and_at_other_times():
    program = program_from("clothing", redemption={"window": {"months": [11]}, "issuing_store_only": True})
    november = date(2026, 11, 10)
    check_redemption_open(program, november, "s1", "s1")
    assert code_of(lambda: check_redemption_open(program, DAY, "s1", "s1")) == "redemption_window_closed"
    assert code_of(lambda: check_redemption_open(program, november, "s2", "s1")) == "redemption_store_not_allowed"
    assert (
        code_of(lambda: redeem_catalogue_item(program, "tote-bag", 5000, 1, november, store="s2", issuing_store="s1"))
        == "redemption_store_not_allowed"
    )
