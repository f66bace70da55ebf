"""Staff services: invite, accept an invitation, deactivate. Each commits once."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from saas.audit import audit
from saas.auth import revoke_sessions
from saas.billing.entitlements import check_limit
from saas.extensions import db
from saas.models import Invitation, StaffUser, utcnow
from saas.passwords import hash_password, password_problem
from saas.permissions import Role, assignable_roles, needs_region, needs_store
from saas.text import clean_name


class StaffError(ValueError):
    """A translated message for the person filling the form; `field` names the input it concerns."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class InvitationIssued:
    user: StaffUser
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_staff(inviter: StaffUser, *, name: str, email: str, role: str, store_id: int | None,
                 region_id: int | None) -> InvitationIssued:
    """Create an inactive-until-accepted account and a one-time link valid INVITATION_DAYS days."""
    check_limit("staff")
    email = email.strip().lower()
    name = clean_name(name)
    if not name:
        raise StaffError(_("Enter the person's name."), "name")
    if Role(role) not in assignable_roles(inviter.role):
        raise StaffError(_("You cannot give this role."), "role")
    if needs_store(role) and store_id is None:
        raise StaffError(_("Choose the store this person works in."), "store_id")
    if needs_region(role) and region_id is None:
        raise StaffError(_("Choose the region this person supervises."), "region_id")
    if db.session.scalar(select(func.count()).where(func.lower(StaffUser.email) == email)):
        raise StaffError(_("Someone with this e-mail is already on the team."), "email")
    user = StaffUser(name=name, email=email, role=role, store_id=store_id, region_id=region_id,
                     password_hash=None, active=True)
    db.session.add(user)
    db.session.flush()
    token = secrets.token_urlsafe(32)
    days = current_app.config["INVITATION_DAYS"]
    db.session.add(Invitation(user_id=user.id, invited_by=inviter.id, token_hash=token_hash(token),
                              expires_at=utcnow() + dt.timedelta(days=days)))
    audit("staff.invited", f"staff:{user.id}", actor_id=inviter.id, role=role)
    db.session.commit()
    return InvitationIssued(user=user, token=token)


def find_invitation(token: str) -> Invitation | None:
    """The open invitation for this token, or None (unknown, used or expired look the same)."""
    invitation = db.session.execute(
        select(Invitation).where(Invitation.token_hash == token_hash(token))
    ).scalar_one_or_none()
    if invitation is None or invitation.accepted_at is not None:
        return None
    return invitation if invitation.expires_at > utcnow() else None


def accept_invitation(invitation: Invitation, password: str) -> StaffUser:
    user = db.session.get(StaffUser, (invitation.tenant_id, invitation.user_id))
    problem = password_problem(password, user.email, user.name)
    if problem:
        raise StaffError(problem, "password")
    user.password_hash = hash_password(password)
    invitation.accepted_at = utcnow()
    audit("staff.invitation_accepted", f"staff:{user.id}", actor_id=user.id)
    return user


def deactivate_staff(actor: StaffUser, user: StaffUser) -> None:
    if user.id == actor.id:
        raise StaffError(_("You cannot deactivate yourself."))
    if Role(user.role) not in assignable_roles(actor.role):
        raise StaffError(_("You cannot change this person's account."))
    user.active = False
    revoke_sessions(user)
    audit("staff.deactivated", f"staff:{user.id}", actor_id=actor.id)
    db.session.commit()


def _send_invitation_email(tenant_id: int, user_id: int, link: str) -> bool:
    from flask_babel import force_locale

    from saas.mail import send_mail
    from tenants.scoping import current_tenant

    user = db.session.get(StaffUser, (tenant_id, user_id))
    if user is None or user.password_hash is not None:
        return False  # already accepted (a retried job must not mail twice)
    with force_locale(user.locale or current_tenant().locale):
        subject = _("You are invited to %(tenant)s on Huiyuan", tenant=current_tenant().name)
        body = _(
            "Hello %(name)s,\n\nYou have been invited to join %(tenant)s. Set your password here:\n%(link)s\n",
            name=user.name, tenant=current_tenant().name, link=link,
        )
    return send_mail(user.email, subject, body)


def send_invitation_email(tenant_id: int, user_id: int, link: str) -> bool:
    """Job (messages queue): e-mail the invitation link."""
    from saas.jobs import tenant_job

    return tenant_job(_send_invitation_email)(tenant_id, user_id, link)
