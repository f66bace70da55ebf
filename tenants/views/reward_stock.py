"""Reward stock: the catalogue items with their stock, receiving deliveries, stock counts, each item's history.

Item codes come from the catalogue in force: a code that is not in it (another tenant's, a removed item's)
is a 404. Receive and count forms sit in each item's row; with htmx they answer that row, without it the
page (a redirect after a change, the page again with the form kept when a field is wrong).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from saas.auth import require
from saas.extensions import db
from saas.htmx import is_fragment_request, render
from saas.i18n import format_number
from saas.models import StaffUser
from tenants.programs import business_today
from tenants.services import reward_stock
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.reward_stock import LOW_STOCK, MAX_RECEIPT, MAX_STOCK, NOTE_MAX_LENGTH, StockLevel
from tenants.views.counter_session import new_key

bp = Blueprint("rewards", __name__)

WHOLE = re.compile(r"[0-9]{1,9}")


def _typed(field) -> str:
    return (field.data or "").strip()


def _number(field) -> int:
    """A whole number as typed (thousands separators allowed); the field's validator has checked it."""
    return int(_typed(field).replace(",", ""))


def _whole_number(low: int, high: int):
    def check(_form, field) -> None:
        text = _typed(field).replace(",", "")
        if not WHOLE.fullmatch(text) or not low <= int(text) <= high:
            raise ValidationError(_("Enter a whole number from %(low)s to %(high)s.", low=format_number(low),
                                    high=format_number(high)))

    return check


def _short_text(required: bool):
    def check(_form, field) -> None:
        text = _typed(field)
        if required and not text:
            raise ValidationError(_("A reason is required."))
        if len(text) > NOTE_MAX_LENGTH:
            raise ValidationError(_("At most %(max)d characters.", max=NOTE_MAX_LENGTH))

    return check


class ReceiveForm(FlaskForm):
    quantity = StringField(_l("Pieces received"), validators=[_whole_number(1, MAX_RECEIPT)])
    note = StringField(_l("Note"), validators=[_short_text(required=False)])
    idem = HiddenField()


class CountForm(FlaskForm):
    counted = StringField(_l("Pieces counted"), validators=[_whole_number(0, MAX_STOCK)])
    reason = StringField(_l("Reason"), validators=[_short_text(required=True)])
    idem = HiddenField()


@dataclass
class Row:
    """One item's line of the stock table, with its two forms (fresh, or as posted when refused)."""

    level: StockLevel
    receive: ReceiveForm
    count: CountForm
    message: str = ""
    error: str = ""


def _fresh_row(level: StockLevel, **kwargs) -> Row:
    return Row(level, ReceiveForm(formdata=None, idem=new_key()), CountForm(formdata=None, idem=new_key()),
               **kwargs)


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _level_or_404(item_code: str) -> StockLevel:
    level = reward_stock.stock_level(item_code[:40], business_today())
    if level is None:
        abort(404)
    return level


@bp.get("/rewards/stock")
@require("rewards.stock")
def index():
    return _stock_page([_fresh_row(level) for level in reward_stock.stock_levels(business_today())])


def _stock_page(rows: list[Row]) -> str:
    return render("tenants/rewards/stock.html", "tenants/rewards/stock.html", rows=rows, loc=_locale(),
                  low_stock=LOW_STOCK)


def _refused(row: Row, status: int):
    """The row with the refused form kept: alone for htmx, in the whole page otherwise."""
    if is_fragment_request():
        return render("tenants/rewards/_row.html", "tenants/rewards/_row.html", row=row, loc=_locale()), status
    rows = [row if level.code == row.level.code else _fresh_row(level)
            for level in reward_stock.stock_levels(business_today())]
    return _stock_page(rows), status


def _done(level: StockLevel, message: str):
    if is_fragment_request():
        fresh = reward_stock.stock_level(level.code, business_today()) or level
        return render("tenants/rewards/_row.html", "tenants/rewards/_row.html",
                      row=_fresh_row(fresh, message=message), loc=_locale())
    flash(message, "success")
    return redirect(url_for("tenant.rewards.index", _anchor=f"stock-{level.code}"), code=303)


