"""The back office's member list (store manager and up, within their stores): search, filters, sorting, paging.

The search and filters travel by POST, so a phone number typed into the search never stands in a URL (or in
an access log); the first page is a GET with no filter.
"""

from __future__ import annotations

import datetime as dt

from babel.dates import get_month_names
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from saas.auth import require
from saas.extensions import db
from saas.forms import optional_day
from saas.htmx import render
from saas.models import StaffUser
from saas.permissions import can
from saas.text import clean_name
from tenants.access import visible_store_ids, visible_stores
from tenants.domain.segments import lifecycle_bars
from tenants.models import Member, PointsAdjustmentRequest, PointsEntry, Store, StoredValueEntry
from tenants.pagination import paginate
from tenants.programs import business_today, program_in_force
from tenants.services.adjustments import approval_threshold, decide, request_adjustment
from tenants.services.business_time import resolve_business_time
from tenants.services.cards import member_cards
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.identity_changes import checked_id_number, route_identity_changes
from tenants.services.member_list import SORTS, STAGES, MemberFilter, member_query
from tenants.services.members import member_json, reveal_id_document, update_member
from tenants.services.program_publishing import pending_count
from tenants.services.purchases import member_purchases
from tenants.services.tiers import explain_member
from tenants.views.counter_present import id_document_view, tier_status
from tenants.views.counter_session import new_key, tier_label
from tenants.views.member_profile_present import CONSENT_BY_CHANNEL, identity_approval_rows, profile_parts

bp = Blueprint("members", __name__)

PAGE_SIZE = 25
STAGE_LABELS = {"new": _l("New"), "active": _l("Active"), "dormant": _l("Dormant"), "lost": _l("Lost")}
SORT_LABELS = {"joined": _l("Newest members first"), "name": _l("Name"), "last_purchase": _l("Last purchase"),
               "points": _l("Most points"), "balance": _l("Largest stored value")}
CONSENT_LABELS = {"": _l("Any"), "yes": _l("Agrees to offers"), "no": _l("No offers"), **CONSENT_BY_CHANNEL}


def _int(raw: str | None, low: int, high: int) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and low <= int(raw) <= high else None


def _filters(form, stores: dict, tiers: dict) -> tuple[MemberFilter, dict, dict]:
    """The filters as typed (kept for the form), what they mean, and a message per field that is wrong."""
    errors: dict[str, str] = {}
    typed = {key: (form.get(key) or "").strip()[:80] for key in
             ("q", "store", "tier", "stage", "month", "consent", "joined_from", "joined_to", "sort", "closed")}
    store_id = _int(typed["store"], 1, 2**63 - 1)
    if typed["store"] and store_id not in stores:
        errors["store"] = _("Not a valid choice.")
    for key, allowed in (("tier", tiers), ("stage", STAGES), ("consent", CONSENT_LABELS), ("sort", SORTS)):
        if typed[key] and typed[key] not in allowed:
            errors[key] = _("Not a valid choice.")
    month = _int(typed["month"], 1, 12)
    if typed["month"] and month is None:
        errors["month"] = _("Not a valid choice.")
    joined_from = optional_day(typed["joined_from"], "joined_from", errors)
    joined_to = optional_day(typed["joined_to"], "joined_to", errors)
    if joined_from and joined_to and joined_to < joined_from:
        errors["joined_to"] = _("The last day is before the first.")
    f = MemberFilter(q=typed["q"], store_id=store_id if store_id in stores else None, tier=typed["tier"] or None,
                     stage=typed["stage"] or None, birthday_month=month,
                     consent={"yes": True, "no": False}.get(typed["consent"]),
                     consent_channel=typed["consent"] if typed["consent"] in CONSENT_BY_CHANNEL else None,
                     joined_from=joined_from,
                     joined_to=joined_to, include_closed=typed["closed"] == "1", sort=typed["sort"] or "joined")
    return f, typed, errors


