"""What the counter's screens show and refuse: categories by name, forms with every error in place,
returns on the receipt, the replacement date of a lost card."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from saas.extensions import db
from tenants.models import Purchase
from tenants.scoping import tenant_context
from tests.factories import make_staff, make_tenant
from tests.integration.test_counter import counted, enrol, open_counter, purchase_form

pytestmark = pytest.mark.tenant_clock


def options_of(html: str, select_id: str) -> list[tuple[str, str]]:
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"no <select id={select_id}>"
    return [(value, label.strip()) for value, label in
            re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(1))]


# --- categories ------------------------------------------------------------------------------------


def test_a_hotel_line_takes_its_category_from_the_programs_list_by_name(client, app_ctx):
    hotel = make_tenant("screens-hotel", vertical="hotel")  # zh_CN
    clerk = make_staff(hotel, "clerk")
    member = enrol(hotel, real_name_verified=True, card_fee_paid_fen=3800)
    open_counter(client, hotel, clerk)
    page, data = purchase_form(client, hotel, member)
    assert options_of(page, "l0-category") == [("", "无分类"), ("rooms", "客房"), ("dining", "餐饮"),
                                               ("other", "其他")]
    panel = client.get(f"/t/screens-hotel/counter/members/{member.id}").get_data(as_text=True)
    assert "客房：8.8折" in panel and "餐饮：8.8折" in panel and "rooms" not in panel

    # A category typed by hand (the old free-text field) is refused in place, never priced without its discount.
    data.update({"l0-price": "500", "l0-category": "客房"})
    preview = client.post(f"/t/screens-hotel/counter/members/{member.id}/purchase/preview", data=data)
    assert "请从列表中选择分类。" in preview.get_data(as_text=True)
    refused = client.post(f"/t/screens-hotel/counter/members/{member.id}/purchase", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请从列表中选择分类。" in html
    assert re.search(r'class="field line-category has-error"', html)
    assert counted(hotel, Purchase) == 0

    data["l0-category"] = "rooms"
    preview = client.post(f"/t/screens-hotel/counter/members/{member.id}/purchase/preview", data=data)
    text = preview.get_data(as_text=True)
    assert "1 · 客房" in text and "−¥60.00" in text  # 8.8折 on ¥500
    done = client.post(f"/t/screens-hotel/counter/members/{member.id}/purchase", data=data)
    assert done.status_code == 303
    with tenant_context(hotel):
        purchase = db.session.scalars(select(Purchase)).one()
        assert purchase.lines[0]["category"] == "rooms" and purchase.discount_fen == 6000
    receipt = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 · 客房" in receipt


def test_a_pharmacys_exclusions_read_as_category_names(client, app_ctx):
    import datetime as dt

    from tenants.services.purchases import LineIn, record_purchase
    from tests.integration.test_counter import SH

    shop = make_tenant("screens-pharmacy", vertical="pharmacy", language="en")
    clerk = make_staff(shop, "clerk")
    member = enrol(shop)
    with tenant_context(shop):
        record_purchase(member_id=member.id, lines=[LineIn("1", 250000)], tenders=[], business_at=dt.datetime.now(SH))
        db.session.commit()
    open_counter(client, shop, clerk)
    panel = client.get(f"/t/screens-pharmacy/counter/members/{member.id}").get_data(as_text=True)
    assert "No discount on: Prescription drugs" in panel and "prescription" not in panel


# --- top-up ---------------------------------------------------------------------------------------


def test_a_negative_top_up_says_so_and_the_error_sits_where_the_next_preview_replaces_it(client, app_ctx):
    from tenants.models import TopUp
    from tests.conftest import csrf_from
    from tests.integration.test_counter import form_key

    shop = make_tenant("screens-topup", vertical="pharmacy", language="en")
    clerk = make_staff(shop, "clerk")
    member = enrol(shop)
    open_counter(client, shop, clerk)
    url = f"/t/screens-topup/counter/members/{member.id}/top-up"
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "idem": form_key(page)}
    negative = client.post(url, data={**data, "amount": "-500"}, headers={"HX-Request": "true"})
    html = negative.get_data(as_text=True)
    assert negative.status_code == 422 and "An amount cannot be negative." in html
    assert "Enter an amount such as" not in html
    # The refusal is inside the preview region (what typing replaces), not a banner above the field.
    region = re.search(r'<div id="topup-preview"[^>]*>(.*?)</div>\s*</div>', html, re.S).group(1)
    assert "An amount cannot be negative." in region and 'class="form-error"' not in html
    assert 'value="-500"' in html  # the input is kept
    empty = client.post(url, data={**data, "amount": ""})
    assert empty.status_code == 422 and "Enter the amount to top up, such as 500." in empty.get_data(as_text=True)
    zero = client.post(url, data={**data, "amount": "0"})
    assert zero.status_code == 422 and "Enter an amount greater than zero." in zero.get_data(as_text=True)
    preview = client.get(f"{url}/preview?amount=-5", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "An amount cannot be negative." in preview
    good = client.get(f"{url}/preview?amount=500", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "CN¥500.00" in good and "error" not in good
    assert counted(shop, TopUp) == 0


# --- the receipt after a return -------------------------------------------------------------------


def test_after_a_return_the_receipt_shows_what_was_returned_and_what_is_kept(client, app_ctx):
    import datetime as dt

    from tenants.services.purchases import LineIn, record_purchase
    from tests.conftest import csrf_from
    from tests.integration.test_counter import SH, form_key

    shop = make_tenant("screens-return", vertical="pharmacy", language="en")
    clerk = make_staff(shop, "clerk")
    member = enrol(shop)
    open_counter(client, shop, clerk)
    with tenant_context(shop):
        bought = record_purchase(member_id=member.id, lines=[LineIn("1", 10000, quantity=2), LineIn("2", 5000)],
                                 tenders=[], business_at=dt.datetime.now(SH))
        db.session.commit()
    receipt_url = f"/t/screens-return/counter/members/{member.id}/purchases/{bought['id']}"
    before = client.get(receipt_url).get_data(as_text=True)
    assert "Returned" not in before and "Earned 150 points, available now." in before
    page = client.get(f"{receipt_url}/return").get_data(as_text=True)
    done = client.post(f"{receipt_url}/return",
                       data={"csrf_token": csrf_from(page), "idem": form_key(page), "q-1": "1", "q-2": "0"})
    assert done.status_code == 303
    after = client.get(receipt_url).get_data(as_text=True)
    kept = re.search(r"<dl class=\"totals receipt-kept\">(.*?)</dl>", after, re.S).group(1)
    assert re.search(r"Items kept</dt><dd>2<", kept) and re.search(r"Refunded</dt><dd>CN¥50.00<", kept)
    assert re.search(r"Paid for what is kept</dt><dd>CN¥100.00<", kept)
    returned = re.search(r'<table class="table receipt-returns">(.*?)</table>', after, re.S).group(1)
    assert "CN¥50.00" in returned and "−50" in returned
    assert "Keeps 100 of the 150 points earned." in after and "Earned 150 points" not in after
    assert "As bought" in after  # the original totals are still there, under their name


# --- a lost card's replacement --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_a_lost_card_says_from_which_day_it_can_be_replaced_and_is_offered_only_then(client, app_ctx, language):
    import datetime as dt

    from babel.dates import format_date

    from tenants.domain.dates import add_working_days
    from tenants.models import Card
    from tests.conftest import csrf_from
    from tests.integration.test_counter import SH

    hotel = make_tenant(f"screens-lost-{language[:2]}", vertical="hotel", language=language)  # 1 working day
    clerk = make_staff(hotel, "clerk")
    member = enrol(hotel, real_name_verified=True, card_fee_paid_fen=3800)
    open_counter(client, hotel, clerk)
    panel_url = f"/t/{hotel.slug}/counter/members/{member.id}"
    with tenant_context(hotel):
        card_id = db.session.scalars(select(Card.id).where(Card.member_id == member.id)).one()
    page = client.get(panel_url).get_data(as_text=True)
    client.post(f"{panel_url}/cards/{card_id}/lost", data={"csrf_token": csrf_from(page)})
    today = dt.datetime.now(SH).date()
    available = format_date(add_working_days(today, 1), "medium", locale=language)
    sentence = (f"The replacement card can be issued from {available}." if language == "en"
                else f"补卡可于 {available} 起办理。")
    panel = client.get(panel_url).get_data(as_text=True)
    assert sentence in panel and "replace-form" not in panel
    # Posted anyway (an old page): refused with the same date in the locale's format, never the ISO date.
    refused = client.post(f"{panel_url}/cards/{card_id}/replace",
                          data={"csrf_token": csrf_from(panel), "idem": "early-replace"}, follow_redirects=True)
    text = refused.get_data(as_text=True)
    assert sentence in text and add_working_days(today, 1).isoformat() not in text
    with tenant_context(hotel):
        assert db.session.get(Card, (hotel.id, card_id)).status == "lost"
        db.session.get(Card, (hotel.id, card_id)).blocked_at -= dt.timedelta(days=7)  # reported a week ago
        db.session.commit()
    later = client.get(panel_url).get_data(as_text=True)
    assert "replace-form" in later and "can be issued from" not in later and "补卡可于" not in later


# --- enrolment: every error at once, each on its field ----------------------------------------------


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>', html))


def test_enrolment_shows_every_problem_at_once_each_on_its_field(client, app_ctx):
    from tests.conftest import csrf_from
    from tests.integration.test_counter import form_key

    hotel = make_tenant("screens-enrol", vertical="hotel", language="en")  # real name, card fee ¥38
    clerk = make_staff(hotel, "clerk")
    existing = enrol(hotel, phone="13500000000", real_name_verified=True, card_fee_paid_fen=3800)
    open_counter(client, hotel, clerk)
    with tenant_context(hotel):
        from tenants.models import Card, Member

        taken_card = db.session.scalars(select(Card.number).where(Card.member_id == existing.id)).one()
    page = client.get("/t/screens-enrol/counter/enrol").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "idem": form_key(page), "name": "", "phone": "13500000000",
            "email": "not-an-address", "card_pin": "12", "physical_card_number": taken_card, "card_type": "member",
            "top_up_amount": "-5"}
    refused = client.post("/t/screens-enrol/counter/enrol", data=data, headers={"HX-Request": "true"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert field_errors(html) == {
        "name": "This field is required.",
        "phone": "A member with this phone number already exists.",
        "email": "Enter a valid e-mail address.",
        "card_pin": "The card PIN is 4 to 8 digits.",
        "physical_card_number": "This card number is already in use.",
        "top_up_amount": "An amount cannot be negative.",
        "id_doc_number": "Real-name registration is required.",
        "card_fee_paid": "The conditions for membership are not met.",
    }
    assert 'class="form-error"' not in html  # no banner: each message is next to its field
    assert 'value="not-an-address"' in html and 'value="13500000000"' in html  # the input is kept

    # Corrected all at once, it enrols in one go.
    data.update(name="陈先生", phone="13500000001", email="chen@example.com", card_pin="2468", physical_card_number="",
                top_up_amount="", card_fee_paid="y", id_doc_type="id_card", id_doc_number="110101199001011234",
                real_name_verified="y")
    done = client.post("/t/screens-enrol/counter/enrol", data=data)
    assert done.status_code == 303, field_errors(done.get_data(as_text=True))
    assert counted(hotel, Member) == 2


def test_a_clerk_enters_earlier_receipts_for_cumulative_enrolment_and_a_gift_card_after_the_opening(client,
                                                                                                   app_ctx):
    from tenants.models import Member, Store
    from tenants.presets import load_preset
    from tenants.services.programs import post_program_version
    from tests.conftest import csrf_from
    from tests.integration.test_counter import form_key

    shop = make_tenant("screens-receipts", vertical="clothing", language="en", program_from=dt.date(2025, 1, 1))
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    with tenant_context(shop):
        rules = load_preset("clothing")
        rules["enrolment"]["conditions"] = [{"kind": "cumulative_purchase", "min_fen": 68800, "months": 3},
                                            {"kind": "gift_card", "activation_days": 10}]
        post_program_version(rules, dt.date(2025, 1, 1), "receipts or gift card")
        db.session.query(Store).order_by(Store.code).first().opened_on = today - dt.timedelta(days=3)
        db.session.commit()
    open_counter(client, shop, make_staff(shop, "clerk"))
    page = client.get("/t/screens-receipts/counter/enrol").get_data(as_text=True)
    assert 'name="receipt-0-date"' in page and 'name="gift_card_activated"' in page

    def post(**extra):
        data = {"csrf_token": csrf_from(page), "idem": form_key(page), "name": "周", "phone": "13500000009", **extra}
        return client.post("/t/screens-receipts/counter/enrol", data=data, headers={"HX-Request": "true"})

    short = post(**{"receipt-0-date": (today - dt.timedelta(days=20)).isoformat(), "receipt-0-amount": "300",
                    "receipt-1-date": (today - dt.timedelta(days=200)).isoformat(), "receipt-1-amount": "500"})
    assert short.status_code == 422
    assert field_errors(short.get_data(as_text=True)) == {"receipts": "The conditions for membership are not met."}
    assert 'value="300"' in short.get_data(as_text=True)  # the rows are kept
    half = post(**{"receipt-0-date": "", "receipt-0-amount": "300"})
    assert field_errors(half.get_data(as_text=True))["receipts"].startswith("Each receipt needs a date")
    joined = post(**{"receipt-0-date": (today - dt.timedelta(days=20)).isoformat(), "receipt-0-amount": "300",
                     "receipt-1-date": (today - dt.timedelta(days=50)).isoformat(), "receipt-1-amount": "388"})
    assert joined.status_code in (200, 303), field_errors(joined.get_data(as_text=True))
    page = client.get("/t/screens-receipts/counter/enrol").get_data(as_text=True)
    gift = post(phone="13500000010", gift_card_activated="y")
    assert gift.status_code in (200, 303), field_errors(gift.get_data(as_text=True))
    with tenant_context(shop):
        assert db.session.query(Member).count() == 2
