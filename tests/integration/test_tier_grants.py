"""Tiers by fee, by HQ grant and by campaign grant, through the service and the JSON API (SPEC §5)."""

import datetime as dt

from saas.extensions import db
from saas.models import AuditEntry
from tenants.domain.dates import add_months
from tenants.presets import load_preset
from tenants.scoping import tenant_context
from tenants.services.programs import post_program_version
from tests.integration.test_api_members import enrol
from tests.integration.test_api_members import pos as pos  # noqa: F401  (the POS fixture)


def grant_rules(pos) -> None:
    with tenant_context(pos.tenant):
        rules = load_preset("clothing")
        by_code = {t["code"]: t for t in rules["tiers"]}
        by_code["silver"]["reach"].append({"kind": "fee", "fee_fen": 9900})
        by_code["gold"]["reach"].append({"kind": "campaign_grant", "validity_months": 3})
        by_code["platinum"]["reach"] = [{"kind": "hq_grant"}]
        post_program_version(rules, dt.date(2025, 1, 1), "tiers given by hand")


def test_a_member_pays_the_silver_fee_and_hq_grants_platinum_with_a_reason_audited(pos):
    grant_rules(pos)
    mid = enrol(pos)["id"]
    wrong_fee = pos.post(f"/members/{mid}/tier-grants", {"tier": "silver", "kind": "fee", "fee_fen": 100})
    assert wrong_fee.status_code == 422 and "fee_fen" in wrong_fee.json["error"]["fields"]
    paid = pos.post(f"/members/{mid}/tier-grants", {"tier": "silver", "kind": "fee", "fee_fen": 9900})
    assert paid.status_code == 201 and paid.json["tier"] == "silver"
    assert paid.json["tier_changes"][0]["reason"]["code"] == "paid_tier_fee"
    no_reason = pos.post(f"/members/{mid}/tier-grants", {"tier": "platinum", "kind": "hq_grant"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["fields"]
    granted = pos.post(f"/members/{mid}/tier-grants",
                       {"tier": "platinum", "kind": "hq_grant", "reason": "长期大客户"})
    assert granted.status_code == 201 and granted.json["tier"] == "platinum"
    assert pos.get(f"/members/{mid}").json["tier"]["code"] == "platinum"
    with tenant_context(pos.tenant):
        reasons = [e.details.get("reason") for e in db.session.query(AuditEntry).filter_by(action="tier.grant")]
    assert sorted(r or "" for r in reasons) == ["", "长期大客户"]


def test_a_campaign_grant_lasts_its_own_months_and_refusals_change_nothing(pos):
    grant_rules(pos)
    mid = enrol(pos)["id"]
    not_offered = pos.post(f"/members/{mid}/tier-grants", {"tier": "gold", "kind": "hq_grant", "reason": "x"})
    assert not_offered.status_code == 422 and "kind" in not_offered.json["error"]["fields"]
    campaign = pos.post(f"/members/{mid}/tier-grants",
                        {"tier": "gold", "kind": "campaign_grant", "reason": "双十一"})
    assert campaign.status_code == 201 and campaign.json["tier"] == "gold"
    granted_on = dt.date.fromisoformat(campaign.json["tier_changes"][0]["on"])
    assert campaign.json["period_end"] == add_months(granted_on, 3).isoformat()
    lower = pos.post(f"/members/{mid}/tier-grants", {"tier": "silver", "kind": "fee", "fee_fen": 9900})
    assert lower.status_code == 422 and "tier" in lower.json["error"]["fields"]
    unknown = pos.post(f"/members/{mid}/tier-grants", {"tier": "nope", "kind": "fee"})
    assert unknown.status_code == 422
    assert pos.get(f"/members/{mid}").json["tier"]["code"] == "gold"
