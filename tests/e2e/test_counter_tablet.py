"""A clerk at the store's tablet (768×1024, touch): the tablet registered, PIN in, find, enrol, sell across a tier,
redeem, top up, return, a lost card replaced; on PostgreSQL and on the embedded SQLite of `make run`."""

from __future__ import annotations

import copy

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from saas.extensions import db
from tenants.models import Card, Member, ProgramVersion, Purchase
from tenants.scoping import tenant_context
from tenants.views.counter_session import COOKIE
from tests.factories import PASSWORD, make_staff, make_tenant
from tests.integration.test_counter import PIN, enrol, give_pin, register_tablet

pytestmark = pytest.mark.e2e
TABLET = {"width": 768, "height": 1024}
HEALTH_VOUCHER = {"code": "health-voucher", "name": {"zh_CN": "健康代金券", "en": "Health voucher"}, "mode": "every",
                  "points": 1000, "voucher_fen": 1000}


def pharmacy_with_a_tablet(app, slug: str) -> dict:
    """A pharmacy (no return window: tiers move at once) offering a points voucher; a clerk with a PIN;
    a registered tablet; two members whose phones end in 1234."""
    with app.app_context():
        tenant = make_tenant(slug, vertical="pharmacy", language="en")
        clerk = make_staff(tenant, "clerk")
        give_pin(tenant, clerk)
        with tenant_context(tenant):
            current = db.session.scalars(select(ProgramVersion)).one()
            rules = copy.deepcopy(current.rules)
            rules["redemption"]["threshold_rewards"] = [HEALTH_VOUCHER]
            db.session.add(ProgramVersion(version=2, effective_from=current.effective_from, rules=rules,
                                          note="points vouchers"))
            db.session.commit()
        _device, token = register_tablet(tenant, name="Front desk")
        enrol(tenant, phone="13800001234", name="Li Na")
        enrol(tenant, phone="13900001234", name="Zhang Wei")
        info = {"tenant": tenant, "clerk_id": clerk.id, "clerk_name": clerk.name, "token": token}
        db.session.remove()
        return info


def as_tablet(page, live_server, slug: str, token: str) -> list[str]:
    """The browser is the store's tablet (its device cookie); returns the console errors seen."""
    page.set_viewport_size(TABLET)
    page.context.add_cookies([{"name": COOKIE, "value": token, "domain": "127.0.0.1", "path": f"/t/{slug}/",
                               "httpOnly": True, "sameSite": "Lax"}])
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"{msg.text} @ {msg.location}") if msg.type == "error" else None)
    page.goto(f"{live_server}/t/{slug}/counter")
    return errors


def type_pin(page, pin: str) -> None:
    for digit in pin:
        page.locator(f".keypad [data-key='{digit}']").click()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scrolling"


def unexpected(errors: list[str]) -> list[str]:
    # Refusals answer 4xx on purpose (and Chromium logs each); anything else is a script or CSP error.
    return [e for e in errors if "the server responded with a status of 4" not in e]


def count(app, tenant, model) -> int:
    with app.app_context(), tenant_context(tenant):
        try:
            return db.session.scalar(select(func.count()).select_from(model))
        finally:
            db.session.remove()


@pytest.fixture(params=["postgresql", "sqlite"])
def served(request):
    """(app, its base URL) on each database: the test PostgreSQL (RLS, Redis jobs) and the embedded default
    of `make run` (a SQLite file migrated with the real migrations, jobs in-process)."""
    if request.param == "postgresql":
        return request.getfixturevalue("app"), request.getfixturevalue("live_server")
    return request.getfixturevalue("sqlite_app"), request.getfixturevalue("sqlite_live_server")


def pharmacy_for_the_counter(app, slug: str) -> dict:
    """A pharmacy offering a points voucher, whose lost cards may be replaced at once; a store manager and a
    clerk with a PIN; two members whose phones end in 1234. No tablet yet."""
    with app.app_context():
        tenant = make_tenant(slug, vertical="pharmacy", language="en")
        manager = make_staff(tenant, "store_manager")
        clerk = make_staff(tenant, "clerk")
        give_pin(tenant, clerk)
        with tenant_context(tenant):
            current = db.session.scalars(select(ProgramVersion)).one()
            rules = copy.deepcopy(current.rules)
            rules["redemption"]["threshold_rewards"] = [HEALTH_VOUCHER]
            rules["card_types"][0]["replacement_delay_working_days"] = 0
            db.session.add(ProgramVersion(version=2, effective_from=current.effective_from, rules=rules,
                                          note="points vouchers, replacement at once"))
            db.session.commit()
        enrol(tenant, phone="13800001234", name="Li Na")
        enrol(tenant, phone="13900001234", name="Zhang Wei")
        info = {"tenant": tenant, "manager_email": manager.email, "clerk_name": clerk.name}
        db.session.remove()
        return info


