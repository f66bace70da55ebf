"""What a tenant may do, given its subscription: full use, full use in a grace period, or read-only;
and the plan limits (stores, members, staff).

Subscription status → capabilities (billing on; with no Stripe key configured everything is allowed):

============================================  =========  ============================================
status                                        level      notes
============================================  =========  ============================================
trialing, trial_end in the future             full       our own 14-day trial (no Stripe subscription)
trialing on Stripe (trial kept at Checkout)   full       Stripe ends it: active or past_due
trialing, trial_end passed, no Stripe sub     read_only  reason trial_expired
active                                        full
past_due, before grace_until                  grace      full use + a banner; grace_until = first
                                                         past_due news + GRACE_DAYS (plans.py)
past_due, grace over                          read_only
unpaid, paused, canceled                      read_only  (full while our own trial still runs)
incomplete, incomplete_expired                as trial   full until trial_end, then read_only
============================================  =========  ============================================

Read-only is enforced in ONE place, `enforce_read_only`, a before-request hook on the tenant pages
(`/t/<slug>/…`) and the JSON API (`/api/v1/…`, after the API key has named the tenant): reading
(GET, HEAD, OPTIONS) always works, so do exports; a mutating request (POST, PUT, PATCH, DELETE) is
refused with 402 and the read-only message — unless its endpoint is in READ_ONLY_OPEN below.
Plan limits are checked by the services that add a store, a member or a staff account, through
`check_limit(kind)`, which raises PlanLimitReached (a ServiceError, code ``plan_limit_reached``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from flask import g, has_app_context, has_request_context, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from saas.billing import stripe_gateway
from saas.billing.models import Subscription, SubscriptionStatus
from saas.billing.plans import LIMITED, TRIAL, Plan, plan_named
from saas.extensions import db
from saas.models import utcnow
from tenants.services.errors import ServiceError

log = logging.getLogger(__name__)
S = SubscriptionStatus

FULL, GRACE, READ_ONLY = "full", "grace", "read_only"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Open:
    """An allow-list entry: why the endpoint stays open, and optionally a condition on the request."""

    reason: str
    when: Callable[[], bool] | None = None


def _positive(text: str | None) -> bool:
    try:
        return Decimal((text or "0").strip().replace(",", "") or "0") > 0
    except InvalidOperation:
        return False


BALANCE_TENDERS = frozenset({"points", "stored_value"})


def spends_member_balance() -> bool:
    """The purchase is paid (partly) with the member's points or stored value: the counter form's
    `points` / `stored_value` fields, or `tenders` of those kinds in an API body."""
    if request.is_json:
        body = request.get_json(silent=True)
        tenders = body.get("tenders") if isinstance(body, dict) else None
        # Any JSON may come here before validation: a kind that is not text ({} or []) is simply not a balance.
        return any(isinstance(t, dict) and isinstance(t.get("kind"), str) and t["kind"] in BALANCE_TENDERS
                   and (_positive(str(t.get("amount_fen") or 0)) or _positive(str(t.get("points") or 0)))
                   for t in (tenders if isinstance(tenders, list) else []))
    return _positive(request.form.get("points")) or _positive(request.form.get("stored_value"))


# THE read-only allow-list: endpoints that still accept changes while a tenant is read-only. Reading
# (GET) is never blocked, so looking things up and GET exports need no entry; a POST export would.
READ_ONLY_OPEN: dict[str, Open] = {
    # Getting in and out, on the staff pages and at the counter: people must reach the counter and
    # the billing page.
    "tenant.auth.login": Open("sign in"),
    "tenant.auth.logout": Open("sign out"),
    "tenant.staff.accept": Open("an invited person sets a password (the seat was counted at invitation)"),
    "tenant.counter.register": Open("register a counter tablet: the counter must stay usable"),
    "tenant.counter.pin": Open("the person at the counter enters their PIN"),
    "tenant.counter.my_pin": Open("set one's own counter PIN"),
    "tenant.counter.lock": Open("lock the counter, switch person"),
    "tenant.counter.find": Open("find a member (writes nothing; the phone stays out of the URL)"),
    "tenant.counter.members.phone_check": Open("is this phone a member already? (writes nothing)"),
    # Paying is how a read-only tenant gets out of it.
    "tenant.billing.checkout": Open("Stripe Checkout"),
    "tenant.billing.portal": Open("Stripe billing portal"),
    # Security never waits for a payment: lock out a person, a tablet or a leaked key at any time.
    "tenant.staff.deactivate": Open("lock a person out"),
    "tenant.api_keys.revoke": Open("revoke an API key"),
    "tenant.counter.revoke": Open("revoke a counter tablet"),
    "tenant.counter.reset_staff_pin": Open("reset a person's counter PIN"),
    # Members' own money ("it is their money"): points and stored value stay spendable at the counter,
    # goods can be returned (points and stored value come back), a lost card can be blocked and
    # replaced (the balance moves to the new card). Not enrolments, not top-ups (no new money is
    # taken in while the business does not pay for the service), not cash-only purchases.
    "tenant.counter.sales.purchase_lines": Open("edit the purchase form (writes nothing)"),
    "tenant.counter.sales.purchase_preview": Open("preview a purchase (writes nothing)"),
    "tenant.counter.sales.purchase_confirm": Open("a purchase paid with points or stored value",
                                                  when=spends_member_balance),
    "tenant.counter.sales.redeem_points": Open("redeem points for a reward"),
    "tenant.counter.sales.purchase_return": Open("a return gives back points and stored value"),
    "tenant.counter.sales.card_lost": Open("block a lost card: protects the balance"),
    "tenant.counter.sales.card_replace": Open("the replacement card carries the balance"),
    # The same from the member page in the back office.
    "tenant.member_cards.loss": Open("block a lost card: protects the balance"),
    "tenant.member_cards.replace": Open("the replacement card carries the balance"),
    "tenant.member_cards.exchange": Open("the exchanged card carries the balance"),
    "tenant.member_cards.close": Open("close a card and refund its stored value"),
    # The same through the JSON API (POS systems).
    "api_v1.preview_purchase": Open("preview a purchase (writes nothing)"),
    "api_v1.lookup_member": Open("find a member by phone or card in the body (writes nothing)"),
    "api_v1.create_purchase": Open("a purchase paid with points or stored value", when=spends_member_balance),
    "api_v1.pay": Open("pay from stored value"),
    "api_v1.redeem": Open("redeem points"),
    "api_v1.create_return": Open("a return gives back points and stored value"),
    "api_v1.report_lost": Open("block a lost card: protects the balance"),
    "api_v1.replace": Open("the replacement card carries the balance"),
    "api_v1.exchange": Open("the exchanged card carries the balance"),
    "api_v1.close": Open("close a card and refund its stored value"),
}

READ_ONLY_REASONS = {
    "trial_expired": _l("Your free trial has ended, so Huiyuan is read-only for now."),
    S.PAST_DUE: _l("Your payment is overdue, so Huiyuan is read-only for now."),
    S.UNPAID: _l("Your payment is overdue, so Huiyuan is read-only for now."),
    S.CANCELED: _l("Your subscription has ended, so Huiyuan is read-only for now."),
    S.PAUSED: _l("Your subscription is paused, so Huiyuan is read-only for now."),
}
READ_ONLY_TAIL = _l("You can still look everything up and export your data. Members can still use their points "
                    "and stored value at the counter.")

LIMIT_MESSAGES = {
    "stores": _l("Your plan “%(plan)s” allows %(limit)s stores. Upgrade your plan to add more."),
    "members": _l("Your plan “%(plan)s” allows %(limit)s members. Upgrade your plan to enrol more."),
    "staff": _l("Your plan “%(plan)s” allows %(limit)s staff accounts. Upgrade your plan to invite more."),
}


def billing_on() -> bool:
    return stripe_gateway.configured()


@dataclass(frozen=True)
class Access:
    """What a tenant may do now, and why."""

    level: str  # full | grace | read_only
    reason: str  # billing_off | trial | active | past_due | trial_expired | unpaid | canceled | paused
    plan: Plan
    status: str
    trial_end: dt.datetime | None = None
    grace_until: dt.datetime | None = None
    billing_on: bool = True

    @property
    def read_only(self) -> bool:
        return self.level == READ_ONLY

    @property
    def in_grace(self) -> bool:
        return self.level == GRACE

    def trial_days_left(self, now: dt.datetime | None = None) -> int | None:
        if self.status != S.TRIALING or self.trial_end is None:
            return None
        seconds = (self.trial_end - (now or utcnow())).total_seconds()
        return max(0, math.ceil(seconds / 86400))

    def read_only_message(self) -> str:
        reason = READ_ONLY_REASONS.get(self.reason, READ_ONLY_REASONS[S.UNPAID])
        return f"{reason} {READ_ONLY_TAIL}"


def access_of(row: Subscription | None, *, now: dt.datetime, enabled: bool = True) -> Access:
    """The rule of the table in this module's docstring, as a pure function of the row and the time."""
    if row is None:
        # Sign-up always makes a row (and the migration made one for older tenants): a missing row is
        # a bug to log, not a reason to stop a business.
        if enabled:
            log.warning("billing: no subscription row; treated as a trial without end")
        return Access(FULL, "trial" if enabled else "billing_off", plan_named(TRIAL), S.TRIALING, billing_on=enabled)
    plan, status = plan_named(row.plan), row.status
    trial_end, grace_until = row.trial_end, row.grace_until

    def make(level: str, reason: str) -> Access:
        return Access(level, reason, plan, status, trial_end, grace_until, enabled)

    if not enabled:
        return make(FULL, "billing_off")
    own_trial_running = trial_end is not None and trial_end > now
    if status == S.ACTIVE:
        return make(FULL, "active")
    if status == S.TRIALING:
        if row.stripe_subscription_id or own_trial_running or trial_end is None:
            return make(FULL, "trial")
        return make(READ_ONLY, "trial_expired")
    if status == S.PAST_DUE:
        if grace_until is not None and now < grace_until:
            return make(GRACE, S.PAST_DUE)
        return make(READ_ONLY, S.PAST_DUE)
    if own_trial_running:
        return make(FULL, "trial")
    if status in (S.INCOMPLETE, S.INCOMPLETE_EXPIRED):
        return make(READ_ONLY, "trial_expired")
    if status in (S.UNPAID, S.CANCELED, S.PAUSED):
        return make(READ_ONLY, status)
    log.warning("billing: unknown subscription status %r of tenant %s: read-only", status, row.tenant_id)
    return make(READ_ONLY, S.UNPAID)


