"""Billing against Stripe: the gateway on localstripe, localstripe's own signed webhooks, Checkout and
the billing portal (which localstripe lacks) against a recording endpoint, and events we sign ourselves:
bad signatures, duplicates, out-of-order delivery, every state a subscription goes through."""

import concurrent.futures
import datetime as dt
import json
import re
import secrets
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from saas.billing import stripe_gateway as gateway
from saas.billing.entitlements import access_of
from saas.billing.models import ProcessedStripeEvent
from saas.billing.plans import PLANS
from saas.billing.subscriptions import ensure_customer, period_end_of, plan_of
from saas.extensions import db
from saas.models import AuditEntry, Tenant
from tenants.scoping import tenant_context
from tests.conftest import csrf_from
from tests.integration.billing_support import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    RecordingStripe,
    give_card,
    localstripe_post,
    make_event,
    now,
    post_event,
    set_subscription,
    sign,
    stripe_subscription,
    subscription_row,
    switch_billing_on,
    wait_for,
)

CHAIN = PLANS["chain"].stripe_plan
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def localstripe(app, monkeypatch, stripe_api_base):
    """Billing on, talking to localstripe."""
    switch_billing_on(app, monkeypatch, stripe_api_base)
    return stripe_api_base


@pytest.fixture
def fake_stripe(app, monkeypatch):
    """Billing on, talking to a local endpoint that records requests and answers what the test says."""
    with RecordingStripe() as api:
        switch_billing_on(app, monkeypatch, api.base)
        yield api


def tenant_row(tenant) -> Tenant:
    return db.session.get(Tenant, tenant.id)


def processed(**filters) -> list[ProcessedStripeEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(ProcessedStripeEvent).filter_by(**filters)
                                   .order_by(ProcessedStripeEvent.received_at)))


def audit_count(tenant) -> int:
    with tenant_context(tenant):
        return db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "billing.subscription_changed"))


def subscribe_on_localstripe(base: str, tenant, plan_id: str = CHAIN) -> dict:
    """The tenant's Stripe customer (made by our code), a card, and a paid subscription to `plan_id`."""
    customer_id = ensure_customer(subscription_row(tenant), tenant_row(tenant))
    give_card(base, customer_id)
    return gateway.create_subscription(customer_id=customer_id, plan_id=plan_id,
                                       metadata={"tenant_id": str(tenant.id)})


# --- the one module that imports stripe ------------------------------------------------------------

IMPORTS_STRIPE = re.compile(r"^\s*(?:import\s+stripe\b|from\s+stripe(?:\.\w+)*\s+import\b)", re.MULTILINE)


def test_only_the_gateway_imports_stripe():
    skip = {".venv", ".git", "node_modules", "test-output", "instance"}
    offenders = sorted(
        str(path.relative_to(ROOT)) for path in ROOT.rglob("*.py")
        if not skip & set(path.relative_to(ROOT).parts) and IMPORTS_STRIPE.search(path.read_text(encoding="utf-8"))
    )
    assert offenders == ["saas/billing/stripe_gateway.py"]


# --- the gateway on localstripe --------------------------------------------------------------------

def test_the_catalogue_customers_subscriptions_cancellation_and_invoices_on_localstripe(app, localstripe, tenant_a):
    runner = app.test_cli_runner()
    for _ in range(2):  # creating the catalogue twice is harmless
        result = runner.invoke(args=["billing", "sync-catalogue"])
        assert result.exit_code == 0, result.output
        assert "huiyuan_chain_monthly_v1" in result.output
    plan = gateway.ensure_plan(CHAIN, product_id="huiyuan_chain", amount=1, currency="usd")
    assert (plan["id"], plan["amount"], plan["currency"], plan["interval"]) == (CHAIN, 99900, "cny", "month")
    assert gateway.ensure_product("huiyuan_chain", "ignored")["name"] == PLANS["chain"].stripe_name

    customer = gateway.create_customer(email="owner@tenant-a.example.com", name="Shop A", tenant_id=tenant_a.id,
                                       slug="tenant-a", locale="zh_CN")
    assert customer["id"].startswith("cus_") and customer["metadata"]["tenant_id"] == str(tenant_a.id)
    assert gateway.retrieve_customer(customer["id"])["email"] == "owner@tenant-a.example.com"
    give_card(localstripe, customer["id"])
    subscription = gateway.create_subscription(customer_id=customer["id"], plan_id=CHAIN,
                                               metadata={"tenant_id": str(tenant_a.id)})
    assert subscription["status"] == "active"
    assert plan_of(subscription) is PLANS["chain"]
    assert period_end_of(subscription) > now() + dt.timedelta(days=27)

    [invoice] = gateway.list_invoices(customer["id"])
    assert (invoice["status"], invoice["total"], invoice["subscription"]) == ("paid", 99900, subscription["id"])

    assert gateway.cancel_subscription(subscription["id"])["status"] == "canceled"
    assert gateway.retrieve_subscription(subscription["id"])["status"] == "canceled"
    with pytest.raises(gateway.NotFound):
        gateway.retrieve_subscription("sub_does_not_exist")


