"""Points outside purchases: redemptions (catalogue, threshold rewards, stepped rates, nights) and
manual adjustments with a reason. Redemption never changes the tier (no tier activity is written)."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select, update

from saas.extensions import db
from saas.text import clean_name
from tenants.domain import points as dpoints
from tenants.domain import redemption as dred
from tenants.domain.dates import birthday_in_year
from tenants.domain.errors import DomainError
from tenants.models import PointsEntry, Redemption, RewardStock, TierAccount
from tenants.services import ledger, reward_stock
from tenants.services.business_time import in_tenant_zone
from tenants.services.errors import ServiceError
from tenants.services.programs_in_force import require_program
from tenants.services.stores import require_store
from tenants.services.tiers import bring_up_to_date

KINDS = ("catalogue", "threshold", "stepped", "nights")


def _code_of(store_id: int | None) -> str | None:
    store = require_store(store_id)
    return store.code if store else None


def redeem(*, member_id: int, kind: str, business_at: dt.datetime, code: str = "", quantity: int = 1,
           points: int = 0, nights: int = 0, store_id: int | None = None, staff_id: int | None = None) -> dict:
    """Exchange available points for a reward; stock of catalogue items goes down in the same commit."""
    if kind not in KINDS:
        raise ServiceError("validation_failed",
                           fields={"kind": _("Must be one of: %(expected)s.", expected=", ".join(KINDS))})
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    member = ledger.lock_member(member_id)
    if member.status != "active":
        raise ServiceError("member_closed")
    rows = bring_up_to_date(member, on).points_lots
    version, program = require_program(on)
    lots = ledger.domain_lots(rows)
    available = dpoints.balance(lots, on).available
    store, issuing = _code_of(store_id), _code_of(member.enrolled_store_id)
    stock_row = None
    try:
        if kind == "catalogue":
            stock_row = db.session.execute(select(RewardStock).where(RewardStock.item_code == code)
                                           .with_for_update()).scalar_one_or_none()
            result = dred.redeem_catalogue_item(program, code, available, stock_row.stock if stock_row else 0, on,
                                                quantity, store, issuing)
        elif kind == "threshold":
            result = dred.redeem_threshold_reward(program, code, available, on, quantity or None, store, issuing)
        elif kind == "stepped":
            result = dred.redeem_stepped(program, points, available, on, store, issuing)
        else:
            result = dred.redeem_nights(program, nights or quantity, available, on, store, issuing)
        row = Redemption(member_id=member.id, store_id=store_id, staff_id=staff_id, business_date=on, kind=kind,
                         code=result.code or code, quantity=result.quantity, points=result.points,
                         value_fen=result.value_fen, voucher_fen=result.voucher_fen,
                         gift=(result.gift.text("zh_CN") if result.gift else "")[:200],
                         program_version=version.version)
        db.session.add(row)
        db.session.flush()
        spent = dpoints.spend_points(lots, result.points, on, ref=f"redemption:{row.id}")
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    if stock_row is not None:
        # Conditional update: never below zero even if two redemptions race past the lock.
        stock_after = db.session.execute(update(RewardStock).where(RewardStock.id == stock_row.id,
                                                                   RewardStock.stock >= result.quantity)
                                         .values(stock=RewardStock.stock - result.quantity)
                                         .returning(RewardStock.stock)).scalar_one_or_none()
        if stock_after is None:
            raise ServiceError("out_of_stock")
        reward_stock.record_redeemed(stock_row.item_code, result.quantity, stock_after, row.id, staff_id, on)
    ledger.apply_points(member, rows, spent.lots, spent.entries, version=version.version, staff_id=staff_id,
                        reason=f"{kind}:{result.code or code}")
    return {
        "id": str(row.id), "member_id": str(member.id), "kind": kind, "code": row.code, "quantity": row.quantity,
        "points": row.points, "value_fen": row.value_fen, "voucher_fen": row.voucher_fen,
        "gift": {"zh_CN": result.gift.zh_CN, "en": result.gift.en} if result.gift else None,
        "business_date": on.isoformat(),
        "balances": {"points_balance": member.points_balance,
                     "points_available": available - result.points},
    }


def adjust_points(*, member_id: int, delta: int, reason: str, business_at: dt.datetime,
                  staff_id: int | None = None, approved_by: int | None = None) -> dict:
    """A manual adjustment with a reason (and approver). Never below zero; never counts for tiers."""
    reason = clean_name(reason)
    if not reason:
        raise ServiceError("validation_failed", fields={"reason": _("A reason is required.")})
    if delta == 0:
        raise ServiceError("invalid_amount")
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    member = ledger.lock_member(member_id)
    rows = bring_up_to_date(member, on).points_lots
    version, program = require_program(on)
    try:
        movement = dpoints.adjust_points(program, ledger.domain_lots(rows), delta, on, ledger.new_lot_id(), reason,
                                         ref="adjust")
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    ledger.apply_points(member, rows, movement.lots, movement.entries, version=version.version, staff_id=staff_id,
                        approved_by=approved_by, source="adjust", reason=reason)
    return {"member_id": str(member.id), "delta": delta, "reason": reason, "points_balance": member.points_balance}


def credit_birthday_bonus(member, on: dt.date) -> int:
    """The tier's birthday bonus points (SPEC §6), credited on the member's birthday (29 February: the 28th
    in other years), once a year whatever runs twice. The member must be locked and brought up to `on`
    (the tier in force that day decides). Returns the points credited."""
    if member.birthday is None or member.status != "active" or birthday_in_year(member.birthday, on.year) != on:
        return 0
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    version, program = require_program(on)
    benefit = program.tier(account.tier_code).benefits.birthday
    if benefit is None or not benefit.bonus_points:
        return 0
    ref = f"birthday:{on.year}"
    if db.session.scalar(select(PointsEntry.id).where(PointsEntry.member_id == member.id,
                                                      PointsEntry.kind == dpoints.BIRTHDAY,
                                                      PointsEntry.ref == ref).limit(1)) is not None:
        return 0
    movement = dpoints.bonus_lot(program, ledger.new_lot_id(), benefit.bonus_points, on, ref=ref,
                                 kind=dpoints.BIRTHDAY)
    ledger.apply_points(member, {}, movement.lots, movement.entries, version=version.version, source="birthday",
                        reason="birthday")
    return benefit.bonus_points
