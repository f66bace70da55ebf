"""Idempotent operations: the first result of a key is stored with the effect, in one commit.

A retry with the same key and the same request replays the stored result; the same key with a
different request is refused. Two requests with one key at the same instant: the second waits on
the unique index until the first commits, then replays its result (SPEC §17.9).

The stored result keeps no personal data: a member in it (an object with an "id" and a "phone", as
`member_json` writes it) is stored without its name, phone, e-mail, birthday and gender, only with a
reference, and a replay reads those fields from the member row again. The client gets the same answer
as the first time (unless the member was changed since: then as the member is now; once erased, the
fields are empty), and an idempotency row never becomes a second copy of a member's phone number that
outlives an erasure. Keys are dropped after IDEMPOTENCY_KEEP_HOURS (retention.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from saas.extensions import db
from saas.ids import new_id
from saas.models import utcnow
from tenants.models import IdempotencyKey
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError

MAX_KEY_LENGTH = 100


def request_fingerprint(operation: str, payload: dict) -> str:
    text = json.dumps({"operation": operation, "payload": payload}, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


PERSONAL_REF = "__member_personal__"


def without_personal_data(value):
    """`value` (a JSON result) with every member's personal fields replaced by a reference to the member."""
    from tenants.services.members import PERSONAL_FIELDS

    if isinstance(value, list):
        return [without_personal_data(v) for v in value]
    if not isinstance(value, dict):
        return value
    kept = {k: without_personal_data(v) for k, v in value.items()}
    if "id" in value and "phone" in value:
        kept = {k: v for k, v in kept.items() if k not in PERSONAL_FIELDS}
        kept[PERSONAL_REF] = str(value["id"])
    return kept


def with_personal_data(value):
    """The stored result as first answered: each referenced member's personal fields read again."""
    from tenants.models import Member
    from tenants.services.members import personal_json

    if isinstance(value, list):
        return [with_personal_data(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: with_personal_data(v) for k, v in value.items() if k != PERSONAL_REF}
    if PERSONAL_REF in value:
        ref = str(value[PERSONAL_REF])
        member = db.session.get(Member, (current_tenant_id(), int(ref))) if ref.isdigit() else None
        out.update(personal_json(member))
    return out


def _replay(key: str, fingerprint: str) -> dict:
    row = db.session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).scalar_one_or_none()
    if row is None or row.response is None:
        raise ServiceError("idempotency_in_progress")
    if row.request_hash != fingerprint:
        raise ServiceError("idempotency_key_reused")
    return with_personal_data(row.response)


def run_idempotent(key: str | None, operation: str, payload: dict, work: Callable[[], dict]) -> tuple[dict, bool]:
    """Run ``work()`` at most once for ``key``; return (result, replayed). Commits once.

    ``work`` changes the session without committing and returns a JSON-serialisable result. On a
    ServiceError nothing is kept (the key neither), so the request may be retried.
    """
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ServiceError("idempotency_key_required")
    fingerprint = request_fingerprint(operation, payload)
    row_id = _claim(key, operation, fingerprint)
    if row_id is None:
        return _replay(key, fingerprint), True
    try:
        result = work()
        db.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == row_id)
                           .values(response=without_personal_data(result)))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result, False


def _claim(key: str, operation: str, fingerprint: str) -> int | None:
    """Take the key for this transaction: its row id, or None when it is taken. One statement, INSERT ... ON
    CONFLICT DO NOTHING: a concurrent twin holding the key makes it wait until the twin commits (then None)
    or rolls back (then ours)."""
    session = db.session()
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = (insert(IdempotencyKey.__table__)
                 .values(tenant_id=current_tenant_id(), id=new_id(), key=key, operation=operation,
                         request_hash=fingerprint, created_at=utcnow())
                 .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
                 .returning(IdempotencyKey.__table__.c.id))
    return session.connection().execute(statement).scalar_one_or_none()
