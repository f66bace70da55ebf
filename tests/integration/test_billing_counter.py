"""At the counter, and through the POS API, of a read-only business members' balances stay usable ("it is
their money"): a purchase paid with points or stored value, a return, a redemption go through;
enrolment, top-ups and cash-only purchases get the read-only message."""

import dataclasses
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from saas.billing.plans import PLANS
from saas.extensions import db
from saas.models import StaffUser
from tenants.counter import register_device, set_pin
from tenants.models import Member, Purchase, Store, TopUp
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, record_purchase
from tenants.services.stored_value import top_up
from tenants.views.counter_session import COOKIE
from tests.conftest import csrf_from
from tests.factories import make_staff, make_tenant
from tests.integration.billing_support import set_subscription, states, switch_billing_on

pytestmark = pytest.mark.tenant_clock  # dates matter here: run either side of the UTC date change

SH = ZoneInfo("Asia/Shanghai")
PIN, CARD_PIN = "2580", "864209"
READ_ONLY_TEXT = "read-only"


@pytest.fixture
def shop(app, app_ctx, monkeypatch, stripe_api_base):
    switch_billing_on(app, monkeypatch, stripe_api_base)
    return make_tenant("billing-counter", vertical="pharmacy", language="en")


def open_counter(client, tenant, user) -> None:
    """`client` becomes a registered tablet of the first store, with `user` signed in by PIN."""
    with tenant_context(tenant):
        person = db.session.get(StaffUser, (tenant.id, user.id))
        set_pin(person, PIN)
        owner = db.session.scalars(select(StaffUser).where(StaffUser.role == "owner")).first()
        store = db.session.scalars(select(Store).order_by(Store.code)).first()
        _device, token = register_device(manager=owner, store_id=store.id, name="Till 1")
        db.session.commit()
    client.set_cookie(COOKIE, token, path=f"/t/{tenant.slug}/")
    page = client.get(f"/t/{tenant.slug}/counter/pin")
    done = client.post(f"/t/{tenant.slug}/counter/pin",
                       data={"staff_id": user.id, "pin": PIN, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.status_code == 303, done.get_data(as_text=True)[:500]


def form_key(html: str) -> str:
    return re.search(r'name="idem"[^>]*value="([^"]+)"', html).group(1)


def count(tenant, model) -> int:
    with tenant_context(tenant):
        db.session.expire_all()
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_read_only_business_still_lets_members_spend_and_get_back_their_balances(client, shop):
    with tenant_context(shop):
        member = enroll_member(business_at=dt.datetime.now(SH), name="王芳", phone="13812345678", pin=CARD_PIN)
        top_up(member_id=member.id, amount_fen=100000, business_at=dt.datetime.now(SH))
        record_purchase(member_id=member.id, lines=[LineIn("1", 50000)], tenders=[], business_at=dt.datetime.now(SH))
        db.session.commit()  # ¥1,000 (+ ¥50 bonus) of stored value and 500 points
    open_counter(client, shop, make_staff(shop, "clerk"))
    set_subscription(shop, **states()["canceled"])
    base = f"/t/{shop.slug}/counter/members/{member.id}"
    panel = client.get(base).get_data(as_text=True)
    assert 'id="billing-banner"' in panel and "Members can still use their points" in panel  # the clerk knows

    page = client.get(f"{base}/purchase").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "idem": form_key(page), "line_count": "1", "l0-price": "100",
            "l0-qty": "1", "l0-status": "regular"}
    assert client.post(f"{base}/purchase/preview", data=data).status_code == 200  # writes nothing

    # Cash only: the business is not running its loyalty program for free.
    cash = client.post(f"{base}/purchase", data=data)
    assert cash.status_code == 402 and 'id="billing-refused"' in cash.get_data(as_text=True)
    assert count(shop, Purchase) == 1

    # Paid from the member's stored value, or partly with points: their money, so it goes through.
    paid = client.post(f"{base}/purchase", data={**data, "stored_value": "100", "card_pin": CARD_PIN})
    assert paid.status_code == 303, paid.get_data(as_text=True)[:800]
    page = client.get(f"{base}/purchase").get_data(as_text=True)
    with_points = client.post(f"{base}/purchase", data={**data, "idem": form_key(page), "points": "200"})
    assert with_points.status_code == 303, with_points.get_data(as_text=True)[:800]
    assert count(shop, Purchase) == 3

    # A return gives the member's money back.
    with tenant_context(shop):
        purchase_id = db.session.scalars(select(Purchase.id).where(Purchase.staff_id.is_not(None))
                                         .order_by(Purchase.id)).first()
    url = f"{base}/purchases/{purchase_id}/return"
    page = client.get(url).get_data(as_text=True)
    lines = dict.fromkeys(re.findall(r'name="(q-[^"]+)"', page), "1")
    returned = client.post(url, data={"csrf_token": csrf_from(page), "idem": form_key(page), **lines})
    assert returned.status_code == 303, returned.get_data(as_text=True)[:800]

    # Redeeming is not refused by billing (the pharmacy has no rewards: the view itself says so).
    page = client.get(f"{base}/redeem").get_data(as_text=True)
    redeem = client.post(f"{base}/redeem", data={"csrf_token": csrf_from(page), "idem": "r1", "kind": "catalogue",
                                                 "code": "none"})
    assert redeem.status_code == 422 and 'id="billing-refused"' not in redeem.get_data(as_text=True)

    # No new money in, no new members.
    page = client.get(f"{base}/top-up").get_data(as_text=True)
    refused = client.post(f"{base}/top-up", data={"csrf_token": csrf_from(page), "idem": form_key(page),
                                                  "amount": "500"})
    assert refused.status_code == 402 and count(shop, TopUp) == 1
    page = client.get(f"/t/{shop.slug}/counter/enrol").get_data(as_text=True)
    refused = client.post(f"/t/{shop.slug}/counter/enrol", data={"csrf_token": csrf_from(page),
                                                                         "name": "新会员", "phone": "13900001111"})
    assert refused.status_code == 402 and count(shop, Member) == 1

    # The counter's forms are htmx: the refusal sends the tablet to a page that says why, with a way back.
    refused = client.post(f"{base}/top-up", data={"csrf_token": csrf_from(page), "amount": "500"},
                          headers={"HX-Request": "true", "HX-Current-URL": f"http://localhost{base}/top-up"})
    assert refused.status_code == 402
    target = refused.headers["HX-Redirect"]
    assert target.startswith(f"/t/{shop.slug}/settings/billing/refused")
    explained = client.get(target).get_data(as_text=True)
    assert READ_ONLY_TEXT in explained and f'href="{base}/top-up"' in explained

    # Switching person stays possible.
    assert client.post(f"/t/{shop.slug}/counter/lock", data={"csrf_token": csrf_from(page)}).status_code == 303


def test_a_pos_of_a_read_only_business_still_spends_members_balances_through_the_api(client, shop):
    with tenant_context(shop):
        member = enroll_member(business_at=dt.datetime.now(SH), name="王芳", phone="13812345678", pin=CARD_PIN)
        top_up(member_id=member.id, amount_fen=100000, business_at=dt.datetime.now(SH))
        token = create_api_key("Front POS", created_by=None).token
        db.session.commit()
    set_subscription(shop, **states()["unpaid"])
    keys = iter(range(100))

    def post(path, body):
        return client.post(f"/api/v1{path}", json=body, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": f"pos-{next(keys)}", "Accept-Language": "en"})

    lines = [{"line_id": "1", "regular_fen": 10000}]
    cash = post("/purchases", {"member_id": str(member.id), "lines": lines,
                               "tenders": [{"kind": "wechat", "amount_fen": 10000}]})
    assert cash.status_code == 402 and cash.json["error"]["code"] == "subscription_read_only"
    assert READ_ONLY_TEXT in cash.json["error"]["message"]
    paid = post("/purchases", {"member_id": str(member.id), "lines": lines, "pin": CARD_PIN,
                               "tenders": [{"kind": "stored_value", "amount_fen": 10000}]})
    assert paid.status_code == 201, paid.json
    assert post(f"/members/{member.id}/top-ups", {"amount_fen": 5000}).status_code == 402
    assert post("/members", {"name": "新会员", "phone": "13900001111"}).status_code == 402
    assert client.get(f"/api/v1/members/{member.id}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert count(shop, Purchase) == 1 and count(shop, Member) == 1


def test_the_member_limit_is_explained_at_the_counter_and_to_the_pos(client, shop, monkeypatch):
    plan = PLANS["trial"]
    monkeypatch.setitem(PLANS, "trial", dataclasses.replace(plan, limits=dataclasses.replace(plan.limits, members=1)))
    with tenant_context(shop):
        enroll_member(business_at=dt.datetime.now(SH), name="王芳", phone="13812345678")
        token = create_api_key("Front POS", created_by=None).token
        db.session.commit()

    refused = client.post("/api/v1/members", json={"name": "新会员", "phone": "13900001111"}, headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": "enrol-1", "Accept-Language": "en"})
    assert refused.status_code == 402
    error = refused.json["error"]
    assert error["code"] == "plan_limit_reached"
    assert error["params"]["kind"] == "members" and error["params"]["limit"] == 1
    assert error["params"]["upgrade_url"].endswith(f"/t/{shop.slug}/settings/billing")
    assert "allows 1 members" in error["message"] and "Upgrade your plan" in error["message"]

    open_counter(client, shop, make_staff(shop, "clerk"))
    page = client.get(f"/t/{shop.slug}/counter/enrol").get_data(as_text=True)
    shown = client.post(f"/t/{shop.slug}/counter/enrol", data={
        "csrf_token": csrf_from(page), "idem": form_key(page), "name": "新会员", "phone": "13900001111"})
    assert shown.status_code == 422 and "Upgrade your plan to enrol more." in shown.get_data(as_text=True)
    assert count(shop, Member) == 1
