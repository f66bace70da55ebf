"""The counter tablet: registered once by a manager, staff switching by PIN, every action attributed."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry, CounterDevice, StaffUser
from tenants.counter import MAX_PIN_FAILURES, register_device, set_pin
from tenants.models import Card, Member, Purchase, Store, TopUp
from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, record_purchase
from tenants.views.counter_session import COOKIE
from tests.conftest import csrf_from, login
from tests.factories import make_staff, make_tenant

pytestmark = pytest.mark.tenant_clock  # dates matter here: run either side of the UTC date change

PIN = "2580"
SH = ZoneInfo("Asia/Shanghai")


# --- helpers (the e2e tests and the cross-tenant walk use them too) --------------------------------


def give_pin(tenant, user, pin: str = PIN) -> None:
    with tenant_context(tenant):
        row = db.session.get(StaffUser, (tenant.id, user.id))
        set_pin(row, pin)
        db.session.commit()


def register_tablet(tenant, name: str = "Till 1") -> tuple[int, str]:
    """A tablet of the tenant's first store, registered by the owner: (device id, cookie token)."""
    with tenant_context(tenant):
        owner = db.session.scalars(select(StaffUser).where(StaffUser.role == "owner")).first()
        store = db.session.scalars(select(Store).order_by(Store.code)).first()
        device, token = register_device(manager=owner, store_id=store.id, name=name)
        db.session.commit()
        return device.id, token


def switch_to(client, tenant, user, pin: str = PIN):
    page = client.get(f"/t/{tenant.slug}/counter/pin")
    return client.post(f"/t/{tenant.slug}/counter/pin",
                       data={"staff_id": user.id, "pin": pin, "csrf_token": csrf_from(page.get_data(as_text=True))})


def open_counter(client, tenant, user, pin: str = PIN) -> int:
    """Make `client` a registered tablet of the tenant's first store with `user` at it; the device id."""
    give_pin(tenant, user, pin)
    device_id, token = register_tablet(tenant)
    client.set_cookie(COOKIE, token, path=f"/t/{tenant.slug}/")
    response = switch_to(client, tenant, user, pin)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return device_id


def enrol(tenant, phone: str = "13812345678", name: str = "王芳", **kw) -> SimpleNamespace:
    """A member enrolled at the counter of `tenant` (its id and phone: the ORM row expires between requests)."""
    with tenant_context(tenant):
        member = enroll_member(business_at=dt.datetime.now(SH), name=name, phone=phone, **kw)
        db.session.commit()
        return SimpleNamespace(id=member.id, phone=member.phone, name=member.name)


def balances(tenant, member_id: int) -> tuple[int, int]:
    """(points balance, stored value in fen) as the database has them now."""
    with tenant_context(tenant):
        row = db.session.execute(select(Member.points_balance, Member.stored_value_fen)
                                 .where(Member.id == member_id)).one()
        return row[0], row[1]


def form_key(html: str) -> str:
    match = re.search(r'name="idem"[^>]*value="([^"]+)"', html)
    assert match, "no idempotency key in the form"
    return match.group(1)


def counted(tenant, model, *where) -> int:
    with tenant_context(tenant):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def pharmacy(app_ctx):
    return make_tenant("counter-pharmacy", vertical="pharmacy", language="en")


@pytest.fixture
def clerk(pharmacy):
    return make_staff(pharmacy, "clerk")


# --- the tablet and the people at it ------------------------------------------------------------


