"""The counter's screens in Chromium at the tablet's size (768×1024), in Chinese and English: a quiet
console while typing, categories chosen by name, a top-up error that goes away once the amount is right."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from saas.extensions import db
from tenants.models import Member
from tenants.scoping import tenant_context
from tests.e2e.test_counter_tablet import as_tablet, pharmacy_with_a_tablet, unexpected
from tests.integration.test_counter import PIN

pytestmark = pytest.mark.e2e


def pin_in(page, setup) -> None:
    page.get_by_text(setup["clerk_name"], exact=True).click()
    page.locator("#pin").fill(PIN)
    page.locator("button[type='submit']", has_text="Start").click()
    expect(page.locator(".counter-person")).to_have_text(setup["clerk_name"])


def member_id(app, tenant, name: str) -> int:
    with app.app_context(), tenant_context(tenant):
        try:
            return db.session.scalars(select(Member.id).where(Member.name == name)).one()
        finally:
            db.session.remove()


def slow_network(page, latency_ms: int) -> None:
    """Every request takes `latency_ms` more, as on a tablet on the shop's wifi."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency_ms,
                                                  "downloadThroughput": -1, "uploadThroughput": -1})


def test_typing_while_a_preview_is_on_its_way_logs_no_error(page, live_server, app, shot):
    setup = pharmacy_with_a_tablet(app, "screens-typing")
    errors = as_tablet(page, live_server, "screens-typing", setup["token"])
    pin_in(page, setup)
    page.goto(f"{live_server}/t/screens-typing/counter/members/{member_id(app, setup['tenant'], 'Li Na')}/purchase")
    slow_network(page, 700)
    price = page.get_by_label("Price (¥)")
    # Each pause is longer than the preview's typing delay and shorter than the answer's trip: a newer
    # preview is asked for while the older one is still on its way.
    for digit in "2500":
        price.press_sequentially(digit)
        page.wait_for_timeout(550)
    page.get_by_label("Qty").click()  # leaving the field (change) while a preview is on its way
    expect(page.locator("#purchase-preview")).to_contain_text("Earns 2,500 points", timeout=10_000)
    page.wait_for_timeout(1500)
    assert unexpected(errors) == []
