"""Program versions in Chromium (1280×800): the owner compares two versions and reads the change in Chinese and
in English, then approves a version a chain administrator sent for approval."""

from __future__ import annotations

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.models import Tenant
from tenants.scoping import tenant_context
from tenants.services.program_drafts import publish_draft, save_draft_part, start_draft
from tenants.services.programs import latest_program_version, post_program_version
from tests.factories import PASSWORD, make_staff, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.tenant_clock(once=True)]


def gold(rules):
    return next(t for t in rules["tiers"] if t["code"] == "platinum")


def sign_in_as(page, live_server, slug, email):
    page.context.clear_cookies()
    page.goto(f"{live_server}/t/{slug}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(f"{live_server}/t/{slug}/")


def test_the_owner_compares_versions_in_zh_and_en_and_approves_a_pending_version(page, live_server, app, shot):
    with app.app_context():
        tenant = make_tenant("versions-shop")
        owner, admin = make_staff(tenant, "owner"), make_staff(tenant, "chain_admin")
        owner_email = owner.email
        with tenant_context(tenant):
            today = dt.datetime.now(ZoneInfo(tenant.timezone)).date()
            first = latest_program_version()
            rules = copy.deepcopy(first.rules)
            assert gold(rules)["reach"][0]["min"] == 1_000_000
            gold(rules)["reach"][0]["min"] = 800_000
            post_program_version(rules, today, "金卡门槛下调", created_by=owner.id)
            row = db.session.get(Tenant, tenant.id)
            row.settings = {**(row.settings or {}), "program_publish_needs_owner": True}
            db.session.commit()
            draft_rules = copy.deepcopy(start_draft(actor_id=admin.id).rules)
            gold(draft_rules)["benefits"]["discount_price_bp"] = 8800
            save_draft_part("tiers", draft_rules["tiers"], actor_id=admin.id)
            publish_draft(effective_from=today + dt.timedelta(days=1), today=today, note="金卡会员价 8.8折",
                          actor_id=admin.id)
            gold_zh, gold_en = gold(rules)["name"]["zh_CN"], gold(rules)["name"]["en"]
        db.session.remove()
    page.set_viewport_size({"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in_as(page, live_server, "versions-shop", owner_email)

    page.goto(f"{live_server}/t/versions-shop/program/versions/compare")
    page.locator("#cmp-a").select_option("1")
    page.locator("#cmp-b").select_option("2")
    comparison = page.locator("#comparison")
    expect(comparison).to_contain_text(f"{gold_zh}：升级门槛 累计消费 ¥10,000 → ¥8,000")
    expect(page).to_have_url(f"{live_server}/t/versions-shop/program/versions/compare?a=1&b=2")
    shot(page, "compare-zh")

    page.locator("form.langswitch button[value=en]").click()
    page.goto(f"{live_server}/t/versions-shop/program/versions/compare?a=1&b=2")
    expect(page.locator("#comparison")).to_contain_text(
        f"{gold_en}: reach threshold, cumulative spend ¥10,000 → ¥8,000")
    shot(page, "compare-en")

    page.goto(f"{live_server}/t/versions-shop/program/versions")
    pending = page.locator("#publish-requests")
    expect(pending).to_contain_text(f"{gold_en}: member price")
    expect(pending).to_contain_text("pay 88%")
    shot(page, "pending-en")
    pending.get_by_role("button", name="Approve and publish").click()
    expect(page.locator(".flashes")).to_contain_text("Approved: the version is published.")
    expect(page.locator("#publish-requests")).to_have_count(0)
    expect(page.locator("tr.version-row").first).to_contain_text("Scheduled")
    shot(page, "approved-en")

    page.locator("form.langswitch button[value=zh_CN]").click()
    page.goto(f"{live_server}/t/versions-shop/program/versions/3")
    expect(page.locator("#version-summary")).to_contain_text("8.8折")
    shot(page, "version-zh")
    tiers = page.locator("[data-part=tiers]")
    tiers.scroll_into_view_if_needed()
    page.screenshot(path=str(shot(page, "version-zh").with_name("program-version-tiers-zh.png")))
    assert errors == []
