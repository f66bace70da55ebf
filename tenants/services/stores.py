"""Stores (门店) and mall alliance merchants (联盟商户): add, edit, deactivate and reactivate. Each commits once.

A store's code is how program rules name it (`Program.stores`, per-merchant rates keyed by code), so the
code of a store that any program version mentions is frozen: every version, past ones included, still
prices the transactions of its dates (backdated sales, imports).
"""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from saas.audit import audit
from saas.billing.entitlements import check_limit
from saas.extensions import db
from saas.ids import new_id
from saas.text import clean_name
from tenants.models import ProgramVersion, Region, Store
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError
from tenants.services.unique import commit_or_taken, taken

CODE_MAX_LENGTH = 20
NAME_MAX_LENGTH = 120
FLOOR_MAX_LENGTH = 20
CODE_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{CODE_MAX_LENGTH}}}")
KINDS = {"store": _l("Store"), "merchant": _l("Merchant (mall)")}
EDITABLE = ("code", "name", "kind", "region_id", "floor", "opened_on")


def require_store(store_id: int | None, field: str = "store_id") -> Store | None:
    """The current tenant's store ``store_id`` (None for None), or ServiceError validation_failed on ``field``.

    Another tenant's store reads as unknown, exactly like a missing one. Inactive stores are accepted:
    transactions of their open days are synced later.
    """
    if store_id is None:
        return None
    store = db.session.get(Store, (current_tenant_id(), store_id))
    if store is None:
        raise ServiceError("validation_failed", fields={field: _("Unknown store.")})
    return store


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def program_versions_naming(code: str) -> list[int]:
    """The numbers of the program versions whose store rules are keyed by `code` (exact, as rules look it up)."""
    rows = db.session.execute(select(ProgramVersion.version, ProgramVersion.rules).order_by(ProgramVersion.version))
    return [version for version, rules in rows
            if isinstance(rules, dict) and isinstance(rules.get("stores"), dict) and code in rules["stores"]]


def _check(values: dict, store: Store | None = None) -> dict:
    """Normalised `values` (the keys of EDITABLE that are present), or ServiceError with every field's problem."""
    errors: dict[str, str] = {}
    clean: dict = {}
    if "code" in values:
        code = _text(values["code"])
        if not code:
            errors["code"] = _("Enter a code.")
        elif not CODE_RE.fullmatch(code):
            errors["code"] = _("Use 1 to %(max)d letters, digits, - or _.", max=CODE_MAX_LENGTH)
        elif store is not None and code != store.code and program_versions_naming(store.code):
            errors["code"] = _("The program rules refer to this store by its code “%(code)s”, so the code "
                               "cannot be changed.", code=store.code)
        elif taken(Store.code, code, store.id if store is not None else None):
            errors["code"] = _("Another store already has the code “%(code)s”.", code=code)
        clean["code"] = code
    if "name" in values:
        name = clean_name(values["name"])
        if not name:
            errors["name"] = _("Enter the store's name.")
        elif len(name) > NAME_MAX_LENGTH:
            errors["name"] = _("At most %(max)d characters.", max=NAME_MAX_LENGTH)
        clean["name"] = name
    if "kind" in values:
        kind = _text(values["kind"])
        if kind not in KINDS:
            errors["kind"] = _("Choose a store or a mall merchant.")
        clean["kind"] = kind
    if "floor" in values:
        floor = _text(values["floor"])
        if len(floor) > FLOOR_MAX_LENGTH:
            errors["floor"] = _("At most %(max)d characters.", max=FLOOR_MAX_LENGTH)
        clean["floor"] = floor
    if "opened_on" in values:
        opened = values["opened_on"]
        if opened in (None, ""):
            opened = None
        elif not isinstance(opened, dt.date):
            try:
                opened = dt.date.fromisoformat(str(opened).strip())
            except ValueError:
                errors["opened_on"] = _("Enter a date.")
                opened = None
        clean["opened_on"] = opened
    if "region_id" in values:
        region_id = values["region_id"]
        if region_id in (None, ""):
            region_id = None
        else:
            try:
                region_id = int(region_id)
            except (TypeError, ValueError):
                region_id = 0
            if not 0 < region_id < 2**63 or db.session.get(Region, (current_tenant_id(), region_id)) is None:
                errors["region_id"] = _("Unknown region.")
        clean["region_id"] = region_id
    if errors:
        raise ServiceError("validation_failed", fields=errors)
    return clean


def _commit_or_code_taken(code: str) -> None:
    commit_or_taken("code", _("Another store already has the code “%(code)s”.", code=code))


def create_store(code: str, name: str, kind: str = "store", region_id: int | None = None, floor: str = "",
                 actor_id: int | None = None, opened_on: dt.date | str | None = None) -> Store:
    """Add a store (or a mall merchant), active. Code: 1–20 letters, digits, - or _, unique in the tenant
    regardless of case. PlanLimitReached when the plan's active stores are used up. Audited."""
    check_limit("stores")
    clean = _check({"code": code, "name": name, "kind": kind, "region_id": region_id, "floor": floor,
                    "opened_on": opened_on})
    store = Store(id=new_id(), active=True, **clean)
    db.session.add(store)
    audit("store.created", f"store:{store.id}", actor_id=actor_id, code=store.code, name=store.name,
          kind=store.kind)
    _commit_or_code_taken(store.code)
    return store


def update_store(store: Store, changes: dict, actor_id: int | None = None) -> Store:
    """Change some of code, name, kind, region_id, floor, opened_on. The code stays while program rules name it.
    Audited with the old and new values of what changed."""
    for key in changes:
        if key not in EDITABLE:
            raise ServiceError("validation_failed", fields={key: _("This field cannot be changed here.")})
    clean = _check(changes, store)
    changed = {key: [getattr(store, key), value] for key, value in clean.items() if getattr(store, key) != value}
    for key, (_old, new) in changed.items():
        setattr(store, key, new)
    if changed:
        audit("store.updated", f"store:{store.id}", actor_id=actor_id,
              changes={key: [str(old) if old is not None else None, str(new) if new is not None else None]
                       for key, (old, new) in changed.items()})
    _commit_or_code_taken(store.code)
    return store


def set_active(store: Store, active: bool, actor_id: int | None = None) -> Store:
    """Deactivate (history, staff and members stay; the counter no longer opens there) or reactivate a store.
    Reactivating counts against the plan's active stores. Audited; nothing happens if already so."""
    if store.active == active:
        return store
    if active:
        check_limit("stores")
    store.active = active
    audit("store.reactivated" if active else "store.deactivated", f"store:{store.id}", actor_id=actor_id,
          code=store.code)
    db.session.commit()
    return store
