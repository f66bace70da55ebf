"""Cards: PIN checks with lockout, loss (挂失), replacement (补卡), exchange (换卡), closing (退卡)."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select

from saas.audit import audit
from saas.extensions import db
from saas.passwords import hash_password, verify_password
from tenants.domain import cards as dcards
from tenants.domain import stored_value as dsv
from tenants.domain.errors import DomainError
from tenants.domain.points import EARN, RETURN_TAKE_BACK
from tenants.models import Card, Member, PointsEntry, Purchase
from tenants.services import ledger
from tenants.services.business_time import in_tenant_zone
from tenants.services.errors import ServiceError
from tenants.services.programs_in_force import require_program
from tenants.services.stores import require_store
from tenants.services.work_calendar import work_calendar

LIVE = (dcards.ACTIVE,)


def _domain_card(card: Card) -> dcards.Card:
    return dcards.Card(number=card.number, member_id=str(card.member_id), card_type=card.card_type,
                       status=card.status, issued_on=card.issued_on, valid_until=card.valid_until,
                       blocked_at=in_tenant_zone(card.blocked_at) if card.blocked_at else None,
                       replaced_by=str(card.replaced_by_id) if card.replaced_by_id else None)


def _save(card: Card, state: dcards.Card) -> None:
    card.status, card.blocked_at, card.valid_until = state.status, state.blocked_at, state.valid_until


def member_cards(member_id: int) -> list[Card]:
    return list(db.session.scalars(select(Card).where(Card.member_id == member_id).order_by(Card.issued_on, Card.id)))


def primary_card_type(member: Member) -> str | None:
    for card in member_cards(member.id):
        if card.status == dcards.ACTIVE:
            return card.card_type
    return None


def card_by_number(number: str) -> Card:
    card = db.session.execute(select(Card).where(Card.number == number.strip())).scalar_one_or_none()
    if card is None:
        raise ServiceError("not_found")
    return card


def check_card(card: Card, at: dt.datetime) -> None:
    """A card presented at the counter: refused when lost (from the report on), replaced, closed or expired."""
    try:
        dcards.check_card_usable(_domain_card(card), in_tenant_zone(at))
    except DomainError as err:
        raise ServiceError.from_domain(err) from err


PIN_LIMIT = "5 per 30 minutes"


def _pin_limit():
    from limits import parse

    return parse(PIN_LIMIT)


def _pin_key(member_id: int) -> str:
    from tenants.scoping import current_tenant_id

    return f"member-pin:{current_tenant_id()}:{member_id}"


def verify_pin(member_id: int, pin: str | None) -> bool:
    """Check a card PIN for an operation that needs it (stored-value payment, closing a card).

    Wrong PINs are counted outside the database transaction (in the rate-limit store, Redis in
    production) so a refused operation still counts them; after 5 in 30 minutes the PIN is locked
    until the window passes or a manager clears it (`clear_pin_failures`). ServiceError pin_invalid /
    pin_locked; False when the member has no PIN at all (the caller may use phone confirmation).
    """
    from saas.extensions import limiter

    cards = [c for c in member_cards(member_id) if c.status == dcards.ACTIVE and c.pin_hash]
    if not cards:
        return False
    from limits.strategies import MovingWindowRateLimiter

    # A moving window over the tries' own times (the app's clock, not the store's key expiry): the lock lifts
    # 30 minutes after the first of the five wrong PINs, and a try refused while locked does not prolong it.
    storage, item, key = MovingWindowRateLimiter(limiter.storage), _pin_limit(), _pin_key(member_id)
    # Count the try before checking it (one atomic step in the store): guesses sent at once cannot all pass
    # a "not locked yet" test before any of them is counted. A right PIN then clears the count.
    if not storage.hit(item, key):
        raise ServiceError("pin_locked")
    if pin and any(verify_password(c.pin_hash, pin) for c in cards):
        limiter.storage.clear(item.key_for(key))
        return True
    raise ServiceError("pin_invalid" if storage.test(item, key) else "pin_locked")


def clear_pin_failures(member_id: int) -> None:
    """A manager lifts a PIN lock."""
    from saas.extensions import limiter

    limiter.storage.clear(_pin_limit().key_for(_pin_key(member_id)))


def set_pin(card: Card, pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ServiceError("validation_failed", fields={"pin": _("The card PIN is 4 to 8 digits.")})
    card.pin_hash = hash_password(pin)
    clear_pin_failures(card.member_id)


def issue_physical_card(member_id: int, number: str, on: dt.date, *, card_type: str | None = None,
                        pin: str | None = None, staff_id: int | None = None, store_id: int | None = None) -> Card:
    """Give a member a printed card (the virtual one always exists); the card type's fee is recorded
    as card income with the selling staff."""
    member = ledger.lock_member(member_id)
    if member.status != "active":
        raise ServiceError("member_closed")
    require_store(store_id)
    number = (number or "").strip()
    if not number or len(number) > 40 or not number.isalnum():
        raise ServiceError("validation_failed", fields={"number": _("Use letters and digits, at most 40.")})
    if db.session.scalar(select(Card.id).where(Card.number == number)) is not None:
        raise ServiceError("validation_failed", fields={"number": _("This card number is already in use.")})
    _version, program = require_program(on)
    try:
        state = dcards.issue_card(program, number, str(member.id), on, card_type)
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    card = Card(member_id=member.id, number=number, kind="physical", card_type=state.card_type, status=state.status,
                issued_on=on, valid_until=state.valid_until, fee_fen=program.card_type(card_type).fee_fen,
                sold_by=staff_id, store_id=store_id)
    if pin:
        set_pin(card, pin)
    db.session.add(card)
    db.session.flush()
    return card


def report_lost(card: Card, at: dt.datetime, staff_id: int | None = None, **details) -> Card:
    """挂失: blocked from `at` on (sales timed earlier still pass). Audited (`details`: where it was done)."""
    ledger.lock_member(card.member_id)
    try:
        _save(card, dcards.report_lost(_domain_card(card), in_tenant_zone(at)))
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    audit("card.reported_lost", f"card:{card.id}", actor_id=staff_id, member_id=str(card.member_id), **details)
    return card


def replacement_available_on(card: Card, on: dt.date) -> dt.date | None:
    """The first business day lost `card` can be replaced under the program in force on `on`: the program's
    working-day delay after the loss report, China's public holidays skipped and adjusted working days
    counted; None when the card is not lost."""
    if card.status != dcards.LOST or card.blocked_at is None:
        return None
    _version, program = require_program(on)
    state = _domain_card(card)
    try:
        return dcards.replacement_available_on(program, state, calendar=work_calendar(state.blocked_at.date()))
    except DomainError:
        return None


def replace_lost_card(card: Card, on: dt.date, new_number: str | None = None, staff_id: int | None = None,
                      store_id: int | None = None, **details) -> Card:
    """补卡: after the program's delay, for its fee; tier, points and balance stay with the member.

    The fee (the new card's `fee_fen`) is card income of the staff member and the store that replaced it.
    """
    from tenants.services.members import new_card_number

    ledger.lock_member(card.member_id)
    _version, program = require_program(on)
    try:
        state = _domain_card(card)
        calendar = work_calendar(state.blocked_at.date()) if state.blocked_at else None
        swap = dcards.replace_card(program, state, new_number or new_card_number(), on, calendar=calendar)
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    new = _swap(card, swap, staff_id, store_id)
    audit("card.replaced", f"card:{card.id}", actor_id=staff_id, member_id=str(card.member_id), new_card=str(new.id),
          **details)
    return new


def exchange_card(card: Card, on: dt.date, new_number: str | None = None, staff_id: int | None = None,
                  store_id: int | None = None, **details) -> Card:
    """换卡: a damaged card swapped for a new number, for the exchange fee (card income, as a replacement's)."""
    from tenants.services.members import new_card_number

    ledger.lock_member(card.member_id)
    _version, program = require_program(on)
    try:
        swap = dcards.exchange_card(program, _domain_card(card), new_number or new_card_number(), on)
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    new = _swap(card, swap, staff_id, store_id)
    audit("card.exchanged", f"card:{card.id}", actor_id=staff_id, member_id=str(card.member_id),
          new_card=str(new.id), **details)
    return new


def _swap(card: Card, swap: dcards.CardSwap, staff_id: int | None, store_id: int | None) -> Card:
    new = Card(member_id=card.member_id, number=swap.new.number, kind=card.kind, card_type=swap.new.card_type,
               status=swap.new.status, issued_on=swap.new.issued_on, valid_until=swap.new.valid_until,
               pin_hash=card.pin_hash, fee_fen=swap.fee_fen, sold_by=staff_id,
               store_id=store_id if store_id is not None else card.store_id)
    db.session.add(new)
    db.session.flush()
    _save(card, swap.old)
    card.replaced_by_id = new.id
    return new


def close_card(card: Card, at: dt.datetime, *, pin_verified: bool, identity_verified: bool,
               staff_id: int | None = None) -> dict:
    """退卡: with the PIN (`verify_pin` first) and identity checked, close the membership's cards and
    refund the stored value per the program; a closed card is never reissued."""
    member = ledger.lock_member(card.member_id)
    at = in_tenant_zone(at)
    on = at.date()
    version, program = require_program(on)
    pin_ok = pin_verified
    try:
        closed = dcards.close_card(_domain_card(card), at, pin_verified=pin_ok, identity_verified=identity_verified)
        sv_rows = ledger.load_sv_lots(member.id)
        refund = None
        if member.stored_value_fen:
            refund = dsv.refund_on_close(program, ledger.sv_domain_lots(sv_rows), on, pin_verified=pin_ok,
                                         identity_verified=identity_verified)
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    if refund is not None:
        ledger.apply_stored_value(member, sv_rows, refund.movement, version=version.version, staff_id=staff_id,
                                  reason="card closed")
    _save(card, closed)
    for other in member_cards(member.id):
        if other.id != card.id and other.status in (dcards.ACTIVE, dcards.LOST):
            _save(other, dcards.close_card(_domain_card(other), at, pin_verified=True, identity_verified=True))
    member.status = "closed"
    audit("card.closed", f"card:{card.id}", actor_id=staff_id, member_id=str(member.id),
          refund_fen=refund.refund_fen if refund else 0, identity_verified=identity_verified)
    return {"card": card.number, "status": card.status,
            "refund_fen": refund.refund_fen if refund else 0, "forfeited_fen": refund.forfeited_fen if refund else 0}


def renew_cards(member: Member, as_of: dt.date) -> int:
    """Renew the member's active cards whose validity ended by `as_of`, when their type's renewal bar was met
    in the period that ended (SPEC §4: "renewed free for 2 more years if 2000+ points were earned"): points
    earned by purchases net of returns, or goods money net of returns, per the rule. Returns how many."""
    cards = db.session.scalars(select(Card).where(Card.member_id == member.id, Card.status == dcards.ACTIVE,
                                                  Card.valid_until <= as_of)).all()
    renewed = 0
    for card in cards:
        _version, program = require_program(card.valid_until)
        renewal = program.card_type(card.card_type).renewal
        state = _domain_card(card)
        start = dcards.card_period_start(program, state)
        if renewal is None or start is None:
            continue
        if renewal.measure == "points_earned":
            have = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                PointsEntry.member_id == member.id, PointsEntry.kind.in_((EARN, RETURN_TAKE_BACK)),
                PointsEntry.business_date >= start, PointsEntry.business_date < card.valid_until))
        else:
            have = db.session.scalar(select(func.coalesce(func.sum(Purchase.spend_fen - Purchase.returned_spend_fen),
                                                          0)).where(
                Purchase.member_id == member.id, Purchase.business_date >= start,
                Purchase.business_date < card.valid_until))
        new = dcards.renew_card(program, state, int(have), as_of)
        if new is not None:
            card.valid_until = new.valid_until
            renewed += 1
    return renewed
