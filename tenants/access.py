"""Which stores a signed-in person may see: all, their region's, or their own (the scope half of roles)."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from saas.extensions import db
from saas.permissions import SCOPE_ALL, SCOPE_REGION, Role
from tenants.models import Store


def visible_store_ids(user) -> list[int] | None:
    """None means every store of the tenant."""
    role = Role(user.role)
    if role in SCOPE_ALL:
        return None
    if role in SCOPE_REGION:
        if user.region_id is None:
            return []
        return list(db.session.scalars(select(Store.id).where(Store.region_id == user.region_id)))
    return [user.store_id] if user.store_id else []


def visible_stores(user) -> list[Store]:
    ids = visible_store_ids(user)
    query = select(Store).where(Store.active.is_(True)).order_by(Store.code)
    if ids is not None:
        query = query.where(Store.id.in_(ids))
    return list(db.session.scalars(query))


def ensure_store_visible(user, store_id: int | None) -> None:
    ids = visible_store_ids(user)
    if store_id is not None and ids is not None and store_id not in ids:
        abort(404)


def visible_staff_or_404(user, staff_id: int):
    """Staff member `staff_id` of the tenant if `user`'s store scope covers them (someone with no store is
    covered only by whole-tenant scope); 404 otherwise, the same as when there is no such person."""
    from saas.models import StaffUser

    person = db.session.get(StaffUser, (user.tenant_id, staff_id))
    ids = visible_store_ids(user)
    if person is None or (ids is not None and person.store_id not in ids):
        abort(404)
    return person
