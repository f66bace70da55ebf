"""What a tenant may do in each subscription state: trial, active, past due (in and after the grace
period), unpaid, canceled, trial expired; the read-only allow-list; plan limits; billing switched off.
(Members' balances at the counter and through the POS API: test_billing_counter.py.)
"""

import dataclasses
import datetime as dt
import re

import pytest

from saas.billing import entitlements
from saas.billing.entitlements import Open, PlanLimitReached, access_of, check_limit
from saas.billing.models import Subscription
from saas.billing.plans import GRACE_DAYS, PLANS, TRIAL_DAYS, Limits
from saas.extensions import db
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tenants.services.members import enroll_member
from tests.conftest import csrf_from
from tests.factories import PASSWORD, make_staff
from tests.integration.billing_support import (
    READ_ONLY_STATES,
    now,
    set_subscription,
    states,
    subscription_row,
    switch_billing_on,
)

READ_ONLY_TEXT = "read-only"


@pytest.fixture
def billing(app, monkeypatch, stripe_api_base):
    """Billing switched on (pointing at localstripe, so nothing can reach the real Stripe)."""
    switch_billing_on(app, monkeypatch, stripe_api_base)
    return app


def english(client):
    page = client.get("/")
    client.post("/lang", data={"lang": "en", "next": "/", "csrf_token": csrf_from(page.get_data(as_text=True))})


def store_id(tenant) -> str:
    from tenants.models import Store

    with tenant_context(tenant):
        return str(db.session.query(Store).order_by(Store.code).first().id)


def invite(client, tenant, email="new.clerk@example.com"):
    page = client.get(f"/t/{tenant.slug}/staff/invite")
    assert page.status_code == 200
    return client.post(f"/t/{tenant.slug}/staff/invite", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "name": "New clerk", "email": email,
        "role": "clerk", "store_id": store_id(tenant), "region_id": ""})


def api_key(tenant) -> str:
    with tenant_context(tenant):
        return create_api_key("Counter POS", created_by=None).token


def api_post_version(client, key: str):
    """A POST to the JSON API: refused by the read-only check, or else by validation (empty body)."""
    return client.post("/api/v1/program/versions", json={},
                       headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"k-{now().timestamp()}",
                                "Accept-Language": "en"})


# --- sign-up starts the trial ----------------------------------------------------------------------

def test_sign_up_starts_a_14_day_trial_on_the_trial_plan(tenant_a):
    row = subscription_row(tenant_a)
    assert (row.plan, row.status, row.stripe_customer_id, row.stripe_subscription_id) == ("trial", "trialing",
                                                                                       None, None)
    assert TRIAL_DAYS == 14
    trial_end = row.trial_end.astimezone(dt.UTC)
    assert abs(trial_end - (now() + dt.timedelta(days=14))) < dt.timedelta(minutes=5)


# --- the rule, state by state ----------------------------------------------------------------------

@pytest.mark.parametrize(("state", "level", "reason"), [
    ("trialing", "full", "trial"),
    ("trial_expired", "read_only", "trial_expired"),
    ("active", "full", "active"),
    ("past_due_in_grace", "grace", "past_due"),
    ("past_due_after_grace", "read_only", "past_due"),
    ("unpaid", "read_only", "unpaid"),
    ("canceled", "read_only", "canceled"),
])
def test_each_subscription_state_gives_its_level_of_access(state, level, reason):
    row = Subscription(tenant_id=1, cancel_at_period_end=False, **states()[state])
    access = access_of(row, now=now())
    assert (access.level, access.reason) == (level, reason)
    assert access_of(row, now=now(), enabled=False).level == "full"  # no Stripe keys: everything allowed


def test_a_subscription_canceled_during_the_trial_keeps_the_trial_and_incomplete_follows_the_trial():
    t = now()
    canceled = Subscription(tenant_id=1, plan="chain", status="canceled", trial_end=t + dt.timedelta(days=3))
    assert access_of(canceled, now=t).level == "full"
    incomplete = Subscription(tenant_id=1, plan="chain", status="incomplete", trial_end=t + dt.timedelta(days=3))
    assert access_of(incomplete, now=t).level == "full"
    assert access_of(incomplete, now=t + dt.timedelta(days=4)).level == "read_only"


def test_the_grace_period_is_configured_in_plans_py():
    assert GRACE_DAYS == 7


# --- requests, state by state ----------------------------------------------------------------------

