"""The counter (收银台): a shared tablet signed in once for a store, staff switching by PIN, member search.

Screens: /counter (set-up when this browser is no tablet yet, else find a member), /counter/pin
(the PIN pad), /counter/devices (managers: tablets and staff PINs), /counter/my-pin (anyone signed
in: choose a PIN). Member screens are in counter_members.py, sales in counter_sales.py.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from saas.auth import require
from saas.extensions import db, limiter
from saas.forms import choices, optional_int
from saas.models import CounterDevice, StaffSession, StaffUser, utcnow
from saas.permissions import ROLE_LABELS, assignable_roles, can
from tenants.access import ensure_store_visible, visible_staff_or_404, visible_store_ids, visible_stores
from tenants.counter import (
    CounterError,
    devices_of,
    is_locked,
    pin_candidates,
    register_device,
    reset_pin,
    revoke_device,
    set_pin,
    switch_person,
    token_hash,
)
from tenants.models import Member, Store, TierAccount
from tenants.programs import business_today
from tenants.scoping import current_tenant
from tenants.services.cards import check_card
from tenants.services.errors import ServiceError
from tenants.services.members import find_by_card, normalize_phone, search_members
from tenants.views.counter_present import category_label, day, discount_label
from tenants.views.counter_session import (
    CounterContext,
    counter_required,
    current_device,
    current_operator,
    device_store,
    device_token,
    end_operator,
    go,
    idle_seconds,
    new_key,
    program_now,
    render_counter,
    reopen_members,
    set_device_cookie,
    start_operator,
    tier_label,
)

bp = Blueprint("counter", __name__, url_prefix="/counter")
RESULTS = 10


@bp.context_processor
def counter_helpers():
    counter = g.get("counter")
    return {
        "counter": counter,
        "counter_can": (lambda permission: bool(counter) and counter.can(permission)),
        "idle_seconds": idle_seconds(),
        "new_key": new_key,
        "rate_label": (lambda price_bp: discount_label(price_bp) if price_bp is not None else ""),
        "iso_day": day,
        "category_label": category_label,
    }


class DeviceForm(FlaskForm):
    name = StringField(_l("Tablet name"), validators=[DataRequired(), Length(max=80)])
    store_id = SelectField(_l("Store"), coerce=optional_int)


class MyPinForm(FlaskForm):
    pin = PasswordField(_l("New PIN (4 to 6 digits)"), validators=[DataRequired(), Length(max=6)])
    repeat = PasswordField(_l("The same PIN again"), validators=[DataRequired(), Length(max=6)])


def _device_form() -> DeviceForm:
    form = DeviceForm()
    form.store_id.choices = choices([(s.id, s.name) for s in visible_stores(current_user)])
    if request.method == "GET":
        form.name.data = _("Counter tablet")
        if current_user.store_id:
            form.store_id.data = current_user.store_id
    return form


# --- the hub: set-up, or find a member ---------------------------------------------------------


@bp.get("")
def home():
    """This browser is no tablet yet: explain (managers register it). Otherwise: find a member."""
    if current_device() is None:
        manager = current_user.is_authenticated and can(current_user.role, "counter.manage")
        return render_counter("tenants/counter/setup.html", "tenants/counter/setup.html",
                              form=_device_form() if manager else None)
    return counter_required(_search)()


def _card_refusal(digits: str) -> tuple[int | None, str | None, bool]:
    """A scanned/typed card number: (its member, the refusal when the card may not be used, usable)."""
    found = find_by_card(digits)
    if found is None:
        return None, None, False
    member, card = found
    try:
        check_card(card, utcnow())
    except ServiceError as err:
        return member.id, _("Card %(number)s: %(reason)s", number=card.number, reason=err.message), False
    return member.id, None, True


def find_members(q: str) -> tuple[list[Member], str | None, Member | None]:
    """Search by full phone, last 4 digits, card number (scanners type it and Enter) or name.

    Returns (results, a refusal to show for a blocked card, the one member the query names exactly).
    """
    if not q:
        return [], None, None
    members = search_members(q, limit=RESULTS + 1)
    digits = re.sub(r"[\s\-]", "", q)
    refusal, exact = None, None
    if digits.removeprefix("+").isdigit() and len(digits) > 4:
        card_member, refusal, usable = _card_refusal(digits)
        try:
            phone = normalize_phone(q)
        except ServiceError:
            phone = None
        if card_member is not None and not usable:
            members = [m for m in members if m.id != card_member or m.phone == phone]
        named = [m for m in members if (usable and m.id == card_member) or (phone and m.phone == phone)]
        if len(named) == 1:
            exact = named[0]
    return members, refusal, exact


@bp.post("")
@counter_required
def find():
    """The search as the counter sends it: by POST, so a phone number never stands in a URL (and in the
    access logs of every proxy on the way). GET ?q= still answers, for links and bookmarks of names."""
    return _search()


def _search():
    q = (request.form.get("q", "") if request.method == "POST" else request.args.get("q", "")).strip()[:60]
    members, refusal, exact = find_members(q)
    reopen_members([m.id for m in members[:RESULTS]] + ([exact.id] if exact is not None else []))
    if exact is not None and not getattr(request, "htmx", None):
        return redirect(url_for("tenant.counter.members.show", member_id=exact.id), code=303)
    accounts = {}
    if members:
        ids = {m.tier_account_id for m in members}
        accounts = {a.id: a for a in db.session.scalars(select(TierAccount).where(TierAccount.id.in_(ids)))}
    program = program_now(business_today())
    tiers = {m.id: tier_label(program, accounts[m.tier_account_id].tier_code) for m in members
             if m.tier_account_id in accounts}
    return render_counter("tenants/counter/home.html", "tenants/counter/_results.html", q=q,
                          members=members[:RESULTS], more=len(members) > RESULTS, refusal=refusal, tiers=tiers,
                          looks_like_phone=bool(re.fullmatch(r"\+?[\d\s\-]{11,}", q)))


# --- tablets -------------------------------------------------------------------------------------


@bp.post("/devices")
@require("counter.manage")
def register():
    """Make this browser a counter tablet of a store; the manager's own sign-in ends on it."""
    form = _device_form()
    if form.validate_on_submit():
        previous = current_device()
        try:
            device, token = register_device(manager=current_user, store_id=form.store_id.data, name=form.name.data)
        except CounterError as err:
            db.session.rollback()
            form.store_id.errors = [*form.store_id.errors, err.message]
        else:
            if previous is not None:
                revoke_device(previous, current_user)
            row = db.session.get(StaffSession, (current_user.tenant_id, current_user.session_id))
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()
            store = db.session.get(Store, (device.tenant_id, device.store_id))
            db.session.commit()
            lang = session.get("lang")
            logout_user()
            session.clear()
            if lang:
                session["lang"] = lang
            flash(_("This tablet is now a counter of %(store)s. Staff switch to themselves with their PIN.",
                    store=store.name), "success")
            return set_device_cookie(redirect(url_for(".pin"), code=303), token)
    return render_counter("tenants/counter/setup.html", "tenants/counter/setup.html", status=422, form=form)