@bp.route("/members", methods=["GET", "POST"])
@require("members.browse")
def index():
    today = business_today()
    found = program_in_force(today)
    program = found[1] if found else None
    lang = str(get_locale() or "zh_CN")
    tiers = {t.code: t.name.text(lang) for t in program.tiers} if program else {}
    stores = {s.id: s.name for s in visible_stores(current_user)}
    f, typed, errors = _filters(request.form if request.method == "POST" else {}, stores, tiers)
    bars = lifecycle_bars(today, program.segments.lifecycle) if program else None
    page = None
    if not errors:
        page = paginate(member_query(f, visible_store_ids(current_user), bars), request.form.get("page"),
                        size=PAGE_SIZE, rows=True)
    months = get_month_names("wide", locale=lang)
    return render("tenants/members/index.html", "tenants/members/_rows.html", page=page, typed=typed,
                  errors=errors, stores=stores, tiers=tiers, stages=STAGE_LABELS, sorts=SORT_LABELS,
                  consents=CONSENT_LABELS, months=[(n, months[n]) for n in range(1, 13)],
                  full=can(current_user.role, "members.view_full"), filtered=any(typed.values()))


# How the ledgers name their entries (a kind not listed is shown as written).
POINTS_KINDS = {"earn": _l("Earned"), "birthday": _l("Birthday bonus"), "release": _l("Became usable"),
                "redeem": _l("Redeemed"), "return_give_back": _l("Given back by a return"),
                "return_take_back": _l("Taken back by a return"), "expire": _l("Expired"), "adjust": _l("Adjusted"),
                "import": _l("Imported")}
SV_KINDS = {"top_up": _l("Top-up"), "bonus": _l("Top-up bonus"), "pay": _l("Paid with the balance"),
            "refund_credit": _l("Refunded to the balance"), "expire": _l("Expired"),
            "close_refund": _l("Refunded on closing"), "forfeit": _l("Forfeited"), "import": _l("Imported")}
LEDGER_ROWS = 30


def member_in_scope_or_404(member_id: int) -> Member:
    """The member, if enrolled in a store the person may see (whole-tenant scope sees every member)."""
    member = db.session.get(Member, (current_user.tenant_id, member_id))
    ids = visible_store_ids(current_user)
    if member is None or (ids is not None and member.enrolled_store_id not in ids):
        abort(404)
    return member


def _id_document(member: Member, revealed: bool = False) -> dict | None:
    if not can(current_user.role, "members.view_full"):
        return None
    return id_document_view(member, revealed, can_reveal=can(current_user.role, "members.reveal_id"),
                            reveal_url=url_for("tenant.members.reveal_id_document_page", member_id=member.id))


def _member_page(member: Member, **extra) -> dict:
    today = business_today()
    found = program_in_force(today)
    program = found[1] if found else None
    try:
        explanation = explain_member(member, today)
    except ServiceError:  # no program in force
        explanation = {"tier": None, "reasons": [], "upgrades": [], "keep": None}
    data = member_json(member, today)
    points = db.session.scalars(select(PointsEntry).where(PointsEntry.member_id == member.id)
                                .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc()).limit(LEDGER_ROWS))
    stored = db.session.scalars(select(StoredValueEntry).where(StoredValueEntry.member_id == member.id)
                                .order_by(StoredValueEntry.created_at.desc(), StoredValueEntry.id.desc())
                                .limit(LEDGER_ROWS))
    staff_ids = {member.responsible_staff_id, member.enrolled_by} - {None}
    staff = ({p.id: p.name for p in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))}
             if staff_ids else {})
    store = db.session.get(Store, (member.tenant_id, member.enrolled_store_id)) if member.enrolled_store_id else None
    scope = visible_store_ids(current_user)
    people = select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name, StaffUser.id)
    if scope is not None:
        people = people.where(StaffUser.store_id.in_(scope))
    return {"member": member, "data": data, "people": list(db.session.scalars(people)), "errors": {},
            "typed": {"notes": member.notes, "tags": "、".join(member.tags or []), "delta": "", "reason": ""},
            "threshold": approval_threshold(), "new_key": new_key, "genders": GENDERS, "editing": False,
            "profile_typed": {"name": member.name, "phone": member.phone or "", "email": member.email or "",
                              "birthday": member.birthday.isoformat() if member.birthday else "",
                              "gender": member.gender or "", "address": member.address or "",
                              "id_doc_number": ""},
            "pending": list(db.session.scalars(select(PointsAdjustmentRequest).where(
                PointsAdjustmentRequest.member_id == member.id, PointsAdjustmentRequest.status == "pending"))),
            "tier_name": tier_label(program, data["tier"]["code"]),
            "status_items": tier_status(explanation, program) if program else [], "cards": member_cards(member.id),
            "points": list(points), "stored": list(stored), "purchases": member_purchases(member.id, limit=10),
            "points_kinds": POINTS_KINDS, "sv_kinds": SV_KINDS, "staff": staff, "store": store,
            "full": can(current_user.role, "members.view_full"), "id_document": _id_document(member),
            **profile_parts(member, program), **extra}


