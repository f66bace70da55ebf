"""The program editor in Chromium (1280×800), in Chinese and in English: an owner opens the tiers, types a
threshold that cannot be, sees the message under that field as soon as the field changes, fixes it, saves
it into the draft and publishes the draft as the next version."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from tenants.models import ProgramVersion
from tenants.scoping import tenant_context
from tests.factories import PASSWORD, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.tenant_clock(once=True)]

WORDS = {
    "zh_CN": {"nav": "会员方案", "tiers": "等级", "too_low": "不能小于", "save": "保存到草稿",
              "saved": "已保存到草稿", "publish": "发布…", "publish_button": "发布", "published": "已发布"},
    "en": {"nav": "Program", "tiers": "Tiers", "too_low": "at least", "save": "Save in the draft",
           "saved": "saved in the draft", "publish": "Publish…", "publish_button": "Publish",
           "published": "is published"},
}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_an_owner_fixes_a_tier_threshold_on_its_field_saves_and_publishes(page, live_server, app, shot, language):
    slug = f"editor-{language.lower().replace('_', '-')}"
    with app.app_context():
        tenant = make_tenant(slug, language=language)
        email = f"owner@{slug}.example.com"
        tenant_id = tenant.id
        db.session.remove()
    words = WORDS[language]
    page.set_viewport_size({"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/t/{slug}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(f"{live_server}/t/{slug}/")

    page.locator(".mainnav").get_by_role("link", name=words["nav"], exact=True).click()
    shot(page, f"overview-{language}")
    page.locator(".program-parts-list").get_by_role("link", name=words["tiers"], exact=True).click()
    threshold = page.locator("#f-tiers-1-reach-0-min")
    expect(threshold).to_have_value("1000")  # ¥1,000 shown in yuan, stored as 100000 fen
    threshold.fill("-5")
    threshold.press("Tab")  # the change checks the part (htmx), nothing is saved
    message = page.locator("#f-tiers-1-reach-0-min-error")
    expect(message).to_contain_text(words["too_low"])
    expect(page.locator("#f-tiers-1-reach-0-min")).to_have_value("-5")
    page.locator("#f-tiers-1-reach-0-min-field").scroll_into_view_if_needed()
    full = shot(page, f"tiers-refused-{language}")
    page.screenshot(path=str(full.with_name(full.stem + "-field.png")))  # the viewport, at the field
    page.locator("#f-tiers-1-reach-0-min").fill("800.50")
    page.locator("#f-tiers-1-reach-0-min").press("Tab")
    expect(page.locator("#f-tiers-1-reach-0-min-error")).to_have_count(0)
    page.get_by_role("button", name=words["save"]).click()
    expect(page.locator(".flashes")).to_contain_text(words["saved"])

    page.goto(f"{live_server}/t/{slug}/program")
    page.get_by_role("link", name=words["publish"]).click()
    shot(page, f"publish-{language}")
    page.get_by_role("button", name=words["publish_button"], exact=True).click()
    expect(page.locator(".flashes")).to_contain_text(words["published"])
    with app.app_context():
        from saas.models import Tenant

        with tenant_context(db.session.get(Tenant, tenant_id)):
            latest = db.session.query(ProgramVersion).order_by(ProgramVersion.version.desc()).first()
            assert latest.version == 2
            assert latest.rules["tiers"][1]["reach"][0]["min"] == 80_050
        db.session.remove()
    assert [e for e in errors if "status of 422" not in e] == []