# --- localstripe's own webhooks --------------------------------------------------------------------

@pytest.fixture
def localstripe_webhooks(localstripe, live_server):
    """localstripe delivers its signed events to the app served on `live_server`; muted afterwards."""
    hook = f"huiyuan-{secrets.token_hex(4)}"
    localstripe_post(localstripe, f"/_config/webhooks/{hook}",
                     {"url": f"{live_server}/billing/webhook", "secret": WEBHOOK_SECRET})
    yield hook
    localstripe_post(localstripe, f"/_config/webhooks/{hook}",
                     {"url": f"{live_server}/billing/webhook", "secret": WEBHOOK_SECRET, "events": ["huiyuan.none"]},
                     as_json=True)


def test_localstripes_signed_webhooks_bring_the_tenant_in_step(localstripe, localstripe_webhooks, tenant_a):
    set_subscription(tenant_a, trial_end=now() - dt.timedelta(days=1))  # the trial is over
    subscription = subscribe_on_localstripe(localstripe, tenant_a)

    row = wait_for(lambda: (r := subscription_row(tenant_a)).status == "active" and r)
    assert (row.plan, row.stripe_subscription_id) == ("chain", subscription["id"])
    assert access_of(row, now=now()).level == "full"

    gateway.cancel_subscription(subscription["id"])
    row = wait_for(lambda: (r := subscription_row(tenant_a)).status == "canceled" and r)
    assert access_of(row, now=now()).read_only

    # Events arrive unordered: another event's fetch may bring "canceled" before the deletion event itself.
    wanted = {"customer.subscription.created", "customer.subscription.deleted"}
    mine = wait_for(lambda: (m := processed(tenant_id=tenant_a.id)) and wanted <= {e.type for e in m} and m)
    types = {event.type for event in mine}
    assert wanted <= types
    assert all(event.outcome == "processed" for event in mine)
    assert len({event.event_id for event in mine}) == len(mine)
    assert audit_count(tenant_a) >= 2  # trialing → active → canceled


# --- Checkout and the portal, against a recording endpoint -----------------------------------------

