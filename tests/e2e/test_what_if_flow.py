"""The what-if in Chromium (1280×800), in Chinese and in English: the owner starts a what-if of a draft with a
lower silver bar, watches the progress bar fill while the worker replays the year, and reads the result with
its chart (Apache ECharts drawn on a canvas from a JSON island: no inline script under the CSP)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker

from saas.extensions import db
from saas.jobs import get_queue, redis_connection
from tenants.scoping import tenant_context
from tests.factories import PASSWORD, make_tenant
from tests.integration.test_what_if import JOINED, draft_with_other_bars, seed

pytestmark = [pytest.mark.e2e]

TEXT = {
    "zh_CN": {"start": "开始推演", "done": "已完成", "up": "升级会员", "assumes": "推演的假设"},
    "en": {"start": "Start the what-if", "done": "Done", "up": "Members moving up",
           "assumes": "What the replay assumes"},
}


def run_worker(app) -> None:
    with app.app_context():
        SimpleWorker([get_queue("reports", app)], connection=redis_connection(app)).work(burst=True)
        db.session.remove()


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_owner_starts_a_what_if_watches_the_bar_finish_and_reads_the_chart(page, live_server, app, shot,
                                                                               language):
    slug = f"what-if-{language.lower().replace('_', '-')}"
    with app.app_context():
        tenant = make_tenant(slug, language=language, program_from=JOINED - dt.timedelta(days=1))
        with tenant_context(tenant):
            seed()
            draft_with_other_bars()
        db.session.remove()
    words = TEXT[language]
    page.set_viewport_size({"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/t/{slug}/login")
    page.locator("input[name=email]").fill(f"owner@{slug}.example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page).to_have_url(f"{live_server}/t/{slug}/")

    page.goto(f"{live_server}/t/{slug}/program/what-if")
    shot(page, "start")
    page.get_by_role("button", name=words["start"]).click()
    bar = page.locator("progress.what-if-progress")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("value", "0")
    shot(page, "queued")

    run_worker(app)  # the worker replays the year; the page's fragment polls itself every second meanwhile
    expect(page.locator("#what-if-run .badge")).to_have_text(words["done"], timeout=15_000)
    expect(bar).to_have_count(0)
    expect(page.locator("#what-if-run")).not_to_have_attribute("hx-trigger", "every 1s")
    chart = page.locator("#what-if-chart canvas")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 200
    expect(page.locator("#what-if-up")).to_have_text("2")
    expect(page.locator("#what-if-down")).to_have_text("1")
    expect(page.get_by_text(words["assumes"])).to_be_visible()
    expect(page.locator(".what-if-bound")).to_contain_text("12")
    expect(page.locator(".what-if-movers a").first).to_be_visible()
    shot(page, "result")
    assert errors == []
