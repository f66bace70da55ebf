"""Stripe webhooks: `POST /billing/webhook` (no CSRF: Stripe signs the raw body instead).

Each event is verified (Stripe-Signature over the raw body, 5-minute tolerance), then handled at most
once: its id goes into `processed_stripe_events` (unique) in the same transaction as its effect, so a
redelivery is a no-op and a failed attempt (Stripe unreachable: 503) is retried by Stripe later.

Stripe delivers out of order and more than once. Whatever the event says, we fetch the subscription
it is about from Stripe and copy *that* — its current state — onto the tenant's row, which is locked
(SELECT … FOR UPDATE) before the fetch, so two deliveries racing each other also end on the newest
state. Only if Stripe no longer knows the subscription do we fall back on the event's own copy, and
then only if it is not older than the newest event already applied (`last_event_at`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.billing import stripe_gateway as gateway
from saas.billing.models import ProcessedStripeEvent, Subscription
from saas.billing.subscriptions import apply_stripe_subscription, customer_of, from_timestamp
from saas.extensions import db
from saas.models import Tenant, utcnow

log = logging.getLogger(__name__)

bp = Blueprint("billing_webhooks", __name__)


@bp.post("/billing/webhook")
def receive():
    if not gateway.configured():
        abort(404)
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        log.error("billing: STRIPE_WEBHOOK_SECRET is not set; webhook refused (Stripe will retry)")
        return jsonify(error="webhook secret not configured"), 503
    try:
        event = gateway.construct_event(request.get_data(), request.headers.get("Stripe-Signature"), secret)
    except gateway.SignatureError as err:
        log.warning("billing: webhook refused: %s", err)
        return jsonify(error="invalid signature"), 400
    try:
        outcome = process_event(event)
    except gateway.GatewayError as err:
        db.session.rollback()
        log.warning("billing: event %s not processed yet (%s); Stripe will retry", event.get("id"), err)
        return jsonify(error="stripe unavailable"), 503
    return jsonify(status=outcome)


def process_event(event: dict) -> str:
    """Apply one verified event, once. Returns processed | ignored | unmatched | duplicate. Commits."""
    at = from_timestamp(event.get("created")) or utcnow()
    record = ProcessedStripeEvent(event_id=str(event["id"]), type=str(event.get("type", ""))[:100], created=at)
    db.session.add(record)
    try:
        db.session.flush()  # a concurrent twin makes us wait here, then fail
    except IntegrityError:
        db.session.rollback()
        log.info("billing: event %s already processed", event["id"])
        return "duplicate"
    handler = HANDLERS.get(record.type)
    if handler is None:
        record.outcome = "ignored"
    else:
        row = handler((event.get("data") or {}).get("object") or {}, at)
        record.outcome = "processed" if row is not None else "unmatched"
        record.tenant_id = row.tenant_id if row is not None else None
        if row is None:
            log.warning("billing: event %s (%s) matches no tenant", event["id"], record.type)
    db.session.commit()
    return record.outcome


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _id(value) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def find_row(*, subscription_id: str | None = None, customer_id: str | None = None,
             tenant_id: int | None = None) -> Subscription | None:
    """The tenant's row, locked: by Stripe subscription, else Stripe customer, else our metadata."""
    for column, value in ((Subscription.stripe_subscription_id, subscription_id),
                          (Subscription.stripe_customer_id, customer_id),
                          (Subscription.tenant_id, tenant_id)):
        if value is None:
            continue
        row = db.session.execute(select(Subscription).where(column == value).with_for_update()).scalar_one_or_none()
        if row is not None:
            return row
    return None


def sync(row: Subscription, subscription_id: str, at: dt.datetime, fallback: dict | None = None) -> Subscription:
    """Copy Stripe's current state of the subscription onto the (locked) row."""
    try:
        current = gateway.retrieve_subscription(subscription_id)
    except gateway.NotFound:
        last = row.last_event_at
        if fallback is None or (last is not None and at < last):
            return row
        current = fallback
    before = (row.status, row.plan)
    if apply_stripe_subscription(row, current, at) and (row.status, row.plan) != before:
        _audit(row, before)
    return row


def _audit(row: Subscription, before: tuple[str, str]) -> None:
    from saas.audit import audit
    from tenants.scoping import tenant_context

    tenant = db.session.get(Tenant, row.tenant_id)
    if tenant is None:
        return
    with tenant_context(tenant):
        audit("billing.subscription_changed", f"subscription:{row.id}", status_before=before[0],
              status=row.status, plan_before=before[1], plan=row.plan)
        db.session.flush()


def on_checkout_completed(session: dict, at: dt.datetime) -> Subscription | None:
    subscription_id = _id(session.get("subscription"))
    if session.get("mode") != "subscription" or not subscription_id:
        return None
    metadata = session.get("metadata") or {}
    row = find_row(subscription_id=subscription_id, customer_id=customer_of(session),
                   tenant_id=_int(session.get("client_reference_id")) or _int(metadata.get("tenant_id")))
    return sync(row, subscription_id, at) if row is not None else None


def on_subscription_event(subscription: dict, at: dt.datetime) -> Subscription | None:
    row = find_row(subscription_id=subscription.get("id"), customer_id=customer_of(subscription),
                   tenant_id=_int((subscription.get("metadata") or {}).get("tenant_id")))
    return sync(row, subscription["id"], at, fallback=subscription) if row is not None else None


def on_invoice_event(invoice: dict, at: dt.datetime) -> Subscription | None:
    parent = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription_id = _id(invoice.get("subscription")) or _id(parent.get("subscription"))
    if not subscription_id:
        return None  # a one-off invoice: nothing to do with the plan
    row = find_row(subscription_id=subscription_id, customer_id=customer_of(invoice))
    return sync(row, subscription_id, at) if row is not None else None


HANDLERS: dict[str, Callable[[dict, dt.datetime], Subscription | None]] = {
    "checkout.session.completed": on_checkout_completed,
    "customer.subscription.created": on_subscription_event,
    "customer.subscription.updated": on_subscription_event,
    "customer.subscription.deleted": on_subscription_event,
    "customer.subscription.paused": on_subscription_event,
    "customer.subscription.resumed": on_subscription_event,
    "invoice.paid": on_invoice_event,
    "invoice.payment_succeeded": on_invoice_event,  # what localstripe (and older API versions) send
    "invoice.payment_failed": on_invoice_event,
}
