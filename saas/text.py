"""Names as people type (or paste) them, made safe to store and show.

A name copied from a chat, a spreadsheet or a web page can carry characters nobody sees: a right-to-left
override (U+202E) that makes "‮evil" display backwards on a receipt or in the back office, zero-width spaces that
make two "identical" names differ, a stray tab or carriage return, a lone surrogate PostgreSQL cannot store.
``clean_name`` removes them. It *strips* rather than refuses: the person meant the visible text, and a cashier
cannot see, let alone delete, an invisible character in what a member dictated or a till sent. A name that is
empty once cleaned is refused by the field's own "enter a name" check, as an empty name always was.

What is removed or changed, in this order:

1. Control whitespace (tab, newline, CR, vertical tab, form feed, the C1 next-line U+0085) and the line/paragraph
   separators U+2028/U+2029 become a space (``"Wang\\nFang"`` stays two words).
2. Every other C0/C1 control character (Unicode category Cc), every surrogate (Cs) and every format character
   (Cf): the bidi embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069, the marks U+200E/U+200F and
   U+061C, zero-width space/non-joiner U+200B/U+200C, word joiner U+2060, BOM U+FEFF, soft hyphen U+00AD, the tag
   characters U+E0020–U+E007F, …
   The one exception is the zero-width joiner U+200D, which emoji sequences (👨‍👩‍👧, 🏳️‍🌈) and some Indic
   scripts need: it is kept between two visible characters and dropped elsewhere (at an end, next to a space,
   repeated).
3. Unicode normalisation to NFC, so the same name typed on two keyboards is the same text.
4. Runs of whitespace become one space; leading and trailing whitespace goes.

The function is idempotent: cleaning a clean name changes nothing.
"""

from __future__ import annotations

import re
import unicodedata

ZWJ = "\u200d"
_SPACE_LIKE = dict.fromkeys(map(ord, "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029"), " ")
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_WHITESPACE = re.compile(r"\s+")


def is_invisible(char: str) -> bool:
    """Whether ``clean_name`` would remove ``char`` wherever it stands (everything of Cc, Cf, Cs but the ZWJ)."""
    return char != ZWJ and unicodedata.category(char) in _REMOVED_CATEGORIES


def _joiners_between_visible(text: str) -> str:
    out: list[str] = []
    for i, char in enumerate(text):
        if char != ZWJ:
            out.append(char)
            continue
        before = out[-1] if out else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if before and after and before != ZWJ and after != ZWJ and not before.isspace() and not after.isspace():
            out.append(char)
    return "".join(out)


def clean_name(value) -> str:
    """The name without invisible control/format characters, in NFC, with single inner spaces; "" for None."""
    if value is None:
        return ""
    text = str(value).translate(_SPACE_LIKE)
    text = "".join(char for char in text if not is_invisible(char))
    text = unicodedata.normalize("NFC", text)
    text = _joiners_between_visible(text)
    return _WHITESPACE.sub(" ", text).strip()


def clean_text(value, max_lines: int = 50) -> str:
    """Free text of several lines (notes): each line cleaned like a name, empty lines kept single."""
    if value is None:
        return ""
    lines = [clean_name(line) for line in str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "\n".join(lines[:max_lines])
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def clean_tags(value, max_tags: int = 20, max_length: int = 20) -> list[str]:
    """Tags from a list or a comma-separated text (either comma): cleaned, without repeats, in order."""
    items = value if isinstance(value, list | tuple) else re.split(r"[,，、]", str(value or ""))
    tags = [clean_name(item)[:max_length] for item in items]
    return list(dict.fromkeys(tag for tag in tags if tag))[:max_tags]
