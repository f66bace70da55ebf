"""Idempotent operations: the first result of a key is stored with the effect, in one commit.

A retry with the same key and the same request replays the stored result; the same key with a
different request is refused. Two requests with one key at the same instant: the second waits on
the unique index until the first commits, then replays its result (SPEC §17.9).
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


def _replay(key: str, fingerprint: str) -> dict:
    row = db.session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).scalar_one_or_none()
    if row is None or row.response is None:
        raise ServiceError("idempotency_in_progress")
    if row.request_hash != fingerprint:
        raise ServiceError("idempotency_key_reused")
    return row.response


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
        db.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(response=result))
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
