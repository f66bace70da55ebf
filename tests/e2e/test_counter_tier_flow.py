"""A clerk sells the silver tier fee at the tablet (768×1024), in Chinese and English."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from tenants.presets import load_preset
from tenants.scoping import tenant_context
from tenants.services.programs import post_program_version
from tests.e2e.test_counter_screens import pin_in
from tests.e2e.test_counter_tablet import as_tablet, no_sideways_scroll, unexpected
from tests.factories import make_staff, make_tenant
from tests.integration.test_counter import enrol, give_pin, register_tablet

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_a_clerk_sells_the_silver_tier_fee_at_the_tablet(page, live_server, app, shot, language):
    zh = language == "zh_CN"
    slug = f"tier-fee-{language.lower().replace('_', '-')}"
    with app.app_context():
        tenant = make_tenant(slug, vertical="clothing", language=language, program_from=dt.date(2025, 1, 1))
        with tenant_context(tenant):
            rules = load_preset("clothing")
            next(t for t in rules["tiers"] if t["code"] == "silver")["reach"].append({"kind": "fee", "fee_fen": 9900})
            post_program_version(rules, dt.date(2025, 1, 1), "silver for a fee")
        clerk = make_staff(tenant, "clerk")
        give_pin(tenant, clerk)
        _device, token = register_tablet(tenant, name="Front desk")
        member = enrol(tenant, phone="13800001234", name="Li Na")
        setup = {"clerk_name": clerk.name, "token": token}
        db.session.remove()
    errors = as_tablet(page, live_server, slug, token)
    pin_in(page, setup)
    page.goto(f"{live_server}/t/{slug}/counter/members/{member.id}")
    page.get_by_role("link", name="授予等级" if zh else "Give a tier").click()
    expect(page.locator("#tier-form")).to_contain_text("现付等级费" if zh else "tier fee")
    no_sideways_scroll(page)
    shot(page, "choose")
    page.locator("#tier-form button[type='submit']").click()
    expect(page.locator("#tier-form .done")).to_contain_text("银卡" if zh else "Silver")
    expect(page.locator("#tier-form .done")).to_contain_text("请收取等级费" if zh else "Collect the tier fee")
    shot(page, "done")
    page.get_by_role("link", name="返回会员资料" if zh else "Back to the member").click()
    expect(page.locator(".tier-badge-large")).to_contain_text("银卡" if zh else "Silver")
    assert unexpected(errors) == []
