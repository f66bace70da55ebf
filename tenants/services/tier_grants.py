"""Tiers that people give rather than spend earns (SPEC §5): a tier fee paid, a grant by head office, a
campaign grant with its own validity."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _

from saas.audit import audit
from saas.extensions import db
from saas.i18n import format_money
from saas.ids import new_id
from saas.text import clean_name
from tenants.domain.errors import DomainError
from tenants.domain.program import CampaignGrantReach, FeeReach, HqGrantReach
from tenants.domain.tiers import CAMPAIGN_GRANT, FEE, HQ_GRANT, TierActivity
from tenants.services import ledger
from tenants.services.business_time import in_tenant_zone
from tenants.services.errors import ServiceError
from tenants.services.programs_in_force import require_program
from tenants.services.tiers import add_activity, bring_up_to_date, change_json, evaluate_account

WAYS = {FEE: FeeReach, HQ_GRANT: HqGrantReach, CAMPAIGN_GRANT: CampaignGrantReach}


def grant_tier(*, member_id: int, tier_code: str, kind: str, business_at: dt.datetime, reason: str = "",
               fee_fen: int = 0, staff_id: int | None = None) -> dict:
    """Move a member up to `tier_code` by `kind`: "fee" (the tier's fee, `fee_fen`, paid now), "hq_grant"
    (head office, with a reason) or "campaign_grant" (with the campaign as the reason; the tier lasts the
    campaign rule's months). The tier must offer that way in and be above the member's tier. Audited; the
    caller commits. Returns the member's tier and the change."""
    if kind not in WAYS:
        raise ServiceError("validation_failed", fields={"kind": _("Must be one of: %(expected)s.",
                                                                  expected=", ".join(WAYS))})
    reason = clean_name(reason)
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    member = ledger.lock_member(member_id)
    if member.status != "active":
        raise ServiceError("member_closed")
    account = bring_up_to_date(member, on).account
    version, program = require_program(on)
    try:
        tier = program.tier(tier_code)
    except DomainError as err:
        raise ServiceError("validation_failed", fields={"tier": _("Unknown tier.")}) from err
    rule = next((r for r in tier.reach if isinstance(r, WAYS[kind])), None)
    fields = {}
    if rule is None:
        fields["kind"] = _("This tier cannot be reached this way.")
    elif program.tier_index(tier.code) <= program.tier_index(account.tier_code):
        fields["tier"] = _("The member is already on this tier or a higher one.")
    if kind != FEE and not reason:
        fields["reason"] = _("A reason is required.")
    if kind == FEE and isinstance(rule, FeeReach) and fee_fen != rule.fee_fen:
        fields["fee_fen"] = _("The fee for this tier is %(fee)s.", fee=format_money(rule.fee_fen))
    if fields:
        raise ServiceError("validation_failed", fields=fields)
    ref = f"{kind}:{new_id()}"
    add_activity(member, account, TierActivity(kind, on, amount_fen=fee_fen if kind == FEE else 0,
                                               tier_code=tier.code, ref=ref, at=business_at))
    db.session.flush()
    changes = evaluate_account(account, on, member.id)
    audit("tier.grant", target=f"member:{member.id}", actor_id=staff_id, kind=kind, tier=tier.code,
          reason=reason[:200], fee_fen=fee_fen, program_version=version.version)
    return {"member_id": str(member.id), "tier": account.tier_code,
            "period_end": account.period_end.isoformat() if account.period_end else None,
            "tier_changes": [change_json(c) for c in changes]}