def access_for_tenant(tenant_id: int, now: dt.datetime | None = None) -> Access:
    row = db.session.execute(select(Subscription).where(Subscription.tenant_id == tenant_id)).scalar_one_or_none()
    return access_of(row, now=now or utcnow(), enabled=billing_on())


def current_access() -> Access | None:
    """The current tenant's access, computed once per request (None outside any tenant)."""
    from tenants.scoping import current_tenant_or_none

    tenant = current_tenant_or_none()
    if tenant is None:
        return None
    if has_request_context():
        cached = g.get("_billing_access")
        if cached is not None and cached[0] == tenant.id:
            return cached[1]
    access = access_for_tenant(tenant.id)
    if has_request_context():
        g._billing_access = (tenant.id, access)
    return access


# --- plan limits ---------------------------------------------------------------------------------

def usage(kinds: tuple[str, ...] = LIMITED) -> dict[str, int]:
    """The current tenant's stores (active), members (not closed) and staff accounts (active)."""
    from saas.models import StaffUser
    from tenants.models import Member, Store

    queries = {
        "stores": lambda: select(func.count()).select_from(Store).where(Store.active.is_(True)),
        "members": lambda: select(func.count()).select_from(Member).where(Member.status != "closed"),
        "staff": lambda: select(func.count()).select_from(StaffUser).where(StaffUser.active.is_(True)),
    }
    return {kind: int(db.session.scalar(queries[kind]()) or 0) for kind in kinds}


