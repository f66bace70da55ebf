"""Phone numbers are read, checked and written by phonenumbers: E.164 stored, national form shown at home."""

import pytest

from saas.phones import InvalidPhone, display_phone, last4, parse_phone


@pytest.mark.parametrize("typed", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678",
                                   "008613812345678", "8613812345678", "(+86) 13812345678"])
def test_every_spelling_of_a_mainland_mobile_is_stored_as_one_e164_number(typed):
    assert parse_phone(typed) == "+8613812345678"


def test_a_foreign_guests_number_is_read_with_its_country_code():
    assert parse_phone("+44 7911 123456") == "+447911123456"
    assert parse_phone("0044 7911 123456") == "+447911123456"
    assert parse_phone("+1 650 253 0000") == "+16502530000"  # US numbers do not tell mobiles from landlines


def test_a_bare_number_is_read_in_the_tenants_region():
    assert parse_phone("07911 123456", "GB") == "+447911123456"
    assert parse_phone("+86 138 1234 5678", "GB") == "+8613812345678"


@pytest.mark.parametrize("typed", ["12345678901", "10000000000", "123456", "14000000000", "1381234567",
                                   "138123456789", "+44 12", "abc", "13812345678 ext. 12"])
def test_what_the_old_six_to_fifteen_digit_check_let_through_is_refused(typed):
    with pytest.raises(InvalidPhone):
        parse_phone(typed)


def test_a_landline_is_a_valid_number_but_no_mobile():
    with pytest.raises(InvalidPhone):
        parse_phone("010 6552 9988")
    assert parse_phone("010 6552 9988", mobile=False) == "+861065529988"


def test_nothing_typed_is_no_number():
    assert parse_phone("") is None and parse_phone("  ") is None and parse_phone(None) is None


def test_the_last_four_are_those_of_the_national_number():
    assert last4("+8613812345678") == "5678" and last4("+447911123456") == "3456" and last4(None) is None


def test_numbers_of_the_tenants_region_are_shown_nationally_others_internationally():
    assert display_phone("+8613812345678") == "138 1234 5678"
    assert display_phone("+447911123456") == "+44 7911 123456"
    assert display_phone("+447911123456", "GB") == "07911 123456"
    assert display_phone("+8613812345678", "GB") == "+86 138 1234 5678"


def test_clerks_see_only_the_first_three_and_last_four_national_digits():
    assert display_phone("+8613812345678", masked=True) == "138 **** 5678"
    assert display_phone("+447911123456", masked=True) == "+44 791* **3456"
    assert display_phone("+8613812345678", "GB", masked=True) == "+86 138 **** 5678"


def test_a_value_that_is_no_number_is_shown_as_stored_or_masked_to_its_last_four():
    assert display_phone("12-34") == "12-34" and display_phone("123456789", masked=True) == "*****6789"
    assert display_phone(None) == "" and display_phone("") == ""
