"""Names and codes that must be unique in a tenant regardless of case (store codes, region names)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from saas.extensions import db
from tenants.services.errors import ServiceError


def taken(column, value: str, other_than: int | None = None) -> bool:
    """Whether another row of `column`'s model already has `value` (ignoring case); `other_than`: a row's own id."""
    model = column.class_
    query = select(func.count()).select_from(model).where(func.lower(column) == value.lower())
    if other_than is not None:
        query = query.where(model.id != other_than)
    return bool(db.session.scalar(query))


def commit_or_taken(field: str, message: str) -> None:
    """Commit; when two people save the same value at once the unique constraint decides, and the one refused
    is told `message` on `field` with nothing kept."""
    try:
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise ServiceError("validation_failed", fields={field: message}) from err
