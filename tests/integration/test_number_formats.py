"""One locale-aware way to write numbers and money (saas/i18n.py), and its short form for dashboard cards."""

import pytest
from flask_babel import force_locale

from saas.i18n import format_money, format_money_short, format_number, format_number_short


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", ["CN¥115,583", "CN¥115,584", "CN¥12.3M", "CN¥0", "1,234", "999,999", "12.3M"]),
    ("zh_CN", ["¥115,583", "¥115,584", "¥1234.6万", "¥0", "1,234", "999,999", "1234.6万"]),
])
def test_cards_show_whole_yuan_and_compact_figures_from_a_million(app_ctx, locale, expected):
    with force_locale(locale):
        got = [format_money_short(11_558_327), format_money_short(11_558_350), format_money_short(1_234_567_890),
               format_money_short(0), format_number_short(1234), format_number_short(999_999),
               format_number_short(12_345_678)]
        assert got == expected
        assert format_money(11_558_327) == ("CN¥115,583.27" if locale == "en" else "¥115,583.27")
        assert format_number(1234567) == "1,234,567"
