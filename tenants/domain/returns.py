"""Returns of purchased goods (SPEC §7 "Returns", §19.11).

Returns are **cumulative per purchase**: every figure is computed for everything returned so
far and the previous returns' figures are subtracted, so several partial returns add up to
exactly what one full return would do, and after each return the purchase keeps the points of
what was kept, rounded in the business's favour:

* points used to pay are given back in proportion to the *gross* goods value returned (charged
  amounts, before vouchers, points and discounts), rounded down; they go back to the lots they
  were taken from (latest-spent first), keeping those lots' expiry;
* the points earned on the returned lines (as computed at the purchase) are then taken back:
  first from the purchase's own lot, then from the soonest-expiring available points; what is
  still missing is a **shortfall**, deducted from the cash refund or written off per tenant rule;
* the money refund is the returned share of the money paid, rounded down to the fen, in two parts
  each rounded on its own: the goods money that counted for tiers (``spend_fen`` of the goods lines),
  and the rest (shipping and other lines, money from tenders that earn nothing). Vouchers are not
  refunded;
* the spend reversed for tiers is exactly the first part (§19.14: goods money paid minus goods money
  refunded, to the fen). It never takes back a tier already granted, it only lowers what the next
  renewal sees (§19.8);
* the split of the refund over the purchase's money tenders is cumulative too (§19.15): the
  stored-value part is the purchase's stored-value share of the cumulative refund, rounded down, and
  the other tenders share the rest in the same way, the last of them taking what rounding leaves. A
  shortfall deducted from the refund comes out of the tenders other than stored value first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction

from tenants.domain.errors import DomainError
from tenants.domain.money import ceil, floor
from tenants.domain.points import (
    RETURN_GIVE_BACK,
    RETURN_TAKE_BACK,
    LedgerEntry,
    PointsLot,
    spend_order,
)
from tenants.domain.program import Program
from tenants.domain.purchase import GOODS, STORED_VALUE, PurchaseResult, Tender


@dataclass(frozen=True)
class RecordedLine:
    line_id: str
    quantity: int
    kind: str
    gross_fen: int  # charged amount of the line (before vouchers, points and tier discount)
    due_fen: int  # money paid for the line
    spend_fen: int  # goods money counted for tiers
    points: int  # receipt line points


@dataclass(frozen=True)
class PurchaseRecord:
    """What a return needs to know of the original purchase (the service stores it)."""

    purchase_id: str
    member_id: str
    business_date: date
    released_on: date  # pending_until of the purchase
    lines: tuple[RecordedLine, ...]
    points_earned: int
    earn_lot_id: str | None
    points_used_lots: tuple[tuple[str, int], ...] = ()  # spend_points allocations, in spend order
    money_tenders: tuple[Tender, ...] = ()

    @property
    def points_used(self) -> int:
        return sum(points for _, points in self.points_used_lots)

    @classmethod
    def from_result(
        cls,
        result: PurchaseResult,
        purchase_id: str,
        member_id: str,
        earn_lot_id: str | None,
        points_used_lots: Sequence[tuple[str, int]] = (),
    ) -> PurchaseRecord:
        return cls(
            purchase_id=purchase_id,
            member_id=member_id,
            business_date=result.business_date,
            released_on=result.pending_until,
            lines=tuple(
                RecordedLine(
                    line_id=line.line_id,
                    quantity=line.quantity,
                    kind=line.kind,
                    gross_fen=line.charged_fen,
                    due_fen=line.due_fen,
                    spend_fen=line.spend_fen,
                    points=line.points,
                )
                for line in result.lines
            ),
            points_earned=result.points_earned,
            earn_lot_id=earn_lot_id,
            points_used_lots=tuple(points_used_lots),
            money_tenders=result.money_tenders,
        )


@dataclass(frozen=True)
class ReturnResult:
    lots: tuple[PointsLot, ...]
    entries: tuple[LedgerEntry, ...]
    returned: Mapping[str, int]  # cumulative quantities returned per line, this return included
    gross_returned_fen: int  # gross value of the lines returned this time
    points_given_back: int
    points_to_take_back: int  # what the return should take back (also the tier "points" reversal)
    points_taken_back: int  # what could actually be taken
    shortfall_points: int
    shortfall_fen: int  # value of the shortfall at the points-payment rate, rounded up
    deducted_fen: int  # taken from the refund (deduct_from_refund)
    written_off_fen: int
    refund_gross_fen: int  # money refund before any deduction
    refund_fen: int  # money to hand back
    refund_by_tender: Mapping[str, int] = field(default_factory=dict)
    spend_reversed_fen: int = 0
    tier_counts_on: date | None = None  # the day tiers learn of the reversal
    tier_belongs_on: date | None = None  # the day whose measures it lowers: where the purchase counted (§19.14)


def compute_return(
    program: Program,
    record: PurchaseRecord,
    member_id: str,
    previously_returned: Mapping[str, int],
    returning: Mapping[str, int],
    lots: Sequence[PointsLot],
    on: date,
    ref: str = "",
) -> ReturnResult:
    """Apply a return of ``returning`` (line id → quantity) to the member's points lots.

    Raises DomainError return_member_mismatch, return_unknown_line, return_empty, invalid_amount,
    return_exceeds_purchase.
    """
    if member_id != record.member_id:
        raise DomainError("return_member_mismatch", purchase_id=record.purchase_id)
    by_id = {line.line_id: line for line in record.lines}
    for line_id, qty in {**previously_returned, **returning}.items():
        if line_id not in by_id:
            raise DomainError("return_unknown_line", line_id=line_id)
        if qty < 0:
            raise DomainError("invalid_amount", line_id=line_id)
    if not any(returning.values()):
        raise DomainError("return_empty")
    before = {lid: previously_returned.get(lid, 0) for lid in by_id}
    after = {lid: before[lid] + returning.get(lid, 0) for lid in by_id}
    for line_id, qty in after.items():
        if qty > by_id[line_id].quantity:
            raise DomainError("return_exceeds_purchase", line_id=line_id, bought=by_id[line_id].quantity, returned=qty)

    def share(line: RecordedLine, returned: Mapping[str, int]) -> Fraction:
        return Fraction(returned[line.line_id], line.quantity)

    goods = [line for line in record.lines if line.kind == GOODS]
    goods_gross = sum(line.gross_fen for line in goods)

    def given_back(returned: Mapping[str, int]) -> int:
        if goods_gross == 0:
            return 0
        gross = sum((line.gross_fen * share(line, returned) for line in goods), Fraction(0))
        return floor(record.points_used * gross / goods_gross)

    def taken_back(returned: Mapping[str, int]) -> int:
        kept = sum((line.points * (1 - share(line, returned)) for line in record.lines), Fraction(0))
        return record.points_earned - floor(kept)

    def spend_refunded(returned: Mapping[str, int]) -> int:
        return floor(sum((line.spend_fen * share(line, returned) for line in goods), Fraction(0)))

    def other_refunded(returned: Mapping[str, int]) -> int:
        rest = (line.due_fen - (line.spend_fen if line.kind == GOODS else 0) for line in record.lines)
        return floor(sum((fen * share(line, returned) for fen, line in zip(rest, record.lines, strict=True)),
                         Fraction(0)))

    def refunded(returned: Mapping[str, int]) -> int:
        return spend_refunded(returned) + other_refunded(returned)

    def gross(returned: Mapping[str, int]) -> Fraction:
        return sum((line.gross_fen * share(line, returned) for line in record.lines), Fraction(0))

    new_lots = {lot.lot_id: lot for lot in lots}
    entries: list[LedgerEntry] = []

    # 1. Give back used points to their own lots, keeping their expiry.
    give_before = _restore_plan(record.points_used_lots, given_back(before))
    give_after = _restore_plan(record.points_used_lots, given_back(after))
    points_given_back = 0
    for lot_id, amount in give_after.items():
        delta = amount - give_before.get(lot_id, 0)
        if delta <= 0:
            continue
        if lot_id not in new_lots:
            raise ValueError(f"lot {lot_id} of purchase {record.purchase_id} is missing")
        new_lots[lot_id] = replace(new_lots[lot_id], points=new_lots[lot_id].points + delta)
        entries.append(LedgerEntry(RETURN_GIVE_BACK, delta, lot_id, on, ref or record.purchase_id))
        points_given_back += delta

    # 2. Take back earned points: own lot first, then soonest-expiring available points.
    to_take = taken_back(after) - taken_back(before)
    left = to_take
    order: list[str] = []
    if record.earn_lot_id in new_lots:
        order.append(record.earn_lot_id)
    others = sorted(
        (lot for lot in new_lots.values() if lot.lot_id != record.earn_lot_id and lot.is_available(on)),
        key=spend_order,
    )
    order.extend(lot.lot_id for lot in others)
    for lot_id in order:
        if left == 0:
            break
        take = min(left, new_lots[lot_id].points)
        if take <= 0:
            continue
        new_lots[lot_id] = replace(new_lots[lot_id], points=new_lots[lot_id].points - take)
        entries.append(LedgerEntry(RETURN_TAKE_BACK, -take, lot_id, on, ref or record.purchase_id))
        left -= take
    shortfall = left

    # 3. Money: the returned share of what was paid, less a shortfall when the tenant deducts it.
    refund_gross = refunded(after) - refunded(before)
    payment = program.redemption.payment
    shortfall_fen = ceil(Fraction(shortfall * payment.fen, payment.points)) if shortfall else 0
    deducted = 0
    if program.returns.shortfall_policy == "deduct_from_refund":
        deducted = min(shortfall_fen, refund_gross)
    refund = refund_gross - deducted
    by_tender = _split_refund(record.money_tenders, refunded(before), refunded(after), deducted)

    return ReturnResult(
        lots=tuple(new_lots[lot.lot_id] for lot in lots),
        entries=tuple(entries),
        returned=after,
        gross_returned_fen=floor(gross(after)) - floor(gross(before)),
        points_given_back=points_given_back,
        points_to_take_back=to_take,
        points_taken_back=to_take - shortfall,
        shortfall_points=shortfall,
        shortfall_fen=shortfall_fen,
        deducted_fen=deducted,
        written_off_fen=shortfall_fen - deducted,
        refund_gross_fen=refund_gross,
        refund_fen=refund,
        refund_by_tender=by_tender,
        spend_reversed_fen=spend_refunded(after) - spend_refunded(before),
        tier_counts_on=max(on, record.released_on),
        tier_belongs_on=record.released_on,
    )


def _split_refund(tenders: Sequence[Tender], before_fen: int, after_fen: int, deducted_fen: int) -> dict[str, int]:
    """This return's refund by tender kind: the cumulative shares after it less those before (§19.15).

    Stored value gets floor(cumulative refund × its share of the money paid); each other tender kind in
    turn the floor of its share of what is left, the last one the remainder. ``deducted_fen`` (a
    shortfall kept back) is taken from the other tenders first, then from stored value.
    """
    paid: dict[str, int] = {}
    for tender in tenders:
        if tender.amount_fen > 0:
            paid[tender.kind] = paid.get(tender.kind, 0) + tender.amount_fen
    if not paid or after_fen == before_fen:
        return {}
    total, sv_paid = sum(paid.values()), paid.get(STORED_VALUE, 0)
    others = [kind for kind in paid if kind != STORED_VALUE]

    def cumulative(refund: int) -> dict[str, int]:
        parts = {STORED_VALUE: floor(Fraction(refund * sv_paid, total))} if sv_paid else {}
        rest = left = refund - parts.get(STORED_VALUE, 0)
        for i, kind in enumerate(others):
            parts[kind] = left if i == len(others) - 1 else floor(Fraction(rest * paid[kind], total - sv_paid))
            left -= parts[kind]
        return parts

    now, was = cumulative(after_fen), cumulative(before_fen)
    parts = {kind: now[kind] - was[kind] for kind in paid}
    left = deducted_fen
    for kind in [*others, STORED_VALUE]:
        take = min(left, parts.get(kind, 0))
        if take:
            parts[kind] -= take
            left -= take
    return {kind: part for kind, part in parts.items() if part}


def _restore_plan(used: Sequence[tuple[str, int]], amount: int) -> dict[str, int]:
    """How ``amount`` given-back points are spread over the lots they came from: the lots spent
    last (the latest-expiring) are refilled first, so the member gets the longest-lived points back."""
    plan: dict[str, int] = {}
    left = amount
    for lot_id, points in reversed(used):
        if left == 0:
            break
        give = min(left, points)
        plan[lot_id] = plan.get(lot_id, 0) + give
        left -= give
    return plan
