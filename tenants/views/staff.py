"""Staff: the team list (search, paging), invitations, accepting an invitation, deactivation."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from saas.auth import require, start_session
from saas.extensions import db
from saas.forms import choices, email_address, optional_int
from saas.htmx import render
from saas.jobs import enqueue
from saas.models import StaffUser
from saas.permissions import RANK, ROLE_LABELS, Role, assignable_roles, needs_region
from saas.staff import (
    StaffError,
    accept_invitation,
    deactivate_staff,
    find_invitation,
    invite_staff,
    send_invitation_email,
)
from tenants.access import ensure_store_visible, visible_staff_or_404, visible_store_ids, visible_stores
from tenants.models import Region
from tenants.pagination import paginate, search

bp = Blueprint("staff", __name__)


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), email_address(), Length(max=254)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    store_id = SelectField(_l("Store"), coerce=optional_int)
    region_id = SelectField(_l("Region"), coerce=optional_int)


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])


def _staff_query(q: str):
    query = select(StaffUser).order_by(StaffUser.name, StaffUser.id)
    ids = visible_store_ids(current_user)
    if ids is not None:
        query = query.where(StaffUser.store_id.in_(ids))
    return search(query, q, StaffUser.name, StaffUser.email)


@bp.get("/staff")
@require("staff.view")
def index():
    q = request.args.get("q", "").strip()[:80]
    page = paginate(_staff_query(q), request.args.get("page"))
    stores = {s.id: s for s in visible_stores(current_user)}
    return render("tenants/staff/index.html", "tenants/staff/_rows.html", page=page, q=q, stores=stores)


def _invite_form() -> InviteForm:
    form = InviteForm()
    roles = assignable_roles(current_user.role)
    form.role.choices = choices((r.value, ROLE_LABELS[r]) for r in roles)
    if not form.is_submitted() and roles:  # least privilege: the least powerful role unless one is chosen
        form.role.data = min(roles, key=RANK.__getitem__).value
    form.store_id.choices = choices([("", _("—"))] + [(s.id, s.name) for s in visible_stores(current_user)])
    regions = db.session.scalars(select(Region).order_by(Region.name))
    form.region_id.choices = choices([("", _("—"))] + [(r.id, r.name) for r in regions])
    return form


def invitation_link(token: str) -> str:
    base = current_app.config.get("PUBLIC_URL")
    path = url_for("tenant.staff.accept", token=token)
    return f"{base}{path}" if base else url_for("tenant.staff.accept", token=token, _external=True)


@bp.route("/staff/invite", methods=["GET", "POST"])
@require("staff.invite")
def invite():
    form = _invite_form()
    if form.validate_on_submit():
        ensure_store_visible(current_user, form.store_id.data)
        try:
            # Only a supervisor belongs to a region: a region picked for another role would keep that
            # region from being deleted, with no screen to take it off again.
            issued = invite_staff(current_user, name=form.name.data, email=form.email.data,
                                  role=form.role.data, store_id=form.store_id.data,
                                  region_id=form.region_id.data if needs_region(form.role.data) else None)
        except StaffError as err:
            db.session.rollback()
            field = getattr(form, err.field or "email")
            field.errors = [*field.errors, str(err)]
        else:
            link = invitation_link(issued.token)
            # Without a mail server nothing would be sent: say so and let the inviter pass the link on.
            mailed = bool(current_app.config.get("MAIL_SERVER"))
            if mailed:
                enqueue("messages", send_invitation_email, issued.user.tenant_id, issued.user.id, link)
            return render("tenants/staff/invited.html", "tenants/staff/invited.html", user=issued.user, link=link,
                          mailed=mailed, days=current_app.config["INVITATION_DAYS"])
    status = 422 if form.errors else 200
    return render("tenants/staff/invite.html", "tenants/staff/_invite_form.html", form=form,
                  offers_region=Role.REGIONAL_SUPERVISOR in assignable_roles(current_user.role)), status


@bp.get("/staff/<int:staff_id>")
@require("staff.view")
def show(staff_id: int):
    user = visible_staff_or_404(current_user, staff_id)
    return render("tenants/staff/show.html", "tenants/staff/show.html", user=user,
                  manageable=user.role in assignable_roles(current_user.role) and user.id != current_user.id)


@bp.post("/staff/<int:staff_id>/deactivate")
@require("staff.invite")
def deactivate(staff_id: int):
    user = visible_staff_or_404(current_user, staff_id)
    try:
        deactivate_staff(current_user, user)
    except StaffError as err:
        db.session.rollback()
        flash(str(err), "error")
    else:
        flash(_("%(name)s can no longer sign in.", name=user.name), "success")
    return redirect(url_for("tenant.staff.show", staff_id=staff_id))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept(token: str):
    invitation = find_invitation(token)
    if invitation is None:
        abort(404)
    user = db.session.get(StaffUser, (invitation.tenant_id, invitation.user_id))
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accept_invitation(invitation, form.password.data)
        except StaffError as err:
            db.session.rollback()
            form.password.errors = [*form.password.errors, str(err)]
        else:
            start_session(user)
            db.session.commit()
            flash(_("Welcome, %(name)s!", name=user.name), "success")
            return redirect(url_for("tenant.dashboard.home"))
    status = 422 if form.errors else 200
    return render("tenants/staff/accept.html", "tenants/staff/accept.html", form=form, user=user), status
