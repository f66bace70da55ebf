"""A tenant's subscription: the trial at sign-up, Checkout and the portal, and applying what Stripe says.

Stripe is the system of record for paid subscriptions; our `Subscription` row is a cache of it that
webhooks keep current (saas/billing/webhooks.py). The row is changed only here.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select

from saas.billing import stripe_gateway as gateway
from saas.billing.models import Subscription, SubscriptionStatus
from saas.billing.plans import GRACE_DAYS, TRIAL, TRIAL_DAYS, Plan, plan_for_stripe_id, plan_named
from saas.extensions import db
from saas.models import Tenant, utcnow

log = logging.getLogger(__name__)

S = SubscriptionStatus

# How much a Stripe subscription is worth keeping when another one of the same customer speaks up:
# a paying one beats an unpaid one, which beats one never paid, which beats one that is over.
_RANK = {S.ACTIVE: 3, S.TRIALING: 3, S.PAST_DUE: 3, S.UNPAID: 2, S.PAUSED: 2, S.INCOMPLETE: 1,
         S.INCOMPLETE_EXPIRED: 0, S.CANCELED: 0}


class BillingError(RuntimeError):
    """Checkout or the portal cannot be opened (a translated message for the owner)."""


def from_timestamp(value: Any) -> dt.datetime | None:
    if value in (None, "", 0):
        return None
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


def start_trial(tenant: Tenant, now: dt.datetime | None = None) -> Subscription:
    """Sign-up: the tenant starts a TRIAL_DAYS free trial (no card asked). The caller commits."""
    now = now or utcnow()
    row = Subscription(tenant_id=tenant.id, plan=TRIAL, status=S.TRIALING,
                       trial_end=now + dt.timedelta(days=TRIAL_DAYS))
    db.session.add(row)
    return row


def subscription_for(tenant_id: int, lock: bool = False) -> Subscription | None:
    query = select(Subscription).where(Subscription.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


# --- Checkout and the portal ---------------------------------------------------------------------

def ensure_customer(row: Subscription, tenant: Tenant) -> str:
    """The tenant's Stripe customer, created (and committed) on first need."""
    if row.stripe_customer_id:
        return row.stripe_customer_id
    customer = gateway.create_customer(email=tenant.owner_email, name=tenant.name, tenant_id=tenant.id,
                                       slug=tenant.slug, locale=tenant.locale)
    row.stripe_customer_id = customer["id"]
    db.session.commit()
    return row.stripe_customer_id


def has_live_stripe_subscription(row: Subscription | None) -> bool:
    return bool(row and row.stripe_subscription_id and row.status not in S.ENDED)


def start_checkout(tenant: Tenant, plan: Plan, *, success_url: str, cancel_url: str, locale: str | None,
                   now: dt.datetime | None = None) -> str:
    """A Stripe Checkout session (subscription mode) for `plan`; its URL. Days left of the free trial
    carry over when there are enough of them for Stripe (at least 48 hours)."""
    if not plan.self_serve or not plan.stripe_plan:
        raise ValueError(f"plan {plan.key} is not sold through Checkout")
    now = now or utcnow()
    row = subscription_for(tenant.id) or start_trial(tenant, now)
    customer_id = ensure_customer(row, tenant)
    trial_end = row.trial_end if row.status == S.TRIALING and not row.stripe_subscription_id else None
    keep_trial = trial_end is not None and trial_end - now > dt.timedelta(hours=49)
    session = gateway.create_checkout_session(
        customer_id=customer_id, price_id=plan.stripe_plan, success_url=success_url, cancel_url=cancel_url,
        tenant_id=tenant.id, plan_key=plan.key, locale=locale,
        trial_end=int(trial_end.timestamp()) if keep_trial else None,
    )
    return session["url"]


def start_portal(tenant: Tenant, *, return_url: str, locale: str | None) -> str:
    row = subscription_for(tenant.id)
    if row is None or not row.stripe_customer_id:
        raise BillingError("no customer")
    return gateway.create_portal_session(customer_id=row.stripe_customer_id, return_url=return_url,
                                         locale=locale)["url"]


# --- applying Stripe's state ---------------------------------------------------------------------

def plan_of(stripe_subscription: dict) -> Plan | None:
    """Our plan for a Stripe subscription: by its price (what the portal changes), else by the
    `plan` metadata Checkout set (Enterprise deals use their own prices)."""
    items = (stripe_subscription.get("items") or {}).get("data") or []
    for item in items:
        for key in ("price", "plan"):
            price = item.get(key)
            plan = plan_for_stripe_id(price.get("id") if isinstance(price, dict) else price)
            if plan:
                return plan
    key = (stripe_subscription.get("metadata") or {}).get("plan")
    return plan_named(key) if key and plan_named(key).key == key else None


def period_end_of(stripe_subscription: dict) -> dt.datetime | None:
    """`current_period_end` (on the subscription in older API versions, on its items since 2025)."""
    if stripe_subscription.get("current_period_end"):
        return from_timestamp(stripe_subscription["current_period_end"])
    items = (stripe_subscription.get("items") or {}).get("data") or []
    ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
    return from_timestamp(max(ends)) if ends else None


def customer_of(obj: dict) -> str | None:
    customer = obj.get("customer")
    return customer.get("id") if isinstance(customer, dict) else customer


def adopts(row: Subscription, stripe_subscription: dict) -> bool:
    """Whether `stripe_subscription` is (or should become) the one this row follows.

    A customer may have had several subscriptions (an old canceled one, a new one): news about another
    subscription replaces ours only if it is worth more (see _RANK), so a late event about a canceled
    subscription never overrides the live one.
    """
    if not row.stripe_subscription_id or row.stripe_subscription_id == stripe_subscription["id"]:
        return True
    return _RANK.get(stripe_subscription.get("status"), 0) > _RANK.get(row.status, 0)


def apply_stripe_subscription(row: Subscription, sub: dict, at: dt.datetime) -> bool:
    """Make the row say what Stripe's subscription `sub` says. `at` is Stripe's time of the news (the
    event's `created`), which starts the grace period of a past_due subscription. True if adopted."""
    if not adopts(row, sub):
        log.info("billing: tenant %s keeps %s over %s (%s)", row.tenant_id, row.stripe_subscription_id,
                 sub["id"], sub.get("status"))
        return False
    before = row.status
    row.stripe_subscription_id = sub["id"]
    row.stripe_customer_id = customer_of(sub) or row.stripe_customer_id
    row.status = sub.get("status") or row.status
    plan = plan_of(sub)
    if plan is not None:
        row.plan = plan.key
    if sub.get("trial_end"):
        row.trial_end = from_timestamp(sub["trial_end"])
    row.current_period_end = period_end_of(sub) or row.current_period_end
    row.cancel_at_period_end = bool(sub.get("cancel_at_period_end"))
    if row.status == S.PAST_DUE:
        if before != S.PAST_DUE or row.grace_until is None:
            row.grace_until = at + dt.timedelta(days=GRACE_DAYS)
    else:
        row.grace_until = None
    last = row.last_event_at
    row.last_event_at = at if last is None or at > last else last
    row.updated_at = utcnow()
    return True
