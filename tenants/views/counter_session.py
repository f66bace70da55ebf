"""The counter's request context: which tablet (device cookie), who is at it (PIN), the idle timeout.

The person at the tablet lives in the signed session cookie as {device, staff, seen}; it is valid
only with the same tablet's device cookie, for an active person who works at the tablet's store,
and for `COUNTER_IDLE_SECONDS` (default 180) after the last request. It is not a staff sign-in:
a PIN opens the counter screens only, never the back office.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import wraps

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from saas.extensions import db
from saas.htmx import render
from saas.i18n import format_day
from saas.models import CounterDevice, StaffUser, utcnow
from saas.permissions import can
from tenants.counter import IDLE_SECONDS, is_idle, tablet_for_token, touch_device, works_at
from tenants.domain.errors import DomainError
from tenants.models import Member, Store
from tenants.programs import program_in_force
from tenants.scoping import current_tenant
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent

COOKIE = "hy_counter"
COOKIE_DAYS = 400
SESSION_KEY = "counter"
CLOSED_KEY = "counter_closed"  # members the previous people at this tablet had open (member_or_404)
MAX_REMEMBERED = 30
MAX_YUAN = Decimal("10000000")


@dataclass
class CounterContext:
    device: CounterDevice
    store: Store
    operator: StaffUser

    @property
    def device_ref(self) -> str:
        """What a purchase records as its device."""
        return f"counter:{self.device.id}"

    def can(self, permission: str) -> bool:
        return can(self.operator.role, permission)


def idle_seconds() -> int:
    return int(current_app.config.get("COUNTER_IDLE_SECONDS", IDLE_SECONDS))


def current_device() -> CounterDevice | None:
    """The live tablet this browser is (device cookie), once per request."""
    if "counter_device" not in g:
        data = session.get(SESSION_KEY)
        staff_id = data.get("staff") if isinstance(data, dict) else None
        device, g.counter_store, g.counter_person = tablet_for_token(device_token(), staff_id)
        if device is not None and touch_device(device, utcnow()):
            db.session.commit()
        g.counter_device = device
    return g.counter_device


def device_store(device: CounterDevice) -> Store:
    store = g.get("counter_store")
    if store is not None and store.id == device.store_id:
        return store
    return db.session.get(Store, (device.tenant_id, device.store_id))


def device_cookie() -> tuple[str, str]:
    """(name, path) of this tenant's device cookie. Over HTTPS it is `__Host-hy_counter-<tenant id>` on Path=/
    (the `__Host-` prefix needs Path=/ and no Domain; the tenant in the name keeps one browser a tablet of
    several tenants); without HTTPS (development) it is `hy_counter` on the tenant's path."""
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        return f"__Host-{COOKIE}-{current_tenant().id}", "/"
    return COOKIE, f"/t/{current_tenant().slug}/"


def device_token() -> str | None:
    return request.cookies.get(device_cookie()[0])


def set_device_cookie(response, token: str):
    name, path = device_cookie()
    response.set_cookie(name, token, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), path=path)
    return response


def _hand_over() -> None:
    """The members the leaving person opened may not be reopened from the history by whoever comes next."""
    data = session.get(SESSION_KEY)
    opened = data.get("opened", []) if isinstance(data, dict) else []
    if opened:
        closed = [m for m in session.get(CLOSED_KEY, []) if m not in opened] + list(opened)
        session[CLOSED_KEY] = closed[-MAX_REMEMBERED:]


def start_operator(device: CounterDevice, user: StaffUser) -> None:
    _hand_over()
    session[SESSION_KEY] = {"device": device.id, "staff": user.id, "seen": time.time()}


def end_operator() -> None:
    _hand_over()
    session.pop(SESSION_KEY, None)


def reopen_members(member_ids) -> None:
    """Members found again by a search or a scan: the person at the tablet may open them."""
    closed = session.get(CLOSED_KEY)
    if closed:
        wanted = {int(m) for m in member_ids}
        session[CLOSED_KEY] = [m for m in closed if m not in wanted]


def current_operator(device: CounterDevice, store: Store) -> tuple[StaffUser | None, bool]:
    """(the person at this tablet or None, whether they were just timed out for idleness)."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("device") != device.id:
        return None, False
    now = time.time()
    if is_idle(data.get("seen"), now, idle_seconds()):
        end_operator()
        return None, True
    user = g.get("counter_person")  # read with the device when the cookie named this person
    if user is None or user.id != data.get("staff"):
        user = db.session.get(StaffUser, (device.tenant_id, data.get("staff")))
    if user is None or not user.active or not works_at(user, store) or not can(user.role, "counter.use"):
        end_operator()
        return None, False
    session[SESSION_KEY] = {**data, "seen": now}
    return user, False


def go(url: str):
    """Navigate: a full redirect, or for htmx a client-side one (a fragment must not land in a target)."""
    if getattr(request, "htmx", None):
        response = current_app.response_class(status=200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def counter_requires(permission: str):
    """A tablet registered for a store, with a person who entered their PIN, has not been idle and whose role
    may `permission` (403 otherwise). The view carries `.permission` (what the role table reads) and
    `.at_counter`: a counter screen names members, cards and purchases of every store (全国通用)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            device = current_device()
            if device is None:
                return go(url_for("tenant.counter.home"))
            store = device_store(device)
            user, idled = current_operator(device, store)
            if user is None:
                if idled:
                    minutes = max(1, round(idle_seconds() / 60))
                    flash(ngettext("Locked after %(num)d minute without activity. Enter your PIN.",
                                   "Locked after %(num)d minutes without activity. Enter your PIN.", minutes),
                          "info")
                return go(url_for("tenant.counter.pin"))
            g.counter = CounterContext(device=device, store=store, operator=user)
            if not g.counter.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission
        wrapped.at_counter = True
        return wrapped

    return decorator


