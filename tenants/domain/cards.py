"""Member cards as pure state transitions (SPEC §4).

Tier, points and stored value belong to the **member**, never to a card number: a replacement
card is just a new number for the same member, so everything carries over by construction,
while the old number stays refused for ever. A lost card is blocked from the instant of the
report (``blocked_at``): sales timed before it (offline POS sync) still pass.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime

from tenants.domain.dates import WorkCalendar, add_months, add_working_days, working_days_between
from tenants.domain.errors import DomainError
from tenants.domain.program import Program

ACTIVE = "active"
LOST = "lost"
REPLACED = "replaced"  # after loss (补卡)
EXCHANGED = "exchanged"  # damaged card swapped (换卡)
CLOSED = "closed"  # 退卡: never reissued


@dataclass(frozen=True)
class Card:
    number: str
    member_id: str
    card_type: str
    status: str
    issued_on: date
    valid_until: date | None  # exclusive; None: for life
    blocked_at: datetime | None = None
    replaced_by: str | None = None


@dataclass(frozen=True)
class CardSwap:
    old: Card
    new: Card
    fee_fen: int


def issue_card(program: Program, number: str, member_id: str, on: date, card_type: str | None = None) -> Card:
    """A new active card of ``card_type`` (default type when None), valid for the type's months."""
    kind = program.card_type(card_type)
    until = add_months(on, kind.validity_months) if kind.validity_months else None
    return Card(number, member_id, kind.code, ACTIVE, on, until)


def check_card_usable(card: Card, at: datetime) -> None:
    """Refuse a card that is blocked at ``at``, replaced, exchanged, closed or expired."""
    if card.status == CLOSED:
        raise DomainError("card_closed", number=card.number)
    if card.status in (REPLACED, EXCHANGED):
        raise DomainError("card_replaced", number=card.number)
    if card.blocked_at is not None and at >= card.blocked_at:
        raise DomainError("card_blocked", number=card.number)
    if card.valid_until is not None and at.date() >= card.valid_until:
        raise DomainError("card_expired", number=card.number, valid_until=card.valid_until.isoformat())


def report_lost(card: Card, at: datetime) -> Card:
    """挂失: blocked at once."""
    if card.status == CLOSED:
        raise DomainError("card_closed", number=card.number)
    if card.status in (REPLACED, EXCHANGED):
        raise DomainError("card_replaced", number=card.number)
    if card.status == LOST:
        return card
    return replace(card, status=LOST, blocked_at=at)


def replacement_available_on(program: Program, card: Card, holidays: Collection[date] = (),
                             calendar: WorkCalendar | None = None) -> date:
    """The first day a lost card can be replaced: N working days after the loss report (the day it was
    reported on is day 0; ``calendar`` gives the working days, e.g. China's holidays and adjusted days)."""
    if card.blocked_at is None:
        raise DomainError("card_not_lost", number=card.number)
    delay = program.card_type(card.card_type).replacement_delay_working_days
    return add_working_days(card.blocked_at.date(), delay, holidays, calendar)


def replace_card(program: Program, old: Card, new_number: str, on: date, holidays: Collection[date] = (),
                 calendar: WorkCalendar | None = None) -> CardSwap:
    """补卡: a new number for the same member after the working-day delay, for the replacement fee.

    The new card keeps the card type and validity; the old card becomes ``replaced`` for ever.
    """
    if old.status == CLOSED:
        raise DomainError("card_closed", number=old.number)
    if old.status in (REPLACED, EXCHANGED):  # replaced already (two people at once): its number stays refused
        raise DomainError("card_replaced", number=old.number)
    if old.status != LOST or old.blocked_at is None:
        raise DomainError("card_not_lost", number=old.number)
    kind = program.card_type(old.card_type)
    if working_days_between(old.blocked_at.date(), on, holidays, calendar) < kind.replacement_delay_working_days:
        available = replacement_available_on(program, old, holidays, calendar)
        raise DomainError("replacement_too_early", available_on=available.isoformat())
    new = Card(new_number, old.member_id, old.card_type, ACTIVE, on, old.valid_until)
    return CardSwap(replace(old, status=REPLACED, replaced_by=new_number), new, kind.replacement_fee_fen)


def exchange_card(program: Program, old: Card, new_number: str, on: date) -> CardSwap:
    """换卡: a damaged (not lost) card is swapped for a new number at once, for the exchange fee."""
    if old.status == CLOSED:
        raise DomainError("card_closed", number=old.number)
    if old.status != ACTIVE:
        raise (
            DomainError("card_replaced", number=old.number)
            if old.status != LOST
            else DomainError("card_blocked", number=old.number)
        )
    kind = program.card_type(old.card_type)
    new = Card(new_number, old.member_id, old.card_type, ACTIVE, on, old.valid_until)
    return CardSwap(replace(old, status=EXCHANGED, replaced_by=new_number), new, kind.exchange_fee_fen)


def close_card(card: Card, at: datetime, *, pin_verified: bool, identity_verified: bool) -> Card:
    """退卡: after PIN and identity checks; the stored-value refund is ``stored_value.refund_on_close``."""
    if card.status == CLOSED:
        raise DomainError("card_closed", number=card.number)
    if not pin_verified:
        raise DomainError("pin_required")
    if not identity_verified:
        raise DomainError("identity_not_verified")
    return replace(card, status=CLOSED, blocked_at=card.blocked_at or at)


def card_period_start(program: Program, card: Card) -> date | None:
    """The first day of the card's current validity period (ending on ``valid_until``): the issue day in
    its first period, else the renewal's extension back from ``valid_until``. None: a card for life."""
    if card.valid_until is None:
        return None
    kind = program.card_type(card.card_type)
    first_end = add_months(card.issued_on, kind.validity_months) if kind.validity_months else None
    if kind.renewal is None or card.valid_until == first_end:
        return card.issued_on
    return max(card.issued_on, add_months(card.valid_until, -kind.renewal.extend_months))


def renew_card(program: Program, card: Card, earned_in_period: int, on: date) -> Card | None:
    """Renew a card at the end of its validity when the type's renewal bar was met in the period
    (``earned_in_period``: points earned or fen spent, per the rule). None: not renewed."""
    kind = program.card_type(card.card_type)
    if kind.renewal is None or card.valid_until is None or on < card.valid_until:
        return None
    if earned_in_period < kind.renewal.min:
        return None
    return replace(card, valid_until=add_months(card.valid_until, kind.renewal.extend_months))