def _apply_refusal(row: Row, form: FlaskForm, err: ServiceError) -> int:
    """Put a service refusal on the form's fields (or on the row); the HTTP status to answer with."""
    db.session.rollback()
    placed = False
    for name, message in err.fields.items():
        field = getattr(form, name, None)
        if field is not None and name != "idem":
            field.errors = [*field.errors, message]
            placed = True
    if err.code == "idempotency_key_reused":
        form.idem.data = new_key()
        row.error = _("This form was already used for another request. Nothing was changed; start again.")
    elif err.code == "idempotency_key_required":
        form.idem.data = new_key()
        row.error = _("This form is missing its key. Reload the page and try again.")
    elif err.code == "idempotency_in_progress":
        row.error = _("The same change is still being recorded. Reload the page in a moment.")
    elif not placed:
        row.error = err.message
    return 409 if err.code == "idempotency_in_progress" else 422


def _record(row: Row, form: FlaskForm, operation: str, change, **values) -> dict:
    """`change` (reward_stock.receive or .count) of the row's item with `values`, at most once per form key:
    the same form sent twice answers what the first did."""
    key = (form.idem.data or "").strip()[:60]
    if not key:
        raise ServiceError("idempotency_key_required")
    code, on = row.level.code, business_today()
    payload = {"item": code, **values, "staff": current_user.id, "on": on}
    result, _replayed = run_idempotent(f"rewards:{key}", operation, payload, lambda: change(
        code, **values, staff_id=current_user.id, on=on, commit=False))
    return result


@bp.post("/rewards/stock/<item_code>/receive")
@require("rewards.stock")
def receive(item_code: str):
    level = _level_or_404(item_code)
    form = ReceiveForm()
    row = Row(level, form, CountForm(formdata=None, idem=new_key()))
    if not form.validate():
        return _refused(row, 422)
    try:
        result = _record(row, form, "rewards.receive", reward_stock.receive, quantity=_number(form.quantity),
                         note=_typed(form.note))
    except ServiceError as err:
        return _refused(row, _apply_refusal(row, form, err))
    return _done(level, _("%(quantity)s received: %(stock)s in stock now.", quantity=format_number(result['change']),
                          stock=format_number(result['stock'])))


@bp.post("/rewards/stock/<item_code>/count")
@require("rewards.stock")
def count(item_code: str):
    level = _level_or_404(item_code)
    form = CountForm()
    row = Row(level, ReceiveForm(formdata=None, idem=new_key()), form)
    if not form.validate():
        return _refused(row, 422)
    try:
        result = _record(row, form, "rewards.count", reward_stock.count, counted=_number(form.counted),
                         reason=_typed(form.reason))
    except ServiceError as err:
        return _refused(row, _apply_refusal(row, form, err))
    if result["change"]:
        message = _("Counted %(stock)s: %(change)s against the stock on record.", stock=format_number(result['stock']),
                    change=f"{result['change']:+,}")
    else:
        message = _("Counted %(stock)s: the stock on record was right.", stock=format_number(result['stock']))
    return _done(level, message)


KIND_LABELS = {
    "received": _l("Received"),
    "counted": _l("Stock count"),
    "redeemed": _l("Redeemed"),
    "returned": _l("Redemption returned"),
}


@bp.get("/rewards/stock/<item_code>")
@require("rewards.stock")
def history(item_code: str):
    level = _level_or_404(item_code)
    page = reward_stock.movements(level.code, request.args.get("page"))
    staff_ids = {m.staff_id for m in page.items if m.staff_id is not None}
    staff = dict(db.session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(staff_ids)))
                 .all()) if staff_ids else {}
    return render("tenants/rewards/history.html", "tenants/rewards/_movements.html", level=level, page=page,
                  staff=staff, kinds=KIND_LABELS, loc=_locale())
