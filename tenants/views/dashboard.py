"""The tenant's home after sign-in."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import func, select

from saas.auth import require
from saas.extensions import db
from saas.htmx import render
from saas.models import StaffUser
from tenants.models import ProgramVersion, Store

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@require("dashboard.view")
def home():
    stores = db.session.scalar(select(func.count()).select_from(Store).where(Store.active.is_(True)))
    staff = db.session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.active.is_(True)))
    program = db.session.scalars(select(ProgramVersion).order_by(ProgramVersion.version.desc()).limit(1)).first()
    return render(
        "tenants/dashboard/home.html",
        "tenants/dashboard/home.html",
        stores=stores,
        staff=staff,
        program=program,
        me=current_user,
    )
