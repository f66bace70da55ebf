"""The business time of a transaction (SPEC §19.1): when it happened, not when the server saw it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from saas.extensions import db
from saas.models import Tenant
from saas.settings import tenant_setting
from tenants.scoping import current_tenant
from tenants.services.errors import ServiceError

# POS clocks drift: a few minutes ahead is tolerated.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)


def tenant_zone() -> ZoneInfo:
    return ZoneInfo(current_tenant().timezone)


def in_tenant_zone(at: dt.datetime) -> dt.datetime:
    """`at` on the tenant's wall clock (a naive time is taken as already local).

    Every business date is the tenant's date (SPEC §19.1): 16:30 UTC is already tomorrow in Shanghai. The
    services pass every transaction time through here, so no caller can date a transaction in another zone.
    """
    zone = tenant_zone()
    return at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)


def resolve_business_time(value: str | dt.datetime | dt.date | None, *, now: dt.datetime | None = None,
                          backdate_unlimited: bool = False) -> dt.datetime:
    """Parse and check a transaction time; naive times are in the tenant's zone. Default: now.

    Refused: more than the tenant's `backdate_days` in the past (unless `backdate_unlimited`, as
    imports are), or in the future.
    """
    zone = tenant_zone()
    now = now or dt.datetime.now(dt.UTC)
    if value is None or value == "":
        return now.astimezone(zone)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as err:
            raise ServiceError("validation_failed",
                               fields={"business_at": _("Must be a date and time (ISO 8601).")}) from err
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12, 0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    value = value.astimezone(zone)
    if value > now + FUTURE_TOLERANCE:
        raise ServiceError("business_time_in_future")
    if not backdate_unlimited:
        tenant = db.session.get(Tenant, current_tenant().id)
        days = tenant_setting(tenant, "backdate_days")
        if value.date() < now.astimezone(zone).date() - dt.timedelta(days=days):
            raise ServiceError("business_time_too_old", days=days)
    return value
