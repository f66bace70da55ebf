from __future__ import annotations

from datetime import date

import pytest

from tenants.domain.enrolment import EnrolmentFacts, check_enrolment
from tenants.domain.errors import DomainError

from .conftest import program_from

DAY = date(2026, 5, 20)


@pytest.fixture(scope="module")
def strict():
    return program_from(
        "clothing",
        enrolment={
            "conditions": [
                {"kind": "single_purchase", "min_fen": 28800},
                {"kind": "cumulative_purchase", "min_fen": 68800, "months": 3},
                {"kind": "gift_card", "activation_days": 10},
            ]
        },
    )


def code_of(program, facts) -> str:
    with pytest.raises(DomainError) as caught:
        check_enrolment(program, facts)
    return caught.value.code


def test_free_sign_up_needs_only_a_phone_or_an_email(clothing):
    assert check_enrolment(clothing, EnrolmentFacts(DAY, email="a@example.com")).condition == "free"
    assert code_of(clothing, EnrolmentFacts(DAY)) == "contact_required"


def test_any_one_enrolment_condition_suffices(strict):
    assert check_enrolment(strict, EnrolmentFacts(DAY, phone="1", single_purchase_fen=28800)).condition == (
        "single_purchase"
    )
    recent = [(date(2026, 3, 1), 40000), (date(2026, 5, 1), 28800)]
    assert check_enrolment(strict, EnrolmentFacts(DAY, phone="1", purchases=recent)).condition == (
        "cumulative_purchase"
    )
    too_old = [(date(2026, 2, 20), 40000), (date(2026, 5, 1), 28800)]
    assert code_of(strict, EnrolmentFacts(DAY, phone="1", purchases=too_old)) == "enrolment_conditions_not_met"


def test_a_gift_card_activates_within_its_window_after_opening(strict):
    opened = date(2026, 5, 10)
    facts = EnrolmentFacts(DAY, phone="1", gift_card_activated=True, store_opened_on=opened)
    assert check_enrolment(strict, facts).condition == "gift_card"
    late = EnrolmentFacts(date(2026, 5, 21), phone="1", gift_card_activated=True, store_opened_on=opened)
    assert code_of(strict, late) == "enrolment_conditions_not_met"


def test_a_hotel_membership_is_bought_with_the_card_fee_or_a_top_up_that_waives_it(hotel):
    paid = EnrolmentFacts(DAY, phone="1", real_name_verified=True, card_fee_paid_fen=3800)
    assert check_enrolment(hotel, paid).condition == "card_fee"
    assert check_enrolment(hotel, paid).card_fee_fen == 3800  # the fee paid is card income, not lost
    waived = EnrolmentFacts(DAY, phone="1", real_name_verified=True, top_up_fen=50000)
    assert check_enrolment(hotel, waived).card_fee_fen == 0
    unpaid = EnrolmentFacts(DAY, phone="1", real_name_verified=True)
    assert code_of(hotel, unpaid) == "enrolment_conditions_not_met"


def test_a_mall_requires_real_name_sign_up(mall):
    assert code_of(mall, EnrolmentFacts(DAY, phone="1")) == "real_name_required"
    assert check_enrolment(mall, EnrolmentFacts(DAY, phone="1", real_name_verified=True)).condition == "free"
