"""The member page's cards and stored-value adjustments (store manager and up, within their stores).

Thin: each form is parsed, its operation runs once per idempotency key (`run_idempotent`: one commit, a double
tap replays the first answer), and a refusal shows the member page again (422) with the message on its field
and what was typed kept. The rules are in tenants/services/back_office_cards.py (over cards.py, shared with the
counter and the API) and tenants/services/stored_value_adjustments.py.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from saas.auth import require
from saas.extensions import db
from saas.i18n import format_money
from saas.models import StaffUser
from tenants.access import visible_store_ids
from tenants.models import StoredValueAdjustmentRequest
from tenants.programs import business_today
from tenants.services import back_office_cards as desk
from tenants.services import stored_value_adjustments as sv
from tenants.services.business_time import resolve_business_time
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.views.counter_session import service_message
from tenants.views.member_ledgers import ledger_rows

bp = Blueprint("member_cards", __name__)

# The field a refusal without one of its own is shown on, per form.
MAIN_FIELD = {"issue": "number", "pin": "pin", "loss": "card", "replace": "new_number", "exchange": "new_number",
              "close": "close", "sv_adjust": "amount"}


def _lang() -> str:
    return str(get_locale() or "zh_CN")


def page_extras(member) -> dict:
    """What the member page shows of cards, stored-value adjustments and the ledgers (see members._member_page)."""
    on = business_today()
    return {"desk": desk.desk(member, on), "lang": _lang(), "card_form": None,
            "sv_threshold": sv.sv_approval_threshold(), "sv_pending": [r for r, _m in sv.pending_requests(member.id)],
            "sv_typed": {"direction": sv.CREDIT, "amount": "", "reason": ""}, "sv_errors": {},
            **ledger_rows(member.id, _lang())}


def _member(member_id: int):
    from tenants.views.members import member_in_scope_or_404

    return member_in_scope_or_404(member_id)


def _store_id() -> int | None:
    return current_user.store_id  # card income of the person's store (none: the member's own store)


def _run(member_id: int, form: str, typed: dict, work, card_id: int | None = None):
    """Run the form's operation once per key; the page again (422) with the refusal on its field."""
    key = request.form.get("idem", "")
    try:
        if not key or len(key) > 60:
            raise ServiceError("idempotency_key_required")
        result, _replayed = run_idempotent(f"backoffice:{key}", f"member.{form}",
                                           {"member": member_id, "card": card_id, **typed}, work)
    except ServiceError as err:
        db.session.rollback()
        return None, _refused(member_id, form, err, typed, card_id)
    return result, None


def _refused(member_id: int, form: str, err: ServiceError, typed: dict, card_id: int | None):
    from saas.htmx import render
    from tenants.views.members import _member_page

    if err.code == "not_found":
        abort(404)
    errors = dict(err.fields) or {MAIN_FIELD[form]: _form_message(err)}
    kept = {k: v for k, v in typed.items() if k not in ("pin", "pin_repeat")}  # a PIN is never sent back
    context = _member_page(_member(member_id), card_form={"name": form, "card_id": card_id, "errors": errors,
                                                           "typed": kept})
    if form == "sv_adjust":
        context.update(sv_typed=kept, sv_errors=errors)
    return render("tenants/members/show.html", "tenants/members/show.html", **context), 422


def _form_message(err: ServiceError) -> str:
    if err.code == "idempotency_key_required":
        return _("This form is out of date. Reload the page and try again.")
    return service_message(err)


def _back(member_id: int, anchor: str = "cards"):
    return redirect(url_for("tenant.members.show", member_id=member_id, _anchor=anchor))


def _card_id_of(member, card_id: int) -> int:
    """Another member's (or another tenant's) card reads as unknown."""
    from tenants.services.cards import member_cards

    if card_id not in {c.id for c in member_cards(member.id)}:
        abort(404)
    return card_id


def _fee(text: str, fee_fen: int) -> str:
    if not fee_fen:
        return text
    return text + " " + _("Fee: %(amount)s.", amount=format_money(fee_fen))


@bp.post("/members/<int:member_id>/cards")
@require("cards.manage")
def issue(member_id: int):
    """Hand over a printed card (its number scanned or typed), with a PIN when the member chooses one."""
    member = _member(member_id)
    typed = {k: request.form.get(k, "")[:60] for k in ("number", "card_type", "pin", "pin_repeat")}
    result, refused = _run(member.id, "issue", typed, lambda: desk.issue(
        member_id=member.id, number=typed["number"], card_type=typed["card_type"] or None, pin=typed["pin"],
        pin_repeat=typed["pin_repeat"], on=business_today(), staff_id=current_user.id, store_id=_store_id()))
    if refused:
        return refused
    flash(_fee(_("Card %(number)s issued.", number=result["number"]), result["fee_fen"]), "success")
    return _back(member.id)


@bp.post("/members/<int:member_id>/cards/<int:card_id>/pin")
@require("cards.manage")
def pin(member_id: int, card_id: int):
    """Set or change a card's PIN (the member types it twice)."""
    member = _member(member_id)
    card_id = _card_id_of(member, card_id)
    typed = {k: request.form.get(k, "")[:20] for k in ("pin", "pin_repeat")}
    result, refused = _run(member.id, "pin", {}, lambda: desk.change_pin(
        member_id=member.id, card_id=card_id, pin=typed["pin"], pin_repeat=typed["pin_repeat"], on=business_today(),
        staff_id=current_user.id), card_id)
    if refused:
        return refused
    flash(_("The PIN of card %(number)s is changed.", number=result["number"]) if result["changed"]
          else _("Card %(number)s has its PIN.", number=result["number"]), "success")
    return _back(member.id)


