"""Counter: a tier given rather than earned (SPEC §5) — the tier fee paid at the till, and, for head office
(owner, chain admin), an HQ or campaign grant with its reason."""

from __future__ import annotations

from flask import Blueprint, g, request

from saas.extensions import db
from tenants.domain.errors import DomainError
from tenants.domain.program import CampaignGrantReach, FeeReach, HqGrantReach
from tenants.models import TierAccount
from tenants.programs import business_today
from tenants.services.business_time import resolve_business_time
from tenants.services.errors import ServiceError
from tenants.services.tier_grants import grant_tier
from tenants.views.counter_present import change_text
from tenants.views.counter_session import (
    counter_required,
    locale,
    member_or_404,
    new_key,
    program_now,
    render_counter,
    run_once,
    service_message,
)

bp = Blueprint("tiers", __name__)
GRANTS = {"fee": FeeReach, "hq_grant": HqGrantReach, "campaign_grant": CampaignGrantReach}


def ways_up(member, above_member: bool = True) -> list[dict]:
    """The tiers above the member's (or, to read a posted choice, any) that this operator can give here, and
    how (fee: anyone; grants: HQ)."""
    program = program_now(business_today())
    if program is None:
        return []
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    try:
        current = program.tier_index(account.tier_code)
    except DomainError:
        current = 0
    may_grant = g.counter.can("tiers.grant")
    ways = []
    for tier in program.tiers[current + 1 if above_member else 1:]:
        for rule in tier.reach:
            kind = next((k for k, cls in GRANTS.items() if isinstance(rule, cls)), None)
            if kind is None or (kind != "fee" and not may_grant):
                continue
            ways.append({"value": f"{kind}:{tier.code}", "kind": kind, "tier": tier.code,
                         "tier_name": tier.name.text(locale()), "fee_fen": getattr(rule, "fee_fen", 0),
                         "months": getattr(rule, "validity_months", None)})
    return ways


@bp.app_template_global("counter_tier_ways")
def _ways_for_template(member) -> list[dict]:
    return ways_up(member)


def _page(member, status: int = 200, **context):
    context.setdefault("key", new_key())
    return render_counter("tenants/counter/tier.html", "tenants/counter/_tier_form.html", status,
                          member=member, ways=ways_up(member), **context)


@bp.route("/members/<int:member_id>/tier", methods=["GET", "POST"])
@counter_required
def give_tier(member_id: int):
    member = member_or_404(member_id)
    if request.method == "GET":
        return _page(member)
    counter = g.counter
    choice, reason = request.form.get("way", "")[:90], request.form.get("reason", "").strip()[:200]
    key = request.form.get("idem", "")[:60]
    # Read against every way this operator may use, so a form posted twice replays its answer.
    way = next((w for w in ways_up(member, above_member=False) if w["value"] == choice), None)
    if way is None:
        return _page(member, 422, key=key, reason=reason, errors={"way": True})
    payload = {"member": member.id, "way": choice, "reason": reason, "staff": counter.operator.id}
    try:
        result, _replayed = run_once(key, "counter.tier_grant", payload, lambda: grant_tier(
            member_id=member.id, tier_code=way["tier"], kind=way["kind"], business_at=resolve_business_time(None),
            reason=reason, fee_fen=way["fee_fen"], staff_id=counter.operator.id))
    except ServiceError as err:
        db.session.rollback()
        return _page(member, 422, key=key, reason=reason, chosen=choice, error=service_message(err),
                     errors={name: True for name in err.fields})
    program = program_now(business_today())
    return _page(member, result=result, way=way,
                 changes=[change_text(change, program) for change in result["tier_changes"]])