class PlanLimitReached(ServiceError):
    """Adding one more store, member or staff account would exceed the plan. Nothing was changed."""

    def __init__(self, kind: str, limit: int, plan: Plan):
        from tenants.scoping import current_tenant_or_none

        params = {"kind": kind, "limit": limit, "plan": plan.key}
        tenant = current_tenant_or_none()
        if has_request_context() and tenant is not None:
            params["upgrade_url"] = url_for("tenant.billing.page", slug=tenant.slug, _external=True)
        super().__init__("plan_limit_reached", **params)
        self.kind, self.limit, self.plan = kind, limit, plan

    @property
    def status(self) -> int:
        return 402

    @property
    def message(self) -> str:
        return str(LIMIT_MESSAGES[self.kind]) % {"plan": self.plan.name, "limit": f"{self.limit:,}"}


def check_limit(kind: str, adding: int = 1) -> None:
    """Refuse (PlanLimitReached) if the current tenant would exceed its plan's limit of `kind`
    (stores, members or staff) by adding `adding`. Billing off or an unlimited plan: always fine."""
    if kind not in LIMITED:
        raise ValueError(f"unknown limit {kind!r}")
    if not has_app_context() or not billing_on():
        return
    access = current_access()
    if access is None:
        return
    limit = access.plan.limits.of(kind)
    if limit is None:
        return
    if usage((kind,))[kind] + adding > limit:
        raise PlanLimitReached(kind, limit, access.plan)