def _manageable_staff() -> list[StaffUser]:
    ids = visible_store_ids(current_user)
    query = select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name, StaffUser.id)
    if ids is not None:
        query = query.where(StaffUser.store_id.in_(ids))
    return list(db.session.scalars(query))


@bp.get("/devices")
@require("counter.manage")
def devices():
    ids = visible_store_ids(current_user)
    stores = {s.id: s for s in db.session.scalars(select(Store))}
    staff = _manageable_staff()
    tablets = devices_of(ids)
    registrar_ids = {d.registered_by for d in tablets}
    registrars = {u.id: u for u in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(registrar_ids)))}
    resettable = {u.id for u in staff if u.role in assignable_roles(current_user.role) or u.id == current_user.id}
    return render_counter("tenants/counter/devices.html", "tenants/counter/devices.html",
                          devices=tablets, stores=stores, staff=staff, registrars=registrars,
                          resettable=resettable, now=utcnow(), this_device=current_device(),
                          is_locked=is_locked, ROLE_LABELS=ROLE_LABELS)


@bp.post("/devices/<int:device_id>/revoke")
@require("counter.manage")
def revoke(device_id: int):
    device = db.session.get(CounterDevice, (current_tenant().id, device_id))
    if device is None:
        abort(404)
    ensure_store_visible(current_user, device.store_id)
    revoke_device(device, current_user)
    db.session.commit()
    flash(_("The tablet “%(name)s” is signed out for good.", name=device.name), "success")
    return redirect(url_for(".devices"), code=303)


