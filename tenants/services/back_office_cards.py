"""The member page's card desk (store manager and up): issue a printed card, set its PIN, report a loss,
replace, exchange, close with the stored-value refund after an identity check.

Each operation is one call that the view runs inside `run_idempotent` (one commit); the card rules and their
audit entries stay in `tenants/services/cards.py` (the counter and the API use the same ones). What this module
adds is what the back office's forms need: a new number checked before anything is written, the card re-read
under the member's lock (two people pressing "replace" at once give one new card), the PIN asked only when the
card type or the stored value uses one, and the identity check before a closure: the staff ticks that they
saw the member's ID document and, when an ID number is on file, types its last four characters.
"""

from __future__ import annotations

import datetime as dt
import hmac

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.audit import audit
from saas.extensions import db
from tenants.domain import cards as dcards
from tenants.domain import stored_value as dsv
from tenants.domain.errors import DomainError
from tenants.domain.program import Program
from tenants.models import Card, Member
from tenants.services import cards, ledger
from tenants.services.business_time import in_tenant_zone
from tenants.services.errors import ServiceError
from tenants.services.programs_in_force import require_program

SOURCE = "back_office"  # in the audit entries' details: where it was done


def checked_number(raw: str | None, field: str = "number", *, required: bool = True) -> str | None:
    """A new card number as printed: letters and digits (spaces a scanner or a person typed are dropped), at most
    40, given to nobody yet. None when empty and not required."""
    number = "".join((raw or "").split())
    if not number:
        if required:
            raise ServiceError("validation_failed", fields={field: _("Enter the number printed on the card.")})
        return None
    if len(number) > 40 or not number.isascii() or not number.isalnum():
        raise ServiceError("validation_failed", fields={field: _("Use letters and digits, at most 40.")})
    if db.session.scalar(select(Card.id).where(Card.number == number)) is not None:
        raise ServiceError("validation_failed", fields={field: _("This card number is already in use.")})
    return number


def uses_pin(program: Program, card_type: str | None) -> bool:
    """The card type asks for a PIN, or paying with stored value does."""
    try:
        kind = program.card_type(card_type)
    except DomainError:
        return False
    return kind.pin_required or (program.stored_value.enabled and program.stored_value.pin_required)


def _checked_pin(pin: str | None, repeat: str | None) -> str:
    pin = (pin or "").strip()
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise ServiceError("validation_failed", fields={"pin": _("The card PIN is 4 to 8 digits.")})
    if (repeat or "").strip() != pin:
        raise ServiceError("validation_failed", fields={"pin_repeat": _("The two PINs differ.")})
    return pin


def _locked(member_id: int, card_id: int | None = None) -> tuple[Member, Card | None]:
    """The member locked (every card change of a member waits its turn) and the card read again under the lock."""
    member = ledger.lock_member(member_id)
    card = None
    if card_id is not None:
        card = db.session.execute(select(Card).where(Card.id == card_id, Card.member_id == member.id)
                                  .execution_options(populate_existing=True)).scalar_one_or_none()
        if card is None:
            raise ServiceError("not_found")
    return member, card


def _active_member(member: Member) -> None:
    if member.status != "active":
        raise ServiceError("member_closed")


def _new_card(field: str, make):
    """`make()` written at once in a savepoint: when someone else took the same number at this instant, the
    unique key decides and the loser hears it on `field` (not a server error)."""
    try:
        with db.session.begin_nested():
            card = make()
            db.session.flush()
    except IntegrityError as err:
        raise ServiceError("validation_failed", fields={field: _("This card number is already in use.")}) from err
    return card


