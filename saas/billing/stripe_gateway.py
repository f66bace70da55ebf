"""Everything Huiyuan asks of Stripe. The only module that imports `stripe` (a test keeps it so).

It speaks plain data: arguments are ids and strings, results are dicts (``StripeObject.to_dict()``),
and failures are this module's exceptions, so no Stripe type leaks into the rest of the code. The
client is built from STRIPE_SECRET_KEY and, for localstripe or a test double, STRIPE_API_BASE.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from flask import current_app

log = logging.getLogger(__name__)


class GatewayError(RuntimeError):
    """Stripe refused or could not be reached; `status` is its HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class NotFound(GatewayError):
    pass


class SignatureError(ValueError):
    """A webhook whose signature (or payload) does not verify."""


def configured(app=None) -> bool:
    """Billing is on when a Stripe secret key is configured (the `make run` default has none)."""
    app = app or current_app
    return bool(app.config.get("STRIPE_SECRET_KEY"))


def client(app=None) -> stripe.StripeClient:
    app = app or current_app
    key = app.config.get("STRIPE_SECRET_KEY")
    if not key:
        raise GatewayError("STRIPE_SECRET_KEY is not configured")
    base = app.config.get("STRIPE_API_BASE")
    cache = app.extensions.setdefault("huiyuan_stripe", {})
    if (key, base) not in cache:
        cache[(key, base)] = stripe.StripeClient(
            key, base_addresses={"api": base} if base else None, max_network_retries=2
        )
    return cache[(key, base)]


def _call(what: str, func, *args, **kwargs) -> dict[str, Any]:
    try:
        return func(*args, **kwargs).to_dict()
    except stripe.InvalidRequestError as err:
        if err.http_status == 404:
            raise NotFound(f"{what}: not found", 404) from err
        raise GatewayError(f"{what}: {err.user_message or err}", err.http_status) from err
    except stripe.StripeError as err:
        log.warning("stripe %s failed: %s", what, err)
        raise GatewayError(f"{what}: {err.user_message or err}", err.http_status) from err


def stripe_locale(locale: str | None) -> str:
    """Checkout and the portal in the reader's language: zh_CN → zh, en → en."""
    return {"zh": "zh", "en": "en"}.get((locale or "").split("_")[0], "auto")


# --- webhooks ------------------------------------------------------------------------------------

def construct_event(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """Verify the Stripe-Signature header over the raw body (HMAC-SHA256, 5-minute tolerance); the event."""
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", secret)
    except stripe.SignatureVerificationError as err:
        raise SignatureError(str(err)) from err
    except ValueError as err:  # not JSON
        raise SignatureError(f"invalid payload: {err}") from err
    return event.to_dict()


# --- catalogue -----------------------------------------------------------------------------------

def ensure_product(product_id: str, name: str, metadata: dict | None = None) -> dict[str, Any]:
    products = client().v1.products
    try:
        return _call("retrieve product", products.retrieve, product_id)
    except NotFound:
        return _call("create product", products.create,
                     params={"id": product_id, "name": name, "metadata": metadata or {}})


def ensure_plan(plan_id: str, *, product_id: str, amount: int, currency: str, interval: str = "month",
                nickname: str = "") -> dict[str, Any]:
    """A recurring price (legacy Plan object, usable as a Price id). Existing plans are left alone:
    Stripe prices are immutable, so a new price gets a new id (`..._v2`)."""
    plans = client().v1.plans
    try:
        return _call("retrieve plan", plans.retrieve, plan_id)
    except NotFound:
        return _call("create plan", plans.create,
                     params={"id": plan_id, "product": product_id, "amount": amount, "currency": currency,
                             "interval": interval, "nickname": nickname})


# --- customers and subscriptions -----------------------------------------------------------------

def create_customer(*, email: str, name: str, tenant_id: int, slug: str, locale: str | None = None) -> dict:
    params: dict[str, Any] = {"email": email, "name": name,
                              "metadata": {"tenant_id": str(tenant_id), "slug": slug}}
    if locale:
        params["preferred_locales"] = [locale.replace("_", "-")]
    return _call("create customer", client().v1.customers.create, params=params)


def retrieve_customer(customer_id: str) -> dict[str, Any]:
    return _call("retrieve customer", client().v1.customers.retrieve, customer_id)


def create_subscription(*, customer_id: str, plan_id: str, metadata: dict | None = None) -> dict[str, Any]:
    """A subscription charged to the customer's default payment method (ops and tests; customers go
    through Checkout)."""
    return _call("create subscription", client().v1.subscriptions.create,
                 params={"customer": customer_id, "items": [{"plan": plan_id}], "metadata": metadata or {}})


def retrieve_subscription(subscription_id: str) -> dict[str, Any]:
    return _call("retrieve subscription", client().v1.subscriptions.retrieve, subscription_id)


def cancel_subscription(subscription_id: str) -> dict[str, Any]:
    return _call("cancel subscription", client().v1.subscriptions.cancel, subscription_id)


def list_invoices(customer_id: str, limit: int = 10) -> list[dict[str, Any]]:
    result = _call("list invoices", client().v1.invoices.list, params={"customer": customer_id, "limit": limit})
    return list(result.get("data") or [])


# --- hosted pages --------------------------------------------------------------------------------

def create_checkout_session(*, customer_id: str, price_id: str, success_url: str, cancel_url: str,
                            tenant_id: int, plan_key: str, locale: str | None = None,
                            trial_end: int | None = None) -> dict[str, Any]:
    """A Checkout Session in subscription mode for one plan; the tenant id travels in the metadata
    of the session and of the subscription it creates."""
    metadata = {"tenant_id": str(tenant_id), "plan": plan_key}
    subscription_data: dict[str, Any] = {"metadata": metadata}
    if trial_end:
        subscription_data["trial_end"] = trial_end
    params = {
        "mode": "subscription",
        "customer": customer_id,
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(tenant_id),
        "metadata": metadata,
        "subscription_data": subscription_data,
        "locale": stripe_locale(locale),
    }
    return _call("create checkout session", client().v1.checkout.sessions.create, params=params)


def create_portal_session(*, customer_id: str, return_url: str, locale: str | None = None) -> dict[str, Any]:
    params = {"customer": customer_id, "return_url": return_url, "locale": stripe_locale(locale)}
    return _call("create portal session", client().v1.billing_portal.sessions.create, params=params)
