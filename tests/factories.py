"""Builders for the story the tests tell: tenants made through sign-up, staff of every role."""

from __future__ import annotations

import datetime as dt
import itertools

from saas.extensions import db
from saas.models import StaffUser, Tenant
from saas.passwords import hash_password
from saas.signup import create_tenant
from tenants.models import Region, Store
from tenants.scoping import tenant_context

PASSWORD = "Counter-2026-pass"
_HASH = {}
_seq = itertools.count(1)


def password_hash() -> str:
    if "h" not in _HASH:
        _HASH["h"] = hash_password(PASSWORD)
    return _HASH["h"]


def make_tenant(slug: str | None = None, vertical: str = "clothing", language: str = "zh_CN",
                program_from: dt.date | None = None) -> Tenant:
    """A tenant as sign-up makes it (program in force from `program_from`, default today), plus a region
    and a second store. Commits."""
    n = next(_seq)
    slug = slug or f"shop-{n}"
    result = create_tenant(business_name=f"Shop {n}", slug=slug, vertical=vertical, owner_name="Owner",
                           email=f"owner@{slug}.example.com", password=PASSWORD, language=language,
                           today=program_from)
    with tenant_context(result.tenant):
        region = Region(name=f"Region {n}")
        db.session.add(region)
        db.session.flush()
        first = db.session.query(Store).one()
        first.region_id = region.id
        db.session.add(Store(code="S002", name=f"Second store {n}", region_id=region.id))
        db.session.commit()
    return result.tenant


def make_staff(tenant: Tenant, role: str, email: str | None = None, store: Store | None = None,
               active: bool = True) -> StaffUser:
    with tenant_context(tenant):
        store = store or db.session.query(Store).order_by(Store.code).first()
        region = db.session.query(Region).first()
        user = StaffUser(
            name=f"{role} {next(_seq)}",
            email=email or f"{role}{next(_seq)}@{tenant.slug}.example.com",
            role=role,
            store_id=store.id if role not in ("regional_supervisor",) else None,
            region_id=region.id if role == "regional_supervisor" else None,
            password_hash=password_hash(),
            active=active,
        )
        db.session.add(user)
        db.session.commit()
        return user
