"""Manual stored-value adjustments from the back office, with a reason and the four-eyes rule (SPEC §8, 四眼原则).

Amounts are fen, typed in yuan ("¥12.34"). A credit is refundable principal (a correction gives back the
member's own money), a debit takes usable money like a payment; the balance never goes below zero. An
adjustment up to the tenant's `adjust_approval_fen` (either way) is posted at once; above it, it waits as a
request until a second person with the same permission approves (posted, with `approved_by` on its entries)
or rejects it. One decision per request: its status leaves `pending` by a conditional update, so ten people
approving at once post it once. Every step is audited; each operation commits once (the request through
`run_idempotent`, the decision here).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from flask import has_request_context
from flask_babel import gettext as _
from sqlalchemy import select

from saas.audit import audit
from saas.extensions import db
from saas.models import Tenant
from saas.settings import tenant_setting
from saas.text import clean_name
from tenants.domain import stored_value as dsv
from tenants.domain.errors import DomainError
from tenants.domain.money import format_fen
from tenants.models import StoredValueAdjustmentRequest
from tenants.scoping import current_tenant_id
from tenants.services import ledger
from tenants.services.business_time import in_tenant_zone
from tenants.services.errors import ServiceError
from tenants.services.four_eyes import own_adjustment_message, take_decision
from tenants.services.stored_value import open_balance

MAX_FEN = 100_000_000  # ¥1,000,000 at once: larger is a typing slip
CREDIT, DEBIT = "credit", "debit"


def money(fen: int) -> str:
    """Fen in the reader's locale (¥1,234.50) in a request, plain yuan outside one (jobs, tests)."""
    if has_request_context():
        from saas.i18n import format_money

        return format_money(fen)
    return "¥" + format_fen(fen)


def sv_approval_threshold() -> int:
    """Fen: an adjustment of more than this, either way, waits for a second person."""
    return int(tenant_setting(db.session.get(Tenant, current_tenant_id()), "adjust_approval_fen"))


def parse_yuan_amount(raw, field: str = "amount", *, allow_zero: bool = False, maximum: int = MAX_FEN) -> int:
    """An amount typed in yuan ("12.34", "¥1,200", "１２") as fen; a field error in our words otherwise."""
    text = "".join(str(raw or "").split())
    text = text.translate({ord(c): None for c in ",，¥￥"}).translate(
        {0xFF10 + i: str(i) for i in range(10)} | {0xFF0E: "."})
    problem = _("An amount in yuan such as 12.34, more than 0 and up to %(max)s.", max=money(maximum))
    if allow_zero:
        problem = _("An amount in yuan such as 500 or 12.34, from 0 to %(max)s.", max=money(maximum))
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?|\.[0-9]+", text):  # no sign, exponent, NaN or Infinity
        raise ServiceError("validation_failed", fields={field: problem})
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ServiceError("validation_failed", fields={field: problem}) from None
    if (not value.is_finite() or value != value.quantize(Decimal("0.01")) or value < 0
            or (value == 0 and not allow_zero) or value * 100 > maximum):
        raise ServiceError("validation_failed", fields={field: problem})
    return int(value * 100)


def signed_amount(direction: str, amount_raw) -> int:
    """The signed fen of a form's direction (credit / debit) and amount."""
    if direction not in (CREDIT, DEBIT):
        raise ServiceError("validation_failed", fields={"direction": _("Choose to add or to take off.")})
    fen = parse_yuan_amount(amount_raw)
    return fen if direction == CREDIT else -fen


def _reason(raw: str) -> str:
    reason = clean_name(raw or "")[:200]
    if not reason:
        raise ServiceError("validation_failed", fields={"reason": _("A reason is required.")})
    return reason


