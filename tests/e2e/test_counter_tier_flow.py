"""Pages of this change in Chromium, on PostgreSQL and on make run's SQLite, in Chinese and English: a clerk
sells the silver tier fee and enrols with earlier receipts at the tablet (768×1024); a chain admin sets a
store's opening day (1280×800)."""

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
from tests.e2e.test_counter_tablet import served as served  # noqa: F401  (the fixture: both databases)
from tests.factories import PASSWORD, make_staff, make_tenant
from tests.integration.test_counter import enrol, give_pin, register_tablet

pytestmark = pytest.mark.e2e


def shop_of(app, slug: str, language: str) -> dict:
    """A clothing shop selling silver for a fee and enrolling by ¥688 of purchases in 3 months (or free)."""
    with app.app_context():
        tenant = make_tenant(slug, vertical="clothing", language=language, program_from=dt.date(2025, 1, 1))
        with tenant_context(tenant):
            rules = load_preset("clothing")
            next(t for t in rules["tiers"] if t["code"] == "silver")["reach"].append({"kind": "fee", "fee_fen": 9900})
            rules["enrolment"]["conditions"] = [{"kind": "cumulative_purchase", "min_fen": 68800, "months": 3}]
            post_program_version(rules, dt.date(2025, 1, 1), "silver for a fee, receipts to join")
        clerk = make_staff(tenant, "clerk")
        admin = make_staff(tenant, "chain_admin")
        give_pin(tenant, clerk)
        _device, token = register_tablet(tenant, name="Front desk")
        member = enrol(tenant, phone="13800001234", name="Li Na", receipts=[(dt.date.today(), 70000)])
        info = {"clerk_name": clerk.name, "admin_email": admin.email, "token": token, "member_id": member.id}
        db.session.remove()
        return info


@pytest.mark.parametrize("served", ["postgresql", "sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_tier_fee_the_receipts_and_the_opening_day_in_the_browser(page, served, shot, language):
    app, base = served
    zh = language == "zh_CN"
    slug = f"tier-fee-{language.lower().replace('_', '-')}"
    setup = shop_of(app, slug, language)
    errors = as_tablet(page, base, slug, setup["token"])
    pin_in(page, setup)

    page.goto(f"{base}/t/{slug}/counter/members/{setup['member_id']}")
    page.get_by_role("link", name="授予等级" if zh else "Give a tier").click()
    expect(page.locator("#tier-form")).to_contain_text("现付等级费" if zh else "tier fee")
    no_sideways_scroll(page)
    shot(page, "tier-choose")
    page.locator("#tier-form button[type='submit']").click()
    expect(page.locator("#tier-form .done")).to_contain_text("银卡" if zh else "Silver")
    expect(page.locator("#tier-form .done")).to_contain_text("请收取等级费" if zh else "Collect the tier fee")
    shot(page, "tier-done")
    page.get_by_role("link", name="返回会员资料" if zh else "Back to the member").click()
    expect(page.locator(".tier-badge-large")).to_contain_text("银卡" if zh else "Silver")

    # Enrolment by earlier receipts: short of ¥688 is refused on the receipts, enough enrols.
    page.goto(f"{base}/t/{slug}/counter/enrol")
    page.locator("#name").fill("周")
    page.locator("#phone").fill("13500000009")
    page.locator("#receipt-0-date").fill((dt.date.today() - dt.timedelta(days=20)).isoformat())
    page.locator("#receipt-0-amount").fill("300")
    page.locator("#enrol-form button[type='submit']").click()
    expect(page.locator("#receipts-error")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "receipts-refused")
    page.locator("#receipt-1-date").fill((dt.date.today() - dt.timedelta(days=50)).isoformat())
    page.locator("#receipt-1-amount").fill("388")
    page.locator("#enrol-form button[type='submit']").click()
    expect(page.locator(".tier-badge-large")).to_be_visible()
    assert unexpected(errors) == []

    # The chain admin sets the opening day of the first store, at the back office's size.
    office = page.context.browser.new_page(viewport={"width": 1280, "height": 800})
    office.goto(f"{base}/t/{slug}/login")
    office.locator("input[name=email]").fill(setup["admin_email"])
    office.locator("input[name=password]").fill(PASSWORD)
    office.get_by_role("button", name="登录" if zh else "Sign in").click()
    office.goto(f"{base}/t/{slug}/stores")
    office.locator("table a").first.click()
    office.get_by_role("link", name="编辑" if zh else "Edit").first.click()
    office.locator("#opened_on").fill("2026-03-01")
    shot(office, "store-opening-day")
    office.locator("#store-form button[type='submit']").click()
    expect(office.locator("main")).to_contain_text("2026")
    shot(office, "store-shown")
    office.close()