@pytest.mark.parametrize("state", list(states()))
def test_what_passes_and_what_gets_the_read_only_message_in_each_state(billing, client, tenant_a, login_as, state):
    set_subscription(tenant_a, **states()[state])
    read_only = state in READ_ONLY_STATES
    clerk = make_staff(tenant_a, "clerk")
    key = api_key(tenant_a)
    login_as("owner")
    english(client)

    # Reading always works, and read-only tenants see why they cannot change anything.
    home = client.get("/t/tenant-a/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert ('id="billing-banner"' in html) == (state in READ_ONLY_STATES | {"past_due_in_grace"})
    if state == "past_due_in_grace":
        assert "did not go through" in html and "billing-banner-grace" in html
    if read_only:
        assert READ_ONLY_TEXT in html and "billing-banner-readonly" in html
    assert client.get("/t/tenant-a/staff").status_code == 200
    assert client.get("/t/tenant-a/settings/billing").status_code == 200

    # A change: refused with 402 and the message (and a way to the billing page) when read-only.
    response = invite(client, tenant_a)
    if read_only:
        assert response.status_code == 402
        page = response.get_data(as_text=True)
        assert READ_ONLY_TEXT in page and "export" in page and "/t/tenant-a/settings/billing" in page
    else:
        assert response.status_code == 200 and "new.clerk@example.com" in response.get_data(as_text=True)

    # On the allow-list: locking a person out works in every state.
    token = csrf_from(client.get(f"/t/tenant-a/staff/{clerk.id}").get_data(as_text=True))
    assert client.post(f"/t/tenant-a/staff/{clerk.id}/deactivate", data={"csrf_token": token}).status_code == 302
    with tenant_context(tenant_a):
        db.session.expire_all()
        assert db.session.get(type(clerk), (tenant_a.id, clerk.id)).active is False

    # The JSON API: reading works; a change is a 402 JSON error when read-only (else it reaches validation).
    assert client.get("/api/v1/program", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    api = api_post_version(client, key)
    if read_only:
        assert api.status_code == 402
        assert api.json["error"]["code"] == "subscription_read_only"
        assert READ_ONLY_TEXT in api.json["error"]["message"]
    else:
        assert api.status_code == 422 and api.json["error"]["code"] == "validation_failed"

    # Signing out and in again stays possible.
    token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    assert client.post("/t/tenant-a/logout", data={"csrf_token": token}).status_code == 302


def test_an_endpoint_on_the_allow_list_stays_open_in_read_only_mode(billing, client, tenant_a, monkeypatch):
    """How the counter's balance-paying endpoints will stay open: by being on READ_ONLY_OPEN."""
    set_subscription(tenant_a, **states()["canceled"])
    key = api_key(tenant_a)
    assert api_post_version(client, key).status_code == 402
    monkeypatch.setitem(entitlements.READ_ONLY_OPEN, "api_v1.post_version", Open("test: as if it paid with points"))
    assert api_post_version(client, key).status_code == 422  # past the read-only check


def test_the_read_only_allow_list_is_documented_and_names_real_endpoints(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(entitlements.READ_ONLY_OPEN) <= endpoints
    assert all(entry.reason for entry in entitlements.READ_ONLY_OPEN.values())
    assert "tenant.billing.checkout" in entitlements.READ_ONLY_OPEN  # a read-only tenant can pay its way out


def test_everyone_is_checked_but_signing_in_stays_open(billing, client, tenant_a):
    """Counter operators have no staff session, so the check does not depend on one."""
    set_subscription(tenant_a, **states()["canceled"])
    token = csrf_from(client.get("/t/tenant-a/login").get_data(as_text=True))
    response = client.post("/t/tenant-a/staff/invite", data={"csrf_token": token})
    assert response.status_code == 402
    signed_in = client.post("/t/tenant-a/login", data={"csrf_token": token, "email": "owner@tenant-a.example.com",
                                                       "password": PASSWORD})
    assert signed_in.status_code == 302


def test_a_clerk_sees_the_banner_without_a_billing_link(billing, client, tenant_a, login_as):
    set_subscription(tenant_a, **states()["unpaid"])
    login_as("clerk")
    english(client)
    html = client.get("/t/tenant-a/").get_data(as_text=True)
    assert 'id="billing-banner"' in html and "Please tell the owner" in html
    assert "/settings/billing" not in html
    assert client.get("/t/tenant-a/settings/billing").status_code == 403


# --- plan limits -----------------------------------------------------------------------------------

def limit_plan(monkeypatch, key: str, **limits) -> None:
    plan = PLANS[key]
    monkeypatch.setitem(PLANS, key, dataclasses.replace(plan, limits=dataclasses.replace(plan.limits, **limits)))


def test_enrolling_beyond_the_plans_members_is_refused_with_plan_limit_reached(billing, tenant_a, monkeypatch):
    set_subscription(tenant_a, **states()["active"])  # chain
    limit_plan(monkeypatch, "chain", members=2)
    with tenant_context(tenant_a):
        enroll_member(business_at=now(), name="一", phone="13800000001")
        enroll_member(business_at=now(), name="二", phone="13800000002")
        db.session.commit()
        with pytest.raises(PlanLimitReached) as refused:
            enroll_member(business_at=now(), name="三", phone="13800000003")
        db.session.rollback()
    err = refused.value
    assert err.code == "plan_limit_reached" and err.status == 402
    body = err.to_json()["error"]
    assert body["code"] == "plan_limit_reached"
    assert body["params"]["kind"] == "members" and body["params"]["limit"] == 2 and body["params"]["plan"] == "chain"
    assert "2" in body["message"]


def test_inviting_beyond_the_plans_staff_shows_the_message_and_an_upgrade_link(billing, client, tenant_a, login_as,
                                                                                monkeypatch):
    login_as("owner")
    english(client)
    with tenant_context(tenant_a):
        staff_now = entitlements.usage()["staff"]
    limit_plan(monkeypatch, "trial", staff=staff_now)
    response = invite(client, tenant_a)
    assert response.status_code == 402
    html = response.get_data(as_text=True)
    assert f"allows {staff_now} staff accounts" in html and "Upgrade your plan" in html
    assert 'href="/t/tenant-a/settings/billing"' in html
    # One more seat and it works.
    limit_plan(monkeypatch, "trial", staff=staff_now + 1)
    assert invite(client, tenant_a).status_code == 200


def test_stores_are_limited_and_enterprise_or_billing_off_is_unlimited(app, monkeypatch, stripe_api_base, tenant_a):
    switch_billing_on(app, monkeypatch, stripe_api_base)
    with tenant_context(tenant_a):
        stores = entitlements.usage()["stores"]
        limit_plan(monkeypatch, "trial", stores=stores)
        with pytest.raises(PlanLimitReached) as refused:
            check_limit("stores")
        assert refused.value.params["limit"] == stores
        limit_plan(monkeypatch, "trial", stores=stores + 1)
        check_limit("stores")
    set_subscription(tenant_a, plan="enterprise", status="active")
    assert PLANS["enterprise"].limits == Limits(None, None, None)
    with tenant_context(tenant_a):
        check_limit("stores", adding=10_000)
        check_limit("members", adding=10_000_000)
    set_subscription(tenant_a, plan="trial", status="trialing")
    limit_plan(monkeypatch, "trial", stores=0, members=0, staff=0)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    with tenant_context(tenant_a):
        check_limit("stores")
        check_limit("members")
        check_limit("staff")


# --- no keys: billing off --------------------------------------------------------------------------

def test_without_stripe_keys_billing_is_off_everything_is_allowed_and_the_page_says_so(app, client, tenant_a,
                                                                                      login_as):
    assert not app.config.get("STRIPE_SECRET_KEY")
    set_subscription(tenant_a, **states()["canceled"])
    login_as("owner")
    english(client)
    home = client.get("/t/tenant-a/").get_data(as_text=True)
    assert 'id="billing-banner"' not in home
    assert invite(client, tenant_a).status_code == 200
    page = client.get("/t/tenant-a/settings/billing").get_data(as_text=True)
    assert "Billing is not set up on this server" in page
    assert "/settings/billing/checkout" not in page
    token = csrf_from(page)
    assert client.post("/t/tenant-a/settings/billing/checkout", data={"csrf_token": token,
                                                                      "plan": "chain"}).status_code == 404
    assert client.post("/billing/webhook", data=b"{}", content_type="application/json").status_code == 404


# --- the billing page ------------------------------------------------------------------------------

def test_the_owner_sees_plan_state_trial_days_usage_and_the_plans(billing, client, tenant_a, login_as):
    login_as("owner")
    english(client)
    with tenant_context(tenant_a):
        enroll_member(business_at=now(), name="会员", phone="13800000009")
        db.session.commit()
    html = client.get("/t/tenant-a/settings/billing").get_data(as_text=True)
    assert "Billing is not set up" not in html
    assert "Free trial" in html
    trial = re.search(r'id="billing-trial">([^<]+)', html).group(1)
    assert "14 days left" in trial or "13 days left" in trial
    usage = re.sub(r"\s+", " ", html[html.index('id="billing-usage"'):html.index('id="billing-plans"')])
    assert "Stores" in usage and "2 / 5" in usage  # two stores of the trial's five
    assert "Members" in usage and "1 / 1,000" in usage
    assert 'class="bar' in usage
    plans = html[html.index('id="billing-plans"'):]
    assert plans.count('name="plan"') == 2  # Single store and Chain, bought through Checkout
    assert "Upgrade" in plans and "mailto:" in plans  # Enterprise: by contact
    assert "Manage billing" not in html  # no Stripe customer yet


def test_only_the_owner_may_open_the_billing_page(billing, client, tenant_a, login_as):
    login_as("chain_admin")
    assert client.get("/t/tenant-a/settings/billing").status_code == 403
    token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    assert client.post("/t/tenant-a/settings/billing/checkout", data={"csrf_token": token,
                                                                      "plan": "chain"}).status_code == 403
    assert client.post("/t/tenant-a/settings/billing/portal", data={"csrf_token": token}).status_code == 403


def test_the_billing_nav_link_is_for_the_owner_only(client, tenant_a, login_as):
    login_as("owner")
    assert "/settings/billing" in client.get("/t/tenant-a/settings").get_data(as_text=True)  # the account tabs


def test_a_chain_admin_has_the_account_pages_but_no_billing_tab(client, tenant_a, login_as):
    login_as("chain_admin")
    html = client.get("/t/tenant-a/settings").get_data(as_text=True)
    assert "/t/tenant-a/audit" in html and "/settings/billing" not in html and "/api-keys" not in html
