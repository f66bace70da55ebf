"""The back office's members in Chromium (1280×800): a store manager finds a member in the list, hands them to
a VIP specialist and asks for a large points adjustment; a chain admin approves it on the Approvals page."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tests.factories import PASSWORD, make_staff, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.tenant_clock(once=True)]


def sign_in_as(page, live_server, slug, email):
    page.context.clear_cookies()
    page.goto(f"{live_server}/t/{slug}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/t/{slug}/")


def test_a_manager_finds_hands_over_and_asks_for_points_and_an_admin_approves(page, live_server, app, shot):
    with app.app_context():
        tenant = make_tenant("members-chain", language="en")
        manager, vip, admin = (make_staff(tenant, r) for r in ("store_manager", "vip_specialist", "chain_admin"))
        emails = manager.email, admin.email
        vip_name = vip.name
        with tenant_context(tenant):
            for i in range(30):
                enroll_member(business_at=dt.datetime.now(ZoneInfo("Asia/Shanghai")), name=f"Member {i:02d}",
                              phone=f"1380000{i:04d}", store_id=manager.store_id)
            db.session.commit()
        db.session.remove()
    page.set_viewport_size({"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in_as(page, live_server, "members-chain", emails[0])
    page.get_by_role("link", name="Members", exact=True).click()
    expect(page.locator("#member-rows")).to_contain_text("30 members")
    page.get_by_label("Search").fill("0017")  # the last four digits
    expect(page.locator("tr.listed-member")).to_have_count(1)
    shot(page, "members-found")
    page.get_by_role("link", name="Member 17").click()
    page.get_by_label("Who looks after this member").select_option(label=f"{vip_name} · VIP specialist")
    page.get_by_role("button", name="Hand over").click()
    expect(page.locator(".flashes")).to_contain_text("Responsible staff saved.")
    page.get_by_label("Points (− to take off)").fill("twelve")
    page.get_by_label("Reason", exact=True).fill("Lost receipts from the old system")
    page.get_by_role("button", name="Adjust points").click()
    expect(page.locator("#adjust-form .error")).to_contain_text("A whole number of points")
    expect(page.get_by_label("Reason", exact=True)).to_have_value("Lost receipts from the old system")
    page.get_by_label("Points (− to take off)").fill("2,400")
    page.get_by_role("button", name="Adjust points").click()
    expect(page.locator(".flashes")).to_contain_text("waits in Approvals")
    shot(page, "member-page")

    sign_in_as(page, live_server, "members-chain", emails[1])
    page.goto(f"{live_server}/t/members-chain/approvals")
    row = page.locator("tr.approval-row", has_text="Member 17")
    expect(row).to_contain_text("+2,400")
    shot(page, "approvals")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(".flashes")).to_contain_text("Approved: the points are posted.")
    page.goto(f"{live_server}/t/members-chain/members")
    page.get_by_label("Sort").select_option(label="Most points")
    expect(page.locator("tr.listed-member").first).to_contain_text("2,400")
    assert [e for e in errors if "status of 422" not in e] == []
