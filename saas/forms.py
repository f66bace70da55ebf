"""Small helpers shared by the WTForms forms."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices; values are sent as strings."""
    return [SelectChoice("" if value is None else str(value), label) for value, label in pairs]


def optional_int(value):
    return int(value) if value not in (None, "") else None


def place_errors(form, err, fallback: str) -> None:
    """A service's refusal on a form: each message next to its field; a message for a field the form does not
    have, or a refusal without fields, goes to the `fallback` field."""
    for name, message in (err.fields or {fallback: err.message}).items():
        field = form._fields.get(name) or form._fields[fallback]
        field.errors = [*field.errors, message]


def email_address() -> Email:
    """WTForms' e-mail check (email-validator underneath) with our own message: WTForms' catalogue says
    "无效的 Email 地址" in Chinese, half English."""
    return Email(message=_l("Enter a valid e-mail address."))


def optional_day(raw: str | None, name: str, errors: dict):
    """A filter's ISO date as typed (None when empty); a date that is not one puts a message on `name`."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        errors[name] = gettext("Must be a date.")
        return None
