"""API keys: per-tenant secrets for the JSON API. Only a SHA-256 hash of the secret is kept.

A key reads ``hy_<tenant id in base 36>_<prefix>_<secret>``:

* the tenant id comes first so a request names its tenant *before* any tenant-owned row is read
  (row-level security hides ``api_keys`` until the tenant is set);
* the prefix (8 characters, ``[0-9a-z]``) identifies the key within the tenant and is shown in lists;
* the secret (40 characters, ``[0-9A-Za-z]``, about 238 bits) is shown once, at creation.

Nothing in a key is derived from another key, and a revoked key is refused from that moment on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from saas.audit import audit
from saas.extensions import db
from saas.models import utcnow
from saas.text import clean_name
from tenants.models import ApiKey
from tenants.services.errors import ServiceError

PREFIX_LENGTH = 8
SECRET_LENGTH = 40
NAME_MAX_LENGTH = 80
_PREFIX_ALPHABET = string.digits + string.ascii_lowercase
_SECRET_ALPHABET = string.digits + string.ascii_letters
_MAX_TENANT_ID = (1 << 63) - 1
KEY_RE = re.compile(rf"^hy_([0-9a-z]{{1,13}})_([0-9a-z]{{{PREFIX_LENGTH}}})_([0-9A-Za-z]{{{SECRET_LENGTH}}})$")

# A used key's last_used_at is written at most this often: one small UPDATE a minute, not one per request.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
# Compared against when no key matches, so an unknown prefix costs the same work as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class ParsedKey:
    tenant_id: int
    prefix: str
    secret: str


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: ``token`` is the full key, to be shown once and never again."""

    api_key: ApiKey
    token: str


def to_base36(number: int) -> str:
    if number < 0:
        raise ValueError("negative id")
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _PREFIX_ALPHABET[rest] + digits
        if number == 0:
            return digits


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def format_key(tenant_id: int, prefix: str, secret: str) -> str:
    return f"hy_{to_base36(tenant_id)}_{prefix}_{secret}"


def display_prefix(api_key: ApiKey) -> str:
    """What lists show of a key: everything but the secret, e.g. ``hy_2k9x1q0z3b_ab12cd34_…``."""
    return f"hy_{to_base36(api_key.tenant_id)}_{api_key.prefix}_…"


def parse_api_key(token: str | None) -> ParsedKey | None:
    """Split a presented key into tenant id, prefix and secret; None for anything malformed."""
    match = KEY_RE.match((token or "").strip())
    if match is None:
        return None
    tenant_id = int(match.group(1), 36)
    if not 0 < tenant_id <= _MAX_TENANT_ID:
        return None
    return ParsedKey(tenant_id=tenant_id, prefix=match.group(2), secret=match.group(3))


def find_api_key(parsed: ParsedKey) -> ApiKey | None:
    """The active key of the current tenant matching ``parsed``; None if unknown, wrong or revoked.

    Call inside the tenant context of ``parsed.tenant_id``.
    """
    row = db.session.execute(select(ApiKey).where(ApiKey.prefix == parsed.prefix)).scalar_one_or_none()
    matches = hmac.compare_digest(row.secret_hash if row else _DUMMY_HASH, hash_secret(parsed.secret))
    if row is None or not matches or row.revoked_at is not None:
        return None
    return row


def touch_api_key(api_key: ApiKey, now: dt.datetime | None = None) -> None:
    """Record that the key was used; writes (and commits) at most once per TOUCH_INTERVAL."""
    now = now or utcnow()
    if api_key.last_used_at is not None and now - api_key.last_used_at < TOUCH_INTERVAL:
        return
    api_key.last_used_at = now
    db.session.commit()


def list_api_keys() -> list[ApiKey]:
    """The current tenant's keys, newest first, revoked ones included."""
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())))


def _new_prefix() -> str:
    for _attempt in range(5):
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if db.session.execute(select(ApiKey.id).where(ApiKey.prefix == prefix)).first() is None:
            return prefix
    raise RuntimeError("could not find a free API key prefix")  # 36^8 prefixes: practically unreachable


def create_api_key(name: str, created_by: int | None) -> IssuedKey:
    """Issue a key named ``name`` for the current tenant; commits and audits. The secret is not stored."""
    name = clean_name(name)
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ServiceError("validation_failed", fields={
            "name": _("Give the key a name of at most %(max)d characters.", max=NAME_MAX_LENGTH)})
    prefix = _new_prefix()
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    api_key = ApiKey(name=name, prefix=prefix, secret_hash=hash_secret(secret), created_by=created_by)
    db.session.add(api_key)
    db.session.flush()
    audit("api_key.created", f"api_key:{api_key.id}", actor_id=created_by, name=name, prefix=prefix)
    db.session.commit()
    return IssuedKey(api_key=api_key, token=format_key(api_key.tenant_id, prefix, secret))


def revoke_api_key(key_id: int, revoked_by: int | None) -> ApiKey:
    """Revoke a key of the current tenant (ServiceError not_found otherwise); commits and audits once."""
    api_key = db.session.execute(select(ApiKey).where(ApiKey.id == key_id)).scalar_one_or_none()
    if api_key is None:
        raise ServiceError("not_found")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        audit("api_key.revoked", f"api_key:{api_key.id}", actor_id=revoked_by, name=api_key.name,
              prefix=api_key.prefix)
        db.session.commit()
    return api_key