@bp.get("/members/<int:member_id>")
@require("members.browse")
def show(member_id: int):
    member = member_in_scope_or_404(member_id)
    return render("tenants/members/show.html", "tenants/members/show.html", **_member_page(member))


def _changed(member: Member, changes: dict, notice: str):
    """Save a change of the member page through the one member service; its refusal on the page (422)."""
    try:
        update_member(member, changes, actor_id=current_user.id)
    except ServiceError as err:
        db.session.rollback()
        return _refused(member_in_scope_or_404(member.id), err.fields or {"notes": err.message})
    db.session.commit()
    flash(notice, "success")
    return redirect(url_for("tenant.members.show", member_id=member.id))


@bp.post("/members/<int:member_id>/responsible")
@require("members.browse")
def hand_over(member_id: int):
    """责任人: hand the member to another person (or take them over), audited."""
    member = member_in_scope_or_404(member_id)
    raw = request.form.get("staff_id", "").strip()
    scope = visible_store_ids(current_user)
    if raw.isdigit() and scope is not None:  # a person outside the store scope reads as unknown
        person = db.session.get(StaffUser, (member.tenant_id, int(raw))) if int(raw) < 2**63 else None
        if person is None or person.store_id not in scope:
            raw = "0"
    return _changed(member, {"responsible_staff_id": raw or None}, _("Responsible staff saved."))


@bp.post("/members/<int:member_id>/notes")
@require("members.browse")
def notes(member_id: int):
    member = member_in_scope_or_404(member_id)
    notes_text = request.form.get("notes", "")
    if len(notes_text) > 2000:
        return _refused(member, {"notes": _("At most %(n)d characters.", n=2000)})
    return _changed(member, {"notes": notes_text, "tags": request.form.get("tags", "")}, _("Notes and tags saved."))


def _refused(member: Member, errors: dict, adjust_typed: dict | None = None):
    """The member page again with the refusal on its field and what was typed kept (422)."""
    page = _member_page(member)
    typed = ({**page["typed"], **adjust_typed} if adjust_typed is not None else
             {"notes": request.form.get("notes", ""), "tags": request.form.get("tags", "")})
    return render("tenants/members/show.html", "tenants/members/show.html",
                  **{**page, "errors": errors, "typed": typed}), 422


PROFILE_FIELDS = ("name", "phone", "email", "birthday", "gender", "address")
GENDERS = {"": _l("—"), "female": _l("Female"), "male": _l("Male"), "other": _l("Other")}


@bp.post("/members/<int:member_id>/profile")
@require("members.browse")
def profile(member_id: int):
    """The member's profile as the member told it: name, phone, e-mail, birthday, gender, address, consent."""
    member = member_in_scope_or_404(member_id)
    if not can(current_user.role, "members.view_full"):
        abort(403)
    typed = {key: request.form.get(key, "").strip()[:200] for key in (*PROFILE_FIELDS, "id_doc_number")}
    errors = {}
    birthday = None
    if typed["birthday"]:
        try:
            birthday = dt.date.fromisoformat(typed["birthday"][:10])
        except ValueError:
            errors["birthday"] = _("Must be a date.")
    if typed["gender"] not in GENDERS:
        errors["gender"] = _("Not a valid choice.")
    if not clean_name(typed["name"]):  # (the API may leave a name empty; this form is for a known person)
        errors["name"] = _("Enter the member's name.")
    if not errors:
        changes = {"name": typed["name"], "phone": typed["phone"] or None, "email": typed["email"] or None,
                   "birthday": birthday, "gender": typed["gender"] or None, "address": typed["address"]}
        try:
            if typed["id_doc_number"]:  # left empty: the number stays as it is
                changes["id_doc_number"] = checked_id_number(typed["id_doc_number"])
            changes, asked = route_identity_changes(member, changes, actor_id=current_user.id,
                                                    by_hq=can(current_user.role, "members.approve_identity"))
            update_member(member, changes, actor_id=current_user.id)
        except ServiceError as err:
            db.session.rollback()
            errors = err.fields or {"name": err.message}
        else:
            db.session.commit()
            flash(_("Profile saved; the change of name or ID number waits for head office's approval.") if asked
                  else _("Profile saved."), "success")
            return redirect(url_for("tenant.members.show", member_id=member.id))
    page = _member_page(member_in_scope_or_404(member_id))
    return render("tenants/members/show.html", "tenants/members/show.html",
                  **{**page, "errors": errors, "profile_typed": typed, "editing": True}), 422


