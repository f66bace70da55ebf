"""The tenant's own settings page: business name, language, time zone, currency, POS back-dating, phone region.

One call checks every field (and says why in our words), changes the tenant row and its settings, writes an
audit entry naming each change, and commits once.
"""

from __future__ import annotations

from zoneinfo import available_timezones

import phonenumbers
from flask_babel import gettext as _
from sqlalchemy import exists, select

from saas.audit import audit
from saas.extensions import db
from saas.models import StaffUser, Tenant
from saas.permissions import can
from saas.settings import DEFAULTS, tenant_setting
from saas.text import clean_name
from tenants.models import Purchase, TopUp
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError

NAME_MAX_LENGTH = 120
LOCALES = ("zh_CN", "en")
CURRENCIES = ("CNY", "HKD", "MOP", "TWD", "SGD", "MYR", "USD")
BACKDATE_MAX_DAYS = 90
APPROVAL_MAX_POINTS = 10_000_000
ZONES = frozenset(available_timezones())
PHONE_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


def current_settings(tenant: Tenant) -> dict:
    return {"name": tenant.name, "locale": tenant.locale, "timezone": tenant.timezone, "currency": tenant.currency,
            "backdate_days": tenant_setting(tenant, "backdate_days"),
            "phone_region": tenant_setting(tenant, "phone_region"),
            "adjust_approval_points": tenant_setting(tenant, "adjust_approval_points"),
            "program_publish_needs_owner": bool(tenant_setting(tenant, "program_publish_needs_owner"))}


def money_recorded() -> bool:
    """Whether any amount has been recorded: from then on the currency amounts are read in stays."""
    return bool(db.session.scalar(select(exists().where(Purchase.id.is_not(None)))) or
                db.session.scalar(select(exists().where(TopUp.id.is_not(None)))))


def _checked(values: dict, tenant: Tenant) -> dict:
    errors: dict[str, str] = {}
    clean = {}
    name = clean_name(str(values.get("name") or ""))
    if not name:
        errors["name"] = _("Enter the business name.")
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = _("At most %(n)d characters.", n=NAME_MAX_LENGTH)
    clean["name"] = name
    for key, allowed in (("locale", LOCALES), ("timezone", ZONES), ("currency", CURRENCIES),
                         ("phone_region", PHONE_REGIONS)):
        value = str(values.get(key) or "").strip()
        if key == "phone_region":
            value = value.upper()
        if value not in allowed:
            errors[key] = _("Not a valid choice.")
        clean[key] = value
    if clean["currency"] != tenant.currency and "currency" not in errors and money_recorded():
        errors["currency"] = _("Amounts have been recorded in %(currency)s; the currency can no longer change.",
                               currency=tenant.currency)
    raw_days = str(values.get("backdate_days") if values.get("backdate_days") is not None else "").strip()
    if not raw_days.isdigit() or not 0 <= int(raw_days) <= BACKDATE_MAX_DAYS:
        errors["backdate_days"] = _("A whole number of days from 0 to %(max)d.", max=BACKDATE_MAX_DAYS)
    else:
        clean["backdate_days"] = int(raw_days)
    raw_points = str(values.get("adjust_approval_points") if values.get("adjust_approval_points") is not None
                     else "").strip()
    if not raw_points.isdigit() or int(raw_points) > APPROVAL_MAX_POINTS:
        errors["adjust_approval_points"] = _("A whole number of points from 0 to %(max)s.",
                                             max=f"{APPROVAL_MAX_POINTS:,}")
    else:
        clean["adjust_approval_points"] = int(raw_points)
    raw_owner = values.get("program_publish_needs_owner")
    clean["program_publish_needs_owner"] = (
        bool(tenant_setting(tenant, "program_publish_needs_owner")) if raw_owner is None
        else raw_owner is True or str(raw_owner).strip().lower() in ("y", "on", "1", "true", "yes"))
    if errors:
        raise ServiceError("validation_failed", fields=errors)
    return clean


def update_settings(values: dict, actor_id: int | None) -> dict:
    """Save the settings page; returns {field: [before, after]} of what changed (nothing changed: {})."""
    tenant = db.session.get(Tenant, current_tenant_id())
    clean = _checked(values, tenant)
    before = current_settings(tenant)
    changes = {key: [before[key], clean[key]] for key in clean if before[key] != clean[key]}
    if not changes:
        return {}
    actor = db.session.get(StaffUser, (current_tenant_id(), actor_id)) if actor_id is not None else None
    if "program_publish_needs_owner" in changes and (actor is None or not can(actor.role, "program.approve")):
        raise ServiceError("validation_failed", fields={
            "program_publish_needs_owner": _("Only an owner can change who approves program versions.")})
    for key in ("name", "locale", "timezone", "currency"):
        setattr(tenant, key, clean[key])
    settings = dict(tenant.settings or {})
    for key in ("backdate_days", "phone_region", "adjust_approval_points", "program_publish_needs_owner"):
        if clean[key] == DEFAULTS[key]:
            settings.pop(key, None)
        else:
            settings[key] = clean[key]
    tenant.settings = settings
    audit("tenant.settings_changed", f"tenant:{tenant.id}", actor_id=actor_id,
          changes={key: [str(old), str(new)] for key, (old, new) in changes.items()})
    db.session.commit()
    return changes
