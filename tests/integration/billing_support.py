"""Helpers for the billing tests: billing switched on, events signed as Stripe signs them, a recording
stand-in for the parts of Stripe's API that localstripe lacks (Checkout, the billing portal), and a
way to put a tenant's subscription in any state."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from saas.billing.models import Subscription
from saas.extensions import db

SECRET_KEY = "sk_test_huiyuan_billing"
WEBHOOK_SECRET = "whsec_huiyuan_test"


def switch_billing_on(app, monkeypatch, api_base: str, webhook_secret: str = WEBHOOK_SECRET) -> None:
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", api_base)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", webhook_secret)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def subscription_row(tenant) -> Subscription:
    db.session.rollback()  # see what the app committed since
    return db.session.execute(select(Subscription).where(Subscription.tenant_id == tenant.id)).scalar_one()


def set_subscription(tenant, **fields) -> Subscription:
    row = subscription_row(tenant)
    for name, value in fields.items():
        setattr(row, name, value)
    db.session.commit()
    return row


# The states the billing rules distinguish, as row fields (relative to now).
def states() -> dict[str, dict]:
    day = dt.timedelta(days=1)
    t = now()
    return {
        "trialing": {"status": "trialing", "plan": "trial", "trial_end": t + 10 * day},
        "trial_expired": {"status": "trialing", "plan": "trial", "trial_end": t - day},
        "active": {"status": "active", "plan": "chain", "trial_end": t - 20 * day,
                   "stripe_subscription_id": "sub_state_active"},
        "past_due_in_grace": {"status": "past_due", "plan": "chain", "trial_end": t - 20 * day,
                              "grace_until": t + 3 * day, "stripe_subscription_id": "sub_state_pd"},
        "past_due_after_grace": {"status": "past_due", "plan": "chain", "trial_end": t - 20 * day,
                                 "grace_until": t - day, "stripe_subscription_id": "sub_state_pd2"},
        "unpaid": {"status": "unpaid", "plan": "chain", "trial_end": t - 20 * day,
                   "stripe_subscription_id": "sub_state_unpaid"},
        "canceled": {"status": "canceled", "plan": "chain", "trial_end": t - 20 * day,
                     "stripe_subscription_id": "sub_state_canceled"},
    }


READ_ONLY_STATES = {"trial_expired", "past_due_after_grace", "unpaid", "canceled"}


# --- events, signed as Stripe does -----------------------------------------------------------------

def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"


def make_event(type_: str, obj: dict, *, created: dt.datetime | None = None, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{secrets.token_hex(8)}",
        "object": "event",
        "type": type_,
        "created": int((created or now()).timestamp()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": obj},
    }


def post_event(client, event: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    payload = json.dumps(event).encode()
    return client.post("/billing/webhook", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": sign(payload, secret, timestamp)})


def stripe_subscription(sub_id: str, *, status: str, customer: str, tenant_id: int | None = None,
                        price: str = "huiyuan_chain_monthly_v1", period_end: dt.datetime | None = None,
                        created: dt.datetime | None = None) -> dict:
    """A subscription as Stripe's current API shapes it (period end on the item)."""
    end = int((period_end or now() + dt.timedelta(days=30)).timestamp())
    return {
        "id": sub_id, "object": "subscription", "status": status, "customer": customer,
        "created": int((created or now()).timestamp()), "cancel_at_period_end": False, "trial_end": None,
        "metadata": {"tenant_id": str(tenant_id)} if tenant_id else {},
        "items": {"object": "list", "data": [{"id": f"si_{sub_id}", "object": "subscription_item",
                                              "price": {"id": price, "object": "price"},
                                              "current_period_end": end}]},
    }


# --- a recording stand-in for Stripe's API ----------------------------------------------------------

class RecordingStripe:
    """A local HTTP endpoint that records every request the stripe client makes and answers from
    `routes`: {(method, path): (status, json)}; anything else is Stripe's 404."""

    def __init__(self):
        self.requests: list[dict] = []
        self.routes: dict[tuple[str, str], tuple[int, dict]] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                recorder.requests.append({
                    "method": self.command, "path": parsed.path, "query": parsed.query,
                    "headers": dict(self.headers.items()), "body": body,
                    "form": dict(urllib.parse.parse_qsl(body, keep_blank_values=True)),
                })
                status, answer = recorder.routes.get(
                    (self.command, parsed.path),
                    (404, {"error": {"type": "invalid_request_error", "message": "No such object",
                                     "code": "resource_missing"}}))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str, path: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]


# --- localstripe's own endpoints -------------------------------------------------------------------

def localstripe_post(base: str, path: str, data: dict, as_json: bool = False) -> dict:
    body = json.dumps(data).encode() if as_json else urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(
        base + path, data=body, method="POST",
        headers={"Authorization": f"Bearer {SECRET_KEY}",
                 "Content-Type": "application/json" if as_json else "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return json.loads(text) if text.strip() else {}


def give_card(base: str, customer_id: str, number: str = "4242424242424242") -> str:
    """Attach a test card to a localstripe customer and make it the default for invoices."""
    method = localstripe_post(base, "/v1/payment_methods", {
        "type": "card", "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2030",
        "card[cvc]": "123"})
    localstripe_post(base, f"/v1/payment_methods/{method['id']}/attach", {"customer": customer_id})
    localstripe_post(base, f"/v1/customers/{customer_id}",
                     {"invoice_settings[default_payment_method]": method["id"]})
    return method["id"]


def wait_for(check, timeout: float = 30.0, interval: float = 0.2):
    """Poll `check()` until it returns something truthy; fail with its last value after `timeout` s."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
