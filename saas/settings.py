"""A tenant's operational settings (not loyalty rules): stored as JSON on the tenant, with defaults."""

from __future__ import annotations

DEFAULTS = {
    # How many days back a POS may post a transaction (offline sync); imports may go further.
    "backdate_days": 7,
}


def tenant_setting(tenant, name: str):
    settings = getattr(tenant, "settings", None) or {}
    return settings.get(name, DEFAULTS[name])
