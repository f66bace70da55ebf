"""Idempotent operations: the first result of a key is stored with the effect, in one commit.

A retry with the same key and the same request replays the stored result; the same key with a
different request is refused. Two requests with one key at the same instant: the second waits on
the unique index until the first commits, then replays its result (SPEC §17.9).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.extensions import db
from tenants.models import IdempotencyKey
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
    existing = db.session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).scalar_one_or_none()
    if existing is not None:
        return _replay(key, fingerprint), True
    row = IdempotencyKey(key=key, operation=operation, request_hash=fingerprint)
    db.session.add(row)
    try:
        db.session.flush()  # a concurrent twin holding this key makes us wait here, then fail
    except IntegrityError:
        db.session.rollback()
        return _replay(key, fingerprint), True
    try:
        result = work()
        row.response = result
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result, False