def test_a_clerk_cannot_register_a_tablet_but_a_store_manager_can(client, pharmacy):
    clerk = make_staff(pharmacy, "clerk")
    login(client, pharmacy, clerk.email)
    page = client.get("/t/counter-pharmacy/counter")
    assert page.status_code == 200 and 'name="store_id"' not in page.get_data(as_text=True)
    with tenant_context(pharmacy):
        store_id = db.session.scalars(select(Store.id).order_by(Store.code)).first()
    token = csrf_from(page.get_data(as_text=True))
    refused = client.post("/t/counter-pharmacy/counter/devices",
                          data={"name": "Till", "store_id": store_id, "csrf_token": token})
    assert refused.status_code == 403
    assert counted(pharmacy, CounterDevice) == 0

    manager = make_staff(pharmacy, "store_manager")
    client.post("/t/counter-pharmacy/logout", data={"csrf_token": token})
    login(client, pharmacy, manager.email)
    page = client.get("/t/counter-pharmacy/counter").get_data(as_text=True)
    assert 'name="store_id"' in page
    done = client.post("/t/counter-pharmacy/counter/devices",
                       data={"name": "Front desk", "store_id": store_id, "csrf_token": csrf_from(page)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/counter/pin")
    cookie = done.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/t/counter-pharmacy/" in cookie
    token_value = cookie.split(";", 1)[0].split("=", 1)[1]
    with tenant_context(pharmacy):
        device = db.session.scalars(select(CounterDevice)).one()
        assert device.token_hash == hashlib.sha256(token_value.encode()).hexdigest() != token_value
        assert device.registered_by == manager.id and device.store_id == store_id
        assert db.session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"device:{device.id}")).all() \
            == ["counter.device_registered"]
    # The manager's own sign-in ended on the shared tablet: the back office asks for a password.
    assert client.get("/t/counter-pharmacy/").status_code == 302


def test_a_pin_opens_the_counter_but_never_the_back_office(client, pharmacy, clerk):
    open_counter(client, pharmacy, clerk)
    home = client.get("/t/counter-pharmacy/counter")
    assert home.status_code == 200 and clerk.name in home.get_data(as_text=True)
    assert client.get("/t/counter-pharmacy/").status_code == 302  # dashboard: not signed in
    assert client.get("/t/counter-pharmacy/counter/devices").status_code == 302


def test_five_wrong_pins_lock_the_person_until_a_manager_resets_the_pin(client, pharmacy, clerk):
    give_pin(pharmacy, clerk)
    _device, token = register_tablet(pharmacy)
    client.set_cookie(COOKIE, token, path="/t/counter-pharmacy/")
    for attempt in range(1, MAX_PIN_FAILURES):
        wrong = switch_to(client, pharmacy, clerk, "9999")
        assert wrong.status_code == 422
        assert f"{MAX_PIN_FAILURES - attempt} attempt" in wrong.get_data(as_text=True)
    locked = switch_to(client, pharmacy, clerk, "9999")
    assert locked.status_code == 423 and "is locked until" in locked.get_data(as_text=True)
    assert switch_to(client, pharmacy, clerk, PIN).status_code == 423  # even the right PIN, while locked
    assert client.get("/t/counter-pharmacy/counter").status_code == 303  # still nobody at the counter
    with tenant_context(pharmacy):
        assert db.session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"staff:{clerk.id}")).all() \
            .count("counter.pin_locked") == 1

    manager_client = client.application.test_client()
    manager = make_staff(pharmacy, "store_manager")
    login(manager_client, pharmacy, manager.email)
    page = manager_client.get("/t/counter-pharmacy/counter/devices").get_data(as_text=True)
    assert "Locked until" in page
    reset = manager_client.post(f"/t/counter-pharmacy/counter/staff/{clerk.id}/reset-pin",
                                data={"csrf_token": csrf_from(page)})
    assert reset.status_code == 303
    with tenant_context(pharmacy):
        db.session.expire_all()
        row = db.session.get(StaffUser, (pharmacy.id, clerk.id))
        assert row.pin_hash is None and row.pin_locked_until is None and row.pin_failures == 0
    give_pin(pharmacy, clerk, "3691")
    assert switch_to(client, pharmacy, clerk, "3691").status_code == 303


