"""A shared tablet in Chromium (768×1024): clerk 1 serves a member, clerk 2 switches in by PIN. Nothing of the
member stays for clerk 2: the back button and the history reach the server again (no-store: no bfcache, no
HTTP cache) and it answers with the search, not the member; htmx keeps no history snapshot; localStorage and
sessionStorage hold nothing of her."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_counter_tablet import as_tablet, pharmacy_with_a_tablet, type_pin, unexpected
from tests.factories import make_staff
from tests.integration.test_counter import PIN, give_pin

pytestmark = pytest.mark.e2e

STORAGE = "JSON.stringify({local: {...localStorage}, session: {...sessionStorage}})"


def test_after_a_pin_switch_no_member_data_of_the_previous_clerk_stays_in_the_browser(page, live_server, app, shot):
    setup = pharmacy_with_a_tablet(app, "tablet-handover")
    with app.app_context():
        second = make_staff(setup["tenant"], "clerk")
        give_pin(setup["tenant"], second)
        second_name = second.name
    errors = as_tablet(page, live_server, "tablet-handover", setup["token"])
    member_answers = []
    page.on("response", lambda r: member_answers.append(r) if "/counter/members/" in r.url else None)

    page.get_by_text(setup["clerk_name"], exact=True).click()
    type_pin(page, PIN)
    page.get_by_role("button", name="Start").click()
    page.get_by_role("searchbox", name="Find a member").fill("1234")
    page.locator(".member-row", has_text="Li Na").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Li Na")
    page.locator(".member-actions").get_by_role("link", name="Purchase").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Li Na")
    shot(page, "clerk-1-serving")
    assert member_answers and all(r.headers.get("cache-control") == "no-store" for r in member_answers)

    page.get_by_role("button", name="Switch person").click()
    page.get_by_text(second_name, exact=True).click()
    type_pin(page, PIN)
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".counter-bar")).to_contain_text(second_name)

    seen_names = []
    for _step in range(4):  # back through the purchase form, the member page, the search...
        before = len(member_answers)
        page.go_back()
        page.wait_for_load_state()
        body = page.locator("body").inner_text()
        seen_names.append("Li Na" in body or "138 **** 1234" in body)
        if "/counter/members/" in page.url:
            for _wait in range(40):  # the response event may arrive a moment after the page settled
                if len(member_answers) > before:
                    break
                page.wait_for_timeout(50)
            assert len(member_answers) > before, "a member page came back without asking the server"
    shot(page, "clerk-2-after-back")
    assert not any(seen_names), seen_names
    for _step in range(4):
        page.go_forward()
        page.wait_for_load_state()
        assert "Li Na" not in page.locator("body").inner_text()
    stored = page.evaluate(STORAGE)
    assert "Li Na" not in stored and "1234" not in stored and "htmx-history-cache" not in stored, stored
    assert page.evaluate("htmx.config.historyCacheSize") == 0

    page.goto(f"{live_server}/t/tablet-handover/counter")
    page.get_by_role("searchbox", name="Find a member").fill("1234")
    page.locator(".member-row", has_text="Li Na").click()  # found again: clerk 2 may serve her
    expect(page.get_by_role("heading", level=1)).to_have_text("Li Na")
    member_url = page.url
    page.get_by_role("button", name="Switch person").click()
    page.locator(".langswitch button[value='zh_CN']").click()
    page.get_by_text(setup["clerk_name"], exact=True).click()
    type_pin(page, PIN)
    page.locator("#pin-form button[type=submit]").click()
    expect(page.locator(".counter-bar")).to_contain_text(setup["clerk_name"])
    page.goto(member_url)  # the history entry of the member, in Chinese now
    expect(page.locator("body")).to_contain_text("收银台已换人：请重新查找会员。")
    assert "Li Na" not in page.locator("body").inner_text()
    shot(page, "back-after-a-switch-zh")
    assert unexpected(errors) == []
