"""Counter: the member panel, and enrolling a new member (name + phone first, the rest optional)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from saas.extensions import db
from saas.forms import choices, place_errors
from saas.i18n import format_money
from saas.models import StaffUser
from tenants.domain.program import (
    CardFeeEnrolment,
    CumulativePurchaseEnrolment,
    FreeSignUp,
    GiftCardEnrolment,
    SinglePurchaseEnrolment,
)
from tenants.programs import business_today
from tenants.services.business_time import resolve_business_time
from tenants.services.cards import member_cards, replacement_available_on
from tenants.services.enrolment_check import enrolment_field_errors
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member, find_by_phone, member_json, normalize_phone
from tenants.services.members import reveal_id_document as reveal_full_id_number
from tenants.services.purchases import member_purchases
from tenants.services.stored_value import top_up
from tenants.services.tiers import explain_member
from tenants.views.counter_present import (
    ID_DOCS,
    birthday_banner,
    card_qr,
    id_document_view,
    tier_perks,
    tier_status,
)
from tenants.views.counter_session import (
    FormError,
    counter_required,
    counter_requires,
    go,
    locale,
    member_or_404,
    new_key,
    parse_yuan,
    program_now,
    render_counter,
    run_once,
    service_message,
    tier_label,
)

bp = Blueprint("members", __name__)

GENDERS = choices([("", _l("—")), ("female", _l("Female")), ("male", _l("Male")), ("other", _l("Other"))])


# --- the member panel ----------------------------------------------------------------------------


def panel_context(member, on) -> dict:
    """Everything the member panel shows, as of the business day `on`."""
    program = program_now(on)
    data = member_json(member, on)
    try:
        explanation = explain_member(member, on)
    except ServiceError:
        explanation = {"tier": data["tier"]["code"], "reasons": [], "upgrades": [], "keep": None}
    tier_code = explanation["tier"]
    cards = member_cards(member.id)
    replace_from = {}
    for card in cards:
        try:
            available = replacement_available_on(card, on)
        except ServiceError:  # no program in force: the replacement will say so
            available = None
        if available is not None and available > on:
            replace_from[card.id] = available
    live = [c for c in cards if c.status == "active"]
    qr_card = next((c for c in live if c.kind == "virtual"), live[0] if live else None)
    responsible = (db.session.get(StaffUser, (member.tenant_id, member.responsible_staff_id))
                   if member.responsible_staff_id else None)
    return {
        "member": member,
        "data": data,
        "program": program,
        "tier_code": tier_code,
        "tier_name": tier_label(program, tier_code),
        "tier_index": program.tier_index(tier_code) if program else 0,
        "status_items": tier_status(explanation, program),
        "perks": tier_perks(program, tier_code) if program else [],
        "birthday": birthday_banner(member, on, program, tier_code),
        "purchases": member_purchases(member.id, limit=5),
        "responsible": responsible,
        "cards": cards,
        "replace_from": replace_from,  # card id → first day a lost card can be replaced, when after today
        "qr_card": qr_card,
        "qr": card_qr(qr_card.number) if qr_card else None,
        "full": g.counter.can("members.view_full"),
        "id_document": id_document(member),
        "coupons": [],
        "followups": [],
        "on": on,
    }


def id_document(member, revealed: bool = False) -> dict | None:
    return id_document_view(member, revealed, can_reveal=g.counter.can("members.reveal_id"),
                            reveal_url=url_for("tenant.counter.members.reveal_id_document", member_id=member.id))


@bp.post("/members/<int:member_id>/id-document")
@counter_requires("members.reveal_id")
def reveal_id_document(member_id: int):
    """查看证件号: the full number for a role allowed to see it, written to the audit log each time."""
    member = member_or_404(member_id)
    if not g.counter.can("members.view_full"):
        abort(403)
    if not member.id_doc_number:  # nothing to reveal: as in the back office, no such number
        abort(404)
    reveal_full_id_number(member, g.counter.operator.id, device=str(g.counter.device.id))
    db.session.commit()
    context = panel_context(member, business_today())
    context["id_document"] = id_document(member, revealed=True)
    return render_counter("tenants/counter/member.html", "tenants/counter/_id_document.html", **context)


@bp.get("/members/<int:member_id>")
@counter_required
def show(member_id: int):
    member = member_or_404(member_id)
    context = panel_context(member, business_today())
    context["enrolled"] = request.args.get("enrolled") == "1"
    context["qualifying"] = request.args.get("purchase", "")
    return render_counter("tenants/counter/member.html", "tenants/counter/member.html", **context)


# --- enrolment -----------------------------------------------------------------------------------


class EnrolForm(FlaskForm):
    idem = HiddenField()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[Optional(), Length(max=20)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    birthday = DateField(_l("Birthday"), validators=[Optional()])
    gender = SelectField(_l("Gender"), choices=GENDERS, validators=[Optional()])
    marketing_consent = BooleanField(_l("Agrees to receive offers and news"))
    card_type = SelectField(_l("Card type"), validators=[Optional()])
    physical_card_number = StringField(_l("Physical card number (scan it)"), validators=[Optional(), Length(max=40)])
    card_pin = PasswordField(_l("Card PIN for stored value (4 to 8 digits)"), validators=[Optional(), Length(max=8)])
    purchase = StringField(_l("Today's qualifying purchase (¥)"), validators=[Optional(), Length(max=20)])
    card_fee_paid = BooleanField(_l("Card fee paid"))
    top_up_amount = StringField(_l("Top-up with the sign-up (¥)"), validators=[Optional(), Length(max=20)])
    id_doc_type = SelectField(_l("ID document"), choices=ID_DOCS, validators=[Optional()])
    id_doc_number = StringField(_l("Document number"), validators=[Optional(), Length(max=40)])
    real_name_verified = BooleanField(_l("I checked the document and the person match"))
    gift_card_activated = BooleanField(_l("A gift card handed out before the opening is activated now"))
    receipts = HiddenField()  # carries the errors of the receipt rows (RECEIPT_ROWS date/amount inputs)


RECEIPT_ROWS = 4


def _receipt_rows() -> list[dict]:
    """The earlier receipts typed at the counter, as typed (kept on a refusal)."""
    return [{"date": request.form.get(f"receipt-{i}-date", "")[:10],
             "amount": request.form.get(f"receipt-{i}-amount", "")[:20]} for i in range(RECEIPT_ROWS)]


def _parse_receipts(rows: list[dict]) -> tuple[list[tuple[dt.date, int]], str | None]:
    """(date, fen) of the filled rows, or the first problem in words."""
    receipts = []
    for row in rows:
        if not row["date"] and not row["amount"]:
            continue
        try:
            day = dt.date.fromisoformat(row["date"])
            fen = parse_yuan(row["amount"], "receipts")
        except (ValueError, FormError):
            return [], _("Each receipt needs a date up to today and an amount above zero.")
        receipts.append((day, fen))
    return receipts, None


def enrolment_rules(program) -> dict:
    """What the program asks of a new member, as sentences and as which optional fields to show."""
    lines, needs = [], set()
    for cond in program.enrolment.conditions:
        if isinstance(cond, FreeSignUp):
            lines.append(_("Free sign-up."))
        elif isinstance(cond, SinglePurchaseEnrolment):
            lines.append(_("A single purchase of at least %(amount)s.", amount=format_money(cond.min_fen)))
            needs.add("purchase")
        elif isinstance(cond, CumulativePurchaseEnrolment):
            lines.append(ngettext("Purchases of at least %(amount)s within %(num)d month.",
                                  "Purchases of at least %(amount)s within %(num)d months.", cond.months,
                                  amount=format_money(cond.min_fen)))
            needs.update({"purchase", "receipts"})
        elif isinstance(cond, CardFeeEnrolment):
            fee = cond.fee_fen if cond.fee_fen is not None else program.card_type().fee_fen
            lines.append(_("Paying the card fee of %(amount)s.", amount=format_money(fee)))
            needs.update({"card_fee", "top_up"})
            for waiver in program.card_type().fee_waivers:
                lines.append(_("The card fee is waived with a top-up of at least %(amount)s.",
                               amount=format_money(waiver.min_fen)))
        elif isinstance(cond, GiftCardEnrolment):
            lines.append(ngettext("Activating a gift card within %(num)d day of the store opening.",
                                  "Activating a gift card within %(num)d days of the store opening.",
                                  cond.activation_days))
            needs.add("gift_card")
    if program.enrolment.real_name_required:
        lines.append(_("Real-name registration: check an ID document."))
        needs.add("real_name")
    if len(program.enrolment.conditions) > 1:
        lines.append(_("Any one of these is enough."))
    return {"lines": lines, "needs": needs, "card_fee": program.card_type().fee_fen}


def _enrol_form(program) -> EnrolForm:
    form = EnrolForm()
    form.card_type.choices = choices((c.code, c.name.text(locale())) for c in program.card_types)
    if request.method == "GET":
        form.idem.data = new_key()
        form.card_type.data = program.card_type().code
        form.phone.data = ""
    return form


def _render_enrol(form, program, error=None, status=200):
    rows = _receipt_rows() if request.method == "POST" else [{"date": "", "amount": ""}] * RECEIPT_ROWS
    return render_counter("tenants/counter/enrol.html", "tenants/counter/_enrol_form.html", status=status,
                          form=form, rules=enrolment_rules(program) if program else None, error=error,
                          receipt_rows=rows,
                          multiple_card_types=program is not None and len(program.card_types) > 1)


@bp.route("/enrol", methods=["GET", "POST"])
@counter_required
def enrol():
    on = business_today()
    program = program_now(on)
    if program is None:
        return _render_enrol(None, None, ServiceError("no_program").message, status=422)
    form = _enrol_form(program)
    if request.method == "GET":
        return _render_enrol(form, program)
    if request.form.get("prefill") == "1":  # "enrol this number" from a search: the form, with the phone
        form.idem.data, form.card_type.data = new_key(), program.card_type().code
        return _render_enrol(form, program)
    # Every problem at once, each on its field: the form's own checks, the amounts, the PIN, and all
    # that the enrolment would refuse (enrolment_field_errors); nothing is written until none is left.
    form.validate_on_submit()
    counter = g.counter
    amounts = {}
    for name in ("purchase", "top_up_amount"):
        try:
            amounts[name] = parse_yuan(form[name].data, name)
        except FormError as err:
            form[name].errors = [*form[name].errors, err.message]
            amounts[name] = 0
    purchase_fen, top_up_fen = amounts["purchase"], amounts["top_up_amount"]
    receipts, receipt_error = _parse_receipts(_receipt_rows())
    if receipt_error:
        form.receipts.errors = [receipt_error]
    card_type = form.card_type.data or None
    fee = program.card_type(card_type).fee_fen if any(c.code == card_type for c in program.card_types) else 0
    pin = (form.card_pin.data or "").strip() or None
    if pin and not (pin.isdigit() and 4 <= len(pin) <= 8):
        form.card_pin.errors = [*form.card_pin.errors, _("The card PIN is 4 to 8 digits.")]
    fields = {
        "name": (form.name.data or "").strip(), "phone": (form.phone.data or "").strip() or None,
        "email": (form.email.data or "").strip() or None, "birthday": form.birthday.data,
        "gender": form.gender.data or None, "marketing_consent": bool(form.marketing_consent.data),
        "card_type": card_type, "physical_card_number": (form.physical_card_number.data or "").strip() or None,
        "purchase_fen": purchase_fen, "card_fee_paid_fen": fee if form.card_fee_paid.data else 0,
        "top_up_fen": top_up_fen, "real_name_verified": bool(form.real_name_verified.data and form.id_doc_number.data),
        "id_doc_type": form.id_doc_type.data if form.id_doc_number.data else None,
        "id_doc_number": (form.id_doc_number.data or "").strip() or None,
        "gift_card_activated": bool(form.gift_card_activated.data),
    }
    error = None
    refusals = enrolment_field_errors(
        on=on, phone=fields["phone"], email=fields["email"], physical_card_number=fields["physical_card_number"],
        card_type=card_type, real_name_verified=fields["real_name_verified"], purchase_fen=purchase_fen,
        card_fee_paid_fen=fields["card_fee_paid_fen"], top_up_fen=top_up_fen, receipts=receipts,
        gift_card_activated=fields["gift_card_activated"], store_id=counter.store.id, birthday=fields["birthday"])
    for name, message in refusals.items():
        if name in form and form[name].errors:
            continue  # the field already says what is wrong with it
        if name in form:
            form[name].errors = [*form[name].errors, message]
        elif name not in form:
            error = message
    if form.errors or error:
        return _render_enrol(form, program, error, status=422)
    payload = {**fields, "pin": bool(pin), "store": counter.store.id, "staff": counter.operator.id,
               "receipts": [[day.isoformat(), fen] for day, fen in receipts]}

    def work() -> dict:
        at = resolve_business_time(None)
        member = enroll_member(business_at=at, store_id=counter.store.id, staff_id=counter.operator.id, pin=pin,
                               source="counter", receipts=receipts, **fields)
        if top_up_fen:
            top_up(member_id=member.id, amount_fen=top_up_fen, business_at=at, store_id=counter.store.id,
                   staff_id=counter.operator.id)
        return {"member_id": str(member.id)}

    try:
        result, _replayed = run_once(form.idem.data, "counter.enrol", payload, work)
    except ServiceError as err:  # what changed since the check (a twin enrolled the same phone just now)
        db.session.rollback()
        if not err.fields:
            return _render_enrol(form, program, service_message(err), status=422)
        place_errors(form, err, "phone")
        return _render_enrol(form, program, status=422)
    target = url_for(".show", member_id=int(result["member_id"]), enrolled=1,
                     purchase=form.purchase.data.strip() if purchase_fen else None)
    return go(target)


@bp.post("/enrol/phone")
@counter_required
def phone_check():
    """As the phone is typed: already a member? (one member per phone number, SPEC §3). By POST: the number
    stays out of URLs and access logs."""
    raw = request.form.get("phone", "")[:20]
    digits = "".join(ch for ch in raw if ch.isdigit())
    state, existing = None, None
    if len(digits) >= 6:  # a number of another country may be short; "not a member" only once it is whole
        try:
            normalize_phone(raw)
        except ServiceError:
            state = "invalid" if len(digits) >= 11 else None
        else:
            existing = find_by_phone(raw)
            state = "taken" if existing else ("free" if len(digits) >= 11 else None)
    return render_counter("tenants/counter/_phone_check.html", "tenants/counter/_phone_check.html",
                          state=state, existing=existing)
