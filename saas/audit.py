"""The audit log of sensitive actions: written in the caller's transaction, never edited."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from saas.extensions import db
from saas.models import AuditEntry


def audit(action: str, target: str = "", actor_id: int | None = None, **details) -> AuditEntry:
    if actor_id is None and has_request_context() and getattr(current_user, "is_authenticated", False):
        actor_id = current_user.id
    entry = AuditEntry(
        action=action,
        target=target,
        actor_id=actor_id,
        details=details,
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(entry)
    return entry
