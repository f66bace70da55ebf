"""Staff sign-in for one tenant: argon2 passwords, server-side sessions, rate limits, permission checks."""

from __future__ import annotations

import datetime as dt
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from saas import permissions
from saas.audit import audit
from saas.extensions import db, limiter, login_manager
from saas.forms import email_address
from saas.htmx import render
from saas.mail import masked_address
from saas.models import StaffSession, StaffUser, utcnow
from saas.passwords import hash_password, needs_rehash, verify_password
from tenants.scoping import current_tenant, current_tenant_or_none

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), email_address(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def _login_account_key() -> str:
    tenant = current_tenant_or_none()
    email = (request.form.get("email") or "").strip().lower()
    return f"login:{tenant.id if tenant else '-'}:{email}"


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths inside this tenant may be returned to after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(f"/t/{current_tenant().slug}/"):
        return None
    return target


def start_session(user: StaffUser) -> None:
    """Sign `user` in: a fresh cookie session (rotation) tied to a new server-side session row."""
    session.clear()
    row = StaffSession(
        user_id=user.id,
        user_agent=(request.user_agent.string or "")[:200],
        ip=request.remote_addr or "",
    )
    db.session.add(row)
    user.last_login_at = utcnow()
    db.session.flush()
    user.session_id = row.id
    login_user(user, remember=False, fresh=True)
    session["lang"] = user.locale or current_tenant().locale


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], methods=["POST"], key_func=_login_account_key)
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.execute(
            select(StaffUser).where(func.lower(StaffUser.email) == email)
        ).scalar_one_or_none()
        if user and user.active and verify_password(user.password_hash, form.password.data):
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            start_session(user)
            audit("staff.login", f"staff:{user.id}", actor_id=user.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("tenant.dashboard.home"))
        if user is None:
            verify_password(None, form.password.data)  # same work either way
        audit("staff.login_failed", f"staff:{user.id}" if user else "", actor_id=None,
              **({} if user else {"email": masked_address(email)}))
        db.session.commit()
        error = _("E-mail or password is incorrect.")
    return render("saas/login.html", "saas/_login_form.html", form=form, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        row = db.session.get(StaffSession, (current_user.tenant_id, current_user.session_id))
        if row and row.revoked_at is None:
            row.revoked_at = utcnow()
        audit("staff.logout", f"staff:{current_user.id}")
        db.session.commit()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("tenant.auth.login"))


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """A session belongs to one tenant and one server-side session row; anything else is anonymous."""
    tenant = current_tenant_or_none()
    try:
        tenant_id, staff_id, session_id = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    if tenant is None or tenant.id != tenant_id:
        return None
    user = db.session.get(StaffUser, (tenant_id, staff_id))
    row = db.session.get(StaffSession, (tenant_id, session_id))
    if user is None or not user.active or row is None or row.user_id != user.id or row.revoked_at is not None:
        return None
    user.session_id = row.id
    return user


@login_manager.unauthorized_handler
def unauthorized():
    tenant = current_tenant_or_none()
    if tenant is None:
        abort(404)
    target = url_for("tenant.auth.login", next=request.full_path if request.method == "GET" else None)
    if getattr(request, "htmx", None):
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def require(permission: str):
    """View decorator: signed in to this tenant and allowed by the permission table."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not permissions.can(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorator


def revoke_sessions(user: StaffUser) -> None:
    """End every session of `user` (deactivation, password change)."""
    now = dt.datetime.now(dt.UTC)
    for row in db.session.scalars(
        select(StaffSession).where(StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None))
    ):
        row.revoked_at = now


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    @app.context_processor
    def permission_helpers():
        def user_can(permission: str) -> bool:
            return current_user.is_authenticated and permissions.can(current_user.role, permission)

        return {"can": user_can, "ROLE_LABELS": permissions.ROLE_LABELS}
