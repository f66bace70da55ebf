"""The audit log page (owner, chain admin): who did what when, filtered by person, action, member and day."""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from saas.audit import ACTIONS
from saas.auth import require
from saas.extensions import db
from saas.forms import choices, optional_day
from saas.htmx import render
from saas.i18n import format_money
from saas.models import CounterDevice, StaffUser
from saas.permissions import ROLE_LABELS
from saas.signup import VERTICAL_CHOICES
from tenants.models import ApiKey, Card, Member, Region, Store
from tenants.pagination import paginate
from tenants.services.audit_log import AuditFilter, audit_query
from tenants.views.member_profile_present import CHANNEL_LABELS, SOURCE_LABELS

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50

# How the page names what an entry's details hold (keys the code writes; an unknown key is shown as it is).
DETAIL_LABELS = {
    "role": _l("Role"), "store_id": _l("Store"), "device": _l("Counter tablet"), "name": _l("Name"),
    "code": _l("Code"), "kind": _l("Type"), "changes": _l("Changes"), "fields": _l("Fields"),
    "effective_from": _l("Effective from"), "note": _l("Note"), "via": _l("Through"), "filename": _l("File"),
    "rows": _l("Rows"), "valid_rows": _l("Valid rows"), "resumed": _l("Resumed"), "tier": _l("Tier"),
    "reason": _l("Reason"), "fee_fen": _l("Fee"), "program_version": _l("Program version"),
    "prefix": _l("Key prefix"), "new_card": _l("New card"), "vertical": _l("Trade"), "email": _l("E-mail"),
    "api_key": _l("API key"), "account": _l("Linked card"), "with_members": _l("Linked with"),
    "from_account": _l("Linked card"), "member_id": _l("Member"), "until": _l("Locked until"),
    "status": _l("Status"), "status_before": _l("Status before"), "plan": _l("Plan"),
    "plan_before": _l("Plan before"), "from_staff": _l("From"), "to_staff": _l("To"),
    "delta": _l("Points"), "request": _l("Request"), "refund_fen": _l("Refund"),
    "identity_verified": _l("Identity checked"),
    "source": _l("Where"), "granted": _l("Agreed"), "withdrawn": _l("Withdrawn"), "field": _l("Field"),
    "width": _l("Width"), "height": _l("Height"),
}
FIELD_LABELS = {
    "name": _l("Name"), "phone": _l("Mobile number"), "email": _l("E-mail"), "gender": _l("Gender"),
    "birthday": _l("Birthday"), "id_birthday": _l("Birthday on the ID document"), "id_doc_type": _l("ID document"),
    "id_doc_number": _l("Document number"), "address": _l("Address"), "marketing_consent": _l("Consent to offers"),
    "notes": _l("Notes"), "tags": _l("Tags"), "responsible_staff_id": _l("Responsible staff"), "profile": _l("Profile"),
}


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 19:
        abort(404)
    return int(raw)