@bp.post("/members/<int:member_id>/cards/<int:card_id>/loss")
@require("cards.manage")
def loss(member_id: int, card_id: int):
    """挂失: the card is refused from this moment on."""
    member = _member(member_id)
    card_id = _card_id_of(member, card_id)
    result, refused = _run(member.id, "loss", {}, lambda: desk.report_loss(
        member_id=member.id, card_id=card_id, at=resolve_business_time(None), staff_id=current_user.id), card_id)
    if refused:
        return refused
    flash(_("Card %(number)s is blocked from now on.", number=result["number"]), "success")
    return _back(member.id)


def _swap(member_id: int, card_id: int, form: str, operation):
    member = _member(member_id)
    card_id = _card_id_of(member, card_id)
    typed = {"new_number": request.form.get("new_number", "")[:60]}
    result, refused = _run(member.id, form, typed, lambda: operation(
        member_id=member.id, card_id=card_id, new_number=typed["new_number"], on=business_today(),
        staff_id=current_user.id, store_id=_store_id()), card_id)
    if refused:
        return refused
    flash(_fee(_("New card %(number)s issued; tier, points and balance carry over.", number=result["number"]),
               result["fee_fen"]), "success")
    return _back(member.id)


@bp.post("/members/<int:member_id>/cards/<int:card_id>/replacement")
@require("cards.manage")
def replace(member_id: int, card_id: int):
    """补卡 of a lost card once the program's working-day delay has passed, for its fee."""
    return _swap(member_id, card_id, "replace", desk.replace)


@bp.post("/members/<int:member_id>/cards/<int:card_id>/exchange")
@require("cards.manage")
def exchange(member_id: int, card_id: int):
    """换卡 of a damaged card, at once, for the exchange fee."""
    return _swap(member_id, card_id, "exchange", desk.exchange)


@bp.post("/members/<int:member_id>/closure")
@require("cards.manage")
def close(member_id: int):
    """退卡: the membership and its cards closed, the stored value refunded, after the identity check."""
    member = _member(member_id)
    typed = {"id_seen": request.form.get("id_seen") == "1", "last4": request.form.get("last4", "")[:8],
             "pin": request.form.get("pin", "")[:20]}
    # Neither the PIN nor the ID number's last characters go into the key's stored fingerprint.
    result, refused = _run(member.id, "close", {"id_seen": typed["id_seen"]},
                           lambda: desk.close(member_id=member.id, at=resolve_business_time(None),
                                              id_seen=typed["id_seen"], last4=typed["last4"], pin=typed["pin"],
                                              staff_id=current_user.id))
    if refused:
        return refused
    flash(_("The membership is closed. Hand back %(amount)s.", amount=format_money(result["refund_fen"]))
          if result["refund_fen"] else _("The membership is closed."), "success")
    return _back(member.id)


@bp.post("/members/<int:member_id>/stored-value-adjustments")
@require("stored_value.adjust")
def adjust(member_id: int):
    """A manual stored-value adjustment with a reason: posted at once, or kept for a second person above the
    tenant's threshold."""
    member = _member(member_id)
    typed = {"direction": request.form.get("direction", "")[:10], "amount": request.form.get("amount", "")[:20],
             "reason": request.form.get("reason", "")[:200]}
    result, refused = _run(member.id, "sv_adjust", typed, lambda: sv.request_adjustment(
        member_id=member.id, direction=typed["direction"], amount_raw=typed["amount"], reason=typed["reason"],
        actor_id=current_user.id, business_at=resolve_business_time(None)))
    if refused:
        return refused
    if result["status"] == "pending":
        flash(_("Above %(amount)s, a second person approves: the adjustment waits in Approvals.",
                amount=format_money(sv.sv_approval_threshold())), "info")
    else:
        flash(_("%(amount)s posted to the stored value.", amount=("+" if result["delta_fen"] > 0 else "−")
                + format_money(abs(result["delta_fen"]))), "success")
    return _back(member.id, "stored-value")


def approval_rows() -> dict:
    """The stored-value requests of the Approvals page, within the person's stores."""
    rows = sv.pending_requests(store_ids=visible_store_ids(current_user))
    people = {p.id: p.name for p in db.session.query(StaffUser).filter(
        StaffUser.id.in_({r.requested_by for r, _m in rows} or {0}))}
    return {"sv_rows": [{"request": r, "member": m, "requester": people.get(r.requested_by, "—")} for r, m in rows],
            "sv_errors": {}}


@bp.post("/approvals/stored-value/<int:sv_request_id>")
@require("stored_value.adjust")
def decide(sv_request_id: int):
    from tenants.views.members import approvals_page

    row = db.session.get(StoredValueAdjustmentRequest, (current_user.tenant_id, sv_request_id))
    if row is None:
        abort(404)
    _member(row.member_id)  # another store's request reads as unknown
    approve = request.form.get("decision") == "approve"
    try:
        status = sv.decide(request_id=row.id, approve=approve, actor_id=current_user.id,
                           business_at=resolve_business_time(None), note=request.form.get("note", ""))
    except ServiceError as err:
        db.session.rollback()
        return approvals_page(sv_errors={sv_request_id: next(iter(err.fields.values()), None) or service_message(err)})
    flash(_("Approved: the stored value is posted.") if status == "applied" else _("Rejected: nothing was posted."),
          "success")
    return redirect(url_for("tenant.members.approvals"))
