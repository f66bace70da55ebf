"""The member page's profile parts and the settings logo in Chromium (1280×800): a store manager changes a
member's consent per channel and asks for a new name (head office approves it); a chain admin approves it on the
Approvals page, then uploads the shop's logo (a bad file first). Screenshots in English and Chinese."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from playwright.sync_api import expect

from saas.extensions import db
from tenants.models import Member, ProgramVersion, TierChangeRow
from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tenants.services.programs import post_program_version
from tests.e2e.test_member_back_office_flow import sign_in_as
from tests.factories import make_staff, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.tenant_clock(once=True)]


def in_language(page, code: str) -> None:
    page.locator(f"form.langswitch button[value='{code}']").click()
    page.wait_for_load_state("networkidle")


def logo_png() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    for x in range(96):
        for y in range(96):
            if (x - 48) ** 2 + (y - 48) ** 2 < 44 ** 2:
                image.putpixel((x, y), (21, 128, 61, 255))
    image.save(out, "PNG")
    return out.getvalue()


def test_consent_per_channel_an_identity_change_approved_by_hq_and_the_logo(page, live_server, app, shot):
    with app.app_context():
        tenant = make_tenant("profile-chain", language="en")
        manager, admin = make_staff(tenant, "store_manager"), make_staff(tenant, "chain_admin")
        emails = manager.email, admin.email
        with tenant_context(tenant):
            program = db.session.query(ProgramVersion).one()
            post_program_version({**program.rules, "enrolment": {**program.rules["enrolment"],
                                                                 "approval_for_identity_changes": True}},
                                 program.effective_from, "identity changes go to head office")
            now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
            referrer = enroll_member(business_at=now, name="Li Na", phone="13800000101", store_id=manager.store_id)
            member = enroll_member(business_at=now, name="Wang Fang", phone="13800000102", store_id=manager.store_id,
                                   referrer_id=referrer.id, marketing_consent=True)
            db.session.add(TierChangeRow(
                tier_account_id=member.tier_account_id, member_id=member.id, changed_on=dt.date(2026, 6, 1),
                action="upgrade", from_tier="regular", to_tier="silver", period_start=dt.date(2026, 6, 1),
                period_end=None, reason_code="reached_cumulative_spend",
                reason_params={"tier": "silver", "have": 320_000, "required": 300_000, "window": "year"},
                program_version=1))
            db.session.commit()
            member_id = member.id
        db.session.remove()
    page.set_viewport_size({"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    sign_in_as(page, live_server, "profile-chain", emails[0])
    page.goto(f"{live_server}/t/profile-chain/members/{member_id}")
    consent = page.locator("#consent")
    for channel in ("SMS", "WeChat", "E-mail", "Phone call"):
        expect(consent.get_by_label(channel, exact=True)).to_be_checked()
    consent.get_by_label("WeChat", exact=True).uncheck()
    consent.get_by_label("Phone call", exact=True).uncheck()
    consent.get_by_role("button", name="Save consent").click()
    expect(page.locator(".flashes")).to_contain_text("Consent saved.")
    expect(page.locator("#consent .consent-history tbody tr")).to_have_count(6)
    expect(page.locator("#consent .consent-history tbody tr").first).to_contain_text("Withdrawn")
    expect(page.locator("#consent").get_by_label("WeChat", exact=True)).not_to_be_checked()
    expect(page.locator("#member-links")).to_contain_text("Li Na")
    expect(page.locator("#tier-history")).to_contain_text("Reached CN¥3,200.00 (needed CN¥3,000.00).")

    page.locator(".edit-profile summary").click()
    page.get_by_label("Name", exact=True).fill("Wang Fangfang")
    page.get_by_label("New document number").fill("12")
    page.get_by_role("button", name="Save the profile").click()
    expect(page.locator("#profile-form .error")).to_contain_text("4 to 40 letters, digits or hyphens")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Wang Fangfang")
    page.get_by_label("New document number").fill("110101199003070011")
    page.get_by_role("button", name="Save the profile").click()
    expect(page.locator(".flashes")).to_contain_text("waits for head office's approval")
    expect(page.locator("h1")).to_contain_text("Wang Fang")
    expect(page.locator("h1")).not_to_contain_text("Fangfang")
    expect(page.get_by_text("Waiting for head office: Name → “Wang Fangfang”.")).to_be_visible()
    expect(page.get_by_text("11**************11")).to_be_visible()
    shot(page, "member-page-en")
    in_language(page, "zh_CN")
    expect(page.locator("#consent h2")).to_have_text("营销同意")
    expect(page.locator("#tier-history")).to_contain_text("已达 ¥3,200.00（需要 ¥3,000.00）。")
    shot(page, "member-page-zh")
    in_language(page, "en")

    sign_in_as(page, live_server, "profile-chain", emails[1])
    page.goto(f"{live_server}/t/profile-chain/approvals")
    rows = page.locator("tr.identity-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Wang Fangfang")).to_contain_text("Name")
    expect(page.locator("#identity-approvals")).not_to_contain_text("110101199003070011")
    shot(page, "approvals-en")
    in_language(page, "zh_CN")
    expect(page.locator("#identity-approvals")).to_contain_text("姓名")
    shot(page, "approvals-zh")
    in_language(page, "en")
    rows.filter(has_text="Wang Fangfang").get_by_role("button", name="Approve").click()
    expect(page.locator(".flashes")).to_contain_text("Approved: the member's record is changed.")
    page.locator("tr.identity-row").get_by_role("button", name="Reject").click()
    expect(page.locator(".flashes")).to_contain_text("Rejected: the member's record stays as it was.")
    page.goto(f"{live_server}/t/profile-chain/members/{member_id}")
    expect(page.locator("h1")).to_contain_text("Wang Fangfang")

    page.goto(f"{live_server}/t/profile-chain/settings")
    page.set_input_files("#logo-file", files=[{"name": "logo.png", "mimeType": "image/png",
                                               "buffer": b"GIF89a not really a png"}])
    page.get_by_role("button", name="Upload the logo").click()
    expect(page.locator("#logo-card .error")).to_contain_text("Choose a PNG, JPEG or WebP image.")
    expect(page.locator("img.brand-logo")).to_have_count(0)
    page.set_input_files("#logo-file", files=[{"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()}])
    page.get_by_role("button", name="Upload the logo").click()
    expect(page.locator(".flashes")).to_contain_text("Logo saved.")
    logo = page.locator("img.brand-logo")
    expect(logo).to_be_visible()
    assert page.evaluate("document.querySelector('img.brand-logo').naturalWidth") == 96
    shot(page, "settings-logo-en")
    in_language(page, "zh_CN")
    expect(page.locator("#logo-card h2")).to_have_text("标志")
    shot(page, "settings-logo-zh")
    with app.app_context(), tenant_context(tenant):
        assert db.session.get(Member, (tenant.id, member_id)).name == "Wang Fangfang"
    assert [e for e in errors if "status of 422" not in e] == []
