"""Marketing consent per channel (营销同意, SPEC §3, §11, §18): pure rules, no I/O.

A member agrees to or withdraws from offers on each channel on their own; every change is an event
(channel, granted or withdrawn, when, by whom and where it came from), and the member's current consent is
what the last event of each channel says. It is kept on the member row as a bit set, materialised from the
events by the one consent service, so a list filter or a message batch reads it without replaying history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The channels in the order the pages list them; the bit of each in the member's set never changes.
CHANNELS = ("sms", "wechat", "email", "phone")
BITS = {channel: 1 << i for i, channel in enumerate(CHANNELS)}
ALL = sum(BITS.values())
# Where a change came from: the counter, the back office, a member import, the API, an online sign-up.
SOURCES = ("counter", "back_office", "import", "api", "online")


@dataclass(frozen=True)
class ConsentChange:
    """One event to record: the channel and whether it is now granted."""

    channel: str
    granted: bool


def channels_of(bits: int) -> frozenset[str]:
    """The channels granted in a bit set."""
    return frozenset(c for c in CHANNELS if bits & BITS[c])


def bits_of(channels: Iterable[str]) -> int:
    """The bit set of granted channels; an unknown channel raises ValueError."""
    total = 0
    for channel in channels:
        if channel not in BITS:
            raise ValueError(f"unknown channel {channel!r}")
        total |= BITS[channel]
    return total


def changes_to(current: int, wanted: int) -> list[ConsentChange]:
    """The events that take consent from `current` to `wanted` (bit sets): one per channel that differs, in
    channel order; none when nothing changes."""
    return [ConsentChange(c, bool(wanted & BITS[c])) for c in CHANNELS if (current ^ wanted) & BITS[c]]


def fold(start: int, events: Iterable[tuple[str, bool]]) -> int:
    """The bit set after (channel, granted) events in the order they happened, from `start`."""
    bits = start
    for channel, granted in events:
        bits = bits | BITS[channel] if granted else bits & ~BITS[channel]
    return bits


def may_send(bits: int, channel: str) -> bool:
    """May a marketing message go out on `channel`? Only on a channel the member agreed to."""
    return bool(bits & BITS[channel])
