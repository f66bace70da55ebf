"""The owner's approval of publishing a program version (tenant setting ``program_publish_needs_owner``).

With the setting on, a draft published by anyone but an owner becomes a `ProgramPublishRequest`: a snapshot
of the rules, the effective date, the note and the version it was based on. The draft is removed (the request
holds the rules; the editor starts a new draft from the version in force or from another version). An owner
approves it (posted through `post_program_version`, the version number kept on the request) or rejects it
with a note; the requester may withdraw it. Every decision leaves ``pending`` by a conditional update, so two
owners deciding at once publish one version. The effective date is checked again on approval: a date now in
the past is refused with a message, and the owner chooses a new date (today or later) on the same form.
Everything is audited.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from saas.audit import audit
from saas.extensions import db
from saas.models import StaffUser, Tenant, utcnow
from saas.permissions import can
from saas.settings import tenant_setting
from saas.text import clean_name
from tenants.models import ProgramPublishRequest
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError
from tenants.services.programs import NOTE_MAX_LENGTH, latest_program_version, post_program_version

APPROVE = "program.approve"


def needs_owner_approval() -> bool:
    return bool(tenant_setting(db.session.get(Tenant, current_tenant_id()), "program_publish_needs_owner"))


def may_approve(actor_id: int | None) -> bool:
    actor = db.session.get(StaffUser, (current_tenant_id(), actor_id)) if actor_id is not None else None
    return actor is not None and can(actor.role, APPROVE)


def publish_request(request_id: int) -> ProgramPublishRequest | None:
    return db.session.get(ProgramPublishRequest, (current_tenant_id(), request_id))


def pending_requests() -> list[ProgramPublishRequest]:
    return list(db.session.scalars(select(ProgramPublishRequest).where(ProgramPublishRequest.status == "pending")
                                   .order_by(ProgramPublishRequest.requested_at, ProgramPublishRequest.id)))


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProgramPublishRequest)
                             .where(ProgramPublishRequest.status == "pending")) or 0


def check_date(effective_from: dt.date, today: dt.date) -> None:
    """Refused (validation_failed on ``effective_from``) before today or before the latest version's start."""
    if effective_from < today:
        raise ServiceError("validation_failed", fields={"effective_from": _("Today or a later date.")})
    latest = latest_program_version()
    if latest is not None and effective_from < latest.effective_from:
        raise ServiceError("validation_failed", fields={"effective_from": _(
            "Must be on or after %(date)s, when version %(version)d starts.",
            date=latest.effective_from.isoformat(), version=latest.version)})


def request_publishing(rules: dict, *, effective_from: dt.date, today: dt.date, note: str,
                       based_on_version: int | None, actor_id: int) -> ProgramPublishRequest:
    """Keep ``rules`` (already valid) waiting for an owner. Audited; the caller commits."""
    note = clean_name(note)
    if len(note) > NOTE_MAX_LENGTH:
        raise ServiceError("validation_failed", fields={"note": _("At most %(max)d characters.",
                                                                  max=NOTE_MAX_LENGTH)})
    check_date(effective_from, today)
    row = ProgramPublishRequest(rules=rules, effective_from=effective_from, note=note,
                                based_on_version=based_on_version, requested_by=actor_id, status="pending")
    db.session.add(row)
    db.session.flush()
    audit("program.publish_requested", f"program_publish_request:{row.id}", actor_id=actor_id,
          effective_from=effective_from.isoformat(), note=note)
    return row


def _leave_pending(row: ProgramPublishRequest, status: str, actor_id: int, note: str = "") -> None:
    taken = db.session.execute(
        update(ProgramPublishRequest)
        .where(ProgramPublishRequest.id == row.id, ProgramPublishRequest.status == "pending")
        .values(status=status, decided_by=actor_id, decided_at=utcnow(), decision_note=clean_name(note)[:200])
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        db.session.rollback()
        raise ServiceError("validation_failed", fields={"decision": _("This request has already been decided.")})


def approve_publishing(request_id: int, *, actor_id: int, today: dt.date,
                       effective_from: dt.date | None = None):
    """An owner publishes the request as the next version, from its date or ``effective_from`` (a new date).

    Refused (nothing written): ``not_found``; ``forbidden`` for anyone but an owner; ``validation_failed``
    when the date is now in the past (choose a new one) or the request was decided already. Commits once.
    """
    row = publish_request(request_id)
    if row is None:
        raise ServiceError("not_found")
    if not may_approve(actor_id):
        raise ServiceError("forbidden")
    day = effective_from or row.effective_from
    if day < today:
        raise ServiceError("validation_failed", fields={"effective_from": _(
            "The date asked for, %(date)s, has passed: choose today or a later date.",
            date=row.effective_from.isoformat())})
    _leave_pending(row, "published", actor_id)
    try:
        version = post_program_version(row.rules, day, row.note, created_by=row.requested_by, via="approval",
                                       commit=False)
    except ServiceError:
        db.session.rollback()  # the request stays pending: nothing was published
        raise
    db.session.execute(update(ProgramPublishRequest).where(ProgramPublishRequest.id == row.id)
                       .values(version=version.version).execution_options(synchronize_session=False))
    audit("program.publish_approved", f"program_version:{version.version}", actor_id=actor_id,
          request=str(row.id), effective_from=day.isoformat())
    db.session.commit()
    return version


def reject_publishing(request_id: int, *, actor_id: int, note: str = "") -> None:
    """An owner refuses the request, with a note. Commits once."""
    row = publish_request(request_id)
    if row is None:
        raise ServiceError("not_found")
    if not may_approve(actor_id):
        raise ServiceError("forbidden")
    _leave_pending(row, "rejected", actor_id, note)
    audit("program.publish_rejected", f"program_publish_request:{row.id}", actor_id=actor_id,
          note=clean_name(note)[:200])
    db.session.commit()


def withdraw_publishing(request_id: int, *, actor_id: int) -> None:
    """The person who asked takes the request back. Commits once."""
    row = publish_request(request_id)
    if row is None:
        raise ServiceError("not_found")
    if row.requested_by != actor_id:
        raise ServiceError("forbidden")
    _leave_pending(row, "withdrawn", actor_id)
    audit("program.publish_withdrawn", f"program_publish_request:{row.id}", actor_id=actor_id)
    db.session.commit()
