"""The owner's billing page at /t/<slug>/settings/billing: plan, state, usage, Upgrade, Manage billing."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.auth import require
from saas.billing import stripe_gateway as gateway
from saas.billing.entitlements import access_of, back_path, billing_on, usage
from saas.billing.models import SubscriptionStatus
from saas.billing.plans import LIMITED, PLANS, SALES_EMAIL, self_serve_plans
from saas.billing.subscriptions import (
    BillingError,
    from_timestamp,
    has_live_stripe_subscription,
    start_checkout,
    start_portal,
    subscription_for,
)
from saas.extensions import db
from saas.htmx import render
from saas.models import Tenant, utcnow
from tenants.scoping import current_tenant

bp = Blueprint("billing", __name__)
S = SubscriptionStatus

STATUS_LABELS = {
    S.TRIALING: _l("Free trial"),
    S.ACTIVE: _l("Subscription active"),  # not "Active": that msgid means employed (在职)
    S.PAST_DUE: _l("Payment overdue"),
    S.UNPAID: _l("Unpaid"),
    S.CANCELED: _l("Canceled"),
    S.INCOMPLETE: _l("Waiting for the first payment"),
    S.INCOMPLETE_EXPIRED: _l("First payment not made"),
    S.PAUSED: _l("Paused"),
}
LIMIT_LABELS = {"stores": _l("Stores"), "members": _l("Members"), "staff": _l("Staff accounts")}
INVOICE_STATUS = {"paid": _l("Paid"), "open": _l("Open"), "void": _l("Void"), "draft": _l("Draft"),
                  "uncollectible": _l("Uncollectible")}


def _absolute(endpoint: str, **values) -> str:
    base = current_app.config.get("PUBLIC_URL")
    return f"{base}{url_for(endpoint, **values)}" if base else url_for(endpoint, _external=True, **values)


def _tenant() -> Tenant:
    return db.session.get(Tenant, current_tenant().id)


def _invoices(row) -> list[dict] | None:
    """The last few invoices from Stripe; None when Stripe cannot be asked (the page still works)."""
    if row is None or not row.stripe_customer_id or not billing_on():
        return []
    try:
        invoices = gateway.list_invoices(row.stripe_customer_id, limit=5)
    except gateway.GatewayError:
        return None
    return [{**invoice, "created": from_timestamp(invoice.get("created"))} for invoice in invoices]


@bp.get("/settings/billing")
@require("billing.manage")
def page():
    if request.args.get("checkout") == "success":
        flash(_("Thank you! Stripe is confirming your payment; your plan changes here within a minute."), "success")
    elif request.args.get("checkout") == "canceled":
        flash(_("Checkout was canceled; nothing was charged."), "info")
    row = subscription_for(current_tenant().id)
    now = utcnow()
    access = access_of(row, now=now, enabled=billing_on())
    used = usage()
    meters = [{"kind": kind, "label": LIMIT_LABELS[kind], "used": used[kind], "limit": access.plan.limits.of(kind)}
              for kind in LIMITED]
    return render("saas/billing/page.html", "saas/billing/page.html", row=row, access=access, meters=meters,
                  plans=list(PLANS.values()), self_serve=self_serve_plans(), status_labels=STATUS_LABELS,
                  live=has_live_stripe_subscription(row), trial_days_left=access.trial_days_left(now),
                  invoices=_invoices(row), invoice_status=INVOICE_STATUS, sales_email=SALES_EMAIL,
                  billing_enabled=billing_on())


@bp.get("/settings/billing/refused")
def refused():
    """Where an htmx request refused by billing lands (HX-Redirect): why, and what to do.

    Anyone of the tenant may see it, counter operators included (they have no staff session): it
    says no more than the refusal itself (the message of a plan limit comes as a flash message).
    """
    code = request.args.get("code", "subscription_read_only")
    access = access_of(subscription_for(current_tenant().id), now=utcnow(), enabled=billing_on())
    message = access.read_only_message() if code == "subscription_read_only" and access.read_only else None
    return render("saas/billing/refused.html", "saas/billing/_refused.html", message=message, code=code,
                  back=back_path(request.args.get("back"))), 200


@bp.post("/settings/billing/checkout")
@require("billing.manage")
def checkout():
    if not billing_on():
        abort(404)
    plan = PLANS.get(request.form.get("plan", ""))
    if plan is None or not plan.self_serve:
        abort(400)
    if has_live_stripe_subscription(subscription_for(current_tenant().id)):
        # One subscription per tenant: changing plan is the portal's job.
        return portal()
    try:
        url = start_checkout(_tenant(), plan, success_url=_absolute("tenant.billing.page", checkout="success"),
                             cancel_url=_absolute("tenant.billing.page", checkout="canceled"),
                             locale=str(get_locale()))
    except gateway.GatewayError:
        db.session.rollback()
        flash(_("Stripe could not be reached. Please try again in a moment."), "error")
        return redirect(url_for("tenant.billing.page"))
    return redirect(url, code=303)


@bp.post("/settings/billing/portal")
@require("billing.manage")
def portal():
    if not billing_on():
        abort(404)
    try:
        url = start_portal(_tenant(), return_url=_absolute("tenant.billing.page"), locale=str(get_locale()))
    except BillingError:
        flash(_("There is no billing account yet: choose a plan first."), "info")
        return redirect(url_for("tenant.billing.page"))
    except gateway.GatewayError:
        flash(_("Stripe could not be reached. Please try again in a moment."), "error")
        return redirect(url_for("tenant.billing.page"))
    return redirect(url, code=303)