@bp.post("/members/<int:member_id>/points-adjustments")
@require("points.adjust")
def adjust(member_id: int):
    """A manual points adjustment with a reason: posted at once, or kept for a second person above the
    tenant's threshold."""
    member = member_in_scope_or_404(member_id)
    typed = {"delta": request.form.get("delta", "")[:20], "reason": request.form.get("reason", "")[:200]}
    key = request.form.get("idem", "")

    def work() -> dict:
        return request_adjustment(member_id=member.id, delta_raw=typed["delta"], reason=typed["reason"],
                                  actor_id=current_user.id, business_at=resolve_business_time(None))

    try:
        if not key or len(key) > 60:
            raise ServiceError("idempotency_key_required")
        result, _replayed = run_idempotent(f"backoffice:{key}", "points.adjust", {"member": member.id, **typed}, work)
    except ServiceError as err:
        db.session.rollback()
        return _refused(member_in_scope_or_404(member_id), err.fields or {"delta": err.message},
                        adjust_typed=typed)
    if result["status"] == "pending":
        flash(_("Above %(n)s points, a second person approves: the adjustment waits in Approvals.",
                n=f"{approval_threshold():,}"), "info")
    else:
        flash(_("%(delta)s points posted.", delta=f"{result['delta']:+,}"), "success")
    return redirect(url_for("tenant.members.show", member_id=member.id))


def _approval_rows():
    scope = visible_store_ids(current_user)
    query = (select(PointsAdjustmentRequest, Member).join(Member, Member.id == PointsAdjustmentRequest.member_id)
             .where(PointsAdjustmentRequest.status == "pending")
             .order_by(PointsAdjustmentRequest.requested_at, PointsAdjustmentRequest.id))
    if scope is not None:
        query = query.where(Member.enrolled_store_id.in_(scope))
    rows = db.session.execute(query.limit(200)).all()
    people = {p.id: p.name for p in db.session.scalars(
        select(StaffUser).where(StaffUser.id.in_({r.requested_by for r, _m in rows} or {0})))}
    return [{"request": r, "member": m, "requester": people.get(r.requested_by, "—")} for r, m in rows]


@bp.get("/approvals")
@require("points.adjust")
def approvals():
    return render("tenants/members/approvals.html", "tenants/members/_approvals.html", rows=_approval_rows(),
                  errors={}, identity_rows=identity_approval_rows(),
                  program_pending=pending_count() if can(current_user.role, "program.approve") else 0)


@bp.post("/approvals/<int:request_id>")
@require("points.adjust")
def decide_approval(request_id: int):
    row = db.session.get(PointsAdjustmentRequest, (current_user.tenant_id, request_id))
    if row is None:
        abort(404)
    member_in_scope_or_404(row.member_id)  # another store's request reads as unknown
    approve = request.form.get("decision") == "approve"
    try:
        status = decide(request_id=row.id, approve=approve, actor_id=current_user.id,
                        business_at=resolve_business_time(None), note=request.form.get("note", ""))
    except ServiceError as err:
        db.session.rollback()
        return render("tenants/members/approvals.html", "tenants/members/_approvals.html", rows=_approval_rows(),
                      errors={request_id: next(iter(err.fields.values()), err.message)},
                      identity_rows=identity_approval_rows()), 422
    flash(_("Approved: the points are posted.") if status == "applied" else _("Rejected: nothing was posted."),
          "success")
    return redirect(url_for("tenant.members.approvals"))


@bp.post("/members/<int:member_id>/id-document")
@require("members.reveal_id")
def reveal_id_document_page(member_id: int):
    """查看证件号 in the back office: the full number, each time written to the audit log."""
    member = member_in_scope_or_404(member_id)
    if not member.id_doc_number or not can(current_user.role, "members.view_full"):
        abort(404)
    reveal_id_document(member, current_user.id)
    db.session.commit()
    return render("tenants/members/show.html", "tenants/counter/_id_document.html",
                  **_member_page(member, id_document=_id_document(member, revealed=True)))
