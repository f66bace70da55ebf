"""The counter's screens in Chromium at the tablet's size (768×1024), in Chinese and English: a quiet
console while typing, categories chosen by name, the receipt after a return, a top-up error that goes
away once the amount is right, every enrolment error on its field."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from tests.e2e.test_counter_tablet import as_tablet, no_sideways_scroll, unexpected
from tests.factories import make_staff, make_tenant
from tests.integration.test_counter import PIN, enrol, give_pin, register_tablet

pytestmark = pytest.mark.e2e


def tablet_of(app, slug: str, vertical: str, language: str) -> dict:
    """A tenant of `vertical` speaking `language`, a clerk with a PIN, a registered tablet, one member."""
    with app.app_context():
        tenant = make_tenant(slug, vertical=vertical, language=language)
        clerk = make_staff(tenant, "clerk")
        give_pin(tenant, clerk)
        _device, token = register_tablet(tenant, name="Front desk")
        member = enrol(tenant, phone="13800001234", name="Li Na", real_name_verified=True,
                       card_fee_paid_fen=3800 if vertical == "hotel" else 0)
        info = {"tenant": tenant, "clerk_name": clerk.name, "token": token, "member_id": member.id}
        db.session.remove()
        return info


def pin_in(page, setup) -> None:
    page.get_by_text(setup["clerk_name"], exact=True).click()
    page.locator("#pin").fill(PIN)
    page.locator("#pin-form button[type='submit']:not([disabled])").click()
    expect(page.locator(".counter-person")).to_have_text(setup["clerk_name"])


def slow_network(page, latency_ms: int) -> None:
    """Every request takes `latency_ms` more, as on a tablet on the shop's wifi."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency_ms,
                                                  "downloadThroughput": -1, "uploadThroughput": -1})


def test_typing_while_a_preview_is_on_its_way_logs_no_error(page, live_server, app, shot):
    setup = tablet_of(app, "screens-typing", "pharmacy", "en")
    errors = as_tablet(page, live_server, "screens-typing", setup["token"])
    pin_in(page, setup)
    page.goto(f"{live_server}/t/screens-typing/counter/members/{setup['member_id']}/purchase")
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


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_a_hotel_clerk_picks_rooms_by_name_and_a_fixed_top_up_error_goes_away(page, live_server, app, shot,
                                                                               language):
    zh = language == "zh_CN"
    slug = f"screens-hotel-{language.lower().replace('_', '-')}"
    setup = tablet_of(app, slug, "hotel", language)
    errors = as_tablet(page, live_server, slug, setup["token"])
    pin_in(page, setup)
    member = f"{live_server}/t/{slug}/counter/members/{setup['member_id']}"

    page.goto(f"{member}")
    expect(page.locator(".perks")).to_contain_text("客房：8.8折" if zh else "Rooms: 12% off")
    page.goto(f"{member}/purchase")
    page.locator("#l0-price").fill("500")
    page.locator("#l0-category").select_option(label="客房" if zh else "Rooms")
    expect(page.locator("#purchase-preview")).to_contain_text("客房" if zh else "Rooms")
    expect(page.locator("#purchase-preview")).to_contain_text("−¥60.00" if zh else "−CN¥60.00")
    no_sideways_scroll(page)
    shot(page, "purchase-category")
    page.locator(".confirm-btn").click()
    expect(page.locator(".receipt-lines")).to_contain_text("客房" if zh else "Rooms")

    # Two nights, one returned: the receipt says what came back and what is kept.
    page.goto(f"{member}/purchase")
    page.locator("#l0-price").fill("500")
    page.locator("#l0-qty").fill("2")
    page.locator("#l0-category").select_option("rooms")
    expect(page.locator("#purchase-preview")).to_contain_text("−¥120.00" if zh else "−CN¥120.00")
    page.locator(".confirm-btn").click()
    page.locator(".form-actions a", has_text="退货" if zh else "Return items").click()
    page.locator("select[name^='q-']").select_option("1")
    page.locator("#return-form button[type='submit']").click()
    expect(page.locator(".receipt-kept")).to_contain_text("¥440.00")
    expect(page.locator(".receipt-returns")).to_contain_text("¥440.00")
    no_sideways_scroll(page)
    shot(page, "receipt-after-return")

    # Top up: confirming an empty amount says what to type, below the field; a good amount replaces it.
    page.goto(f"{member}/top-up")
    page.locator("#topup-form button.btn-primary").click()
    expect(page.locator("#topup-preview .error")).to_have_text(
        "请输入充值金额，例如 500。" if zh else "Enter the amount to top up, such as 500.")
    expect(page.locator(".form-error")).to_have_count(0)
    shot(page, "top-up-error")
    page.locator("#amount").fill("-5")
    expect(page.locator("#topup-preview .error")).to_have_text(
        "金额不能为负数。" if zh else "An amount cannot be negative.")
    page.locator("#amount").fill("1000")
    expect(page.locator("#topup-preview")).to_contain_text("¥1,000.00")
    expect(page.locator("#topup-form .error")).to_have_count(0)
    no_sideways_scroll(page)
    shot(page, "top-up-fixed")

    # Enrolment: every problem at once, each under its field (no banner above the form).
    page.goto(f"{live_server}/t/{slug}/counter/enrol")
    page.locator("#phone").fill("13800001234")
    page.locator("#enrol-form button[type='submit']").click()
    expect(page.locator("#enrol-form .field.has-error")).to_have_count(4)  # name, phone, document, card fee
    expect(page.locator("#phone-error")).to_be_visible()
    expect(page.locator("#enrol-form .form-error")).to_have_count(0)
    no_sideways_scroll(page)
    shot(page, "enrol-errors")
    assert unexpected(errors) == []
