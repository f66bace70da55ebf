"""Stored injections in real Chromium: a member, the stores, the regions, the staff and the tablet all carry
script, markup and htmx attributes in their names and notes; the counter's member page and the back office's
lists show them as text — no injected element or attribute in the DOM, no script run, no request made."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from tests.e2e.test_counter_screens import pin_in
from tests.e2e.test_counter_tablet import as_tablet
from tests.factories import make_staff, make_tenant
from tests.integration.test_counter import give_pin, register_tablet
from tests.integration.test_stored_xss import HTMX, MEMBER_NAME, SCRIPT, plant

pytestmark = pytest.mark.e2e

INJECTED = {
    "window.__xss": "window.__xss === undefined",
    "img[src=x]": "document.querySelectorAll('img[src=\"x\"]').length === 0",
    "[hx-get=/evil]": "document.querySelectorAll('[hx-get=\"/evil\"], [hx-trigger=\"load\"]').length === 0",
    "script with __xss": "![...document.scripts].some(s => s.textContent.includes('__xss'))",
    "[onerror]": "document.querySelectorAll('[onerror]').length === 0",
    "javascript: link": "![...document.querySelectorAll('[href],[src],[action]')].some(e => "
                        "/^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src') || "
                        "e.getAttribute('action') || ''))",
}


def watch(page) -> list[str]:
    """Requests an injection would make (the image's src, the htmx URL) and dialogs it would open."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.endswith(("/x", "/evil")) else None)
    page.on("dialog", lambda d: (seen.append(f"dialog {d.message}"), d.dismiss()))
    return seen


def assert_inert(page, seen: list[str]) -> None:
    page.wait_for_timeout(300)  # time for an onerror or an htmx load trigger to fire, were there one
    broken = [name for name, check in INJECTED.items() if not page.evaluate(check)]
    assert broken == [] and seen == [], (page.url, broken, seen)


def test_injections_show_as_text_at_the_counter_and_in_the_back_office(page, live_server, app, sign_in, shot):
    with app.app_context():
        tenant = make_tenant("xss-shop", language="en")
        ids = plant(tenant)
        clerk = make_staff(tenant, "clerk")
        give_pin(tenant, clerk)
        _device, token = register_tablet(tenant, name=(SCRIPT + HTMX)[:80])
        setup = {"clerk_name": clerk.name, "token": token}
        owner_email = "owner@xss-shop.example.com"
        db.session.remove()

    seen = watch(page)
    as_tablet(page, live_server, "xss-shop", token)
    assert_inert(page, seen)
    pin_in(page, setup)
    page.goto(f"{live_server}/t/xss-shop/counter/members/{ids['member_id']}")
    assert_inert(page, seen)
    expect(page.locator("h1")).to_have_text(MEMBER_NAME)
    shot(page, "counter-member")

    page.context.clear_cookies()
    sign_in("xss-shop", owner_email)
    for path in ("/stores", "/regions", "/staff", f"/stores/{ids['store_id']}", "/counter/devices",
                 "/rewards/stock"):
        page.goto(f"{live_server}/t/xss-shop{path}")
        assert page.locator("body").inner_text()  # the page rendered
        assert_inert(page, seen)
    page.goto(f"{live_server}/t/xss-shop/stores")
    expect(page.locator("main")).to_contain_text("<img src=x")  # the store's name, as text
    shot(page, "back-office-stores")
