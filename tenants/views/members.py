"""The back office's member list (store manager and up, within their stores): search, filters, sorting, paging.

The search and filters travel by POST, so a phone number typed into the search never stands in a URL (or in
an access log); the first page is a GET with no filter.
"""

from __future__ import annotations

import datetime as dt

from babel.dates import get_month_names
from flask import Blueprint, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from saas.auth import require
from saas.htmx import render
from saas.permissions import can
from tenants.access import visible_store_ids, visible_stores
from tenants.domain.segments import lifecycle_bars
from tenants.pagination import paginate
from tenants.programs import business_today, program_in_force
from tenants.services.member_list import SORTS, STAGES, MemberFilter, member_query

bp = Blueprint("members", __name__)

PAGE_SIZE = 25
STAGE_LABELS = {"new": _l("New"), "active": _l("Active"), "dormant": _l("Dormant"), "lost": _l("Lost")}
SORT_LABELS = {"joined": _l("Newest members first"), "name": _l("Name"), "last_purchase": _l("Last purchase"),
               "points": _l("Most points"), "balance": _l("Largest stored value")}
CONSENT_LABELS = {"": _l("Any"), "yes": _l("Agrees to offers"), "no": _l("No offers")}


def _int(raw: str | None, low: int, high: int) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and low <= int(raw) <= high else None


def _day(raw: str | None, name: str, errors: dict) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        errors[name] = _("Must be a date.")
        return None


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
    joined_from = _day(typed["joined_from"], "joined_from", errors)
    joined_to = _day(typed["joined_to"], "joined_to", errors)
    if joined_from and joined_to and joined_to < joined_from:
        errors["joined_to"] = _("The last day is before the first.")
    f = MemberFilter(q=typed["q"], store_id=store_id if store_id in stores else None, tier=typed["tier"] or None,
                     stage=typed["stage"] or None, birthday_month=month,
                     consent={"yes": True, "no": False}.get(typed["consent"]), joined_from=joined_from,
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