def issue(*, member_id: int, number: str, on: dt.date, staff_id: int, store_id: int | None,
          card_type: str | None = None, pin: str = "", pin_repeat: str = "") -> dict:
    """Hand the member a printed card (its type's fee is card income of `staff_id` and `store_id`), with a PIN
    when one is typed. Audited (card.issued)."""
    member, _card = _locked(member_id)
    _active_member(member)
    clean = checked_number(number)
    _version, program = require_program(on)
    if card_type:
        try:
            program.card_type(card_type)
        except DomainError:
            raise ServiceError("validation_failed", fields={"card_type": _("Not a valid choice.")}) from None
    chosen = _checked_pin(pin, pin_repeat) if (pin or pin_repeat) else None
    card = _new_card("number", lambda: cards.issue_physical_card(
        member.id, clean, on, card_type=card_type or None, staff_id=staff_id, store_id=store_id, pin=chosen))
    audit("card.issued", f"card:{card.id}", actor_id=staff_id, member_id=str(member.id), number=card.number,
          fee_fen=card.fee_fen, pin=bool(chosen), source=SOURCE)
    return {"card_id": str(card.id), "number": card.number, "fee_fen": card.fee_fen}


def change_pin(*, member_id: int, card_id: int, pin: str, pin_repeat: str, on: dt.date, staff_id: int) -> dict:
    """Set or change a live card's PIN (the member types it twice); wrong-PIN counts are cleared. Audited
    (card.pin_changed, without the PIN)."""
    member, card = _locked(member_id, card_id)
    _active_member(member)
    if card.status != dcards.ACTIVE:
        raise ServiceError("validation_failed", fields={"pin": _("Only a valid card gets a PIN.")})
    _version, program = require_program(on)
    if not uses_pin(program, card.card_type):
        raise ServiceError("validation_failed", fields={"pin": _("This card type uses no PIN.")})
    had = card.pin_hash is not None
    cards.set_pin(card, _checked_pin(pin, pin_repeat))
    audit("card.pin_changed", f"card:{card.id}", actor_id=staff_id, member_id=str(member.id), changed=had,
          source=SOURCE)
    return {"card_id": str(card.id), "number": card.number, "changed": had}


def report_loss(*, member_id: int, card_id: int, at: dt.datetime, staff_id: int) -> dict:
    """挂失: the card is refused from `at` on. Audited by the card service."""
    member, card = _locked(member_id, card_id)
    _active_member(member)
    cards.report_lost(card, at, staff_id=staff_id, source=SOURCE)
    return {"card_id": str(card.id), "number": card.number}


def replace(*, member_id: int, card_id: int, new_number: str | None, on: dt.date, staff_id: int,
            store_id: int | None) -> dict:
    """补卡 of a lost card, from the first working day the program allows, for its replacement fee (card income).
    An empty number gives a new virtual number. Audited by the card service."""
    member, card = _locked(member_id, card_id)
    _active_member(member)
    number = checked_number(new_number, "new_number", required=False)
    new = _new_card("new_number", lambda: cards.replace_lost_card(card, on, number, staff_id=staff_id,
                                                                  store_id=store_id, source=SOURCE))
    return {"card_id": str(new.id), "number": new.number, "fee_fen": new.fee_fen, "old": card.number}


def exchange(*, member_id: int, card_id: int, new_number: str | None, on: dt.date, staff_id: int,
             store_id: int | None) -> dict:
    """换卡 of a damaged (valid) card for a new number at once, for the exchange fee. Audited by the card service."""
    member, card = _locked(member_id, card_id)
    _active_member(member)
    number = checked_number(new_number, "new_number", required=False)
    new = _new_card("new_number", lambda: cards.exchange_card(card, on, number, staff_id=staff_id,
                                                              store_id=store_id, source=SOURCE))
    return {"card_id": str(new.id), "number": new.number, "fee_fen": new.fee_fen, "old": card.number}


def _closing_card(member_id: int) -> Card | None:
    """The card a closure goes through: a valid one, else a lost one (the membership closes with all its cards)."""
    held = [c for c in cards.member_cards(member_id) if c.status in (dcards.ACTIVE, dcards.LOST)]
    return next((c for c in held if c.status == dcards.ACTIVE), held[0] if held else None)


