"""Small helpers shared by the WTForms forms."""

from __future__ import annotations

from wtforms.fields.choices import SelectChoice


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices; values are sent as strings."""
    return [SelectChoice("" if value is None else str(value), label) for value, label in pairs]


def optional_int(value):
    return int(value) if value not in (None, "") else None
