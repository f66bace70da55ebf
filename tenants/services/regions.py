"""Regions (区域) group a chain's stores; a regional supervisor sees the stores of their region.
Add, rename, delete. Each commits once.

A name is unique in the tenant regardless of case ("East" and "east" would be the same region to a person
choosing from a list). The database's unique constraint on (tenant_id, name) is exact, so it decides only a
race between two people adding the very same name; the check here catches the other cases.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from saas.audit import audit
from saas.extensions import db
from saas.ids import new_id
from saas.models import StaffUser
from saas.text import clean_name
from tenants.models import Region, Store
from tenants.services.errors import ServiceError
from tenants.services.unique import commit_or_taken, taken

NAME_MAX_LENGTH = 80


def _name_taken_message(name: str) -> str:
    return _("There is already a region called “%(name)s”.", name=name)


def _clean_name(name, region: Region | None = None) -> str:
    """The trimmed name, or ServiceError(validation_failed, fields={"name": ...})."""
    name = clean_name(name)
    if not name:
        problem = _("Enter the region's name.")
    elif len(name) > NAME_MAX_LENGTH:
        problem = _("At most %(max)d characters.", max=NAME_MAX_LENGTH)
    elif taken(Region.name, name, region.id if region is not None else None):
        problem = _name_taken_message(name)
    else:
        problem = None
    if problem:
        raise ServiceError("validation_failed", fields={"name": problem})
    return name


def _commit_or_name_taken(name: str) -> None:
    commit_or_taken("name", _name_taken_message(name))


def region_usage() -> dict[int, tuple[int, int]]:
    """Region id → (stores, staff accounts) that belong to it; regions with neither are absent.
    Deactivated stores and staff count: their rows still name the region."""
    usage: dict[int, list[int]] = {}
    for column, index in ((Store.region_id, 0), (StaffUser.region_id, 1)):
        rows = db.session.execute(select(column, func.count()).where(column.is_not(None)).group_by(column))
        for region_id, count in rows:
            usage.setdefault(region_id, [0, 0])[index] = count
    return {region_id: (stores, staff) for region_id, (stores, staff) in usage.items()}


def _usage_of(region_id: int) -> tuple[int, int]:
    stores = db.session.scalar(select(func.count()).select_from(Store).where(Store.region_id == region_id))
    staff = db.session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.region_id == region_id))
    return stores, staff


def _in_use(region_name: str, stores: int, staff: int) -> ServiceError:
    return ServiceError("validation_failed", fields={"region": _(
        "“%(name)s” cannot be deleted: %(stores)d store(s) and %(staff)d staff member(s) still belong to it.",
        name=region_name, stores=stores, staff=staff)})


def create_region(name: str, actor_id: int | None = None) -> Region:
    """Add a region. Name: trimmed, 1–80 characters, unique in the tenant regardless of case. Audited."""
    region = Region(id=new_id(), name=_clean_name(name))
    db.session.add(region)
    audit("region.created", f"region:{region.id}", actor_id=actor_id, name=region.name)
    _commit_or_name_taken(region.name)
    return region


def rename_region(region: Region, name: str, actor_id: int | None = None) -> Region:
    """Give a region another name (same rules as adding; changing only its case is allowed).
    Audited with the old and new name; nothing happens if the name is unchanged."""
    clean = _clean_name(name, region)
    if clean == region.name:
        return region
    old = region.name
    region.name = clean
    audit("region.renamed", f"region:{region.id}", actor_id=actor_id, changes={"name": [old, clean]})
    _commit_or_name_taken(clean)
    return region


def delete_region(region: Region, actor_id: int | None = None) -> None:
    """Delete a region that no store and no staff account (deactivated ones included) belongs to; otherwise
    ServiceError(validation_failed, fields={"region": ...}) saying how many. Audited."""
    name, region_id = region.name, region.id
    stores, staff = _usage_of(region_id)
    if stores or staff:
        raise _in_use(name, stores, staff)
    db.session.delete(region)
    audit("region.deleted", f"region:{region_id}", actor_id=actor_id, name=name)
    try:
        db.session.commit()
    except IntegrityError as err:  # a store or a person was given this region meanwhile: the foreign keys refuse
        db.session.rollback()
        raise _in_use(name, *_usage_of(region_id)) from err
