"""A chain administrator opens a new mall merchant in Chromium: a mistake is shown next to its field with the
input kept, the store is added, shows in the list, is deactivated and reactivated."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from tests.factories import make_staff, make_tenant

pytestmark = pytest.mark.e2e


def test_a_chain_admin_adds_a_mall_merchant_through_the_browser(page, app, shot, sign_in):
    with app.app_context():
        tenant = make_tenant("store-chain", vertical="mall", language="en")
        admin = make_staff(tenant, "chain_admin")
        email = admin.email
        db.session.remove()
    errors = sign_in("store-chain", email)

    page.get_by_role("link", name="Stores").first.click()
    page.get_by_role("link", name="Add a store").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a store")
    page.get_by_label("Code").fill("s002")  # the second store's code, in another case
    page.get_by_label("Type").select_option("merchant")
    page.get_by_label("Store name").fill("衣橱时装")
    page.get_by_label("Floor").fill("3F")
    page.get_by_role("button", name="Add the store").click()
    expect(page.locator("#code-error")).to_have_text("Another store already has the code “s002”.")
    expect(page.get_by_label("Store name")).to_have_value("衣橱时装")  # what was typed is kept
    expect(page.get_by_label("Type")).to_have_value("merchant")
    shot(page, "new-store-form")

    page.get_by_label("Code").fill("f3-fashion")
    page.get_by_role("button", name="Add the store").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("衣橱时装")
    expect(page.locator(".flashes")).to_contain_text("Store “衣橱时装” added.")
    expect(page.locator(".facts")).to_contain_text("Merchant (mall)")

    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".flashes")).to_contain_text("is deactivated")
    page.get_by_role("link", name="Back to stores").click()
    row = page.locator("tr", has_text="f3-fashion")
    expect(row).to_contain_text("Deactivated")
    shot(page, "store-list")

    row.get_by_role("link", name="衣橱时装").click()
    page.get_by_role("button", name="Reactivate").click()
    expect(page.locator(".flashes")).to_contain_text("is active again")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Floor").fill("4F")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".facts")).to_contain_text("4F")
    # No CSP violations or script errors (the 422 of the refused form is expected).
    assert [e for e in errors if "status of 422" not in e] == []