def _names(model, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {row.id: row.name for row in db.session.scalars(select(model).where(model.id.in_(ids)))}


def _ids(values) -> set[int]:
    return {int(v) for v in values if isinstance(v, str | int) and str(v).isdigit()}


def describe(entries) -> list[dict]:
    """Each entry in words: the person, the action, what it was done to and its details, names for ids."""
    targets = [e.target.split(":", 1) for e in entries if ":" in e.target]
    detail_ids = {key: _ids(v for e in entries for v in (e.details.get(key) if isinstance(e.details.get(key), list)
                                                        else [e.details.get(key)]))
                  for key in ("store_id", "device", "member_id", "with_members")}

    def of(kind: str) -> set[int]:
        return _ids(i for k, i in targets if k == kind)

    staff = _names(StaffUser, _ids([e.actor_id for e in entries]) | of("staff")
                   | _ids(e.details.get(k) for e in entries for k in ("from_staff", "to_staff")))
    members = _names(Member, of("member") | detail_ids["member_id"] | detail_ids["with_members"])
    stores = _names(Store, of("store") | detail_ids["store_id"])
    devices = _names(CounterDevice, of("device") | detail_ids["device"])
    cards = ({c.id: c.number for c in db.session.scalars(select(Card).where(Card.id.in_(of("card"))))}
             if of("card") else {})
    kinds = {"staff": (_("Staff"), staff), "member": (_("Member"), members), "store": (_("Store"), stores),
             "device": (_("Counter tablet"), devices), "region": (_("Region"), _names(Region, of("region"))),
             "api_key": (_("API key"), _names(ApiKey, of("api_key"))), "card": (_("Card"), cards),
             "member_import": (_("Import"), {}), "program_version": (_("Program version"), {}),
             "subscription": (_("Subscription"), {}), "tenant": (_("This account"), {})}
    verticals = dict(VERTICAL_CHOICES)

    def value(key: str, raw):
        if key == "store_id":
            return stores.get(int(raw), raw) if str(raw).isdigit() else raw
        if key == "device":
            return devices.get(int(raw), raw) if str(raw).isdigit() else raw
        if key in ("member_id", "with_members"):
            ids = raw if isinstance(raw, list) else [raw]
            return "、".join(members.get(int(i), str(i)) if str(i).isdigit() else str(i) for i in ids)
        if key in ("from_staff", "to_staff"):
            return staff.get(int(raw), raw) if str(raw).isdigit() else "—"
        if key in ("fee_fen", "refund_fen") and isinstance(raw, int):
            return format_money(raw)
        if key == "role":
            return ROLE_LABELS.get(raw, raw)
        if key == "vertical":
            return verticals.get(raw, raw)
        if key in ("granted", "withdrawn") and isinstance(raw, list):
            return "、".join(str(CHANNEL_LABELS.get(c, c)) for c in raw) or "—"
        if key == "source":
            return SOURCE_LABELS.get(raw, raw)
        if key == "field":
            return FIELD_LABELS.get(raw, raw)
        if key == "fields" and isinstance(raw, list):
            return "、".join(str(FIELD_LABELS.get(f, f)) for f in raw)
        if key == "changes" and isinstance(raw, dict):
            return "; ".join(f"{FIELD_LABELS.get(k, k)}: {v[0] or '—'} → {v[1] or '—'}" if isinstance(v, list)
                             and len(v) == 2 else f"{k}: {v}" for k, v in raw.items())
        if isinstance(raw, bool):
            return _("Yes") if raw else _("No")
        return "—" if raw in (None, "") else raw

    rows = []
    for entry in entries:
        kind, _sep, ident = entry.target.partition(":")
        label, names = kinds.get(kind, (None, {}))
        target = {"kind": kind, "label": label or kind, "id": "" if kind == "tenant" else ident,
                  "name": names.get(int(ident)) if ident.isdigit() else None,
                  "member_id": int(ident) if kind == "member" and ident.isdigit() else None} if entry.target else None
        rows.append({"entry": entry, "action": ACTIONS.get(entry.action, entry.action),
                     "actor": staff.get(entry.actor_id) if entry.actor_id else None, "target": target,
                     "details": [(DETAIL_LABELS.get(k, k), value(k, v)) for k, v in sorted(entry.details.items())]})
    return rows


@bp.get("/audit")
@require("audit.view")
def index():
    errors: dict[str, str] = {}
    actor_id, member_id = _int_arg("actor"), _int_arg("member")
    if actor_id is not None and db.session.scalar(select(StaffUser.id).where(StaffUser.id == actor_id)) is None:
        abort(404)
    member = db.session.scalar(select(Member).where(Member.id == member_id)) if member_id is not None else None
    if member_id is not None and member is None:
        abort(404)
    action = request.args.get("action", "").strip()
    if action and action not in ACTIONS:
        errors["action"] = _("Not a valid choice.")
        action = ""
    day_from = optional_day(request.args.get("from"), "from", errors)
    day_to = optional_day(request.args.get("to"), "to", errors)
    if day_from and day_to and day_to < day_from:
        errors["to"] = _("The last day is before the first.")
    filters = AuditFilter(actor_id=actor_id, action=action or None, member_id=member_id, day_from=day_from,
                          day_to=day_to)
    page = paginate(audit_query(filters), request.args.get("page"), size=PAGE_SIZE) if not errors else None
    people = db.session.scalars(select(StaffUser).order_by(StaffUser.name, StaffUser.id))
    args = {k: v for k, v in {"actor": actor_id, "action": action, "member": member_id,
                              "from": request.args.get("from", "").strip()[:10],
                              "to": request.args.get("to", "").strip()[:10]}.items() if v}
    return render("tenants/audit/index.html", "tenants/audit/_rows.html", page=page,
                  rows=describe(page.items) if page else [], errors=errors, args=args, member=member,
                  all_members_args={k: v for k, v in args.items() if k != "member"},
                  people=choices([("", _("Everyone"))] + [(p.id, p.name) for p in people]),
                  actions=choices([("", _("Every action"))] + sorted(((k, v) for k, v in ACTIONS.items()),
                                                                     key=lambda kv: str(kv[1]))))
