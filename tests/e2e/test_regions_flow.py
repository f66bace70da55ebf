"""A chain administrator adds a region in Chromium (a name already taken is refused in place first), then
chooses it for a store."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from tests.factories import make_staff, make_tenant

pytestmark = pytest.mark.e2e


def test_a_chain_admin_adds_a_region_and_chooses_it_for_a_store(page, live_server, app, shot, sign_in):
    with app.app_context():
        tenant = make_tenant("region-chain", language="en")
        admin = make_staff(tenant, "chain_admin")
        email = admin.email
        db.session.remove()
    errors = sign_in("region-chain", email)

    page.get_by_role("link", name="Stores").first.click()
    page.get_by_role("link", name="Regions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Regions")
    taken = page.locator("tbody td").first.inner_text()  # the factory's region
    page.get_by_label("Region name").fill(taken.upper())
    page.get_by_role("button", name="Add the region").click()
    expect(page.locator("#name-error")).to_have_text(f"There is already a region called “{taken.upper()}”.")
    expect(page.get_by_label("Region name")).to_have_value(taken.upper())

    page.get_by_label("Region name").fill("East China")
    page.get_by_role("button", name="Add the region").click()
    expect(page.locator(".flashes")).to_contain_text("Region “East China” added.")
    row = page.locator("tr", has_text="East China")
    expect(row.get_by_role("button", name="Delete the region East China")).to_be_visible()
    shot(page, "regions")

    page.get_by_role("link", name="Back to stores").click()
    shot(page, "stores")
    page.locator("tr", has_text="S002").get_by_role("link").click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Region").select_option(label="East China")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".facts")).to_contain_text("East China")
    shot(page, "store-in-region")

    page.goto(f"{live_server}/t/region-chain/regions")
    expect(page.locator("tr", has_text="East China")).not_to_contain_text("Delete")  # a store belongs to it now
    # No CSP violations or script errors (the 422 of the refused form is expected).
    assert [e for e in errors if "status of 422" not in e] == []
