"""A tenant's operational settings (not loyalty rules): stored as JSON on the tenant, with defaults."""

from __future__ import annotations

DEFAULTS = {
    # How many days back a POS may post a transaction (offline sync); imports may go further.
    "backdate_days": 7,
    # Where a phone number typed without a country code is read (ISO 3166 region; saas/phones.py).
    "phone_region": "CN",
    # A manual points adjustment of more than this many points (either way) waits for a second person.
    "adjust_approval_points": 1000,
    # A program version published by anyone but an owner waits for an owner's approval (owners only change it).
    "program_publish_needs_owner": False,
}


def tenant_setting(tenant, name: str):
    settings = getattr(tenant, "settings", None) or {}
    return settings.get(name, DEFAULTS[name])


def phone_region() -> str:
    """The current tenant's `phone_region` (CN with no tenant): where a number without its country code is read."""
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.scoping import current_tenant_or_none

    ref = current_tenant_or_none()
    tenant = db.session.get(Tenant, ref.id) if ref is not None else None
    return str(tenant_setting(tenant, "phone_region") or "CN").upper()
