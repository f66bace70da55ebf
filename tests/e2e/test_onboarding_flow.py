"""A new owner's first look at the dashboard (1280×800), in Chinese and English: the first steps and the
address staff sign in at; a step done is ticked off."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.signup import create_tenant
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.e2e
BACK_OFFICE = {"width": 1280, "height": 800}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_a_new_owner_sees_the_first_steps_and_where_staff_sign_in(page, live_server, app, shot, language):
    slug = f"first-steps-{language[:2]}"
    with app.app_context():
        tenant = create_tenant(business_name="新店", slug=slug, vertical="clothing", owner_name="Owner",
                               email=f"owner@{slug}.example.com", password=PASSWORD, language=language).tenant
        db.session.commit()
        make_staff(tenant, "clerk")  # one step already done
        db.session.remove()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size(BACK_OFFICE)
    page.goto(f"{live_server}/t/{slug}/login")
    page.locator("input[name='email']").fill(f"owner@{slug}.example.com")
    page.locator("input[name='password']").fill(PASSWORD)
    page.locator("form button.btn-primary").click()
    expect(page).to_have_url(f"{live_server}/t/{slug}/")

    zh = language == "zh_CN"
    checklist = page.locator(".onboarding")
    expect(checklist.locator("h2")).to_have_text("开始使用" if zh else "Get started")
    expect(checklist.locator(".step")).to_have_count(5)
    expect(checklist.locator(".step-done")).to_have_count(1)
    expect(checklist.locator(".step-done")).to_contain_text("邀请员工" if zh else "Invite your staff")
    expect(page.locator("#staff-login-url")).to_have_value(f"{live_server}/t/{slug}/login")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scrolling"
    shot(page, "dashboard")
    assert errors == []
