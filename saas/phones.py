"""Members' phone numbers: parsed, checked and written by `phonenumbers` (Google's libphonenumber).

A number is stored in E.164 (+8613812345678, +447911123456): one spelling per number, so the unique
key "one member per phone per tenant" holds however it was typed. A number typed without a country
code is read in the tenant's region (a bare 11-digit 13812345678 is a mainland mobile); a number with
+, 00 or its country code (+44 …, 0044 …, 86138…) is read as such, so hotels can enrol foreign guests.
Only numbers that can receive a text are accepted (mobile; numbering plans that do not tell mobiles
from landlines, such as the US, pass too): members log in and confirm payments by SMS.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

DEFAULT_REGION = "CN"
TEXTABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PERSONAL_NUMBER})


class InvalidPhone(ValueError):
    """Not a mobile number in any reading."""


def parse_phone(raw: str | None, region: str = DEFAULT_REGION, mobile: bool = True) -> str | None:
    """The E.164 form of a typed number; None when nothing was typed; InvalidPhone when it is no valid
    number (or, with `mobile`, none that can receive a text)."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, region or DEFAULT_REGION)
    except phonenumbers.NumberParseException as err:
        raise InvalidPhone(text) from err
    if number.extension or not phonenumbers.is_valid_number(number) \
            or (mobile and phonenumbers.number_type(number) not in TEXTABLE):
        raise InvalidPhone(text)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def last4(e164: str | None) -> str | None:
    """The last four digits of the national number (what a member tells the counter)."""
    if not e164:
        return None
    try:
        national = str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        national = "".join(ch for ch in e164 if ch.isdigit())
    return national[-4:]


def display_phone(e164: str | None, region: str = DEFAULT_REGION, masked: bool = False) -> str:
    """A stored number as people write it: a number of the tenant's region in its national form
    (138 1234 5678), any other in the international form (+44 7911 123456).

    Masked (what clerks see): every digit between the first three and the last four of the national
    number becomes *, spaces kept (138 **** 5678, +44 791* **3456). Anything unparseable is shown as
    stored, or masked but for its last four digits.
    """
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, region or DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        digits = "".join(ch for ch in e164 if ch.isdigit())
        return "*" * max(len(digits) - 4, 0) + digits[-4:] if masked else e164
    domestic = number.country_code == phonenumbers.country_code_for_region(region or DEFAULT_REGION)
    text = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL if domestic
                                      else PhoneNumberFormat.INTERNATIONAL)
    if not masked:
        return text
    national = str(number.national_number)
    # The national digits start after the country code (international form) or after a trunk prefix 0.
    positions = [i for i, ch in enumerate(text) if ch.isdigit()][-len(national):]
    hidden = set(positions[3:-4]) if len(positions) > 7 else set(positions[:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))
