from __future__ import annotations

from datetime import date, datetime

import pytest

from tenants.domain.cards import (
    check_card_usable,
    close_card,
    exchange_card,
    issue_card,
    renew_card,
    replace_card,
    replacement_available_on,
    report_lost,
)
from tenants.domain.errors import DomainError

from .conftest import program_from


def code_of(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


@pytest.fixture(scope="module")
def two_year_cards():
    return program_from(
        "clothing",
        card_types=[
            {
                "code": "regular",
                "name": {"zh_CN": "会员卡", "en": "Card"},
                "validity_months": 24,
                "renewal": {"measure": "points_earned", "min": 2000, "extend_months": 24},
                "replacement_fee_fen": 1000,
                "replacement_delay_working_days": 3,
                "exchange_fee_fen": 500,
            }
        ],
    )


def test_a_replacement_waits_the_working_days_of_the_card_type(two_year_cards):
    lost = report_lost(issue_card(two_year_cards, "1", "m1", date(2026, 1, 5)), datetime(2026, 3, 6, 18, 0))
    assert replacement_available_on(two_year_cards, lost) == date(2026, 3, 11)
    assert code_of(lambda: replace_card(two_year_cards, lost, "2", date(2026, 3, 10))) == "replacement_too_early"
    swap = replace_card(two_year_cards, lost, "2", date(2026, 3, 11))
    assert swap.new.valid_until == lost.valid_until == date(2028, 1, 5)
    assert code_of(lambda: replace_card(two_year_cards, swap.old, "3", date(2026, 3, 12))) == "card_replaced"


def test_only_a_lost_card_is_replaced_and_a_closed_card_never_comes_back(two_year_cards):
    card = issue_card(two_year_cards, "1", "m1", date(2026, 1, 5))
    assert code_of(lambda: replace_card(two_year_cards, card, "2", date(2026, 3, 11))) == "card_not_lost"
    closed = close_card(card, datetime(2026, 2, 1, 9, 0), pin_verified=True, identity_verified=True)
    assert code_of(lambda: check_card_usable(closed, datetime(2026, 2, 2, 9, 0))) == "card_closed"
    assert code_of(lambda: report_lost(closed, datetime(2026, 2, 2, 9, 0))) == "card_closed"
    assert code_of(lambda: close_card(card, datetime(2026, 2, 1), pin_verified=False, identity_verified=True)) == (
        "pin_required"
    )


def test_a_damaged_card_is_exchanged_at_once_for_the_exchange_fee(two_year_cards):
    card = issue_card(two_year_cards, "1", "m1", date(2026, 1, 5))
    swap = exchange_card(two_year_cards, card, "9", date(2026, 2, 1))
    assert (swap.fee_fen, swap.old.status, swap.new.member_id) == (500, "exchanged", "m1")
    assert code_of(lambda: check_card_usable(swap.old, datetime(2026, 2, 1, 12))) == "card_replaced"


def test_an_expired_card_is_refused_and_renewed_when_enough_points_were_earned(two_year_cards):
    card = issue_card(two_year_cards, "1", "m1", date(2026, 1, 5))
    assert code_of(lambda: check_card_usable(card, datetime(2028, 1, 5, 8))) == "card_expired"
    assert renew_card(two_year_cards, card, 1999, date(2028, 1, 5)) is None
    assert renew_card(two_year_cards, card, 2000, date(2027, 1, 5)) is None
    renewed = renew_card(two_year_cards, card, 2000, date(2028, 1, 5))
    assert renewed.valid_until == date(2030, 1, 5)


def test_a_lifetime_card_never_expires(clothing):
    card = issue_card(clothing, "1", "m1", date(2026, 1, 5))
    check_card_usable(card, datetime(2099, 1, 1))