def test_a_manager_registers_the_tablet_and_a_clerk_serves_members_through_a_lost_card(page, served, shot):
    """Register the tablet, PIN in, find, enrol, sell across a tier, redeem, top up, return, report a card lost
    and replace it: the counter's whole day, on PostgreSQL and on the embedded SQLite alike."""
    app, base = served
    setup = pharmacy_for_the_counter(app, "tablet-pharmacy")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"{msg.text} @ {msg.location}") if msg.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size(TABLET)

    # The store manager signs in on the tablet once and registers it for the store.
    page.goto(f"{base}/t/tablet-pharmacy/login?next=/t/tablet-pharmacy/counter")
    page.get_by_label("E-mail").fill(setup["manager_email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/t/tablet-pharmacy/counter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up this tablet as a counter")
    page.get_by_label("Tablet name").fill("Front desk")
    page.get_by_role("button", name="Register this tablet").click()

    # The PIN pad: tap your name, your PIN on the keypad.
    expect(page.get_by_role("heading", level=1)).to_have_text("Who is at the counter?")
    shot(page, "pin-pad")
    page.get_by_text(setup["clerk_name"], exact=True).click()
    type_pin(page, PIN)
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".counter-person")).to_have_text(setup["clerk_name"])
    no_sideways_scroll(page)

    # Find by the last 4 digits: a short list to pick from, phones masked for a clerk.
    page.get_by_role("searchbox", name="Find a member").fill("1234")
    expect(page.locator(".member-row")).to_have_count(2)
    expect(page.locator(".member-row").first).to_contain_text("138 **** 1234")
    shot(page, "find-last-4")
    page.locator(".member-row", has_text="Li Na").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Li Na")
    expect(page.locator(".member-contact")).to_contain_text("138 **** 1234")
    no_sideways_scroll(page)
    shot(page, "member-panel")

    # Enrol: the duplicate phone is found while typing; the virtual card shows at once.
    page.locator(".counter-nav").get_by_role("link", name="Enrol").click()
    page.get_by_label("Name").fill("Chen Jing")
    page.get_by_label("Mobile number").fill("13900001234")
    expect(page.locator("#phone-check")).to_contain_text("Already a member: Zhang Wei.")
    shot(page, "enrol-duplicate")
    page.get_by_label("Mobile number").fill("13700005678")
    expect(page.locator("#phone-check")).to_contain_text("Not a member yet.")
    page.get_by_role("button", name="Enrol and show the card").click()
    expect(page.locator(".welcome")).to_contain_text("Welcome, Chen Jing!")
    expect(page.locator(".qr-large")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "enrolled-with-card")

    # A ¥2,500 purchase crosses the Gold threshold (¥2,000): the preview says so before confirming.
    page.locator(".member-actions").get_by_role("link", name="Purchase").click()
    page.get_by_label("Price (¥)").fill("2500")
    expect(page.locator("#purchase-preview")).to_contain_text("This purchase moves the member up to Gold.")
    expect(page.locator("#purchase-preview")).to_contain_text("Earns 2,500 points, available at once.")
    no_sideways_scroll(page)
    shot(page, "purchase-preview")
    page.get_by_role("button", name="Confirm purchase").dblclick()  # a double tap
    expect(page.get_by_role("heading", level=1)).to_have_text("Receipt")
    expect(page.locator(".tier-effect")).to_have_text("⬆ Moved up from Member to Gold.")
    shot(page, "receipt")
    assert count(app, setup["tenant"], Purchase) == 1

    page.get_by_role("link", name="Chen Jing").click()
    expect(page.locator(".member-head .tier-badge")).to_have_text("Gold")
    expect(page.locator(".perks")).to_contain_text("Priority dispensing")
    shot(page, "member-gold")

    # Redeem: every 1,000 points buy a ¥10 voucher.
    page.locator(".member-actions").get_by_role("link", name="Redeem").click()
    page.get_by_label("How many (up to 2)").fill("2")
    page.locator(".reward").get_by_role("button", name="Redeem").click()
    expect(page.locator("#redeem-panel .flash-success")).to_have_text(
        "Redeemed 2,000 points for a voucher of CN¥20.00.")
    no_sideways_scroll(page)
    shot(page, "redeemed")

    # Top up ¥1,000: the bonus (¥50) is previewed, then credited.
    page.get_by_role("link", name="‹ Member").click()
    page.locator(".member-actions").get_by_role("link", name="Top up").click()
    page.locator(".chip", has_text="¥1000").click()
    expect(page.locator("#topup-preview")).to_contain_text("CN¥50.00")
    shot(page, "top-up-preview")
    page.get_by_role("button", name="Confirm the top-up").click()
    expect(page.locator(".done")).to_contain_text("Topped up CN¥1,000.00.")
    expect(page.locator(".done .big-number")).to_have_text("CN¥1,050.00")
    shot(page, "topped-up")

    # A ¥88 purchase brought back (¥86.24 after the Gold discount, double points): its points go back.
    page.get_by_role("link", name="‹ Member").click()
    page.locator(".member-actions").get_by_role("link", name="Purchase").click()
    page.get_by_label("Price (¥)").fill("88")
    expect(page.locator("#purchase-preview")).to_contain_text("Earns 172 points")
    page.get_by_role("button", name="Confirm purchase").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Receipt")
    page.get_by_role("link", name="Return items").click()
    page.get_by_label("Quantity to return of line 1").select_option("1")
    page.get_by_role("button", name="Confirm the return").click()
    expect(page.locator(".flash-success")).to_contain_text("172 points taken back")
    expect(page.get_by_text("1 returned")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "returned")

    # The card is lost: blocked at once, then replaced by a new number; the tier stays.
    page.get_by_role("link", name="Chen Jing").click()
    page.get_by_role("button", name="Report lost").click()
    expect(page.locator(".flash-success")).to_contain_text("is blocked from now on.")
    expect(page.locator(".card-row .badge-warn")).to_have_text("Reported lost")
    page.get_by_role("button", name="Issue the replacement").click()
    expect(page.locator(".flash-success")).to_contain_text("tier, points and balance carry over.")
    expect(page.locator(".card-row .badge-ok")).to_have_text("Valid")
    expect(page.locator(".member-head .tier-badge")).to_have_text("Gold")
    no_sideways_scroll(page)
    shot(page, "card-replaced")
    with app.app_context(), tenant_context(setup["tenant"]):
        member = db.session.scalars(select(Member).where(Member.name == "Chen Jing")).one()
        assert sorted(c.status for c in db.session.scalars(select(Card).where(Card.member_id == member.id))) == [
            "active", "replaced"]
        db.session.remove()
    assert unexpected(errors) == []