@bp.post("/staff/<int:staff_id>/reset-pin")
@require("counter.manage")
def reset_staff_pin(staff_id: int):
    user = visible_staff_or_404(current_user, staff_id)
    if user.role not in assignable_roles(current_user.role) and user.id != current_user.id:
        abort(403)
    reset_pin(user, current_user)
    db.session.commit()
    flash(_("%(name)s's PIN is cleared; they choose a new one under “My counter PIN”.", name=user.name), "success")
    return redirect(url_for(".devices"), code=303)


@bp.route("/my-pin", methods=["GET", "POST"])
@require("counter.use")
def my_pin():
    """Anyone signed in with their password chooses their own counter PIN."""
    form = MyPinForm()
    if form.validate_on_submit():
        try:
            set_pin(current_user, form.pin.data, form.repeat.data)
        except CounterError as err:
            db.session.rollback()
            form.pin.errors = [*form.pin.errors, err.message]
        else:
            db.session.commit()
            flash(_("Your counter PIN is set. Use it on the store's tablet."), "success")
            return redirect(url_for(".my_pin"), code=303)
    return render_counter("tenants/counter/my_pin.html", "tenants/counter/my_pin.html",
                          status=422 if form.errors else 200, form=form, me=current_user,
                          locked=is_locked(current_user, utcnow()))


# --- the PIN pad ---------------------------------------------------------------------------------


def _pin_limit_key() -> str:
    token = device_token()
    return "counter-pin:" + (token_hash(token) if token else request.remote_addr or "-")


def _pin_pad(error: str | None = None, chosen: int | None = None, status: int = 200):
    device = current_device()
    store = device_store(device)
    return render_counter("tenants/counter/pin.html", "tenants/counter/_pin_form.html", status=status,
                          device=device, store=store, people=pin_candidates(store), error=error, chosen=chosen)


@bp.route("/pin", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("COUNTER_PIN_RATE_LIMIT", "20 per minute"), methods=["POST"],
               key_func=_pin_limit_key)
def pin():
    """Who is at the tablet: tap your name, enter your PIN."""
    device = current_device()
    if device is None:
        return go(url_for(".home"))
    if request.method == "GET":
        store = device_store(device)
        user, _idled = current_operator(device, store)
        if user is not None:
            g.counter = CounterContext(device=device, store=store, operator=user)
        return _pin_pad()
    store = device_store(device)
    raw = (request.form.get("staff_id") or "").strip()
    chosen = int(raw) if raw.isdigit() and len(raw) < 20 else None
    try:
        user = switch_person(device=device, store=store, staff_id=chosen, pin=request.form.get("pin", ""),
                             now=utcnow())
    except CounterError as err:
        end_operator()
        return _pin_pad(err.message, chosen, status=423 if err.code == "pin_locked" else 422)
    start_operator(device, user)
    return go(url_for(".home"))


@bp.post("/lock")
def lock():
    """Back to the PIN pad: "switch person", or the tablet was left alone too long."""
    end_operator()
    if request.form.get("reason") == "idle":
        flash(_("The counter was locked because nobody used it. Enter your PIN."), "info")
    return go(url_for(".pin"))


from tenants.views import counter_members, counter_sales, counter_tiers  # noqa: E402  (children register here)

bp.register_blueprint(counter_members.bp)
bp.register_blueprint(counter_sales.bp)
bp.register_blueprint(counter_tiers.bp)