def test_the_pin_pad_is_rate_limited_per_tablet(app, client, pharmacy, clerk, monkeypatch):
    monkeypatch.setitem(app.config, "COUNTER_PIN_RATE_LIMIT", "3 per minute")
    give_pin(pharmacy, clerk)
    _device, token = register_tablet(pharmacy)
    client.set_cookie(COOKIE, token, path="/t/counter-pharmacy/")
    statuses = [switch_to(client, pharmacy, clerk, "1357").status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_an_idle_tablet_goes_back_to_the_pin_pad(app, client, pharmacy, clerk):
    open_counter(client, pharmacy, clerk)
    assert client.get("/t/counter-pharmacy/counter").status_code == 200
    with client.session_transaction() as session:
        data = dict(session["counter"])
        data["seen"] -= app.config.get("COUNTER_IDLE_SECONDS", 180) + 1
        session["counter"] = data
    away = client.get("/t/counter-pharmacy/counter?q=1234")
    assert away.status_code == 303 and away.headers["Location"].endswith("/counter/pin")
    pad = client.get("/t/counter-pharmacy/counter/pin").get_data(as_text=True)
    assert "Locked after 3 minutes without activity" in pad
    # htmx requests are sent to the PIN pad as a whole page, not swapped into a fragment
    htmx = client.get("/t/counter-pharmacy/counter?q=1234", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/counter/pin")


def test_a_revoked_tablet_no_longer_opens_the_counter(client, pharmacy, clerk):
    device_id = open_counter(client, pharmacy, clerk)
    manager_client = client.application.test_client()
    manager = make_staff(pharmacy, "store_manager")
    login(manager_client, pharmacy, manager.email)
    page = manager_client.get("/t/counter-pharmacy/counter/devices").get_data(as_text=True)
    assert "Till 1" in page
    manager_client.post(f"/t/counter-pharmacy/counter/devices/{device_id}/revoke", data={"csrf_token": csrf_from(page)})
    gone = client.get("/t/counter-pharmacy/counter")
    assert gone.status_code == 200 and "not a counter tablet yet" in gone.get_data(as_text=True)
    with tenant_context(pharmacy):
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.target == f"device:{device_id}")
                                 .order_by(AuditEntry.at.desc()).limit(1)) == "counter.device_revoked"


def test_staff_choose_their_own_pin_and_easy_ones_are_refused(client, pharmacy, clerk):
    login(client, pharmacy, clerk.email)
    page = client.get("/t/counter-pharmacy/counter/my-pin").get_data(as_text=True)
    weak = client.post("/t/counter-pharmacy/counter/my-pin", data={"pin": "1234", "repeat": "1234",
                                                                   "csrf_token": csrf_from(page)})
    assert weak.status_code == 422 and "too easy to guess" in weak.get_data(as_text=True)
    done = client.post("/t/counter-pharmacy/counter/my-pin", data={"pin": "40718", "repeat": "40718",
                                                                   "csrf_token": csrf_from(page)})
    assert done.status_code == 303
    with tenant_context(pharmacy):
        db.session.expire_all()
        assert db.session.get(StaffUser, (pharmacy.id, clerk.id)).pin_hash.startswith("$argon2")


# --- finding members and what a clerk sees ------------------------------------------------------------