def test_a_double_tap_and_two_tablets_posting_the_same_purchase_record_it_once(page, live_server, app, shot,
                                                                                 monkeypatch):
    setup = pharmacy_with_a_tablet(app, "tablet-twice")
    with app.app_context(), tenant_context(setup["tenant"]):
        member_id = db.session.scalars(select(Member.id).where(Member.name == "Li Na")).one()
        db.session.remove()
    errors = as_tablet(page, live_server, "tablet-twice", setup["token"])
    page.get_by_text(setup["clerk_name"], exact=True).click()
    page.get_by_label("Your PIN").fill(PIN)
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".counter-person")).to_have_text(setup["clerk_name"])
    page.goto(f"{live_server}/t/tablet-twice/counter/members/{member_id}/purchase")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_label("Price (¥)").fill("88")
    expect(page.locator("#purchase-preview")).to_contain_text("Earns 88 points")
    no_sideways_scroll(page)
    shot(page, "purchase-landscape")
    # The same confirmed form, posted twice at the same instant (SPEC §17.9), then tapped twice.
    statuses = page.evaluate("""async () => {
        const form = document.getElementById('purchase-form');
        const post = () => fetch(form.action, {method: 'POST', body: new FormData(form), redirect: 'manual'});
        const answers = await Promise.all([post(), post()]);
        return answers.map(a => a.type === 'opaqueredirect' ? 303 : a.status);
    }""")
    assert statuses == [303, 303]
    page.get_by_role("button", name="Confirm purchase").dblclick()
    expect(page.get_by_role("heading", level=1)).to_have_text("Receipt")
    assert count(app, setup["tenant"], Purchase) == 1
    shot(page, "receipt-landscape")
    # Left alone, the tablet goes back to the PIN pad by itself.
    monkeypatch.setitem(app.config, "COUNTER_IDLE_SECONDS", 1)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who is at the counter?", timeout=5000)
    expect(page.locator(".flash")).to_contain_text("The counter was locked because nobody used it.")
    assert unexpected(errors) == []


def test_five_wrong_pins_lock_the_person_at_the_tablet(page, live_server, app, shot):
    setup = pharmacy_with_a_tablet(app, "tablet-lock")
    errors = as_tablet(page, live_server, "tablet-lock", setup["token"])
    page.get_by_text(setup["clerk_name"], exact=True).click()
    for attempt in range(5):
        page.get_by_role("button", name="Clear").click()
        type_pin(page, "9999")
        page.get_by_role("button", name="Start").click()
        if attempt < 4:
            expect(page.locator(".form-error")).to_contain_text(f"{4 - attempt} attempt")
    expect(page.locator(".form-error")).to_contain_text("is locked until")
    shot(page, "locked")
    page.get_by_label("Your PIN").fill(PIN)
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".form-error")).to_contain_text("is locked until")
    expect(page.locator(".counter-bar")).to_have_count(0)  # nobody got in
    assert unexpected(errors) == []
