"""Message texts (短信库, SPEC §11): placeholders, filling them in, the signature. Pure rules, no I/O.

A template's text names the member's facts as placeholders in braces, ``{name}``; only the placeholders listed in
PLACEHOLDERS exist (a typo is refused when the template is saved, never sent as "{nmae}"). Every message is signed
with the store and the member's responsible staff, as the manuals ask ("—— 静安店 王芳").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Placeholder → what it stands for (the pages translate these descriptions; the codes never change).
PLACEHOLDERS: dict[str, str] = {
    "name": "the member's name",
    "tenant": "the business's name",
    "store": "the member's store",
    "staff": "the member's responsible staff",
    "tier": "the member's tier",
    "points": "points available",
    "keep_amount": "spend still needed to keep the tier",
    "keep_by": "the day by which to spend it",
    "expiring_points": "points about to expire",
    "expire_on": "the day they expire",
    "festival": "the festival or season",
    "amount": "the purchase or milestone amount",
    "event_on": "the day of a promotion or event",
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_SMS_CHARS = 300  # a long SMS is split by the carrier; beyond this it is a letter, not a message
MAX_BODY_CHARS = 4000


@dataclass(frozen=True)
class Text:
    """A filled-in message: subject (e-mail only; empty for SMS) and body, signature included."""

    subject: str
    body: str


def placeholders_in(text: str) -> list[str]:
    """The placeholder codes a text names, in order of first appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text or "")))


def unknown_placeholders(text: str) -> list[str]:
    """The placeholders of a text that do not exist (what the template form reports on the field)."""
    return [code for code in placeholders_in(text) if code not in PLACEHOLDERS]


def fill(text: str, values: dict[str, str]) -> str:
    """The text with each known placeholder replaced by its value (a missing value reads as empty)."""

    def one(match: re.Match) -> str:
        code = match.group(1)
        if code not in PLACEHOLDERS:
            return match.group(0)
        return str(values.get(code) or "")

    return _PLACEHOLDER.sub(one, text or "")


def signature(store: str, staff: str) -> str:
    """The signature line: "—— store staff" (either may be missing; nothing when both are)."""
    who = " ".join(part for part in (store.strip(), staff.strip()) if part)
    return f"—— {who}" if who else ""


def compose(subject: str, body: str, values: dict[str, str], *, signed: bool = True) -> Text:
    """Fill a template's subject and body and sign the body with the store and the responsible staff."""
    filled = fill(body, values).rstrip()
    sign = signature(values.get("store") or "", values.get("staff") or "") if signed else ""
    return Text(subject=fill(subject, values).strip(), body=f"{filled}\n{sign}" if sign else filled)
