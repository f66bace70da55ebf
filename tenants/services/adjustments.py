"""Manual points adjustments from the back office, with the four-eyes rule (SPEC §17, 四眼原则).

An adjustment up to the tenant's `adjust_approval_points` (in either direction) is posted at once; above it,
it waits as a request until a second person with the same permission approves or rejects it. One decision
per request: its status leaves `pending` by a conditional update, so two people deciding at once cannot
both post it. Each step is audited; each operation commits once.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _

from saas.audit import audit
from saas.extensions import db
from saas.models import Tenant
from saas.settings import tenant_setting
from saas.text import clean_name
from tenants.models import PointsAdjustmentRequest
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError
from tenants.services.four_eyes import own_adjustment_message, take_decision
from tenants.services.points import adjust_points

MAX_POINTS = 10_000_000


def approval_threshold() -> int:
    return int(tenant_setting(db.session.get(Tenant, current_tenant_id()), "adjust_approval_points"))


def parse_delta(raw) -> int:
    text = str(raw or "").strip().replace(",", "").replace("，", "")
    sign = -1 if text[:1] in ("-", "−") else 1
    digits = text.lstrip("+-−")
    if not digits.isdigit() or int(digits) == 0 or int(digits) > MAX_POINTS:
        raise ServiceError("validation_failed", fields={"delta": _(
            "A whole number of points, not zero, up to %(max)s either way (− to take points off).",
            max=f"{MAX_POINTS:,}")})
    return sign * int(digits)


def request_adjustment(*, member_id: int, delta_raw, reason: str, actor_id: int,
                       business_at: dt.datetime) -> dict:
    """Post the adjustment, or keep it for approval when it is above the threshold. The caller commits (through
    `run_idempotent`, so a form sent twice asks once)."""
    delta = parse_delta(delta_raw)
    reason = clean_name(reason)[:200]
    if not reason:
        raise ServiceError("validation_failed", fields={"reason": _("A reason is required.")})
    if abs(delta) <= approval_threshold():
        result = adjust_points(member_id=member_id, delta=delta, reason=reason, business_at=business_at,
                               staff_id=actor_id)
        audit("points.adjusted", f"member:{member_id}", actor_id=actor_id, delta=delta, reason=reason)
        return {"status": "applied", **result}
    row = PointsAdjustmentRequest(member_id=member_id, delta=delta, reason=reason, requested_by=actor_id)
    db.session.add(row)
    db.session.flush()
    audit("points.adjustment_requested", f"member:{member_id}", actor_id=actor_id, delta=delta, reason=reason,
          request=str(row.id))
    return {"status": "pending", "request_id": str(row.id), "delta": delta}


def decide(*, request_id: int, approve: bool, actor_id: int, business_at: dt.datetime, note: str = "") -> str:
    """Approve (the adjustment is posted, the approver on its ledger entry) or reject a pending request."""
    row = db.session.get(PointsAdjustmentRequest, (current_tenant_id(), request_id))
    if row is None:
        raise ServiceError("not_found")
    status = take_decision(PointsAdjustmentRequest, row, approve=approve, actor_id=actor_id, note=note,
                           own_request=own_adjustment_message())
    if approve:
        try:
            adjust_points(member_id=row.member_id, delta=row.delta, reason=row.reason, business_at=business_at,
                          staff_id=row.requested_by, approved_by=actor_id)
        except ServiceError:
            db.session.rollback()  # the request stays pending: nothing was posted
            raise
    audit("points.adjustment_approved" if approve else "points.adjustment_rejected", f"member:{row.member_id}",
          actor_id=actor_id, delta=row.delta, request=str(row.id))
    db.session.commit()
    return status
