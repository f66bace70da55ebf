"""The owner's dashboard in English at the back office's 1280×800: the figures fit their cards."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_big_figures_fit_the_dashboard_cards_in_english(page, live_server, shot, app, sign_in):
    from saas.extensions import db
    from tenants.scoping import tenant_context
    from tenants.services.members import enroll_member
    from tenants.services.purchases import LineIn, record_purchase
    from tests.factories import make_staff, make_tenant

    with app.app_context():
        tenant = make_tenant("big-figures", language="en", program_from=dt.date(2025, 1, 1))
        owner = make_staff(tenant, "owner")
        with tenant_context(tenant):
            member = enroll_member(business_at=dt.datetime.now(ZoneInfo("Asia/Shanghai")), name="Wang Fang",
                                   phone="13812345678")
            record_purchase(member_id=member.id, lines=[LineIn("1", 11_558_327)], tenders=[],
                            business_at=dt.datetime.now(ZoneInfo("Asia/Shanghai")))
            # A chain's liabilities (the ledgers are not under test here: only how the card shows them).
            member.stored_value_fen, member.points_balance = 1_234_567_890, 12_345_678
            db.session.commit()
        db.session.remove()

    errors = sign_in("big-figures", owner.email)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.reload()
    cards = page.locator(".stat")
    expect(cards).to_have_count(4)
    expect(cards.nth(1).locator(".stat-value")).to_have_text("CN¥115,583")
    expect(cards.nth(1).locator(".stat-value")).to_have_attribute("title", "CN¥115,583.27")
    expect(cards.nth(2).locator(".stat-value")).to_have_text("12.3M")
    expect(cards.nth(3).locator(".stat-value")).to_have_text("CN¥12.3M")
    expect(cards.nth(3).locator(".stat-value")).to_have_attribute("title", "CN¥12,345,678.90")
    shot(page, "dashboard-en")
    assert_figures_fit(page)
    page.get_by_role("button", name="中文").click()
    expect(cards.nth(1).locator(".stat-value")).to_have_text("¥115,583")
    expect(cards.nth(3).locator(".stat-value")).to_have_text("¥1234.6万")
    shot(page, "dashboard-zh")
    assert_figures_fit(page)
    assert errors == []


def assert_figures_fit(page):
    spill = page.evaluate("""() => [...document.querySelectorAll('.stat')].map(card => {
        const value = card.querySelector('.stat-value');
        const box = card.getBoundingClientRect(), text = value.getBoundingClientRect();
        return {text: value.textContent, spills: value.scrollWidth > value.clientWidth || text.right > box.right,
                lines: Math.round(text.height / parseFloat(getComputedStyle(value).lineHeight))};
    })""")
    assert all(not s["spills"] and s["lines"] == 1 for s in spill), spill