# --- the read-only check -------------------------------------------------------------------------

def open_when_read_only(endpoint: str | None) -> bool:
    entry = READ_ONLY_OPEN.get(endpoint or "")
    return entry is not None and (entry.when is None or entry.when())


def enforce_read_only():
    """Before every tenant page and API request: refuse changes while the tenant is read-only.

    Everyone is checked, signed in or not: the counter's operators are known by tablet and PIN, not by
    a staff session. A stranger learns no more than that the business is read-only.
    """
    if request.method not in MUTATING or open_when_read_only(request.endpoint) or not billing_on():
        return None
    access = current_access()
    if access is None or not access.read_only:
        return None
    return refusal(access.read_only_message(), "subscription_read_only", {"reason": access.reason})


def back_path(url: str | None) -> str | None:
    """A path of the current tenant to offer as "back" (from Referer or HX-Current-URL), else None."""
    from tenants.scoping import current_tenant_or_none

    tenant = current_tenant_or_none()
    if not url or tenant is None:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    if not parts.path.startswith(f"/t/{tenant.slug}/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def refusal(message: str, code: str, params: dict | None = None):
    """402 with `message`: JSON for the API, a page (with a way to the billing page) for people.

    An htmx request is sent to that page with HX-Redirect, so the refusal shows whatever the page's
    htmx settings do with error statuses (the counter swaps only 409/422/423/429).
    """
    from flask import current_app, flash

    from saas.htmx import render

    if request.path.startswith("/api/"):
        body = {"code": code, "message": message}
        if params:
            body["params"] = params
        return {"error": body}, 402
    if request.headers.get("HX-Request"):
        if code != "subscription_read_only":
            flash(message, "error")
        response = current_app.response_class(status=402)
        response.headers["HX-Redirect"] = url_for(
            "tenant.billing.refused", code=code, back=back_path(request.headers.get("HX-Current-URL")))
        return response
    return render("saas/billing/refused.html", "saas/billing/_refused.html", message=message, code=code,
                  back=back_path(request.referrer)), 402


def banner() -> Access | None:
    """The access to announce on a tenant page (grace or read-only), or None."""
    try:
        if not has_request_context() or "tenant" not in g or not billing_on():
            return None
        from flask_login import current_user

        if not current_user.is_authenticated and g.get("counter") is None:  # staff session or counter operator
            return None
        access = current_access()
        return access if access is not None and access.level in (GRACE, READ_ONLY) else None
    except Exception:  # noqa: BLE001 (a banner must never break a page, error pages included)
        log.exception("billing banner")
        return None


def init_app(app) -> None:
    # Blueprint-scoped hooks, appended after the ones the blueprints registered themselves: the API
    # must have authenticated (and so named the tenant) before the check runs.
    for blueprint in ("tenant", "api_v1"):
        if blueprint in app.blueprints:
            app.before_request_funcs.setdefault(blueprint, []).append(enforce_read_only)

    @app.errorhandler(PlanLimitReached)
    def plan_limit_reached(err: PlanLimitReached):
        db.session.rollback()
        return refusal(err.message, err.code, {k: v for k, v in err.params.items()})

    @app.context_processor
    def billing_helpers():
        return {"billing_banner": banner}


__all__ = ["READ_ONLY_OPEN", "Access", "Open", "PlanLimitReached", "access_of", "check_limit", "current_access",
           "enforce_read_only", "usage"]
