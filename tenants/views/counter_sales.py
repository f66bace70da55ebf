"""Counter: purchase (with a live preview), receipt, return, redeem, top up, lost and replaced cards.

Every confirm form carries an idempotency key generated when the form is rendered; the POST goes
through `run_idempotent`, so a double tap or a retry records once and shows the same result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from saas.extensions import db
from saas.i18n import format_money
from saas.models import CounterDevice, StaffUser
from tenants.domain.errors import DomainError
from tenants.domain.program import LocalizedText
from tenants.domain.redemption import points_to_fen
from tenants.models import Card, Purchase, PurchaseReturn, RewardStock
from tenants.programs import business_today
from tenants.scoping import current_tenant
from tenants.services.business_time import resolve_business_time
from tenants.services.cards import member_cards, replace_lost_card, report_lost, verify_pin
from tenants.services.errors import ServiceError
from tenants.services.ledger import points_summary
from tenants.services.points import redeem
from tenants.services.purchases import LineIn, TenderIn, get_purchase, record_purchase, record_return
from tenants.services.stored_value import preview_top_up, top_up
from tenants.views.counter_present import change_text, number, tier_effect
from tenants.views.counter_session import (
    FormError,
    card_number_taken,
    counter_required,
    go,
    locale,
    member_or_404,
    new_key,
    parse_count,
    parse_yuan,
    program_now,
    render_counter,
    run_once,
    service_message,
    tier_label,
    yuan_text,
)

bp = Blueprint("sales", __name__)

STATUSES = ("regular", "discounted", "special")
MAX_LINES = 30


# --- purchase ------------------------------------------------------------------------------------


@dataclass
class LineForm:
    """One receipt line as typed: unit prices in yuan, as text (kept to re-show the form)."""

    category: str = ""
    status: str = "regular"
    price: str = ""
    paid: str = ""
    qty: str = "1"


@dataclass
class PurchaseForm:
    lines: list[LineForm]
    voucher: str = ""
    points: str = ""
    stored_value: str = ""
    key: str = ""
    errors: dict = dataclasses.field(default_factory=dict)


def read_purchase_form(form) -> PurchaseForm:
    try:
        count = parse_count(form.get("line_count"), "line_count", default=1, maximum=MAX_LINES)
    except FormError:
        count = 1
    lines = []
    for i in range(max(count, 1)):
        status = form.get(f"l{i}-status", "regular")
        lines.append(LineForm(category=form.get(f"l{i}-category", "")[:40],
                              status=status if status in STATUSES else "regular",
                              price=form.get(f"l{i}-price", "")[:20], paid=form.get(f"l{i}-paid", "")[:20],
                              qty=form.get(f"l{i}-qty", "1")[:6]))
    return PurchaseForm(lines=lines, voucher=form.get("voucher", "")[:20], points=form.get("points", "")[:12],
                        stored_value=form.get("stored_value", "")[:20], key=form.get("idem", "")[:60])


def line_ins(lines: list[LineForm], categories: set[str] = frozenset()) -> list[LineIn]:
    """Typed lines as service lines (line totals in fen); blank lines are skipped.

    A line's category is one of the program's `categories` (codes) or none: a category the rules do
    not know would silently miss its discount or exclusion, so it is refused.
    """
    result = []
    for i, line in enumerate(lines):
        if line.category.strip() and line.category.strip() not in categories:
            raise FormError(f"l{i}-category", _("Choose the category from the list."))
        price = parse_yuan(line.price, f"l{i}-price")
        if not price and not line.paid.strip():
            continue
        qty = parse_count(line.qty, f"l{i}-qty", default=1, maximum=9999)
        if qty < 1:
            raise FormError(f"l{i}-qty", _("Enter a whole number."))
        charged = None
        if line.status == "discounted":
            paid = parse_yuan(line.paid, f"l{i}-paid")
            if not line.paid.strip() or paid >= price:
                raise FormError(f"l{i}-paid", _("Enter the discounted price, lower than the regular price."))
            charged = paid * qty
        result.append(LineIn(line_id=str(len(result) + 1), regular_fen=price * qty, charged_fen=charged,
                             category=line.category.strip(), special=line.status == "special", quantity=qty))
    if not result:
        raise FormError("l0-price", _("Enter at least one amount."))
    return result


def base_tenders(form: PurchaseForm) -> tuple[list[TenderIn], int]:
    """Vouchers and points (they pay goods first), and the stored-value part of the money."""
    voucher = parse_yuan(form.voucher, "voucher")
    points = parse_count(form.points, "points")
    stored_value = parse_yuan(form.stored_value, "stored_value")
    tenders = []
    if voucher:
        tenders.append(TenderIn("voucher", voucher))
    if points:
        tenders.append(TenderIn("points", points=points))
    return tenders, stored_value


def price(member, form: PurchaseForm, at) -> dict:
    """The typed purchase priced by the service (nothing recorded), and the money split."""
    counter = g.counter
    program = program_now(at.date())
    lines = line_ins(form.lines, {c.code for c in program.categories} if program else set())
    tenders, stored_value = base_tenders(form)
    preview = record_purchase(member_id=member.id, lines=lines, tenders=tenders, business_at=at,
                              store_id=counter.store.id, staff_id=counter.operator.id, device=counter.device_ref,
                              preview=True)
    due = preview["amount_due_fen"]
    if stored_value > due:
        raise FormError("stored_value", _("The stored-value part is more than the amount due (%(amount)s).",
                                          amount=format_money(due)))
    return {"preview": preview, "lines": lines, "tenders": tenders, "stored_value": stored_value,
            "cash": due - stored_value, "pending": preview["points_pending_until"] > at.date().isoformat()}


def purchase_context(member, form: PurchaseForm, **extra) -> dict:
    on = business_today()
    program = program_now(on)
    cards = member_cards(member.id)
    categories = [(c.code, c.name.text(locale())) for c in program.categories] if program else []
    points = points_summary(member.id, on, on)
    payment = program.redemption.payment if program else None
    return {"member": member, "form": form, "categories": categories, "STATUSES": STATUSES,
            "has_card_pin": any(c.pin_hash and c.status == "active" for c in cards),
            "points_available": points["available"], "stored_value_fen": member.stored_value_fen,
            "points_payment": payment if payment is not None and payment.enabled else None,
            "program": program, **extra}


def _purchase_form_response(member, form: PurchaseForm, status: int = 200, **extra):
    return render_counter("tenants/counter/purchase.html", "tenants/counter/_purchase_form.html", status=status,
                          **purchase_context(member, form, **extra))


@bp.get("/members/<int:member_id>/purchase")
@counter_required
def purchase(member_id: int):
    member = member_or_404(member_id)
    first = LineForm(price=request.args.get("amount", "")[:20])
    return _purchase_form_response(member, PurchaseForm(lines=[first], key=new_key()))


@bp.post("/members/<int:member_id>/purchase/lines")
@counter_required
def purchase_lines(member_id: int):
    """Add or remove a line (the form re-rendered as typed, with the same key)."""
    member = member_or_404(member_id)
    form = read_purchase_form(request.form)
    remove = request.form.get("remove", "")
    if remove.isdigit() and int(remove) < len(form.lines) and len(form.lines) > 1:
        form.lines.pop(int(remove))
    elif request.form.get("add_line") and len(form.lines) < MAX_LINES:
        form.lines.append(LineForm())
    return _purchase_form_response(member, form)


@bp.post("/members/<int:member_id>/purchase/preview")
@counter_required
def purchase_preview(member_id: int):
    """The live preview: discount, points per line, what to collect, the tier effect. Changes nothing."""
    member = member_or_404(member_id)
    form = read_purchase_form(request.form)
    error, priced = None, None
    at = resolve_business_time(None)
    try:
        priced = price(member, form, at)
        # only the preview needs the tier effect: on confirm, record_purchase evaluates the tier itself
        priced["effect"] = tier_effect(member, priced["preview"], program_now(at.date()), at.date())
    except FormError as err:
        error = None if err.field == "l0-price" and not any(ln.price.strip() for ln in form.lines) else err.message
    except ServiceError as err:
        db.session.rollback()
        error = service_message(err)
    return render_counter("tenants/counter/_purchase_preview.html", "tenants/counter/_purchase_preview.html",
                          member=member, priced=priced, error=error)


@bp.post("/members/<int:member_id>/purchase")
@counter_required
def purchase_confirm(member_id: int):
    """Record the purchase once (idempotency key from the form), then show the receipt."""
    member = member_or_404(member_id)
    counter = g.counter
    form = read_purchase_form(request.form)
    at = resolve_business_time(None)
    try:
        priced = price(member, form, at)
    except FormError as err:
        form.errors[err.field] = err.message
        return _purchase_form_response(member, form, status=422, error=err.message)
    except ServiceError as err:
        db.session.rollback()
        return _purchase_form_response(member, form, status=422, error=service_message(err))
    tenders = list(priced["tenders"])
    if priced["stored_value"]:
        tenders.append(TenderIn("stored_value", priced["stored_value"]))
    if priced["cash"]:
        tenders.append(TenderIn("cash", priced["cash"]))
    pin_verified = False
    try:
        if priced["stored_value"]:
            pin_verified = verify_pin(member.id, request.form.get("card_pin", "").strip() or None)
            if not pin_verified:  # the member has no card PIN: their confirmation on the phone instead
                pin_verified = request.form.get("phone_confirmed") == "1"
        payload = {"member": member.id, "lines": [dataclasses.asdict(ln) for ln in priced["lines"]],
                   "tenders": [dataclasses.asdict(t) for t in tenders], "store": counter.store.id,
                   "staff": counter.operator.id, "device": counter.device_ref}

        def work() -> dict:
            return record_purchase(member_id=member.id, lines=priced["lines"], tenders=tenders, business_at=at,
                                   store_id=counter.store.id, staff_id=counter.operator.id,
                                   device=counter.device_ref, pin_verified=pin_verified)

        result, _replayed = run_once(form.key, "counter.purchase", payload, work)
    except ServiceError as err:
        db.session.rollback()
        return _purchase_form_response(member, form, status=err.status if err.status in (409, 423) else 422,
                                       error=service_message(err))
    return go(url_for(".receipt", member_id=member.id, purchase_id=int(result["id"])))


# --- receipt and return ----------------------------------------------------------------------------


def _purchase_of(member, purchase_id: int) -> Purchase:
    try:
        purchase = get_purchase(purchase_id)
    except ServiceError:
        abort(404)
    if purchase.member_id != member.id:
        abort(404)
    return purchase


def _device_name(ref: str) -> str:
    if ref.startswith("counter:") and ref[8:].isdigit():
        device = db.session.get(CounterDevice, (current_tenant().id, int(ref[8:])))
        if device is not None:
            return device.name
    return ref


@bp.get("/members/<int:member_id>/purchases/<int:purchase_id>")
@counter_required
def receipt(member_id: int, purchase_id: int):
    member = member_or_404(member_id)
    purchase = _purchase_of(member, purchase_id)
    program = program_now(purchase.business_date)
    staff = db.session.get(StaffUser, (member.tenant_id, purchase.staff_id)) if purchase.staff_id else None
    on = business_today()
    points = points_summary(member.id, on, on)
    returnable = any(ln["quantity"] > purchase.returned_of(ln["line_id"]) for ln in purchase.lines)
    return render_counter("tenants/counter/receipt.html", "tenants/counter/receipt.html", member=member,
                          purchase=purchase, staff=staff, device_name=_device_name(purchase.device),
                          tier_before=tier_label(program, purchase.tier_before),
                          tier_after=tier_label(program, purchase.tier_after), points=points,
                          pending=purchase.pending_until > purchase.business_date, returnable=returnable,
                          returns=returns_of(purchase))


def returns_of(purchase: Purchase) -> dict | None:
    """What the returns of `purchase` handed back, and what the member keeps of it (None: nothing returned).

    Kept money is what was due less the refunds and what was kept from them for spent points; kept
    points are those earned less what the returns took back (or found already spent).
    """
    rows = list(db.session.scalars(select(PurchaseReturn).where(PurchaseReturn.purchase_id == purchase.id)
                                   .order_by(PurchaseReturn.created_at, PurchaseReturn.id)))
    if not rows:
        return None
    total = {name: sum(getattr(r, name) for r in rows) for name in (
        "refund_fen", "deducted_fen", "points_given_back", "points_taken_back", "shortfall_points")}
    return {
        "rows": [{"row": r, "quantity": sum(r.lines.values())} for r in rows],
        **total,
        "kept_paid_fen": purchase.amount_due_fen - total["refund_fen"] - total["deducted_fen"],
        "kept_points": purchase.points_earned - total["points_taken_back"] - total["shortfall_points"],
        "kept_points_used": purchase.points_used - total["points_given_back"],
        "kept_items": sum(ln["quantity"] - purchase.returned_of(ln["line_id"]) for ln in purchase.lines),
    }


def _return_response(member, purchase, key: str, chosen: dict | None = None, error=None, status=200):
    rows = []
    for ln in purchase.lines:
        done = purchase.returned_of(ln["line_id"])
        rows.append({"line": ln, "returned": done, "left": ln["quantity"] - done,
                     "chosen": (chosen or {}).get(ln["line_id"], 0)})
    return render_counter("tenants/counter/return.html", "tenants/counter/_return_form.html", status=status,
                          member=member, purchase=purchase, rows=rows, key=key, error=error)


@bp.route("/members/<int:member_id>/purchases/<int:purchase_id>/return", methods=["GET", "POST"])
@counter_required
def purchase_return(member_id: int, purchase_id: int):
    """Return some lines of a past purchase (quantities chosen per line); points and spend go back."""
    member = member_or_404(member_id)
    purchase = _purchase_of(member, purchase_id)
    if request.method == "GET":
        return _return_response(member, purchase, new_key())
    counter = g.counter
    key = request.form.get("idem", "")[:60]
    chosen = {}
    for ln in purchase.lines:
        raw = request.form.get(f"q-{ln['line_id']}", "0")
        chosen[ln["line_id"]] = int(raw) if raw.isdigit() and len(raw) < 6 else 0
    lines = {k: v for k, v in chosen.items() if v}
    if not lines:
        return _return_response(member, purchase, key, chosen, ServiceError("return_empty").message, 422)
    at = resolve_business_time(None)
    payload = {"purchase": purchase.id, "member": member.id, "lines": lines, "store": counter.store.id,
               "staff": counter.operator.id}
    try:
        result, _replayed = run_once(key, "counter.return", payload, lambda: record_return(
            purchase_id=purchase.id, member_id=member.id, lines=lines, business_at=at, store_id=counter.store.id,
            staff_id=counter.operator.id))
    except ServiceError as err:
        db.session.rollback()
        db.session.expire_all()
        return _return_response(member, _purchase_of(member, purchase_id), key, chosen, service_message(err), 422)
    flash(return_summary(result), "success")
    return go(url_for(".receipt", member_id=member.id, purchase_id=purchase.id))


def return_summary(result: dict) -> str:
    text = _("Return recorded: refund %(refund)s, %(given)s points given back, %(taken)s points taken back.",
             refund=format_money(result["refund_fen"]), given=number(result["points_given_back"]),
             taken=number(result["points_taken_back"]))
    if result.get("shortfall_points"):
        if result.get("deducted_fen"):
            text += " " + _("%(points)s points were already spent: %(amount)s is kept from the refund.",
                            points=number(result["shortfall_points"]), amount=format_money(result["deducted_fen"]))
        else:
            text += " " + _("%(points)s points were already spent and are written off.",
                            points=number(result["shortfall_points"]))
    return text


# --- redeem --------------------------------------------------------------------------------------


def redeem_options(program, available: int, on) -> dict:
    """The ways this program lets points be redeemed, with what each costs (catalogue stock included)."""
    rules = program.redemption
    loc = locale()
    stock = {s.item_code: s.stock for s in db.session.scalars(select(RewardStock))}
    catalogue = [{"code": i.code, "name": i.name.text(loc), "points": i.points, "stock": stock.get(i.code, 0),
                  "value": format_money(i.value_fen) if i.value_fen else "", "voucher": i.kind == "voucher",
                  "key": new_key()} for i in rules.catalogue]
    threshold = [{"code": r.code, "name": r.name.text(loc), "points": r.points, "mode": r.mode,
                  "voucher": format_money(r.voucher_fen) if r.voucher_fen else "",
                  "gift": r.gift.text(loc) if r.gift else "",
                  "most": (available // r.points) if r.mode == "every" else (1 if available >= r.points else 0),
                  "key": new_key()} for r in rules.threshold_rewards]
    stepped = [{"from": r.from_points, "step": r.step_points, "value": format_money(r.value_fen)}
               for r in rules.stepped]
    nights = None
    if rules.nights is not None:
        nights = {"points": rules.nights.points_per_night, "room": rules.nights.room_type.text(loc)
                  if rules.nights.room_type else "", "most": available // rules.nights.points_per_night,
                  "key": new_key()}
    payment = None
    if rules.payment.enabled:
        try:
            payment = format_money(points_to_fen(program, rules.payment.points))
        except DomainError:
            payment = None
    window = None
    if rules.window is not None and on.month not in rules.window.months:
        window = ", ".join(str(m) for m in sorted(rules.window.months))
    return {"catalogue": catalogue, "threshold": threshold, "stepped": stepped, "stepped_key": new_key(),
            "nights": nights, "payment": payment, "payment_points": rules.payment.points, "window": window,
            "issuing_only": rules.issuing_store_only,
            "any": bool(catalogue or threshold or stepped or nights)}


def redeem_summary(result: dict) -> str:
    if result["kind"] == "nights":
        what = ngettext("%(num)d free night", "%(num)d free nights", result["quantity"])
    elif result.get("voucher_fen"):
        what = _("a voucher of %(amount)s", amount=format_money(result["voucher_fen"]))
    elif result.get("gift"):
        what = f"{LocalizedText.model_validate(result['gift']).text(locale())} × {result['quantity']}"
    else:
        what = _("goods worth %(amount)s", amount=format_money(result["value_fen"]))
    return _("Redeemed %(points)s points for %(what)s.", points=number(result["points"]), what=what)


def _redeem_response(member, status=200, message=None, error=None):
    on = business_today()
    program = program_now(on)
    points = points_summary(member.id, on, on)
    options = redeem_options(program, points["available"], on) if program else None
    return render_counter("tenants/counter/redeem.html", "tenants/counter/_redeem_panel.html", status=status,
                          member=member, points=points, options=options, message=message, error=error)


@bp.route("/members/<int:member_id>/redeem", methods=["GET", "POST"])
@counter_required
def redeem_points(member_id: int):
    member = member_or_404(member_id)
    if request.method == "GET":
        return _redeem_response(member)
    counter = g.counter
    kind = request.form.get("kind", "")
    try:
        quantity = parse_count(request.form.get("quantity"), "quantity", default=1, maximum=9999)
        points = parse_count(request.form.get("points"), "points")
    except FormError as err:
        return _redeem_response(member, 422, error=err.message)
    code = request.form.get("code", "")[:40]
    payload = {"member": member.id, "kind": kind, "code": code, "quantity": quantity, "points": points,
               "store": counter.store.id, "staff": counter.operator.id}
    at = resolve_business_time(None)
    try:
        result, _replayed = run_once(request.form.get("idem", "")[:60], "counter.redeem", payload, lambda: redeem(
            member_id=member.id, kind=kind, business_at=at, code=code, quantity=quantity, points=points,
            nights=quantity if kind == "nights" else 0, store_id=counter.store.id, staff_id=counter.operator.id))
    except ServiceError as err:
        db.session.rollback()
        return _redeem_response(member, 409 if err.code == "out_of_stock" else 422, error=service_message(err))
    return _redeem_response(member, message=redeem_summary(result))


# --- top up --------------------------------------------------------------------------------------


def _top_up_response(member, amount: str = "", key: str | None = None, status=200, error=None, result=None):
    on = business_today()
    program = program_now(on)
    chips = sorted({50_000, 100_000, *(r.min_top_up_fen for r in program.stored_value.bonus_rows)}) if program else []
    preview = None
    if amount and error is None and result is None:
        try:
            preview = preview_top_up(parse_yuan(amount, "amount"), on, member.id)
        except (FormError, ServiceError):
            preview = None
    changes = [change_text(c, program) for c in (result or {}).get("tier_changes", [])]
    return render_counter("tenants/counter/topup.html", "tenants/counter/_topup_form.html", status=status,
                          member=member, amount=amount, key=key or new_key(), error=error, result=result,
                          preview=preview, chips=[yuan_text(c) for c in chips], changes=changes,
                          enabled=bool(program and program.stored_value.enabled),
                          unlock_tier=tier_label(program, (result or preview or {}).get("unlock_tier")))


@bp.route("/members/<int:member_id>/top-up", methods=["GET", "POST"])
@counter_required
def top_up_balance(member_id: int):
    member = member_or_404(member_id)
    if request.method == "GET":
        return _top_up_response(member, request.args.get("amount", "")[:20])
    counter = g.counter
    amount, key = request.form.get("amount", "")[:20], request.form.get("idem", "")[:60]
    try:
        amount_fen = parse_yuan(amount, "amount")
    except FormError as err:
        return _top_up_response(member, amount, key, 422, err.message)
    if not amount_fen:
        return _top_up_response(member, amount, key, 422, _("Enter the amount to top up, such as 500.")
                                if not amount.strip() else _("Enter an amount greater than zero."))
    at = resolve_business_time(None)
    payload = {"member": member.id, "amount": amount_fen, "store": counter.store.id, "staff": counter.operator.id}
    try:
        result, _replayed = run_once(key, "counter.top_up", payload, lambda: top_up(
            member_id=member.id, amount_fen=amount_fen, business_at=at, store_id=counter.store.id,
            staff_id=counter.operator.id))
    except ServiceError as err:
        db.session.rollback()
        return _top_up_response(member, amount, key, 422, service_message(err))
    return _top_up_response(member, amount, key, result=result)


@bp.get("/members/<int:member_id>/top-up/preview")
@counter_required
def top_up_preview(member_id: int):
    """The bonus a typed amount would get (the best single bonus row), before confirming."""
    member = member_or_404(member_id)
    on = business_today()
    preview, error = None, None
    try:
        amount = parse_yuan(request.args.get("amount", "")[:20], "amount")
        if amount:
            preview = preview_top_up(amount, on, member.id)
    except FormError as err:
        error = err.message
    except ServiceError as err:
        error = service_message(err)
    return render_counter("tenants/counter/_topup_preview.html", "tenants/counter/_topup_preview.html",
                          preview=preview, error=error,
                          unlock_tier=tier_label(program_now(on), (preview or {}).get("unlock_tier")))


# --- cards -------------------------------------------------------------------------------------


def _card_of(member, card_id: int) -> Card:
    card = db.session.get(Card, (current_tenant().id, card_id))
    if card is None or card.member_id != member.id:
        abort(404)
    return card


@bp.post("/members/<int:member_id>/cards/<int:card_id>/lost")
@counter_required
def card_lost(member_id: int, card_id: int):
    """挂失: blocked at once (from this moment on)."""
    member = member_or_404(member_id)
    card = _card_of(member, card_id)
    try:
        report_lost(card, resolve_business_time(None), staff_id=g.counter.operator.id, device=str(g.counter.device.id))
    except ServiceError as err:
        db.session.rollback()
        flash(service_message(err), "error")
    else:
        db.session.commit()
        flash(_("Card %(number)s is blocked from now on.", number=card.number), "success")
    return go(url_for("tenant.counter.members.show", member_id=member.id))


@bp.post("/members/<int:member_id>/cards/<int:card_id>/replace")
@counter_required
def card_replace(member_id: int, card_id: int):
    """补卡: a new number once the program's delay has passed; tier, points and balance carry over."""
    member = member_or_404(member_id)
    card = _card_of(member, card_id)
    counter = g.counter
    new_number = "".join(request.form.get("new_number", "").split())[:40] or None
    on = business_today()
    if card_number_taken(new_number):
        flash(_("This card number is already in use."), "error")
        return go(url_for("tenant.counter.members.show", member_id=member.id))
    payload = {"card": card.id, "new_number": new_number, "staff": counter.operator.id}

    def work() -> dict:
        new = replace_lost_card(card, on, new_number, staff_id=counter.operator.id, store_id=counter.store.id,
                                device=str(counter.device.id))
        return {"number": new.number, "fee_fen": new.fee_fen}

    try:
        result, _replayed = run_once(request.form.get("idem", "")[:60], "counter.card_replace", payload, work)
    except ServiceError as err:
        db.session.rollback()
        flash(service_message(err), "error")
    else:
        text = _("New card %(number)s issued; tier, points and balance carry over.", number=result["number"])
        if result["fee_fen"]:
            text += " " + _("Replacement fee: %(amount)s.", amount=format_money(result["fee_fen"]))
        flash(text, "success")
    return go(url_for("tenant.counter.members.show", member_id=member.id))
