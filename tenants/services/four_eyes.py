"""The four-eyes rule (四眼原则) of every request that waits for a second person: points and stored-value
adjustments, identity changes. One decision per request: its status leaves `pending` by a conditional update,
so two people deciding at once cannot both apply it; the person who asked cannot decide."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from saas.extensions import db
from saas.models import utcnow
from saas.text import clean_name
from tenants.services.errors import ServiceError


def own_adjustment_message() -> str:
    """The refusal of the asker deciding their own adjustment, in the reader's language."""
    return _("A second person decides: the one who asked for an adjustment cannot approve or reject it.")


def take_decision(model, row, *, approve: bool, actor_id: int, own_request: str, note: str | None = None) -> str:
    """Move ``row`` (a ``model`` with status/decided_by/decided_at) from pending to applied or rejected.

    Refused (ServiceError ``validation_failed`` on ``decision``, nothing written): the asker deciding
    (``own_request`` is the message), or a request decided already. ``note`` goes to ``decision_note`` when
    given. Returns the new status; the caller applies the effect and commits.
    """
    if row.requested_by == actor_id:
        raise ServiceError("validation_failed", fields={"decision": own_request})
    status = "applied" if approve else "rejected"
    values = {"status": status, "decided_by": actor_id, "decided_at": utcnow()}
    if note is not None:
        values["decision_note"] = clean_name(note)[:200]
    taken = db.session.execute(update(model).where(model.id == row.id, model.status == "pending")
                               .values(**values).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        db.session.rollback()
        raise ServiceError("validation_failed", fields={"decision": _("This request has already been decided.")})
    return status
