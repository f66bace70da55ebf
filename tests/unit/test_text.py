"""clean_name: invisible control and format characters never reach a stored name."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from saas.text import ZWJ, clean_name

INVISIBLE = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u2060\ufeff\u00ad"
# Arbitrary text, with the characters this is about much more likely than a uniform draw would make them.
names = st.text(st.one_of(st.characters(codec=None), st.sampled_from(INVISIBLE + ZWJ + " \t\n\r\x00\x1b\x85\u3000"),
                          st.characters(categories=["Cc", "Cf", "Cs", "Mn", "Zs", "So"])))


@given(names)
def test_a_clean_name_holds_no_control_or_format_character_and_cleaning_it_again_changes_nothing(raw):
    clean = clean_name(raw)
    for i, char in enumerate(clean):
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cs"), (raw, clean)
        if category == "Cf":  # only a joiner, between two visible characters
            assert char == ZWJ, (raw, clean)
            assert 0 < i < len(clean) - 1, (raw, clean)
            assert not clean[i - 1].isspace() and not clean[i + 1].isspace() and ZWJ not in (clean[i - 1], clean[i + 1])
    assert clean == clean.strip() and "  " not in clean
    assert unicodedata.is_normalized("NFC", clean)
    assert clean_name(clean) == clean


def test_bidi_overrides_zero_width_and_controls_are_stripped_and_the_visible_name_kept():
    assert clean_name("\u202eevil") == "evil"
    assert clean_name("\u2066Wang\u2069 \u200bFang\u200f") == "Wang Fang"
    assert clean_name("  Li\tNa\r\n ") == "Li Na"
    assert clean_name("Zho\x00u\x1b\x7f\x9b") == "Zhou"
    assert clean_name("e\u0301") == "\u00e9"  # NFC
    assert clean_name("王\u3000芳") == "王 芳"
    assert clean_name(None) == "" and clean_name("\u202e\u200b") == ""


def test_the_joiner_of_an_emoji_sequence_is_kept_and_a_stray_one_dropped():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_name(family) == family
    assert clean_name(f"{ZWJ}Amy{ZWJ} {ZWJ}{ZWJ}Lee{ZWJ}") == "Amy Lee"