def has_pin(member_id: int) -> bool:
    return any(c.status == dcards.ACTIVE and c.pin_hash for c in cards.member_cards(member_id))


def id_last4(member: Member) -> str | None:
    """The last four characters of the member's ID number on file (None: no number on file)."""
    number = (member.id_doc_number or "").strip()
    return number[-4:].upper() if number else None


def close_preview(member: Member, on: dt.date) -> dict:
    """What closing would hand back today, without changing anything: {refund_fen, forfeited_fen} (or
    `refused`: the program keeps a balance on closing), and which checks the form asks for."""
    preview = {"refund_fen": 0, "forfeited_fen": 0, "refused": None, "needs_pin": has_pin(member.id),
               "needs_last4": id_last4(member) is not None}
    if member.stored_value_fen:
        try:
            _version, program = require_program(on)
            refund = dsv.refund_on_close(program, ledger.sv_domain_lots(ledger.load_sv_lots(member.id)), on,
                                         pin_verified=True, identity_verified=True)
        except (DomainError, ServiceError) as err:
            code = err.code
            preview["refused"] = ServiceError(code).message
        else:
            preview.update(refund_fen=refund.refund_fen, forfeited_fen=refund.forfeited_fen)
    return preview


def close(*, member_id: int, at: dt.datetime, id_seen: bool, last4: str, pin: str, staff_id: int) -> dict:
    """退卡: with the identity checked (the ID document seen; its last four characters typed when a number is on
    file) and the card PIN when the member has one, every card is closed and the stored value refunded per the
    program (never reissued). Audited by the card service."""
    member, _card = _locked(member_id)
    _active_member(member)
    errors = {}
    if not id_seen:
        errors["id_seen"] = _("Tick this once you have seen the member's ID document.")
    expected = id_last4(member)
    typed = "".join((last4 or "").split()).upper()
    if expected is not None and not hmac.compare_digest(typed.encode(), expected.encode()):
        errors["last4"] = _("These are not the last four characters of the ID number on file.")
    if errors:
        raise ServiceError("validation_failed", fields=errors)
    card = _closing_card(member.id)
    if card is None:
        raise ServiceError("card_closed", number="")
    pin_ok = True  # a member who never chose a PIN is identified by the document alone
    if has_pin(member.id):
        try:
            pin_ok = cards.verify_pin(member.id, (pin or "").strip() or None)
        except ServiceError as err:
            raise ServiceError("validation_failed", fields={"pin": err.message}) from err
    result = cards.close_card(card, in_tenant_zone(at), pin_verified=pin_ok, identity_verified=True,
                              staff_id=staff_id)
    return {"member_id": str(member.id), **result}


def desk(member: Member, on: dt.date) -> dict:
    """What the member page offers for each card and for the membership, as of business day `on`: the type, the
    PIN form when the type uses one, the first day a lost card can be replaced and the fee, the exchange fee, the
    card types a new card can have, and the closure's refund."""
    from tenants.programs import program_in_force

    found = program_in_force(on)
    program = found[1] if found else None
    rows = []
    for card in cards.member_cards(member.id):
        kind = None
        if program is not None:
            try:
                kind = program.card_type(card.card_type)
            except DomainError:
                kind = None
        row = {"card": card, "kind": kind, "pin": bool(program) and card.status == dcards.ACTIVE
               and uses_pin(program, card.card_type), "replace_from": None, "replace_now": False}
        if card.status == dcards.LOST and program is not None:
            available = cards.replacement_available_on(card, on)
            row.update(replace_from=available, replace_now=available is not None and available <= on)
        rows.append(row)
    live = member.status == "active"
    return {"cards": rows, "live": live, "program": program,
            "card_types": list(program.card_types) if program else [],
            "issue_pin": bool(program) and uses_pin(program, None),
            "close": close_preview(member, on) if live and any(
                r["card"].status in (dcards.ACTIVE, dcards.LOST) for r in rows) else None}
