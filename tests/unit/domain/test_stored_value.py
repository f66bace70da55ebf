from __future__ import annotations

from datetime import date

import pytest

from tenants.domain.errors import DomainError
from tenants.domain.stored_value import (
    ADJUST,
    StoredValueLot,
    adjust_stored_value,
    balance,
    credit_refund,
    expire_stored_value,
    pay_from_balance,
    refund_on_close,
    sum_entries,
    top_up,
    top_up_lot,
)

from .conftest import program_from

DAY = date(2026, 4, 1)


def code_of(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


@pytest.fixture(scope="module")
def rows():
    return program_from(
        "clothing",
        stored_value={
            "bonus_rows": [
                {"min_top_up_fen": 50000, "bonus_fen": 3000},
                {"min_top_up_fen": 100000, "bonus_fen": 10000, "unlock_tier": "silver"},
            ],
            "expiry_months": 12,
        },
    )


def test_the_single_best_matching_bonus_row_applies_once(rows):
    assert top_up(rows, 40000).bonus_fen == 0
    assert top_up(rows, 60000).bonus_fen == 3000
    big = top_up(rows, 250000)
    assert (big.bonus_fen, big.credited_fen, big.unlock_tier) == (10000, 260000, "silver")


def test_a_top_up_below_the_minimum_or_with_stored_value_disabled_is_refused(blank):
    assert code_of(lambda: top_up(blank, 10000)) == "stored_value_disabled"
    program = program_from("clothing", stored_value={"min_top_up_fen": 10000})
    assert code_of(lambda: top_up(program, 9999)) == "top_up_below_minimum"
    assert code_of(lambda: top_up(program, 0)) == "invalid_amount"


def test_the_card_fee_is_charged_unless_a_large_enough_top_up_waives_it(hotel):
    assert (top_up(hotel, 30000, card_fee_due=True).card_fee_fen, top_up(hotel, 30000).card_fee_fen) == (3800, 0)
    waived = top_up(hotel, 50000, card_fee_due=True)
    assert (waived.card_fee_fen, waived.card_fee_waived) == (0, True)


def test_payments_take_the_soonest_expiring_lot_first_and_its_bonus_before_its_principal(rows):
    first = top_up_lot(rows, "a", top_up(rows, 100000), date(2026, 1, 1)).lots[0]
    second = top_up_lot(rows, "b", top_up(rows, 50000), date(2025, 12, 1)).lots[0]
    paid = pay_from_balance(rows, [first, second], 60000, DAY, verified=True)
    by_id = {lot.lot_id: lot for lot in paid.lots}
    assert (by_id["b"].bonus_fen, by_id["b"].principal_fen) == (0, 0)
    assert (by_id["a"].bonus_fen, by_id["a"].principal_fen) == (3000, 100000)  # 7000 more, from its bonus
    assert balance(paid.lots, DAY).usable_fen == 110000 + 53000 - 60000


def test_the_balance_never_goes_negative_and_a_pin_or_phone_confirmation_is_required(rows):
    lot = StoredValueLot("a", 1000, 0, DAY)
    assert code_of(lambda: pay_from_balance(rows, [lot], 1001, DAY, verified=True)) == "insufficient_balance"
    assert code_of(lambda: pay_from_balance(rows, [lot], 100, DAY, verified=False)) == "pin_required"


def test_stored_value_expires_after_the_tenants_months(rows):
    movement = top_up_lot(rows, "a", top_up(rows, 10000), date(2026, 1, 31))
    lot = movement.lots[0]
    assert lot.expires_on == date(2027, 1, 31)
    assert balance([lot], date(2027, 1, 31)).expired_fen == 10000
    assert code_of(lambda: pay_from_balance(rows, [lot], 1, date(2027, 1, 31), verified=True)) == (
        "insufficient_balance"
    )
    expired = expire_stored_value([lot], date(2027, 1, 31))
    assert sum_entries(movement.entries + expired.entries) == 0


def test_closing_the_card_refunds_the_principal_and_forfeits_the_bonus(rows):
    lots = top_up_lot(rows, "a", top_up(rows, 100000), DAY).lots
    paid = pay_from_balance(rows, lots, 20000, DAY, verified=True)
    closed = refund_on_close(rows, paid.lots, DAY, pin_verified=True, identity_verified=True)
    assert (closed.refund_fen, closed.forfeited_fen) == (90000, 0)
    assert balance(closed.movement.lots, DAY).usable_fen == 0
    assert code_of(lambda: refund_on_close(rows, lots, DAY, pin_verified=True, identity_verified=False)) == (
        "identity_not_verified"
    )


def test_money_returned_for_a_stored_value_purchase_goes_back_to_the_balance(rows):
    movement = credit_refund(rows, "r1", 4000, DAY)
    assert balance(movement.lots, DAY).principal_fen == 4000


def test_a_manual_credit_is_refundable_principal_expiring_like_a_top_up(rows):
    credit = adjust_stored_value(rows, [], 1234, DAY, "c", ref="adjust")
    (lot,) = credit.lots
    assert (lot.principal_fen, lot.bonus_fen, lot.expires_on) == (1234, 0, date(2027, 4, 1))
    assert [(e.kind, e.principal_fen, e.bonus_fen) for e in credit.entries] == [(ADJUST, 1234, 0)]
    closed = refund_on_close(rows, credit.lots, DAY, pin_verified=True, identity_verified=True)
    assert (closed.refund_fen, closed.forfeited_fen) == (1234, 0)


def test_a_manual_debit_takes_usable_money_like_a_payment_and_never_goes_below_zero(rows):
    old = StoredValueLot("old", 1000, 500, date(2025, 1, 1), expires_on=date(2026, 1, 1))  # expired
    soon = StoredValueLot("soon", 2000, 300, date(2025, 6, 1), expires_on=date(2026, 6, 1))
    late = StoredValueLot("late", 5000, 0, date(2026, 3, 1), expires_on=date(2027, 3, 1))
    debit = adjust_stored_value(rows, [old, soon, late], -2500, DAY, "unused", ref="adjust")
    by_id = {lot.lot_id: lot for lot in debit.lots}
    assert (by_id["old"].balance_fen, by_id["soon"].balance_fen, by_id["late"].balance_fen) == (1500, 0, 4800)
    assert {e.kind for e in debit.entries} == {ADJUST} and sum_entries(debit.entries) == -2500 == debit.amount_fen
    assert code_of(lambda: adjust_stored_value(rows, [old, soon, late], -7301, DAY, "x")) == "insufficient_balance"
    assert code_of(lambda: adjust_stored_value(rows, [late], 0, DAY, "x")) == "invalid_amount"


def test_without_stored_value_a_credit_is_refused_but_an_old_balance_can_still_be_taken_off(blank):
    lot = StoredValueLot("a", 1000, 0, DAY)
    assert code_of(lambda: adjust_stored_value(blank, [], 100, DAY, "x")) == "stored_value_disabled"
    assert adjust_stored_value(blank, [lot], -100, DAY, "x").lots[0].principal_fen == 900
