"""The tenant's home after sign-in: the figures of the stores this person may see."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from saas.auth import require
from saas.extensions import db
from saas.htmx import render
from saas.models import StaffUser
from saas.permissions import Role, can
from tenants.access import visible_store_ids
from tenants.models import Member, Purchase, Store, TierAccount
from tenants.programs import business_today, program_in_force
from tenants.services.onboarding import onboarding_steps

bp = Blueprint("dashboard", __name__)

# step → (title, what to do, the button, its endpoint, the permission it needs)
ONBOARDING = {
    "program": (_l("Make the loyalty program yours"),
                _l("Your program started from the template of your trade. Adjust tiers, points and categories and "
                   "publish a new version through the JSON API."),
                _l("API keys"), "tenant.api_keys.index", "api_keys.manage"),
    "stores": (_l("Add your other stores"),
               _l("Members are recognised in every store; each store gets its own tablets and staff."),
               _l("Add a store"), "tenant.stores.new", "stores.manage"),
    "staff": (_l("Invite your staff"),
              _l("Each person gets their own sign-in and a counter PIN, so every sale is attributed."),
              _l("Invite staff"), "tenant.staff.invite", "staff.invite"),
    "tablet": (_l("Set up the counter tablet"),
               _l("Open the counter on the store's tablet and sign it in once for the store."),
               _l("Open the counter"), "tenant.counter.home", "counter.manage"),
    "members": (_l("Bring in your members"),
                _l("Import your member list from a spreadsheet or your old software, or enrol the first member "
                   "at the counter."),
                _l("Import members"), "tenant.imports.index", "members.import"),
}


def onboarding_checklist() -> dict | None:
    """The owner's and chain admin's first steps with the staff sign-in address; None once all are done."""
    if current_user.role not in (Role.OWNER.value, Role.CHAIN_ADMIN.value):
        return None
    steps = onboarding_steps()
    if all(step.done for step in steps):
        return None
    rows = []
    for step in steps:
        title, text, action, endpoint, permission = ONBOARDING[step.code]
        rows.append({"code": step.code, "done": step.done, "title": title, "text": text, "action": action,
                     "url": url_for(endpoint) if can(current_user.role, permission) else None})
    return {"steps": rows, "done": sum(step.done for step in steps), "total": len(steps),
            "login_url": url_for("tenant.auth.login", _external=True)}


def _scoped(query, column):
    ids = visible_store_ids(current_user)
    return query if ids is None else query.where(column.in_(ids))


@bp.get("/")
@require("dashboard.view")
def home():
    today = business_today()
    month_start = today.replace(day=1)
    stores = db.session.scalar(_scoped(select(func.count()).select_from(Store).where(Store.active.is_(True)),
                                       Store.id))
    staff = db.session.scalar(_scoped(select(func.count()).select_from(StaffUser)
                                      .where(StaffUser.active.is_(True)), StaffUser.store_id))
    members = db.session.execute(_scoped(
        select(func.count(), func.coalesce(func.sum(Member.points_balance), 0),
               func.coalesce(func.sum(Member.stored_value_fen), 0),
               func.count().filter(Member.joined_on >= month_start))
        .where(Member.status == "active"), Member.enrolled_store_id)).one()
    sales = db.session.execute(_scoped(
        select(func.count(), func.coalesce(func.sum(Purchase.spend_fen), 0))
        .where(Purchase.business_date >= month_start, Purchase.business_date <= today), Purchase.store_id)).one()
    tiers = dict(db.session.execute(_scoped(
        select(TierAccount.tier_code, func.count(Member.id))
        .join(Member, Member.tier_account_id == TierAccount.id)
        .where(Member.status == "active").group_by(TierAccount.tier_code), Member.enrolled_store_id)).all())
    current = program_in_force(today)
    program_row, program = current if current else (None, None)
    tier_rows = []
    if program is not None:
        total = sum(tiers.values()) or 1
        for tier in program.tiers:
            count = tiers.get(tier.code, 0)
            tier_rows.append({"name": tier.name, "count": count, "pct": round(100 * count / total)})
    return render(
        "tenants/dashboard/home.html",
        "tenants/dashboard/home.html",
        stores=stores, staff=staff, program=program_row, me=current_user,
        members=members[0], points_liability=members[1], stored_value_liability=members[2],
        new_members=members[3], purchases=sales[0], member_sales=sales[1], tier_rows=tier_rows,
        month_start=month_start, since=dt.date(today.year, today.month, 1), onboarding=onboarding_checklist(),
    )