def test_a_clerk_sees_a_masked_phone_and_a_manager_the_full_number(client, pharmacy, clerk):
    member = enrol(pharmacy, phone="13812345678")
    open_counter(client, pharmacy, clerk)
    page = client.get(f"/t/counter-pharmacy/counter/members/{member.id}").get_data(as_text=True)
    assert "138 **** 5678" in page and "138 1234 5678" not in page
    results = client.get("/t/counter-pharmacy/counter?q=5678", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "138 **** 5678" in results and "<html" not in results  # the results fragment alone
    manager = make_staff(pharmacy, "store_manager")
    give_pin(pharmacy, manager)
    assert switch_to(client, pharmacy, manager).status_code == 303
    # The tablet changed hands: the manager finds the member again (test_counter_handover.py), then sees it all.
    assert "138 1234 5678" in client.get("/t/counter-pharmacy/counter?q=5678").get_data(as_text=True)
    page = client.get(f"/t/counter-pharmacy/counter/members/{member.id}").get_data(as_text=True)
    assert "138 1234 5678" in page


def test_find_by_last_four_digits_lists_the_candidates_and_a_scanned_card_opens_the_member(client, pharmacy, clerk):
    first = enrol(pharmacy, phone="13800001234", name="Li Na")
    enrol(pharmacy, phone="13900001234", name="Zhang Wei")
    open_counter(client, pharmacy, clerk)
    listed = client.get("/t/counter-pharmacy/counter?q=1234").get_data(as_text=True)
    assert "Li Na" in listed and "Zhang Wei" in listed
    with tenant_context(pharmacy):
        number = db.session.scalars(select(Card.number).where(Card.member_id == first.id)).one()
    scanned = client.get(f"/t/counter-pharmacy/counter?q={number}")
    assert scanned.status_code == 303 and scanned.headers["Location"].endswith(f"/counter/members/{first.id}")
    missing = client.get("/t/counter-pharmacy/counter?q=13700000000").get_data(as_text=True)
    assert "No member found" in missing


def test_a_card_reported_lost_is_refused_when_scanned(client, pharmacy, clerk):
    member = enrol(pharmacy)
    open_counter(client, pharmacy, clerk)
    with tenant_context(pharmacy):
        card = db.session.scalars(select(Card).where(Card.member_id == member.id)).one()
    page = client.get(f"/t/counter-pharmacy/counter/members/{member.id}").get_data(as_text=True)
    lost = client.post(f"/t/counter-pharmacy/counter/members/{member.id}/cards/{card.id}/lost",
                       data={"csrf_token": csrf_from(page)})
    assert lost.status_code == 303
    refused = client.get(f"/t/counter-pharmacy/counter?q={card.number}")
    assert refused.status_code == 200
    text = refused.get_data(as_text=True)
    assert "This card is blocked (reported lost)." in text and "王芳" not in text.split("counter-results")[1]
    with tenant_context(pharmacy):
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.target == f"card:{card.id}")) \
            == "card.reported_lost"


def test_the_member_panel_says_what_keeps_the_tier_and_wishes_a_happy_birthday(client, app_ctx):
    from babel.dates import format_date

    from tenants.domain.dates import add_months
    from tenants.models import ProgramVersion

    shop = make_tenant("counter-clothing", vertical="clothing", language="en")
    with tenant_context(shop):
        current = db.session.scalars(select(ProgramVersion)).one()
        rules = copy.deepcopy(current.rules)
        rules["earning"]["pending_days"] = 0
        silver = next(t for t in rules["tiers"] if t["code"] == "silver")
        silver.update(validity_months=12, keep={"measure": "spend", "min": 80000})
        db.session.add(ProgramVersion(version=2, effective_from=current.effective_from, rules=rules))
        db.session.commit()
    today = dt.datetime.now(SH).date()
    member = enrol(shop, birthday=today.replace(year=1990) if (today.month, today.day) != (2, 29) else today)
    with tenant_context(shop):
        # ¥1,250 at the birthday price (8折) is ¥1,000 of spend: Silver at once (no return window here)
        record_purchase(member_id=member.id, lines=[LineIn("1", 125000)], tenders=[], business_at=dt.datetime.now(SH))
        db.session.commit()
    clerk = make_staff(shop, "clerk")
    open_counter(client, shop, clerk)
    page = client.get(f"/t/counter-clothing/counter/members/{member.id}").get_data(as_text=True)
    deadline = format_date(add_months(today, 12), "medium", locale="en")
    assert f"Spend CN¥800.00 more before {deadline} to keep Silver." in page
    assert "Spend CN¥2,000.00 more to reach Gold." in page
    assert "Birthday today — wish 王芳 a happy birthday!" in page
    assert "Birthday price: 20% off" in page and "Birthday gift: Birthday gift" in page