def test_upgrade_opens_stripe_checkout_in_subscription_mode_and_manage_billing_opens_the_portal(
        fake_stripe, client, tenant_a, login_as):
    fake_stripe.routes[("POST", "/v1/customers")] = (200, {"id": "cus_rec_1", "object": "customer"})
    fake_stripe.routes[("POST", "/v1/checkout/sessions")] = (200, {
        "id": "cs_test_1", "object": "checkout.session", "mode": "subscription",
        "url": "https://checkout.stripe.com/c/pay/cs_test_1"})
    fake_stripe.routes[("POST", "/v1/billing_portal/sessions")] = (200, {
        "id": "bps_test_1", "object": "billing_portal.session", "url": "https://billing.stripe.com/p/session/test_1"})
    trial_end = subscription_row(tenant_a).trial_end
    login_as("owner")

    token = csrf_from(client.get("/t/tenant-a/settings/billing").get_data(as_text=True))
    response = client.post("/t/tenant-a/settings/billing/checkout", data={"csrf_token": token, "plan": "chain"})
    assert response.status_code == 303
    assert response.headers["Location"] == "https://checkout.stripe.com/c/pay/cs_test_1"

    [customer] = fake_stripe.calls("POST", "/v1/customers")
    assert customer["form"]["email"] == "owner@tenant-a.example.com"
    assert customer["form"]["metadata[tenant_id]"] == str(tenant_a.id)
    [session] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert session["headers"]["Authorization"] == f"Bearer {SECRET_KEY}"
    form = session["form"]
    assert form["mode"] == "subscription"
    assert form["customer"] == "cus_rec_1"
    assert form["line_items[0][price]"] == CHAIN and form["line_items[0][quantity]"] == "1"
    assert form["success_url"] == "http://localhost/t/tenant-a/settings/billing?checkout=success"
    assert form["cancel_url"] == "http://localhost/t/tenant-a/settings/billing?checkout=canceled"
    assert form["client_reference_id"] == str(tenant_a.id)
    assert form["metadata[tenant_id]"] == str(tenant_a.id) and form["metadata[plan]"] == "chain"
    assert form["subscription_data[metadata][tenant_id]"] == str(tenant_a.id)
    # The days left of the free trial carry over into the paid subscription.
    assert abs(int(form["subscription_data[trial_end]"]) - trial_end.timestamp()) < 2
    assert form["locale"] == "zh"
    assert subscription_row(tenant_a).stripe_customer_id == "cus_rec_1"

    page = client.get("/t/tenant-a/settings/billing").get_data(as_text=True)
    assert "/settings/billing/portal" in page
    response = client.post("/t/tenant-a/settings/billing/portal", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    assert response.headers["Location"] == "https://billing.stripe.com/p/session/test_1"
    [portal] = fake_stripe.calls("POST", "/v1/billing_portal/sessions")
    assert portal["form"]["customer"] == "cus_rec_1"
    assert portal["form"]["return_url"] == "http://localhost/t/tenant-a/settings/billing"

    # A second visit to Checkout reuses the customer.
    client.post("/t/tenant-a/settings/billing/checkout", data={"csrf_token": csrf_from(page), "plan": "single"})
    assert len(fake_stripe.calls("POST", "/v1/customers")) == 1
    assert fake_stripe.calls("POST", "/v1/checkout/sessions")[1]["form"]["line_items[0][price]"] == \
        PLANS["single"].stripe_plan


def test_when_stripe_cannot_be_reached_the_owner_is_told_and_nothing_is_kept(fake_stripe, client, tenant_a,
                                                                               login_as):
    login_as("owner")
    token = csrf_from(client.get("/t/tenant-a/settings/billing").get_data(as_text=True))
    response = client.post("/t/tenant-a/settings/billing/checkout", data={"csrf_token": token, "plan": "chain"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/billing")
    assert subscription_row(tenant_a).stripe_customer_id is None
    response = client.post("/t/tenant-a/settings/billing/portal", data={"csrf_token": token})
    assert response.status_code == 302  # no billing account yet: back to the page with a message


# --- the whole life of a subscription, with events we sign ourselves -------------------------------

def test_checkout_then_a_failed_payment_grace_read_only_recovery_and_cancellation(fake_stripe, client, tenant_a):
    set_subscription(tenant_a, stripe_customer_id="cus_flow", trial_end=now() - dt.timedelta(days=1))
    path = ("GET", "/v1/subscriptions/sub_flow")

    def stripe_says(status: str) -> None:
        fake_stripe.routes[path] = (200, stripe_subscription("sub_flow", status=status, customer="cus_flow",
                                                             tenant_id=tenant_a.id))

    stripe_says("active")
    session = {"id": "cs_flow", "object": "checkout.session", "mode": "subscription", "customer": "cus_flow",
               "subscription": "sub_flow", "client_reference_id": str(tenant_a.id),
               "metadata": {"tenant_id": str(tenant_a.id), "plan": "chain"}, "payment_status": "paid"}
    response = post_event(client, make_event("checkout.session.completed", session))
    assert response.status_code == 200 and response.json == {"status": "processed"}
    row = subscription_row(tenant_a)
    assert (row.status, row.plan, row.stripe_subscription_id) == ("active", "chain", "sub_flow")
    assert row.current_period_end is not None
    assert access_of(row, now=now()).level == "full"

    # The renewal fails: past due, with GRACE_DAYS of full use.
    stripe_says("past_due")
    invoice = {"id": "in_flow", "object": "invoice", "customer": "cus_flow", "status": "open",
               "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_flow"}}}
    failed_at = now().replace(microsecond=0)
    assert post_event(client, make_event("invoice.payment_failed", invoice, created=failed_at)).status_code == 200
    row = subscription_row(tenant_a)
    assert row.status == "past_due"
    assert row.grace_until.astimezone(dt.UTC) == failed_at + dt.timedelta(days=7)
    assert access_of(row, now=now()).level == "grace"
    # A retry that fails again does not restart the grace period.
    post_event(client, make_event("invoice.payment_failed", invoice, created=failed_at + dt.timedelta(days=3)))
    assert subscription_row(tenant_a).grace_until.astimezone(dt.UTC) == failed_at + dt.timedelta(days=7)
    assert access_of(subscription_row(tenant_a), now=failed_at + dt.timedelta(days=8)).read_only

    # Paid at last: active again, the grace period forgotten.
    stripe_says("active")
    post_event(client, make_event("invoice.paid", {**invoice, "status": "paid"}))
    row = subscription_row(tenant_a)
    assert (row.status, row.grace_until) == ("active", None)

    # Canceled (in the portal): read-only.
    stripe_says("canceled")
    canceled = stripe_subscription("sub_flow", status="canceled", customer="cus_flow", tenant_id=tenant_a.id)
    post_event(client, make_event("customer.subscription.deleted", canceled))
    row = subscription_row(tenant_a)
    assert row.status == "canceled" and access_of(row, now=now()).read_only
    assert audit_count(tenant_a) == 4  # active, past_due, active, canceled


def test_past_due_news_older_than_the_grace_period_makes_the_tenant_read_only_at_once(fake_stripe, client, tenant_a):
    set_subscription(tenant_a, stripe_customer_id="cus_late", trial_end=now() - dt.timedelta(days=30))
    fake_stripe.routes[("GET", "/v1/subscriptions/sub_late")] = (200, stripe_subscription(
        "sub_late", status="past_due", customer="cus_late"))
    invoice = {"id": "in_late", "object": "invoice", "customer": "cus_late", "subscription": "sub_late"}
    post_event(client, make_event("invoice.payment_failed", invoice, created=now() - dt.timedelta(days=8)))
    row = subscription_row(tenant_a)
    assert row.status == "past_due" and access_of(row, now=now()).read_only


# --- signatures ------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "no signature", "stale timestamp", "not json"])
def test_a_webhook_that_does_not_verify_is_refused_and_nothing_is_processed(fake_stripe, client, tenant_a, how):
    set_subscription(tenant_a, stripe_customer_id="cus_sig")
    fake_stripe.routes[("GET", "/v1/subscriptions/sub_sig")] = (200, stripe_subscription(
        "sub_sig", status="active", customer="cus_sig"))
    payload = json.dumps(make_event("customer.subscription.updated", stripe_subscription(
        "sub_sig", status="active", customer="cus_sig"))).encode()
    headers = {"Stripe-Signature": sign(payload)}
    if how == "wrong secret":
        headers["Stripe-Signature"] = sign(payload, "whsec_someone_else")
    elif how == "tampered body":
        payload = payload.replace(b'"active"', b'"canceled"')
    elif how == "no signature":
        headers = {}
    elif how == "stale timestamp":
        headers["Stripe-Signature"] = sign(payload, timestamp=int(now().timestamp()) - 600)
    elif how == "not json":
        payload = b"not json"
        headers["Stripe-Signature"] = sign(payload)
    response = client.post("/billing/webhook", data=payload, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert processed() == []
    assert fake_stripe.requests == []
    assert subscription_row(tenant_a).status == "trialing"


def test_webhooks_are_refused_while_the_webhook_secret_is_missing(app, fake_stripe, client, monkeypatch, tenant_a):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", None)
    response = post_event(client, make_event("customer.created", {"id": "cus_x", "object": "customer"}))
    assert response.status_code == 503
    assert processed() == []


# --- duplicates ------------------------------------------------------------------------------------

def test_a_redelivered_event_is_processed_once(fake_stripe, client, tenant_a):
    set_subscription(tenant_a, stripe_customer_id="cus_dup")
    fake_stripe.routes[("GET", "/v1/subscriptions/sub_dup")] = (200, stripe_subscription(
        "sub_dup", status="active", customer="cus_dup"))
    event = make_event("customer.subscription.created", stripe_subscription("sub_dup", status="active",
                                                                            customer="cus_dup"))
    assert post_event(client, event).json == {"status": "processed"}
    assert post_event(client, event).json == {"status": "duplicate"}
    assert post_event(client, event).json == {"status": "duplicate"}
    assert [e.event_id for e in processed()] == [event["id"]]
    assert len(fake_stripe.calls("GET", "/v1/subscriptions/sub_dup")) == 1
    assert audit_count(tenant_a) == 1


def test_the_same_event_delivered_concurrently_is_processed_once(fake_stripe, live_server, tenant_a):
    set_subscription(tenant_a, stripe_customer_id="cus_race")
    fake_stripe.routes[("GET", "/v1/subscriptions/sub_race")] = (200, stripe_subscription(
        "sub_race", status="active", customer="cus_race"))
    payload = json.dumps(make_event("customer.subscription.created", stripe_subscription(
        "sub_race", status="active", customer="cus_race"))).encode()

    def deliver(_):
        request = urllib.request.Request(f"{live_server}/billing/webhook", data=payload, method="POST", headers={
            "Content-Type": "application/json", "Stripe-Signature": sign(payload)})
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())["status"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = sorted(pool.map(deliver, range(6)))
    assert outcomes == ["duplicate"] * 5 + ["processed"]
    assert len(processed()) == 1
    assert subscription_row(tenant_a).status == "active"


# --- out of order ----------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_events_delivered_out_of_order_end_on_stripes_current_state(localstripe, client, tenant_a, order):
    set_subscription(tenant_a, trial_end=now() - dt.timedelta(days=1))
    active = subscribe_on_localstripe(localstripe, tenant_a)
    canceled = gateway.cancel_subscription(active["id"])  # Stripe's current state: canceled
    t0 = now() - dt.timedelta(minutes=3)
    invoice = {"id": "in_ooo", "object": "invoice", "customer": active["customer"], "subscription": active["id"]}
    events = [
        make_event("customer.subscription.created", active, created=t0),
        make_event("invoice.payment_succeeded", invoice, created=t0),
        make_event("customer.subscription.updated", active, created=t0 + dt.timedelta(seconds=30)),
        make_event("customer.subscription.deleted", canceled, created=t0 + dt.timedelta(seconds=60)),
    ]
    delivery = events[::-1] if order == "reversed" else [events[2], events[3], events[0], events[1]]
    for event in delivery:
        assert post_event(client, event).json == {"status": "processed"}
        assert subscription_row(tenant_a).status == "canceled"  # never rolled back by older news
    row = subscription_row(tenant_a)
    assert (row.status, row.plan, row.stripe_subscription_id) == ("canceled", "chain", active["id"])
    assert row.last_event_at.astimezone(dt.UTC) == (t0 + dt.timedelta(seconds=60)).replace(microsecond=0)
    assert access_of(row, now=now()).read_only


def test_late_news_about_an_old_canceled_subscription_does_not_replace_the_new_one(localstripe, client, tenant_a):
    old = subscribe_on_localstripe(localstripe, tenant_a)
    old_canceled = gateway.cancel_subscription(old["id"])
    new = gateway.create_subscription(customer_id=old["customer"], plan_id=PLANS["single"].stripe_plan,
                                      metadata={"tenant_id": str(tenant_a.id)})
    post_event(client, make_event("customer.subscription.created", new))
    post_event(client, make_event("customer.subscription.updated", old))  # late, and Stripe says canceled
    post_event(client, make_event("customer.subscription.deleted", old_canceled))
    row = subscription_row(tenant_a)
    assert (row.status, row.plan, row.stripe_subscription_id) == ("active", "single", new["id"])


def test_without_stripes_copy_an_older_event_never_overwrites_a_newer_one(fake_stripe, client, tenant_a):
    """Stripe no longer knows the subscription (404): the event's own copy counts, if not older."""
    set_subscription(tenant_a, stripe_customer_id="cus_gone")
    t = now() - dt.timedelta(minutes=5)

    def update(status, seconds):
        return make_event("customer.subscription.updated",
                          stripe_subscription("sub_gone", status=status, customer="cus_gone"),
                          created=t + dt.timedelta(seconds=seconds))

    post_event(client, update("past_due", 20))
    post_event(client, update("active", 10))  # older: ignored
    assert subscription_row(tenant_a).status == "past_due"
    post_event(client, update("active", 30))
    assert subscription_row(tenant_a).status == "active"


# --- the rest --------------------------------------------------------------------------------------

def test_events_for_no_tenant_or_of_no_interest_are_acknowledged_and_recorded(fake_stripe, client, tenant_a):
    stranger = make_event("customer.subscription.updated", stripe_subscription("sub_x", status="active",
                                                                               customer="cus_nobody"))
    assert post_event(client, stranger).json == {"status": "unmatched"}
    noise = make_event("customer.created", {"id": "cus_new", "object": "customer"})
    assert post_event(client, noise).json == {"status": "ignored"}
    assert {(e.event_id, e.outcome) for e in processed()} == {(stranger["id"], "unmatched"), (noise["id"], "ignored")}
    assert subscription_row(tenant_a).status == "trialing"


def test_when_stripe_refuses_the_event_is_not_kept_and_its_redelivery_is_processed(fake_stripe, client, tenant_a):
    set_subscription(tenant_a, stripe_customer_id="cus_down")
    event = make_event("customer.subscription.updated", stripe_subscription("sub_down", status="active",
                                                                            customer="cus_down"))
    fake_stripe.routes[("GET", "/v1/subscriptions/sub_down")] = (401, {"error": {
        "type": "invalid_request_error", "message": "Invalid API Key provided"}})
    assert post_event(client, event).status_code == 503
    assert processed() == [] and subscription_row(tenant_a).status == "trialing"
    fake_stripe.routes[("GET", "/v1/subscriptions/sub_down")] = (200, stripe_subscription(
        "sub_down", status="active", customer="cus_down"))
    assert post_event(client, event).json == {"status": "processed"}
    assert subscription_row(tenant_a).status == "active"
