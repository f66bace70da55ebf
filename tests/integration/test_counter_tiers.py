"""The counter gives a tier: the tier fee paid at the till (any clerk), HQ and campaign grants (head office)."""

import datetime as dt

import pytest

from saas.extensions import db
from saas.models import AuditEntry
from tenants.models import Member, TierAccount
from tenants.presets import load_preset
from tenants.scoping import tenant_context
from tenants.services.programs import post_program_version
from tests.conftest import csrf_from
from tests.factories import make_staff, make_tenant
from tests.integration.test_counter import enrol, form_key, open_counter

pytestmark = pytest.mark.tenant_clock


@pytest.fixture
def shop(app_ctx):
    tenant = make_tenant("tier-counter", vertical="clothing", language="en", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        rules = load_preset("clothing")
        by_code = {t["code"]: t for t in rules["tiers"]}
        by_code["silver"]["reach"].append({"kind": "fee", "fee_fen": 9900})
        by_code["platinum"]["reach"] = [{"kind": "hq_grant"}]
        post_program_version(rules, dt.date(2025, 1, 1), "tiers given at the counter")
    return tenant


def tier_of(tenant, member_id: int) -> str:
    with tenant_context(tenant):
        member = db.session.get(Member, (tenant.id, member_id))
        return db.session.get(TierAccount, (tenant.id, member.tier_account_id)).tier_code


def post(client, tenant, member_id, page_html: str, **data):
    return client.post(f"/t/{tenant.slug}/counter/members/{member_id}/tier",
                       data={"csrf_token": csrf_from(page_html), "idem": form_key(page_html), **data})


def test_a_clerk_sells_the_silver_tier_fee_but_cannot_grant_platinum(client, shop):
    open_counter(client, shop, make_staff(shop, "clerk"))
    member = enrol(shop)
    panel = client.get(f"/t/{shop.slug}/counter/members/{member.id}").get_data(as_text=True)
    assert "Give a tier" in panel
    page = client.get(f"/t/{shop.slug}/counter/members/{member.id}/tier").get_data(as_text=True)
    assert "99.00 paid now" in page and "granted by head office" not in page
    refused = post(client, shop, member.id, page, way="hq_grant:platinum", reason="VIP")
    assert refused.status_code == 422 and tier_of(shop, member.id) == "regular"
    page = client.get(f"/t/{shop.slug}/counter/members/{member.id}/tier").get_data(as_text=True)
    done = post(client, shop, member.id, page, way="fee:silver")
    assert done.status_code == 200 and "99.00" in done.get_data(as_text=True)
    assert tier_of(shop, member.id) == "silver"
    again = post(client, shop, member.id, page, way="fee:silver")  # the same form posted twice
    assert again.status_code == 200 and tier_of(shop, member.id) == "silver"


def test_a_chain_admin_grants_platinum_with_a_reason_and_it_is_audited(client, shop):
    open_counter(client, shop, make_staff(shop, "chain_admin"))
    member = enrol(shop)
    page = client.get(f"/t/{shop.slug}/counter/members/{member.id}/tier").get_data(as_text=True)
    assert "granted by head office" in page
    no_reason = post(client, shop, member.id, page, way="hq_grant:platinum", reason="")
    assert no_reason.status_code == 422 and "A reason is required." in no_reason.get_data(as_text=True)
    page = no_reason.get_data(as_text=True)
    granted = post(client, shop, member.id, page, way="hq_grant:platinum", reason="长期大客户")
    assert granted.status_code == 200 and tier_of(shop, member.id) == "platinum"
    with tenant_context(shop):
        entry = db.session.query(AuditEntry).filter_by(action="tier.grant").one()
        assert entry.details["reason"] == "长期大客户" and entry.details["kind"] == "hq_grant"


def test_another_tenants_member_is_not_found(client, shop):
    open_counter(client, shop, make_staff(shop, "chain_admin"))
    other = make_tenant("other-tier-shop")
    stranger = enrol(other, phone="13900000000")
    assert client.get(f"/t/{shop.slug}/counter/members/{stranger.id}/tier").status_code == 404
