"""A store manager puts rewards in stock in Chromium: a delivery, a refused count, a count with its reason, the
item's history; every change answers its own row (htmx), and the page works with the strict CSP."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from saas.extensions import db
from tenants.models import ProgramVersion, RewardStock
from tenants.scoping import tenant_context
from tenants.services import reward_stock
from tenants.services.programs import post_program_version
from tests.factories import make_staff, make_tenant

pytestmark = pytest.mark.e2e
UMBRELLA = {"code": "umbrella", "name": {"zh_CN": "晴雨伞", "en": "Umbrella"}, "points": 800}


def shop_with_two_rewards(app, slug: str) -> str:
    """A clothing shop (English) with the tote bag and an umbrella, 3 umbrellas in stock; a manager's e-mail."""
    with app.app_context():
        tenant = make_tenant(slug, vertical="clothing", language="en", program_from=dt.date(2025, 1, 1))
        manager = make_staff(tenant, "store_manager")
        with tenant_context(tenant):
            current = db.session.scalars(select(ProgramVersion)).one()
            rules = copy.deepcopy(current.rules)
            rules["redemption"]["catalogue"].append(UMBRELLA)
            post_program_version(rules, current.effective_from, "an umbrella for points")
            reward_stock.receive("umbrella", 3, "opening stock", manager.id)
        db.session.remove()
        return manager.email


def stock_of(app, slug: str, code: str) -> int:
    from saas.models import Tenant

    with app.app_context():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        with tenant_context(tenant):
            try:
                return db.session.scalar(select(RewardStock.stock).where(RewardStock.item_code == code)) or 0
            finally:
                db.session.remove()


def test_a_manager_receives_counts_and_reads_the_history_of_reward_stock(page, app, shot, sign_in):
    email = shop_with_two_rewards(app, "stock-flow")
    errors = sign_in("stock-flow", email)

    page.get_by_role("link", name="Reward stock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reward stock")
    tote, umbrella = page.locator("#stock-tote-bag"), page.locator("#stock-umbrella")
    expect(tote).to_contain_text("Out of stock")
    expect(umbrella).to_contain_text("Low")

    # A delivery of 24 bags: the row answers in place.
    tote.get_by_label("Pieces received").fill("24")
    tote.get_by_label("Note").fill("Delivery note 4711")
    tote.get_by_role("button", name="Receive").click()
    expect(tote).to_contain_text("24 received: 24 in stock now.")
    expect(tote.locator(".stock-number")).to_have_text("24")
    expect(tote.get_by_label("Pieces received")).to_have_value("")

    # A count without a reason is refused in the row, the number kept; with one it sets the stock.
    tote.get_by_label("Pieces counted").fill("22")
    tote.get_by_role("button", name="Set counted stock").click()
    expect(tote).to_contain_text("A reason is required.")
    expect(tote.get_by_label("Pieces counted")).to_have_value("22")
    shot(page, "count-refused")
    tote.get_by_label("Reason").fill("2 bags soiled on display")
    tote.get_by_role("button", name="Set counted stock").click()
    expect(tote).to_contain_text("Counted 22: -2 against the stock on record.")
    expect(tote.locator(".stock-number")).to_have_text("22")
    assert stock_of(app, "stock-flow", "tote-bag") == 22
    shot(page, "stock")

    tote.get_by_role("link", name="Brand tote bag").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stock history: Brand tote bag")
    rows = page.locator("#movements tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Stock count")
    expect(rows.first).to_contain_text("2 bags soiled on display")
    expect(rows.nth(1)).to_contain_text("+24")
    shot(page, "history")
    assert errors == [e for e in errors if "the server responded with a status of 422" in e]
