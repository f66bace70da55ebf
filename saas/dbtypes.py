"""Column types every model uses.

`UTCDateTime` is the only type for a moment in time. PostgreSQL's `timestamptz` hands back aware
datetimes, but SQLite (the embedded default) keeps text without an offset and hands back naive ones,
which cannot be compared with `utcnow()` or with a business time in the tenant's zone. This type
stores every moment in UTC and always returns an aware UTC datetime, on both databases, so no caller
has to know which database it runs on. The DDL is still `TIMESTAMP WITH TIME ZONE` (no migration).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A moment: written as UTC, read back as an aware UTC datetime. A naive value is taken to be UTC
    (what PostgreSQL does with it in a UTC session)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        return _as_utc(value)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        return _as_utc(value)

    def process_literal_param(self, value, dialect):
        return _as_utc(value)


def _as_utc(value):
    if value is None or not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
