"""The member page's cards and stored value in Chromium (1280×800): a store manager issues a printed card (a bad
number is refused on its field, then fixed), reports it lost, corrects the balance by hand and asks for a large
credit; a chain admin approves it; the ledger says what each entry was. Screenshots in English and Chinese."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tenants.services.stored_value import top_up
from tests.e2e.test_member_back_office_flow import sign_in_as
from tests.factories import make_staff, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.tenant_clock(once=True)]
SH = ZoneInfo("Asia/Shanghai")


def test_a_manager_issues_a_card_reports_it_lost_and_adjusts_the_balance_and_an_admin_approves(
        page, live_server, app, shot):
    from saas.extensions import db

    with app.app_context():
        tenant = make_tenant("cards-chain", language="en")
        manager, admin = make_staff(tenant, "store_manager"), make_staff(tenant, "chain_admin")
        emails = manager.email, admin.email
        with tenant_context(tenant):
            member = enroll_member(business_at=dt.datetime.now(SH), name="Wang Fang", phone="13800001234",
                                   store_id=manager.store_id)
            db.session.commit()
            top_up(member_id=member.id, amount_fen=30000, business_at=dt.datetime.now(SH))
            db.session.commit()
            member_url = f"{live_server}/t/cards-chain/members/{member.id}"
        db.session.remove()
    page.set_viewport_size({"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in_as(page, live_server, "cards-chain", emails[0])
    page.goto(member_url)

    page.locator("#issue-card summary").click()
    page.locator("#issue-number").fill("88-01")
    page.get_by_role("button", name="Issue the card").click()
    expect(page.locator("#issue-card-form .error")).to_contain_text("Use letters and digits")
    expect(page.locator("#issue-number")).to_have_value("88-01")
    page.locator("#issue-number").fill("8801 2026")
    page.locator("#issue-pin").fill("2468")
    page.locator("#issue-pin-repeat").fill("2468")
    page.get_by_role("button", name="Issue the card").click()
    expect(page.locator(".flashes")).to_contain_text("Card 88012026 issued.")
    physical = page.locator("li.member-card", has_text="88012026")
    expect(physical).to_contain_text("PIN set")
    physical.locator("summary", has_text="Report lost").click()
    physical.get_by_role("button", name="Block card 88012026 now").click()
    expect(page.locator(".flashes")).to_contain_text("Card 88012026 is blocked from now on.")
    expect(page.locator("li.member-card", has_text="88012026")).to_contain_text("The replacement card can be issued")

    form = page.locator("#sv-adjust-form")
    form.get_by_label("Take off the balance").check()
    form.get_by_label("Amount in yuan").fill("12.345")
    form.get_by_label("Reason for the adjustment").fill("Charged twice at the till")
    form.get_by_role("button", name="Adjust the stored value").click()
    expect(page.locator("#sv-adjust-form .error")).to_contain_text("An amount in yuan such as 12.34")
    expect(page.locator("#sv-adjust-form").get_by_label("Reason for the adjustment")).to_have_value(
        "Charged twice at the till")
    page.locator("#sv-adjust-form").get_by_label("Amount in yuan").fill("12.34")
    page.locator("#sv-adjust-form").get_by_role("button", name="Adjust the stored value").click()
    expect(page.locator(".flashes")).to_contain_text("−CN¥12.34 posted to the stored value.")
    form = page.locator("#sv-adjust-form")
    form.get_by_label("Add to the balance").check()
    form.get_by_label("Amount in yuan").fill("800")
    form.get_by_label("Reason for the adjustment").fill("Top-up lost in the old system")
    form.get_by_role("button", name="Adjust the stored value").click()
    expect(page.locator(".flashes")).to_contain_text("waits in Approvals")
    page.locator("#cards").scroll_into_view_if_needed()
    shot(page, "member-cards-en")

    sign_in_as(page, live_server, "cards-chain", emails[1])
    page.goto(f"{live_server}/t/cards-chain/approvals")
    row = page.locator("tr.sv-approval-row", has_text="Wang Fang")
    expect(row).to_contain_text("+CN¥800.00")
    expect(row).to_contain_text("Top-up lost in the old system")
    shot(page, "approvals-en")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(".flashes")).to_contain_text("Approved: the stored value is posted.")
    page.goto(member_url)
    ledger = page.locator("#stored-ledger")
    expect(ledger).to_contain_text("Top-up lost in the old system")
    expect(ledger).to_contain_text("approved by")
    expect(ledger).to_contain_text("Version 1, in force from")
    expect(ledger).to_contain_text("Top-up of CN¥300.00")

    page.locator(".langswitch button[value='zh_CN']").click()
    expect(page.locator("#stored-ledger")).to_contain_text("审批：")
    expect(page.locator("#cards")).to_contain_text("补卡可于")
    shot(page, "member-page-zh")
    page.locator("#close-membership summary").click()
    expect(page.locator("#close-form")).to_contain_text("应退金额")
    page.locator("#close-membership").scroll_into_view_if_needed()
    shot(page, "close-zh")
    assert [e for e in errors if "status of 422" not in e] == []
