"""Changes of a member's identity fields (name, ID number) that wait for HQ (变更审核, SPEC §3).

When the program in force has `enrolment.approval_for_identity_changes`, a change of the name or the ID
document number asked from the member page by anyone but HQ (owner, chain admin) does not apply at once: it
becomes a pending request holding the old and the new value, both sealed at rest like the member's ID number.
HQ approves (the member changes through the member service, audited) or rejects (audited); the requester never
decides their own request, and one decision per request is taken by a conditional update of its status.
Without the flag, or when HQ makes the change, it applies at once. The caller commits.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from saas.audit import audit
from saas.extensions import db
from saas.text import clean_name
from tenants.models import Member
from tenants.profile_models import IdentityChangeRequest
from tenants.programs import business_today, program_in_force
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError
from tenants.services.four_eyes import take_decision

IDENTITY_FIELDS = ("name", "id_doc_number")
_ID_NUMBER = re.compile(r"[A-Z0-9-]{4,40}")


def approval_required() -> bool:
    """Whether the program in force today sends identity changes to HQ."""
    found = program_in_force(business_today())
    return bool(found and found[1].enrolment.approval_for_identity_changes)


def checked_id_number(raw: str) -> str:
    """An ID document number as stored: letters (upper-cased), digits and hyphens, 4 to 40 of them."""
    number = clean_name(raw or "").replace(" ", "").upper()
    if not _ID_NUMBER.fullmatch(number):
        raise ServiceError("validation_failed", fields={"id_doc_number": _(
            "A document number has 4 to 40 letters, digits or hyphens.")})
    return number


def pending_changes(member_id: int) -> list[IdentityChangeRequest]:
    return list(db.session.scalars(select(IdentityChangeRequest).where(
        IdentityChangeRequest.member_id == member_id, IdentityChangeRequest.status == "pending")
        .order_by(IdentityChangeRequest.requested_at, IdentityChangeRequest.id)))


def request_identity_change(member: Member, field: str, new_value: str, *,
                            actor_id: int) -> IdentityChangeRequest | None:
    """Keep a change of `field` for HQ. The same change already waiting: that request (a form sent twice asks
    once); another change of the same field waiting: ServiceError on the field; no change: None."""
    if field not in IDENTITY_FIELDS:
        raise ServiceError("validation_failed", fields={field: _("This field cannot be changed here.")})
    old_value = getattr(member, field)
    if (old_value or "") == (new_value or ""):
        return None
    for waiting in pending_changes(member.id):
        if waiting.field == field:
            if waiting.new_value == new_value:
                return waiting
            raise ServiceError("validation_failed", fields={field: _(
                "A change of this field already waits for head office's approval.")})
    row = IdentityChangeRequest(member_id=member.id, field=field, old_value=old_value, new_value=new_value,
                                requested_by=actor_id)
    db.session.add(row)
    db.session.flush()
    audit("member.identity_change_requested", f"member:{member.id}", actor_id=actor_id, field=field,
          request=str(row.id))
    return row


def decide_identity_change(*, change_id: int, approve: bool, actor_id: int) -> str:
    """Approve (the member's field takes the new value, audited) or reject a pending request; commits."""
    from tenants.services.members import update_member

    row = db.session.get(IdentityChangeRequest, (current_tenant_id(), change_id))
    if row is None:
        raise ServiceError("not_found")
    member = db.session.get(Member, (row.tenant_id, row.member_id))
    if approve and (getattr(member, row.field) or "") != (row.old_value or ""):
        raise ServiceError("validation_failed", fields={"decision": _(
            "The member's record has changed since this was asked: reject it and ask again.")})
    status = take_decision(IdentityChangeRequest, row, approve=approve, actor_id=actor_id, own_request=_(
        "A second person decides: the one who asked for a change cannot approve or reject it."))
    if approve:
        try:
            update_member(member, {row.field: row.new_value}, actor_id=actor_id)
        except ServiceError:
            db.session.rollback()  # the request stays pending: nothing changed
            raise
    audit("member.identity_change_approved" if approve else "member.identity_change_rejected",
          f"member:{row.member_id}", actor_id=actor_id, field=row.field, request=str(row.id),
          requested_by=str(row.requested_by))
    db.session.commit()
    return status


def route_identity_changes(member: Member, changes: dict, *, actor_id: int, by_hq: bool) -> tuple[dict, list]:
    """Split a profile change: what applies now, and the requests kept for HQ (name and ID number, when the
    program asks for approval and the person is not HQ). Returns (changes to apply, requests made)."""
    if by_hq or not approval_required():
        return changes, []
    now, asked = dict(changes), []
    for field in IDENTITY_FIELDS:
        if field in now:
            value = now.pop(field)
            if field == "name":
                value = clean_name(value or "")[:80]
            row = request_identity_change(member, field, value, actor_id=actor_id)
            if row is not None:
                asked.append(row)
    return now, asked
