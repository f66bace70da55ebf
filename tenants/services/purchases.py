"""Purchases and returns: price with the program in force, move points and stored value, count for tiers.

`record_purchase` and `record_return` change the session and return the JSON result; callers wrap
them in `run_idempotent` (one commit, replayed on retries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from saas.extensions import db
from saas.ids import new_id
from tenants.domain import points as dpoints
from tenants.domain import stored_value as dsv
from tenants.domain.errors import DomainError
from tenants.domain.purchase import (
    STORED_VALUE,
    MemberState,
    PurchaseLine,
    Tender,
    check_categories,
    price_purchase,
)
from tenants.domain.returns import PurchaseRecord, RecordedLine, compute_return
from tenants.domain.tiers import TierActivity
from tenants.models import Member, PointsLot, Purchase, PurchaseReturn, Store, TierAccount
from tenants.services import ledger
from tenants.services.business_time import in_tenant_zone
from tenants.services.cards import primary_card_type
from tenants.services.errors import ServiceError
from tenants.services.programs_in_force import require_program
from tenants.services.stores import require_store
from tenants.services.tiers import add_activity, bring_up_to_date, change_json, evaluate_account, evaluate_member


@dataclass(frozen=True)
class LineIn:
    line_id: str
    regular_fen: int
    charged_fen: int | None = None  # None: charged at the regular price
    kind: str = "goods"
    category: str = ""
    special: bool = False
    quantity: int = 1
    sku: str = ""


@dataclass(frozen=True)
class TenderIn:
    kind: str  # cash | bank_card | wechat | alipay | stored_value | voucher | points | gift_card ...
    amount_fen: int = 0
    points: int = 0


def _store_codes(*store_ids: int | None) -> dict[int, str]:
    """The codes of the named stores (the sale's and the member's enrolling store) in one read."""
    wanted = {store_id for store_id in store_ids if store_id is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(Store.id, Store.code).where(Store.id.in_(wanted))).all())


def _tenant_id() -> int:
    from tenants.scoping import current_tenant_id

    return current_tenant_id()


def _domain(call):
    try:
        return call()
    except DomainError as err:
        raise ServiceError.from_domain(err) from err


def record_purchase(*, member_id: int, lines: list[LineIn], tenders: list[TenderIn], business_at: dt.datetime,
                    store_id: int | None = None, staff_id: int | None = None, device: str = "",
                    receipt_no: str = "", pin_verified: bool = False, preview: bool = False) -> dict:
    """Record (or with `preview`, only price) a purchase of a member.

    Order (§19.1): the member is brought up to the business date, then priced with the tier in
    force before the purchase (§19.5); points tendered are spent soonest-expiring first, stored
    value only with `pin_verified` (cards.verify_pin, or the member confirmed by phone); earned points
    are pending until the return window passes and the spend counts for tiers on that day (§19.7).
    """
    if not lines:
        raise ServiceError("validation_failed", fields={"lines": _("At least one line.")})
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    savepoint = db.session.begin_nested() if preview else None  # a preview leaves no trace
    member = ledger.lock_member(member_id)
    if member.status != "active":
        raise ServiceError("member_closed")
    current = bring_up_to_date(member, on)
    changes_before, account, rows = current.changes, current.account, current.points_lots
    version, program = require_program(on)
    lots = ledger.domain_lots(rows)
    available = dpoints.balance(lots, on).available
    codes = _store_codes(store_id, member.enrolled_store_id)
    if store_id is not None and store_id not in codes:
        raise ServiceError("validation_failed", fields={"store_id": _("Unknown store.")})
    store_code, enrolled_code = codes.get(store_id), codes.get(member.enrolled_store_id)
    pays_sv = any(t.kind == STORED_VALUE for t in tenders)
    sv_rows = ledger.load_sv_lots(member.id) if pays_sv else []
    # "From the second visit": the first purchase as a member earns nothing, whenever it comes (§19.17).
    state = MemberState(tier_code=account.tier_code, birthday=member.birthday,
                        unlocked_category_price_bp=dict(member.unlocked_price_bp or {}),
                        first_purchase=member.first_purchase_on is None,
                        available_points=available, issuing_store=enrolled_code,
                        available_stored_value_fen=dsv.balance(ledger.sv_domain_lots(sv_rows), on).usable_fen
                        if pays_sv else None)
    domain_lines = [PurchaseLine(line_id=ln.line_id, regular_fen=ln.regular_fen,
                                 charged_fen=ln.regular_fen if ln.charged_fen is None else ln.charged_fen,
                                 kind=ln.kind, category=ln.category, special=ln.special, quantity=ln.quantity,
                                 sku=ln.sku) for ln in lines]
    domain_tenders = [Tender(kind=t.kind, amount_fen=t.amount_fen, points=t.points) for t in tenders]
    _domain(lambda: check_categories(program, domain_lines))
    result = _domain(lambda: price_purchase(program, state, domain_lines, domain_tenders, on, store_code))
    money = list(result.money_tenders)
    if not money and result.amount_due_fen:
        money = [Tender("cash", result.amount_due_fen)]  # no tenders given: all money, paid in cash
    if savepoint is not None:
        answer = _purchase_json(None, result, money, account.tier_code, account.tier_code, [], member, on, rows)
        savepoint.rollback()
        return answer

    purchase_id = new_id()
    ref = f"purchase:{purchase_id}"
    used_allocations: tuple = ()
    if result.points_used:
        spent = _domain(lambda: dpoints.spend_points(lots, result.points_used, on, ref=ref))
        ledger.apply_points(member, rows, spent.lots, spent.entries, version=version.version, staff_id=staff_id)
        used_allocations = spent.allocations
    sv_paid = sum(t.amount_fen for t in money if t.kind == STORED_VALUE)
    if sv_paid:
        verified = pin_verified  # the card PIN (cards.verify_pin) or the member's phone confirmation
        card_type = primary_card_type(member)
        movement = _domain(lambda: dsv.pay_from_balance(program, ledger.sv_domain_lots(sv_rows), sv_paid, on,
                                                        verified=verified, ref=ref, card_type=card_type))
        ledger.apply_stored_value(member, sv_rows, movement, version=version.version, staff_id=staff_id)
    earn_lot_id = None
    if result.points_earned:
        earned = dpoints.earn_lot(program, ledger.new_lot_id(), result.points_earned, on, str(purchase_id))
        ledger.apply_points(member, rows, earned.lots, earned.entries, version=version.version,
                            staff_id=staff_id, purchase_id=purchase_id)
        earn_lot_id = int(earned.lots[0].lot_id)
    if result.spend_fen or result.points_earned:
        add_activity(member, account, TierActivity("purchase", result.pending_until, spend_fen=result.spend_fen,
                                                   points=result.points_earned, amount_fen=result.spend_fen,
                                                   ref=ref, at=business_at))
    member.visits += 1
    member.first_purchase_on = member.first_purchase_on or on
    member.last_purchase_on = max(member.last_purchase_on or on, on)
    db.session.flush()
    tier_rows = evaluate_account(account, on, member.id)
    purchase = Purchase(
        id=purchase_id, member_id=member.id, store_id=store_id, staff_id=staff_id, device=device[:60],
        receipt_no=receipt_no[:60], business_at=business_at, business_date=on, goods_fen=result.goods_fen,
        voucher_fen=result.voucher_fen, points_used=result.points_used, points_value_fen=result.points_value_fen,
        discount_fen=result.discount_fen, amount_due_fen=result.amount_due_fen, stored_value_paid_fen=sv_paid,
        points_earned=result.points_earned, spend_fen=result.spend_fen, pending_until=result.pending_until,
        tier_before=result.tier_code, tier_after=account.tier_code, program_version=version.version,
        lines=[_line_json(line) for line in result.lines],
        tenders=[{"kind": t.kind, "amount_fen": t.amount_fen, "points": t.points}
                 for t in [*money, *(t for t in domain_tenders if t.kind in ("voucher", "points"))]],
        earn_lot_id=earn_lot_id, points_used_lots=[[lot_id, pts] for lot_id, pts in used_allocations],
    )
    db.session.add(purchase)
    db.session.flush()
    changes = changes_before["tier_changes"] + [change_json(r) for r in tier_rows]
    return _purchase_json(purchase, result, money, result.tier_code, account.tier_code, changes, member, on, rows)


def _line_json(line) -> dict:
    return {
        "line_id": line.line_id, "kind": line.kind, "category": line.category, "quantity": line.quantity,
        "regular_fen": line.regular_fen, "charged_fen": line.charged_fen, "voucher_fen": line.voucher_fen,
        "points_fen": line.points_fen, "price_bp": line.price_bp, "discount_source": line.discount_source,
        "discount_fen": line.discount_fen, "due_fen": line.due_fen, "spend_fen": line.spend_fen,
        "earn_class": line.earn_class, "earn_bp": line.earn_bp, "points": line.points,
    }


def _purchase_json(purchase, result, money, tier_before, tier_after, changes, member: Member, on,
                   rows: dict[str, PointsLot]) -> dict:
    lots = ledger.domain_lots({key: row for key, row in rows.items() if row.points > 0})  # kept up to date
    bal = dpoints.balance(lots, on)
    return {
        "id": str(purchase.id) if purchase else None,
        "preview": purchase is None,
        "member_id": str(member.id),
        "business_date": on.isoformat(),
        "goods_fen": result.goods_fen,
        "voucher_fen": result.voucher_fen,
        "points_used": result.points_used,
        "points_value_fen": result.points_value_fen,
        "discount_fen": result.discount_fen,
        "amount_due_fen": result.amount_due_fen,
        "tenders": [{"kind": t.kind, "amount_fen": t.amount_fen} for t in money],
        "lines": [_line_json(line) for line in result.lines],
        "points_earned": result.points_earned,
        "points_pending_until": result.pending_until.isoformat(),
        "points_status": "pending" if result.pending_until > on else "available",
        "spend_fen": result.spend_fen,
        "tier_before": tier_before,
        "tier_after": tier_after,
        "tier_changes": changes,
        "balances": {"points_available": bal.available, "points_pending": bal.pending,
                     "stored_value_fen": member.stored_value_fen},
    }


def get_purchase(purchase_id: int) -> Purchase:
    purchase = db.session.get(Purchase, (_tenant_id(), purchase_id))
    if purchase is None:
        raise ServiceError("not_found")
    return purchase


def _record_of(purchase: Purchase) -> PurchaseRecord:
    return PurchaseRecord(
        purchase_id=str(purchase.id), member_id=str(purchase.member_id), business_date=purchase.business_date,
        released_on=purchase.pending_until,
        lines=tuple(RecordedLine(line_id=ln["line_id"], quantity=ln["quantity"], kind=ln["kind"],
                                 gross_fen=ln["charged_fen"], due_fen=ln["due_fen"], spend_fen=ln["spend_fen"],
                                 points=ln["points"]) for ln in purchase.lines),
        points_earned=purchase.points_earned,
        earn_lot_id=str(purchase.earn_lot_id) if purchase.earn_lot_id else None,
        points_used_lots=tuple((str(lot_id), pts) for lot_id, pts in purchase.points_used_lots),
        money_tenders=tuple(Tender(t["kind"], t["amount_fen"]) for t in purchase.tenders
                            if t["kind"] not in ("voucher", "points")),
    )


def record_return(*, purchase_id: int, member_id: int | None, lines: dict[str, int], business_at: dt.datetime,
                  store_id: int | None = None, staff_id: int | None = None) -> dict:
    """Return some or all of a purchase (cumulative per purchase, §19.11)."""
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    purchase = get_purchase(purchase_id)
    member = ledger.lock_member(purchase.member_id)
    db.session.refresh(purchase, with_for_update=True)
    if member_id is not None and member_id != purchase.member_id:
        raise ServiceError("return_member_mismatch")
    require_store(store_id)
    evaluate_member(member, on)
    version, program = require_program(on)
    record = _record_of(purchase)
    also = [int(lot_id) for lot_id, _ in record.points_used_lots]
    if purchase.earn_lot_id:
        also.append(purchase.earn_lot_id)
    rows = ledger.load_points_lots(member.id, also=also)
    ref = f"return:{purchase.id}"
    result = _domain(lambda: compute_return(program, record, str(member.id), dict(purchase.returned or {}),
                                            {k: int(v) for k, v in lines.items()}, ledger.domain_lots(rows), on,
                                            ref=ref))
    ledger.apply_points(member, rows, result.lots, result.entries, version=version.version, staff_id=staff_id)
    sv_back = result.refund_by_tender.get(STORED_VALUE, 0)
    if sv_back:
        sv_rows = ledger.load_sv_lots(member.id)
        movement = dsv.credit_refund(program, ledger.new_lot_id(), sv_back, on, ref=ref)
        ledger.apply_stored_value(member, sv_rows, movement, version=version.version, staff_id=staff_id)
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    if result.spend_reversed_fen or result.points_to_take_back:
        # It lowers the measures where the purchase counted (§19.14), ordered with the purchase.
        add_activity(member, account, TierActivity("return", result.tier_counts_on,
                                                   spend_fen=-result.spend_reversed_fen,
                                                   points=-result.points_to_take_back, ref=ref,
                                                   at=purchase.business_at, belongs_on=result.tier_belongs_on))
    purchase.returned = {k: v for k, v in result.returned.items() if v}
    purchase.returned_spend_fen += result.spend_reversed_fen
    row = PurchaseReturn(purchase_id=purchase.id, member_id=member.id, store_id=store_id, staff_id=staff_id,
                         business_date=on, lines={k: int(v) for k, v in lines.items() if int(v)},
                         gross_returned_fen=result.gross_returned_fen, refund_fen=result.refund_fen,
                         points_given_back=result.points_given_back, points_taken_back=result.points_taken_back,
                         shortfall_points=result.shortfall_points, deducted_fen=result.deducted_fen,
                         written_off_fen=result.written_off_fen, spend_reversed_fen=result.spend_reversed_fen,
                         program_version=version.version)
    db.session.add(row)
    db.session.flush()
    return {
        "id": str(row.id), "purchase_id": str(purchase.id), "member_id": str(member.id),
        "business_date": on.isoformat(), "returned": dict(purchase.returned),
        "refund_fen": result.refund_fen, "refund_by_tender": dict(result.refund_by_tender),
        "points_given_back": result.points_given_back, "points_taken_back": result.points_taken_back,
        "shortfall_points": result.shortfall_points, "deducted_fen": result.deducted_fen,
        "written_off_fen": result.written_off_fen, "spend_reversed_fen": result.spend_reversed_fen,
        "balances": {"points_balance": member.points_balance, "stored_value_fen": member.stored_value_fen},
    }


def member_shortfall(member_id: int) -> dict:
    """What returns could not take back from the member (§19.11): the points short, and their value deducted
    from refunds or written off (per the tenant's rule at each return), summed over the member's returns.

    Through the member's purchases (indexed by member) to their returns (indexed by purchase)."""
    points, deducted, written_off = db.session.execute(
        select(func.coalesce(func.sum(PurchaseReturn.shortfall_points), 0),
               func.coalesce(func.sum(PurchaseReturn.deducted_fen), 0),
               func.coalesce(func.sum(PurchaseReturn.written_off_fen), 0))
        .join(Purchase, Purchase.id == PurchaseReturn.purchase_id)
        .where(Purchase.member_id == member_id)).one()
    return {"points": int(points), "deducted_fen": int(deducted), "written_off_fen": int(written_off)}


def member_purchases(member_id: int, limit: int = 20) -> list[Purchase]:
    return list(db.session.scalars(select(Purchase).where(Purchase.member_id == member_id)
                                   .order_by(Purchase.business_at.desc(), Purchase.id.desc()).limit(limit)))