def post_adjustment(*, member_id: int, delta_fen: int, reason: str, business_at: dt.datetime,
                    staff_id: int | None = None, approved_by: int | None = None) -> dict:
    """Post a manual adjustment now: the member's expired money written off first, then the credit or the debit
    (never below zero), entries with the reason, the program version and the approver. The caller commits."""
    reason = _reason(reason)
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    member, version, program, rows = open_balance(member_id, on)
    try:
        movement = dsv.adjust_stored_value(program, ledger.sv_domain_lots(rows), delta_fen, on,
                                           ledger.new_lot_id(), ref="adjust")
    except DomainError as err:
        if err.code == "insufficient_balance":
            raise ServiceError("validation_failed", fields={"amount": _(
                "Only %(available)s can be taken off: the balance never goes below zero.",
                available=money(int(err.params.get("available_fen", 0))))}) from err
        raise ServiceError.from_domain(err) from err
    ledger.apply_stored_value(member, rows, movement, version=version.version, staff_id=staff_id, reason=reason,
                              approved_by=approved_by)
    return {"member_id": str(member.id), "delta_fen": delta_fen, "reason": reason,
            "stored_value_fen": member.stored_value_fen}


def request_adjustment(*, member_id: int, direction: str, amount_raw, reason: str, actor_id: int,
                       business_at: dt.datetime) -> dict:
    """Post the adjustment, or keep it for a second person when it is above the threshold (a debit larger than
    the balance is refused at once either way). The caller commits (through `run_idempotent`)."""
    delta = signed_amount(direction, amount_raw)
    reason = _reason(reason)
    if abs(delta) <= sv_approval_threshold():
        result = post_adjustment(member_id=member_id, delta_fen=delta, reason=reason, business_at=business_at,
                                 staff_id=actor_id)
        audit("stored_value.adjusted", f"member:{member_id}", actor_id=actor_id, delta_fen=delta, reason=reason)
        return {"status": "applied", **result}
    member = ledger.lock_member(member_id)
    if member.status != "active":
        raise ServiceError("member_closed")
    if delta < 0 and -delta > member.stored_value_fen:
        raise ServiceError("validation_failed", fields={"amount": _(
            "Only %(available)s can be taken off: the balance never goes below zero.",
            available=money(member.stored_value_fen))})
    row = StoredValueAdjustmentRequest(member_id=member_id, delta_fen=delta, reason=reason, requested_by=actor_id)
    db.session.add(row)
    db.session.flush()
    audit("stored_value.adjustment_requested", f"member:{member_id}", actor_id=actor_id, delta_fen=delta,
          reason=reason, request=str(row.id))
    return {"status": "pending", "request_id": str(row.id), "delta_fen": delta}


def decide(*, request_id: int, approve: bool, actor_id: int, business_at: dt.datetime, note: str = "") -> str:
    """Approve (posted now, the approver on its entries) or reject a pending request; commits. A debit the
    balance no longer covers is refused and the request stays pending."""
    row = db.session.get(StoredValueAdjustmentRequest, (current_tenant_id(), request_id))
    if row is None:
        raise ServiceError("not_found")
    status = take_decision(StoredValueAdjustmentRequest, row, approve=approve, actor_id=actor_id, note=note,
                           own_request=own_adjustment_message())
    if approve:
        try:
            post_adjustment(member_id=row.member_id, delta_fen=row.delta_fen, reason=row.reason,
                            business_at=business_at, staff_id=row.requested_by, approved_by=actor_id)
        except ServiceError as err:
            db.session.rollback()  # the request stays pending: nothing was posted
            if "amount" in err.fields:
                raise ServiceError("validation_failed", fields={"decision": err.fields["amount"]}) from err
            raise
    audit("stored_value.adjustment_approved" if approve else "stored_value.adjustment_rejected",
          f"member:{row.member_id}", actor_id=actor_id, delta_fen=row.delta_fen, request=str(row.id))
    db.session.commit()
    return status


def pending_requests(member_id: int | None = None, store_ids=None, limit: int = 200) -> list:
    """Pending requests (oldest first) with their member, within `store_ids` (None: every store)."""
    from tenants.models import Member

    query = (select(StoredValueAdjustmentRequest, Member)
             .join(Member, Member.id == StoredValueAdjustmentRequest.member_id)
             .where(StoredValueAdjustmentRequest.status == "pending")
             .order_by(StoredValueAdjustmentRequest.requested_at, StoredValueAdjustmentRequest.id))
    if member_id is not None:
        query = query.where(StoredValueAdjustmentRequest.member_id == member_id)
    if store_ids is not None:
        query = query.where(Member.enrolled_store_id.in_(store_ids))
    return list(db.session.execute(query.limit(limit)).all())