counter_required = counter_requires("counter.use")


def member_or_404(member_id: int) -> Member:
    """The member of a counter URL. A member the previous person at this tablet had open (before a PIN switch,
    a lock or the idle timeout) is not shown again from the back button or history: back to the search, where
    finding them again opens them (a shared tablet shows nobody's data to the next person by itself)."""
    member = db.session.get(Member, (current_tenant().id, member_id))
    if member is None:
        abort(404)
    if member.id in session.get(CLOSED_KEY, []):
        flash(_("The counter changed hands: find the member again."), "info")
        abort(go(url_for("tenant.counter.home")))
    data = session.get(SESSION_KEY)
    if isinstance(data, dict):
        opened = data.get("opened", [])
        if member.id not in opened:
            session[SESSION_KEY] = {**data, "opened": [*opened, member.id][-MAX_REMEMBERED:]}
    return member


def new_key() -> str:
    """A fresh idempotency key, put in a confirm form when it is rendered."""
    return secrets.token_urlsafe(18)


def parse_yuan(text: str | None, field: str) -> int:
    """An amount typed in yuan ("12", "12.5", "¥1,200.00") as fen; empty is 0. FormError otherwise."""
    text = re.sub(r"[\s,¥￥]", "", text or "")
    if not text:
        return 0
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FormError(field, _("Enter an amount such as 128 or 128.50.")) from None
    if value.is_finite() and value < 0:
        raise FormError(field, _("An amount cannot be negative."))
    if not value.is_finite() or value > MAX_YUAN or value != value.quantize(Decimal("0.01")):
        raise FormError(field, _("Enter an amount such as 128 or 128.50."))
    return int(value * 100)


def parse_count(text: str | None, field: str, default: int = 0, maximum: int = 10_000_000) -> int:
    text = (text or "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) > maximum:
        raise FormError(field, _("Enter a whole number."))
    return int(text)


def yuan_text(fen: int | None) -> str:
    """Fen as the yuan a person would type back into a field (no currency sign)."""
    if not fen:
        return ""
    return f"{Decimal(fen) / 100:f}".rstrip("0").rstrip(".") if fen % 100 else str(fen // 100)


class FormError(Exception):
    """A field the person has to correct; `message` is translated."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


FIELD_MESSAGES = {
    "phone": lambda: _("Enter a valid mobile number."),
    "email": lambda: _("Enter a valid e-mail address."),
    "lines": lambda: _("Enter at least one amount."),
    "kind": lambda: _("Choose a reward."),
    "pin": lambda: _("The card PIN is 4 to 8 digits."),
}


def card_number_taken(number: str | None) -> bool:
    """A card number already given to someone (enrol_member would report it as a duplicate phone)."""
    from tenants.services.members import find_by_card

    return bool(number) and find_by_card(number) is not None


def service_message(err: ServiceError) -> str:
    """The translated sentence for a refusal: field problems in our words, everything else as the service says."""
    if err.code == "validation_failed":
        for name in err.fields:
            if name in FIELD_MESSAGES:
                return FIELD_MESSAGES[name]()
    if err.code == "replacement_too_early" and isinstance(err.params.get("available_on"), str):
        # the API answers the ISO date; people read it in their locale's format
        return ServiceError(err.code, available_on=format_day(
            dt.date.fromisoformat(err.params["available_on"]))).message
    if err.code == "idempotency_key_reused":
        return _("This form was already used for another request. Nothing was changed; start again.")
    if err.code == "idempotency_in_progress":
        return _("The same request is still being recorded. Look at the member's last purchases in a moment.")
    return err.message


def run_once(key: str | None, operation: str, payload: dict, work) -> tuple[dict, bool]:
    """`run_idempotent` with the counter's key space; a missing key is a form that was not ours."""
    if not key or len(key) > 60:
        raise ServiceError("idempotency_key_required")
    return run_idempotent(f"counter:{key}", operation, payload, work)


def locale() -> str:
    return str(get_locale() or "zh_CN")


def program_now(on: dt.date):
    found = program_in_force(on)
    return found[1] if found else None


def tier_label(program, code: str | None) -> str:
    if not code:
        return ""
    if program is None:
        return code
    try:
        return program.tier(code).name.text(locale())
    except DomainError:  # a tier removed by a later program version: show its code
        return code


def render_counter(page: str, fragment: str, status: int = 200, **context):
    return render(page, fragment, **context), status