# --- enrolment ---------------------------------------------------------------------------------------


def test_enrolment_finds_a_duplicate_phone_as_you_type_and_shows_the_card_at_once(client, pharmacy, clerk):
    enrol(pharmacy, phone="13812345678", name="Existing")
    open_counter(client, pharmacy, clerk)
    page = client.get("/t/counter-pharmacy/counter/enrol").get_data(as_text=True)
    token = csrf_from(page)

    def check(phone: str) -> str:
        return client.post("/t/counter-pharmacy/counter/enrol/phone", data={"phone": phone, "csrf_token": token},
                           headers={"HX-Request": "true"}).get_data(as_text=True)

    assert "Already a member: Existing." in check("138 1234 5678")
    assert "Not a member yet" in check("13600000000")
    # by POST only: a phone number never stands in a URL (access logs)
    assert client.get("/t/counter-pharmacy/counter/enrol/phone?phone=13600000000").status_code == 405
    data = {"csrf_token": csrf_from(page), "idem": form_key(page), "name": "New Person", "phone": "13600000000",
            "card_type": "regular"}
    done = client.post("/t/counter-pharmacy/counter/enrol", data=data, headers={"HX-Request": "true"})
    assert done.status_code == 200 and "enrolled=1" in done.headers["HX-Redirect"]
    shown = client.get(done.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Welcome, New Person!" in shown and 'src="data:image/svg+xml' in shown
    with tenant_context(pharmacy):
        member = db.session.scalars(select(Member).where(Member.phone == "+8613600000000")).one()
        assert member.enrolled_by == clerk.id and member.responsible_staff_id == clerk.id
    again = client.post("/t/counter-pharmacy/counter/enrol", data={**data, "idem": "another-key"})
    assert again.status_code == 422 and "A member with this phone number already exists." in again.get_data(
        as_text=True)
    with tenant_context(pharmacy):
        taken_card = db.session.scalars(select(Card.number).where(Card.member_id == member.id)).one()
    card_clash = client.post("/t/counter-pharmacy/counter/enrol", data={
        **data, "idem": "third-key", "phone": "13600000001", "physical_card_number": taken_card})
    assert card_clash.status_code == 422 and "This card number is already in use." in card_clash.get_data(
        as_text=True)
    assert counted(pharmacy, Member) == 2


def test_the_programs_enrolment_conditions_are_applied_and_refusals_are_translated(client, app_ctx):
    hotel = make_tenant("counter-hotel", vertical="hotel")  # zh_CN; real-name sign-up, card fee ¥38
    clerk = make_staff(hotel, "clerk")
    open_counter(client, hotel, clerk)
    page = client.get("/t/counter-hotel/counter/enrol").get_data(as_text=True)
    assert "¥38.00" in page
    data = {"csrf_token": csrf_from(page), "idem": form_key(page), "name": "陈先生", "phone": "13500000000",
            "card_type": "member"}
    refused = client.post("/t/counter-hotel/counter/enrol", data=data)
    assert refused.status_code == 422 and "需要实名登记。" in refused.get_data(as_text=True)
    data.update(id_doc_type="id_card", id_doc_number="110101199001011234", real_name_verified="y")
    refused = client.post("/t/counter-hotel/counter/enrol", data=data)
    assert refused.status_code == 422 and "不满足入会条件。" in refused.get_data(as_text=True)
    assert counted(hotel, Member) == 0
    # A ¥500 top-up with the sign-up waives the card fee (SPEC §17.5) and is credited at once.
    done = client.post("/t/counter-hotel/counter/enrol", data={**data, "top_up_amount": "500"})
    assert done.status_code == 303
    with tenant_context(hotel):
        member = db.session.scalars(select(Member)).one()
        assert member.real_name_verified and member.stored_value_fen == 50000
        assert db.session.scalars(select(TopUp.staff_id)).one() == clerk.id


# --- purchase, idempotency, refusals ------------------------------------------------------------------


def purchase_form(client, tenant, member) -> tuple[str, dict]:
    page = client.get(f"/t/{tenant.slug}/counter/members/{member.id}/purchase").get_data(as_text=True)
    return page, {"csrf_token": csrf_from(page), "idem": form_key(page), "line_count": "1"}


def test_the_same_confirm_twice_records_one_purchase_attributed_to_the_person_and_the_tablet(client, pharmacy,
                                                                                             clerk):
    member = enrol(pharmacy)
    device_id = open_counter(client, pharmacy, clerk)
    _page, data = purchase_form(client, pharmacy, member)
    data.update({"l0-price": "128.50", "l0-qty": "2", "l0-status": "regular"})
    preview = client.post(f"/t/counter-pharmacy/counter/members/{member.id}/purchase/preview", data=data,
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "CN¥257.00" in preview and "Earns 257 points, available at once." in preview
    assert counted(pharmacy, Purchase) == 0  # the preview changes nothing
    first = client.post(f"/t/counter-pharmacy/counter/members/{member.id}/purchase", data=data,
                        headers={"HX-Request": "true"})
    second = client.post(f"/t/counter-pharmacy/counter/members/{member.id}/purchase", data=data,
                         headers={"HX-Request": "true"})
    assert first.status_code == second.status_code == 200
    assert first.headers["HX-Redirect"] == second.headers["HX-Redirect"]
    assert counted(pharmacy, Purchase) == 1
    with tenant_context(pharmacy):
        purchase = db.session.scalars(select(Purchase)).one()
        assert (purchase.staff_id, purchase.device, purchase.points_earned) == (clerk.id, f"counter:{device_id}", 257)
    assert balances(pharmacy, member.id) == (257, 0)
    receipt = client.get(first.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Receipt" in receipt and "Till 1" in receipt and clerk.name in receipt


def test_a_purchase_crossing_the_gold_threshold_shows_the_tier_effect_before_and_after(client, pharmacy, clerk):
    member = enrol(pharmacy)
    open_counter(client, pharmacy, clerk)
    _page, data = purchase_form(client, pharmacy, member)
    data.update({"l0-price": "2000", "l0-qty": "1", "l0-status": "regular"})
    preview = client.post(f"/t/counter-pharmacy/counter/members/{member.id}/purchase/preview", data=data)
    assert "This purchase moves the member up to Gold." in preview.get_data(as_text=True)
    done = client.post(f"/t/counter-pharmacy/counter/members/{member.id}/purchase", data=data)
    receipt = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Moved up from Member to Gold." in receipt
    panel = client.get(f"/t/counter-pharmacy/counter/members/{member.id}").get_data(as_text=True)
    assert "Spend CN¥6,000.00 more to reach Diamond." in panel and "Priority dispensing" in panel


def test_a_refused_purchase_says_why_in_chinese_and_changes_nothing(client, app_ctx):
    shop = make_tenant("counter-zh", vertical="pharmacy")  # zh_CN
    clerk = make_staff(shop, "clerk")
    member = enrol(shop)
    open_counter(client, shop, clerk)
    _page, data = purchase_form(client, shop, member)
    data.update({"l0-price": "100", "l0-status": "regular", "points": "900"})
    refused = client.post(f"/t/counter-zh/counter/members/{member.id}/purchase", data=data)
    assert refused.status_code == 422
    assert "积分不足：可用 0，需要 900。" in refused.get_data(as_text=True)
    assert counted(shop, Purchase) == 0
    assert balances(shop, member.id) == (0, 0)


def test_paying_from_stored_value_needs_the_card_pin(client, pharmacy, clerk):
    member = enrol(pharmacy, pin="864209")
    open_counter(client, pharmacy, clerk)
    page = client.get(f"/t/counter-pharmacy/counter/members/{member.id}/top-up").get_data(as_text=True)
    topped = client.post(f"/t/counter-pharmacy/counter/members/{member.id}/top-up",
                         data={"csrf_token": csrf_from(page), "idem": form_key(page), "amount": "1000"})
    assert topped.status_code == 200 and "Bonus: CN¥50.00." in topped.get_data(as_text=True)
    _page, data = purchase_form(client, pharmacy, member)
    data.update({"l0-price": "300", "stored_value": "300", "card_pin": "000000"})
    wrong = client.post(f"/t/counter-pharmacy/counter/members/{member.id}/purchase", data=data)
    assert wrong.status_code == 422 and "The PIN is not correct." in wrong.get_data(as_text=True)
    assert counted(pharmacy, Purchase) == 0
    data["card_pin"] = "864209"
    assert client.post(f"/t/counter-pharmacy/counter/members/{member.id}/purchase", data=data).status_code == 303
    assert balances(pharmacy, member.id) == (300, 105000 - 30000)


def test_a_return_takes_back_the_points_of_the_returned_lines(client, pharmacy, clerk):
    member = enrol(pharmacy)
    open_counter(client, pharmacy, clerk)
    with tenant_context(pharmacy):
        result = record_purchase(member_id=member.id, lines=[LineIn("1", 10000, quantity=2), LineIn("2", 5000)],
                                 tenders=[], business_at=dt.datetime.now(SH))
        db.session.commit()
    url = f"/t/counter-pharmacy/counter/members/{member.id}/purchases/{result['id']}/return"
    page = client.get(url).get_data(as_text=True)
    done = client.post(url, data={"csrf_token": csrf_from(page), "idem": form_key(page), "q-1": "1", "q-2": "0"})
    assert done.status_code == 303
    receipt = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Return recorded: refund CN¥50.00, 0 points given back, 50 points taken back." in receipt
    assert balances(pharmacy, member.id) == (100, 0)


def test_redeeming_a_threshold_reward_spends_the_points_once(client, app_ctx):
    mall = make_tenant("counter-mall", vertical="mall", language="en")
    clerk = make_staff(mall, "clerk")
    member = enrol(mall, real_name_verified=True)
    with tenant_context(mall):
        from tenants.services.points import adjust_points

        adjust_points(member_id=member.id, delta=4500, reason="welcome", business_at=dt.datetime.now(SH))
        db.session.commit()
    open_counter(client, mall, clerk)
    page = client.get(f"/t/counter-mall/counter/members/{member.id}/redeem").get_data(as_text=True)
    assert "Gift money voucher" in page
    key = re.search(r'name="idem" value="([^"]+)">\s*<input type="hidden" name="kind" value="threshold">\s*'
                    r'<input type="hidden" name="code" value="gift-money">', page).group(1)
    data = {"csrf_token": csrf_from(page), "idem": key, "kind": "threshold", "code": "gift-money", "quantity": "2"}
    first = client.post(f"/t/counter-mall/counter/members/{member.id}/redeem", data=data)
    again = client.post(f"/t/counter-mall/counter/members/{member.id}/redeem", data=data)
    assert "Redeemed 4,000 points for a voucher of CN¥40.00." in first.get_data(as_text=True)
    assert "Redeemed 4,000 points" in again.get_data(as_text=True)
    assert balances(mall, member.id) == (500, 0)


# --- other tenants' ids -----------------------------------------------------------------------------------


def test_another_tenants_member_purchase_and_card_ids_are_not_found(client, pharmacy, clerk):
    other = make_tenant("counter-other", vertical="pharmacy")
    stranger = enrol(other, phone="13911112222")
    with tenant_context(other):
        bought = record_purchase(member_id=stranger.id, lines=[LineIn("1", 1000)], tenders=[],
                                 business_at=dt.datetime.now(SH))
        db.session.commit()
        card_id = db.session.scalars(select(Card.id).where(Card.member_id == stranger.id)).one()
    mine = enrol(pharmacy)
    open_counter(client, pharmacy, clerk)
    base = "/t/counter-pharmacy/counter/members"
    for path in (f"{base}/{stranger.id}", f"{base}/{stranger.id}/purchase", f"{base}/{stranger.id}/redeem",
                 f"{base}/{stranger.id}/top-up", f"{base}/{mine.id}/purchases/{bought['id']}",
                 f"{base}/{mine.id}/purchases/{bought['id']}/return"):
        assert client.get(path).status_code == 404, path
    token = csrf_from(client.get(f"{base}/{mine.id}").get_data(as_text=True))
    assert client.post(f"{base}/{mine.id}/cards/{card_id}/lost", data={"csrf_token": token}).status_code == 404
    with tenant_context(other):
        assert db.session.get(Card, (other.id, card_id)).status == "active"


def test_a_receipts_payment_kinds_read_as_people_call_them_and_unknown_ones_as_the_till_sent_them(app):
    from flask import render_template_string
    from flask_babel import force_locale

    template = '{% from "tenants/counter/_macros.html" import tender_label %}{{ tender_label(kind) }}'
    with app.test_request_context("/"):
        with force_locale("en"):
            assert render_template_string(template, kind="wechat").strip() == "WeChat Pay"
            assert render_template_string(template, kind="meituan").strip() == "meituan"
        with force_locale("zh_Hans_CN"):
            assert render_template_string(template, kind="alipay").strip() == "支付宝"


def test_the_counter_searches_by_post_so_a_phone_never_stands_in_a_url(client, pharmacy, clerk):
    member = enrol(pharmacy, phone="13812345678", name="王芳")
    open_counter(client, pharmacy, clerk)
    page = client.get("/t/counter-pharmacy/counter").get_data(as_text=True)
    assert 'method="post"' in page and 'hx-post="/t/counter-pharmacy/counter"' in page
    token = csrf_from(page)
    listed = client.post("/t/counter-pharmacy/counter", data={"q": "5678", "csrf_token": token},
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "王芳" in listed
    found = client.post("/t/counter-pharmacy/counter", data={"q": "13812345678", "csrf_token": token})
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/counter/members/{member.id}")
    assert "13812345678" not in found.headers["Location"]
    forged = client.post("/t/counter-pharmacy/counter", data={"q": "5678"})
    assert forged.status_code == 400  # CSRF, as every form
    nobody = client.post("/t/counter-pharmacy/counter", data={"q": "13700000000", "csrf_token": token},
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="phone" value="13700000000"' in nobody and "phone=137" not in nobody  # enrol it: in a body
    prefilled = client.post("/t/counter-pharmacy/counter/enrol",
                            data={"prefill": "1", "phone": "13700000000", "csrf_token": token})
    assert prefilled.status_code == 200 and 'value="13700000000"' in prefilled.get_data(as_text=True)


def test_the_api_looks_a_member_up_by_phone_in_the_body_without_an_idempotency_key(client, pharmacy):
    from tenants.services.api_keys import create_api_key

    member = enrol(pharmacy, phone="13812345678")
    with tenant_context(pharmacy):
        token = create_api_key("POS", created_by=None).token
        db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    found = client.post("/api/v1/members/lookup", json={"phone": "138 1234 5678"}, headers=auth)
    assert found.status_code == 200 and found.json["id"] == str(member.id)
    assert client.post("/api/v1/members/lookup", json={"phone": "13900000000"}, headers=auth).status_code == 404
    both = client.post("/api/v1/members/lookup", json={"phone": "13812345678", "card": "1"}, headers=auth)
    assert both.status_code == 422
