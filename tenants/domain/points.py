"""The points ledger as lots (SPEC §7, §19.7, §19.10).

Points live in **lots**: each purchase earns one lot carrying its earn date, the day it becomes
available (purchase date + return window: pending until then), and the day it expires
(counted from the purchase date). A member's balance is the sum of lot remainders, and also the
sum of the signed ledger entries: every movement returns new lots and the entries that explain it,
balances are never edited in place. Nothing here lets a lot go below zero.

``expires_on`` is the first day the points are no longer usable (half-open, like periods).
Same-day order (§19.1): expiry runs before pending releases and before the day's operations,
so a lot expiring on D cannot be spent on D.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from tenants.domain.dates import add_days, add_months
from tenants.domain.errors import DomainError
from tenants.domain.program import Expiry, Program, RedemptionWindow

# Ledger entry kinds. ``release`` moves points from pending to available and changes no total.
EARN = "earn"
BIRTHDAY = "birthday"  # a tier's birthday bonus points (§6): never counts for tiers or card renewal
RELEASE = "release"
REDEEM = "redeem"
RETURN_GIVE_BACK = "return_give_back"
RETURN_TAKE_BACK = "return_take_back"
EXPIRE = "expire"
ADJUST = "adjust"
ENTRY_KINDS = (EARN, RELEASE, REDEEM, RETURN_GIVE_BACK, RETURN_TAKE_BACK, EXPIRE, ADJUST)


@dataclass(frozen=True)
class PointsLot:
    lot_id: str
    points: int  # what is left in the lot (never negative)
    earned_on: date
    available_on: date  # pending before this day
    expires_on: date | None  # first day not usable; None = never
    purchase_id: str | None = None

    def is_expired(self, as_of: date) -> bool:
        return self.expires_on is not None and self.expires_on <= as_of

    def is_available(self, as_of: date) -> bool:
        return self.available_on <= as_of and not self.is_expired(as_of)

    def is_pending(self, as_of: date) -> bool:
        return self.available_on > as_of and not self.is_expired(as_of)


@dataclass(frozen=True)
class LedgerEntry:
    """One movement. ``points`` is the signed change of the member's total; ``moved`` is what a
    ``release`` entry moved from pending to available (its ``points`` is 0)."""

    kind: str
    points: int
    lot_id: str | None
    on: date
    ref: str = ""
    moved: int = 0
    reason: str = ""


@dataclass(frozen=True)
class PointsBalance:
    total: int  # all points still held, including pending and not yet written-off expired
    available: int
    pending: int
    expired: int  # expired as of the date but not yet written off by expire_points


@dataclass(frozen=True)
class PointsMovement:
    lots: tuple[PointsLot, ...]
    entries: tuple[LedgerEntry, ...]
    allocations: tuple[tuple[str, int], ...] = ()  # (lot_id, points) touched, in order


def lot_expiry(expiry: Expiry, earned_on: date, window: RedemptionWindow | None = None) -> date | None:
    """First day on which points earned on ``earned_on`` are no longer usable.

    end_of_next_year: usable until 31 Dec of the next year (points of 2026 expire on 2028-01-01);
    rolling_months: earned_on + N months; rolling_days: earned_on + N days (usable N days, the earn
    day included); window_close: the day after the end of the first redemption window month on or
    after the earn date.
    """
    if expiry.mode == "never":
        return None
    if expiry.mode == "end_of_next_year":
        return date(earned_on.year + 2, 1, 1)
    if expiry.mode == "rolling_months":
        return add_months(earned_on, expiry.months or 0)
    if expiry.mode == "rolling_days":
        return add_days(earned_on, expiry.days or 0)
    if window is None:  # nothing to close: behave as "never"
        return None
    for offset in range(12):
        month_start = add_months(earned_on.replace(day=1), offset)
        if month_start.month in window.months:
            return add_months(month_start, 1)
    return None  # pragma: no cover - a window always holds a month


def earn_lot(program: Program, lot_id: str, points: int, purchase_date: date, purchase_id: str) -> PointsMovement:
    """The lot earned by a purchase: pending until purchase date + return window, expiry from the purchase date."""
    if points < 0:
        raise DomainError("invalid_amount", points=points)
    lot = PointsLot(
        lot_id=lot_id,
        points=points,
        earned_on=purchase_date,
        available_on=add_days(purchase_date, program.earning.pending_days),
        expires_on=lot_expiry(program.expiry, purchase_date, program.redemption.window),
        purchase_id=purchase_id,
    )
    return PointsMovement(lots=(lot,), entries=(LedgerEntry(EARN, points, lot_id, purchase_date, purchase_id),))


def balance(lots: Iterable[PointsLot], as_of: date) -> PointsBalance:
    """Total, available, pending and expired-but-not-written-off points as of ``as_of``."""
    total = available = pending = expired = 0
    for lot in lots:
        total += lot.points
        if lot.is_expired(as_of):
            expired += lot.points
        elif lot.available_on <= as_of:
            available += lot.points
        else:
            pending += lot.points
    return PointsBalance(total=total, available=available, pending=pending, expired=expired)


def sum_entries(entries: Iterable[LedgerEntry]) -> int:
    """The balance the ledger says: the sum of signed entries."""
    return sum(e.points for e in entries)


def spend_order(lot: PointsLot) -> tuple:
    """Soonest-expiring first; lots that never expire last; then oldest, then by id (stable)."""
    return (lot.expires_on is None, lot.expires_on or date.max, lot.earned_on, lot.lot_id)


def spend_points(
    lots: Sequence[PointsLot], points: int, as_of: date, ref: str = "", kind: str = REDEEM
) -> PointsMovement:
    """Take ``points`` from available lots, soonest-expiring first (§7, §19.10).

    Pending and expired points cannot be spent: DomainError insufficient_points when the
    available points do not cover ``points``.
    """
    if points < 0:
        raise DomainError("invalid_amount", points=points)
    available = sum(lot.points for lot in lots if lot.is_available(as_of))
    if points > available:
        raise DomainError("insufficient_points", needed=points, available=available)
    candidates = sorted((lot for lot in lots if lot.is_available(as_of)), key=spend_order)
    return _take(lots, points, as_of, ref, kind, candidates)


def _take(
    lots: Sequence[PointsLot], points: int, as_of: date, ref: str, kind: str, candidates: Sequence[PointsLot]
) -> PointsMovement:
    """Take up to ``points`` from ``candidates`` in the given order; return what changed."""
    by_id = {lot.lot_id: lot for lot in lots}
    entries: list[LedgerEntry] = []
    allocations: list[tuple[str, int]] = []
    left = points
    for lot in candidates:
        if left == 0:
            break
        take = min(left, by_id[lot.lot_id].points)
        if take == 0:
            continue
        by_id[lot.lot_id] = replace(by_id[lot.lot_id], points=by_id[lot.lot_id].points - take)
        entries.append(LedgerEntry(kind, -take, lot.lot_id, as_of, ref))
        allocations.append((lot.lot_id, take))
        left -= take
    return PointsMovement(
        lots=tuple(by_id[lot.lot_id] for lot in lots), entries=tuple(entries), allocations=tuple(allocations)
    )


def expire_points(lots: Sequence[PointsLot], as_of: date, ref: str = "") -> PointsMovement:
    """Write off what is left in every lot expired as of ``as_of`` (one ``expire`` entry per lot)."""
    entries = []
    new_lots = []
    for lot in lots:
        if lot.is_expired(as_of) and lot.points > 0:
            entries.append(LedgerEntry(EXPIRE, -lot.points, lot.lot_id, as_of, ref))
            lot = replace(lot, points=0)
        new_lots.append(lot)
    return PointsMovement(lots=tuple(new_lots), entries=tuple(entries))


def release_pending(lots: Sequence[PointsLot], on: date) -> tuple[LedgerEntry, ...]:
    """The ``release`` entries for lots becoming available on ``on`` (pending → available).

    Availability itself follows from the lot's ``available_on``; these entries record the move.
    """
    return tuple(
        LedgerEntry(RELEASE, 0, lot.lot_id, on, lot.purchase_id or "", moved=lot.points)
        for lot in lots
        if lot.available_on == on and lot.points > 0 and not lot.is_expired(on)
    )


def adjust_points(
    program: Program,
    lots: Sequence[PointsLot],
    delta: int,
    on: date,
    lot_id: str,
    reason: str,
    ref: str = "",
) -> PointsMovement:
    """A manual adjustment (with a reason; approval is the service's job).

    Positive: a new lot available at once, expiring like points earned on ``on``.
    Negative: taken from available points soonest-expiring first; never below zero.
    """
    if delta >= 0:
        lot = PointsLot(
            lot_id=lot_id,
            points=delta,
            earned_on=on,
            available_on=on,
            expires_on=lot_expiry(program.expiry, on, program.redemption.window),
        )
        entry = LedgerEntry(ADJUST, delta, lot_id, on, ref, reason=reason)
        return PointsMovement(lots=(*lots, lot), entries=(entry,), allocations=((lot_id, delta),))
    movement = spend_points(lots, -delta, on, ref, kind=ADJUST)
    entries = tuple(replace(e, reason=reason) for e in movement.entries)
    return replace(movement, entries=entries)


def bonus_lot(program: Program, lot_id: str, points: int, on: date, ref: str = "", kind: str = EARN) -> PointsMovement:
    """Points given outright (referral, birthday bonus): available at once, expiring from ``on``."""
    lot = PointsLot(
        lot_id=lot_id,
        points=points,
        earned_on=on,
        available_on=on,
        expires_on=lot_expiry(program.expiry, on, program.redemption.window),
    )
    return PointsMovement(lots=(lot,), entries=(LedgerEntry(kind, points, lot_id, on, ref),))


def expiring_points(lots: Iterable[PointsLot], as_of: date, before: date) -> int:
    """Available or pending points, not expired as of ``as_of``, that expire before ``before``."""
    return sum(
        lot.points
        for lot in lots
        if not lot.is_expired(as_of) and lot.expires_on is not None and lot.expires_on < before
    )
