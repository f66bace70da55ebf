"""Stored value (储值): top-ups with bonus rows, card-fee waivers and unlocks; paying from the balance."""

from __future__ import annotations

import datetime as dt

from saas.extensions import db
from tenants.domain import stored_value as dsv
from tenants.domain.errors import DomainError
from tenants.domain.tiers import TierActivity
from tenants.models import TierAccount, TopUp
from tenants.services import ledger
from tenants.services.business_time import in_tenant_zone
from tenants.services.cards import primary_card_type
from tenants.services.errors import ServiceError
from tenants.services.programs_in_force import require_program
from tenants.services.stores import require_store
from tenants.services.tiers import add_activity, change_json, evaluate_account, evaluate_member


def top_up(*, member_id: int, amount_fen: int, business_at: dt.datetime, store_id: int | None = None,
           staff_id: int | None = None, card_fee_due: bool = False) -> dict:
    """Credit a top-up: the single best bonus row applies once (§19.9), it may waive the card fee,
    unlock a tier (immediately) or a category price; the top-up counts for "one top-up ≥ X" without
    its bonus and never as spend."""
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    member = ledger.lock_member(member_id)
    if member.status != "active":
        raise ServiceError("member_closed")
    require_store(store_id)
    evaluate_member(member, on)
    version, program = require_program(on)
    try:
        result = dsv.top_up(program, amount_fen, primary_card_type(member), card_fee_due)
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    rows = ledger.load_sv_lots(member.id)
    lot_id = ledger.new_lot_id()
    row = TopUp(member_id=member.id, store_id=store_id, staff_id=staff_id, business_date=on, amount_fen=amount_fen,
                bonus_fen=result.bonus_fen, card_fee_fen=result.card_fee_fen, card_fee_waived=result.card_fee_waived,
                unlock_tier=result.unlock_tier, lot_id=int(lot_id), program_version=version.version)
    db.session.add(row)
    db.session.flush()
    movement = dsv.top_up_lot(program, lot_id, result, on, ref=f"top_up:{row.id}")
    ledger.apply_stored_value(member, rows, movement, version=version.version, staff_id=staff_id)
    if result.unlock_category_price_bp:
        member.unlocked_price_bp = {**(member.unlocked_price_bp or {}), **result.unlock_category_price_bp}
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    ref = f"top_up:{row.id}"
    add_activity(member, account, TierActivity("top_up", on, amount_fen=amount_fen, ref=ref, at=business_at))
    if result.unlock_tier:
        add_activity(member, account, TierActivity("unlock", on, tier_code=result.unlock_tier, ref=ref, at=business_at))
    db.session.flush()
    changes = evaluate_account(account, on, member.id)
    return {
        "id": str(row.id), "member_id": str(member.id), "business_date": on.isoformat(), "amount_fen": amount_fen,
        "bonus_fen": result.bonus_fen, "credited_fen": result.credited_fen, "card_fee_fen": result.card_fee_fen,
        "card_fee_waived": result.card_fee_waived, "unlock_tier": result.unlock_tier,
        "unlocked_price_bp": dict(result.unlock_category_price_bp), "tier": account.tier_code,
        "tier_changes": [change_json(c) for c in changes], "stored_value_fen": member.stored_value_fen,
        "points_earned": result.points_earned,
        "balances": {"points_balance": member.points_balance, "stored_value_fen": member.stored_value_fen},
    }


def preview_top_up(amount_fen: int, on: dt.date, member_id: int | None = None) -> dict:
    """What a top-up would give (bonus preview at the counter), without changing anything."""
    _version, program = require_program(on)
    from tenants.services.members import get_member

    card_type = primary_card_type(get_member(member_id)) if member_id else None
    try:
        result = dsv.top_up(program, amount_fen, card_type)
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    return {"amount_fen": amount_fen, "bonus_fen": result.bonus_fen, "credited_fen": result.credited_fen,
            "unlock_tier": result.unlock_tier, "unlocked_price_bp": dict(result.unlock_category_price_bp)}


def open_balance(member_id: int, on: dt.date):
    """The active member (row-locked, tier evaluated to ``on``), the program in force and their stored-value lots:
    what every movement of the balance outside a purchase starts from. ``member_closed`` for a closed member."""
    member = ledger.lock_member(member_id)
    if member.status != "active":
        raise ServiceError("member_closed")
    evaluate_member(member, on)
    version, program = require_program(on)
    return member, version, program, ledger.load_sv_lots(member.id)


def pay(*, member_id: int, amount_fen: int, business_at: dt.datetime, pin_verified: bool, reference: str = "",
        staff_id: int | None = None) -> dict:
    """Pay an amount from the balance outside an itemised purchase (e.g. a hotel folio)."""
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    member, version, program, rows = open_balance(member_id, on)
    try:
        movement = dsv.pay_from_balance(program, ledger.sv_domain_lots(rows), amount_fen, on, verified=pin_verified,
                                        ref=f"pay:{reference}"[:60], card_type=primary_card_type(member))
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    ledger.apply_stored_value(member, rows, movement, version=version.version, staff_id=staff_id, reason=reference)
    return {"member_id": str(member.id), "amount_fen": amount_fen, "stored_value_fen": member.stored_value_fen}
