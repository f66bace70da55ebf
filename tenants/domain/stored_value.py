"""Stored value (储值, SPEC §8, §19.9): top-ups with bonus rows, paying from the balance, expiry, refund.

Each top-up is a **lot** holding the principal paid and the bonus given, both in fen, with an
optional expiry (``expiry_months`` after the top-up; first unusable day, half-open). Payments
take the soonest-expiring lot first and, within a lot, the bonus before the principal, so what
stays refundable on closing is as much of the member's own money as possible. Balances never go
negative; every movement is an entry whose amounts sum to the balance.

A top-up is never spend (it earns no points and counts for no tier measure); the bonus never
counts toward "one top-up ≥ X".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from tenants.domain.dates import add_months
from tenants.domain.errors import DomainError
from tenants.domain.program import Program, TopUpBonus

TOP_UP = "top_up"
BONUS = "bonus"
PAY = "pay"
REFUND_CREDIT = "refund_credit"
EXPIRE = "expire"
CLOSE_REFUND = "close_refund"
FORFEIT = "forfeit"
ADJUST = "adjust"


@dataclass(frozen=True)
class TopUpResult:
    amount_fen: int  # principal paid by the member
    bonus_fen: int
    credited_fen: int  # principal + bonus added to the balance
    card_fee_fen: int  # card fee still to charge with this top-up (0 when waived or not due)
    card_fee_waived: bool
    unlock_tier: str | None
    unlock_category_price_bp: Mapping[str, int] = field(default_factory=dict)
    row: TopUpBonus | None = None
    # A top-up earns no points (SPEC §7, §19.2: points are earned when the money is spent), and no bonus row
    # gives points: stated as a figure so a till need not guess.
    points_earned: int = 0


@dataclass(frozen=True)
class StoredValueLot:
    lot_id: str
    principal_fen: int
    bonus_fen: int
    topped_up_on: date
    expires_on: date | None = None

    @property
    def balance_fen(self) -> int:
        return self.principal_fen + self.bonus_fen

    def is_expired(self, as_of: date) -> bool:
        return self.expires_on is not None and self.expires_on <= as_of


@dataclass(frozen=True)
class StoredValueEntry:
    """A movement: ``principal_fen`` + ``bonus_fen`` is the signed change of the balance."""

    kind: str
    lot_id: str
    on: date
    principal_fen: int = 0
    bonus_fen: int = 0
    ref: str = ""

    @property
    def amount_fen(self) -> int:
        return self.principal_fen + self.bonus_fen


@dataclass(frozen=True)
class StoredValueBalance:
    usable_fen: int  # what the member can pay with (the business's liability)
    principal_fen: int  # usable principal
    bonus_fen: int  # usable bonus
    expired_fen: int  # expired but not yet written off


@dataclass(frozen=True)
class StoredValueMovement:
    lots: tuple[StoredValueLot, ...]
    entries: tuple[StoredValueEntry, ...]
    amount_fen: int = 0


def best_bonus_row(program: Program, amount_fen: int) -> TopUpBonus | None:
    """The single best row a top-up of ``amount_fen`` matches: the highest ``min_top_up_fen`` it
    reaches (then the largest bonus). It applies once: ¥2000 with a "¥1000 → ¥100" row gives ¥100."""
    rows = [r for r in program.stored_value.bonus_rows if r.min_top_up_fen <= amount_fen]
    if not rows:
        return None
    return max(rows, key=lambda r: (r.min_top_up_fen, r.bonus_fen))


def top_up(program: Program, amount_fen: int, card_type: str | None = None, card_fee_due: bool = False) -> TopUpResult:
    """Price a top-up of ``amount_fen``: bonus, card fee (waived by the card type's waiver or the row)
    and unlocks. ``card_fee_due``: the member has not paid the card fee yet."""
    rules = program.stored_value
    if not rules.enabled:
        raise DomainError("stored_value_disabled")
    if amount_fen <= 0:
        raise DomainError("invalid_amount", amount_fen=amount_fen)
    if amount_fen < rules.min_top_up_fen:
        raise DomainError("top_up_below_minimum", min_fen=rules.min_top_up_fen)
    row = best_bonus_row(program, amount_fen)
    fee = card_fee_for_top_up(program, amount_fen, card_type) if card_fee_due else 0
    waived = card_fee_due and card_fee_waived_by_top_up(program, amount_fen, card_type)
    bonus = row.bonus_fen if row else 0
    return TopUpResult(
        amount_fen=amount_fen,
        bonus_fen=bonus,
        credited_fen=amount_fen + bonus,
        card_fee_fen=fee,
        card_fee_waived=waived,
        unlock_tier=row.unlock_tier if row else None,
        unlock_category_price_bp=dict(row.unlock_category_price_bp) if row else {},
        row=row,
    )


def card_fee_for_top_up(program: Program, top_up_fen: int, card_type: str | None = None) -> int:
    """The card fee in fen, or 0 when a waiver of the card type matches a single top-up of ``top_up_fen``."""
    kind = program.card_type(card_type)
    if any(top_up_fen >= w.min_fen for w in kind.fee_waivers):
        return 0
    if any(r.waive_card_fee for r in program.stored_value.bonus_rows if r.min_top_up_fen <= top_up_fen):
        return 0
    return kind.fee_fen


def card_fee_waived_by_top_up(program: Program, top_up_fen: int, card_type: str | None = None) -> bool:
    """The card type has a fee and a single top-up of ``top_up_fen`` waives it (card waiver or bonus row)."""
    return top_up_fen > 0 and program.card_type(card_type).fee_fen > 0 and \
        card_fee_for_top_up(program, top_up_fen, card_type) == 0


def top_up_lot(program: Program, lot_id: str, result: TopUpResult, on: date, ref: str = "") -> StoredValueMovement:
    """The lot and entries of a priced top-up; expiry counts from the top-up day."""
    months = program.stored_value.expiry_months
    lot = StoredValueLot(
        lot_id=lot_id,
        principal_fen=result.amount_fen,
        bonus_fen=result.bonus_fen,
        topped_up_on=on,
        expires_on=add_months(on, months) if months else None,
    )
    entries = [StoredValueEntry(TOP_UP, lot_id, on, principal_fen=result.amount_fen, ref=ref)]
    if result.bonus_fen:
        entries.append(StoredValueEntry(BONUS, lot_id, on, bonus_fen=result.bonus_fen, ref=ref))
    return StoredValueMovement(lots=(lot,), entries=tuple(entries), amount_fen=result.credited_fen)


def balance(lots: Iterable[StoredValueLot], as_of: date) -> StoredValueBalance:
    principal = bonus = expired = 0
    for lot in lots:
        if lot.is_expired(as_of):
            expired += lot.balance_fen
        else:
            principal += lot.principal_fen
            bonus += lot.bonus_fen
    return StoredValueBalance(
        usable_fen=principal + bonus, principal_fen=principal, bonus_fen=bonus, expired_fen=expired
    )


def sum_entries(entries: Iterable[StoredValueEntry]) -> int:
    return sum(e.amount_fen for e in entries)


def _order(lot: StoredValueLot) -> tuple:
    return (lot.expires_on is None, lot.expires_on or date.max, lot.topped_up_on, lot.lot_id)


def pay_from_balance(
    program: Program,
    lots: Sequence[StoredValueLot],
    amount_fen: int,
    as_of: date,
    *,
    verified: bool,
    ref: str = "",
    card_type: str | None = None,
) -> StoredValueMovement:
    """Pay ``amount_fen`` from the balance: soonest-expiring lot first, bonus before principal.

    ``verified``: the card PIN or the member's phone confirmation was checked (required when the
    program or the card type asks for a PIN). Never negative: DomainError insufficient_balance.
    """
    if amount_fen <= 0:
        raise DomainError("invalid_amount", amount_fen=amount_fen)
    if (program.stored_value.pin_required or program.card_type(card_type).pin_required) and not verified:
        raise DomainError("pin_required")
    usable = balance(lots, as_of).usable_fen
    if amount_fen > usable:
        raise DomainError("insufficient_balance", needed_fen=amount_fen, available_fen=usable)
    by_id = {lot.lot_id: lot for lot in lots}
    entries = []
    left = amount_fen
    for lot in sorted((lot for lot in lots if not lot.is_expired(as_of)), key=_order):
        if left == 0:
            break
        from_bonus = min(left, lot.bonus_fen)
        from_principal = min(left - from_bonus, lot.principal_fen)
        if from_bonus + from_principal == 0:
            continue
        by_id[lot.lot_id] = replace(
            lot, bonus_fen=lot.bonus_fen - from_bonus, principal_fen=lot.principal_fen - from_principal
        )
        entries.append(StoredValueEntry(PAY, lot.lot_id, as_of, -from_principal, -from_bonus, ref))
        left -= from_bonus + from_principal
    return StoredValueMovement(
        lots=tuple(by_id[lot.lot_id] for lot in lots), entries=tuple(entries), amount_fen=amount_fen
    )


def credit_refund(program: Program, lot_id: str, amount_fen: int, on: date, ref: str = "") -> StoredValueMovement:
    """Money of a returned purchase paid by stored value goes back to the balance as a new lot
    of principal (it was the member's money), expiring like a top-up made on ``on``."""
    if amount_fen <= 0:
        raise DomainError("invalid_amount", amount_fen=amount_fen)
    months = program.stored_value.expiry_months
    lot = StoredValueLot(lot_id, amount_fen, 0, on, add_months(on, months) if months else None)
    return StoredValueMovement(
        lots=(lot,),
        entries=(StoredValueEntry(REFUND_CREDIT, lot_id, on, principal_fen=amount_fen, ref=ref),),
        amount_fen=amount_fen,
    )


def adjust_stored_value(program: Program, lots: Sequence[StoredValueLot], delta_fen: int, on: date, lot_id: str,
                        ref: str = "") -> StoredValueMovement:
    """A manual adjustment of ``delta_fen`` (signed; the reason and the approval are the service's).

    A credit is a new lot of principal (a correction gives back the member's own money: refundable on
    closing), expiring like a top-up made on ``on``. A debit is taken like a payment from the usable lots,
    soonest-expiring first and bonus before principal, with no PIN (the member is not paying); never
    below zero: DomainError insufficient_balance. A program without stored value takes no credit (what is
    left of an earlier program's balances can still be debited).
    """
    if delta_fen == 0:
        raise DomainError("invalid_amount", amount_fen=delta_fen)
    if delta_fen > 0:
        if not program.stored_value.enabled:
            raise DomainError("stored_value_disabled")
        months = program.stored_value.expiry_months
        lot = StoredValueLot(lot_id, delta_fen, 0, on, add_months(on, months) if months else None)
        return StoredValueMovement(lots=(*lots, lot),
                                   entries=(StoredValueEntry(ADJUST, lot_id, on, principal_fen=delta_fen, ref=ref),),
                                   amount_fen=delta_fen)
    taken = pay_from_balance(program, lots, -delta_fen, on, verified=True, ref=ref)
    return replace(taken, entries=tuple(replace(e, kind=ADJUST) for e in taken.entries), amount_fen=delta_fen)


def expire_stored_value(lots: Sequence[StoredValueLot], as_of: date, ref: str = "") -> StoredValueMovement:
    """Write off what is left in lots expired as of ``as_of``."""
    entries = []
    new_lots = []
    for lot in lots:
        if lot.is_expired(as_of) and lot.balance_fen:
            entries.append(StoredValueEntry(EXPIRE, lot.lot_id, as_of, -lot.principal_fen, -lot.bonus_fen, ref))
            lot = replace(lot, principal_fen=0, bonus_fen=0)
        new_lots.append(lot)
    return StoredValueMovement(
        lots=tuple(new_lots), entries=tuple(entries), amount_fen=-sum(e.amount_fen for e in entries)
    )


@dataclass(frozen=True)
class CloseRefund:
    refund_fen: int  # cash handed back
    forfeited_fen: int  # bonus (unless refundable) and expired money, written off
    movement: StoredValueMovement


def refund_on_close(
    program: Program,
    lots: Sequence[StoredValueLot],
    as_of: date,
    *,
    pin_verified: bool,
    identity_verified: bool,
) -> CloseRefund:
    """Closing the card (退卡): after PIN and identity checks, hand back the usable principal (and
    the bonus when ``refund_bonus``); the rest is forfeited. The balance ends at zero."""
    if not pin_verified:
        raise DomainError("pin_required")
    if not identity_verified:
        raise DomainError("identity_not_verified")
    rules = program.stored_value
    if not rules.refund_on_close:
        raise DomainError("refund_not_allowed")
    entries = []
    refund = forfeited = 0
    for lot in lots:
        if lot.balance_fen == 0:
            continue
        if lot.is_expired(as_of):
            entries.append(StoredValueEntry(EXPIRE, lot.lot_id, as_of, -lot.principal_fen, -lot.bonus_fen))
            forfeited += lot.balance_fen
            continue
        bonus_back = lot.bonus_fen if rules.refund_bonus else 0
        entries.append(StoredValueEntry(CLOSE_REFUND, lot.lot_id, as_of, -lot.principal_fen, -bonus_back))
        refund += lot.principal_fen + bonus_back
        if lot.bonus_fen - bonus_back:
            entries.append(StoredValueEntry(FORFEIT, lot.lot_id, as_of, 0, -(lot.bonus_fen - bonus_back)))
            forfeited += lot.bonus_fen - bonus_back
    emptied = tuple(replace(lot, principal_fen=0, bonus_fen=0) for lot in lots)
    return CloseRefund(refund, forfeited, StoredValueMovement(emptied, tuple(entries), -(refund + forfeited)))
