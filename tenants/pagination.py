"""Lists: a case-insensitive search over some columns, then offset paging."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from saas.extensions import db

PAGE_SIZE = 20


@dataclass
class Page:
    items: list
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def search(query, q: str, *columns):
    """Keep the rows where any of `columns` contains `q` (ignoring case); an empty `q` keeps all."""
    if not q:
        return query
    # contains(autoescape): a % or _ typed by a person is a character to find, not a wildcard.
    return query.where(or_(*(func.lower(column).contains(q.lower(), autoescape=True) for column in columns)))


def paginate(query, page: str | int | None, size: int = PAGE_SIZE, rows: bool = False) -> Page:
    """One page of `query`'s results: its first column's objects, or whole rows with `rows`."""
    try:
        number = max(1, int(page or 1))
    except (TypeError, ValueError):
        number = 1
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    number = min(number, max(1, -(-(total or 0) // size)))  # past the end: the last page
    window = query.limit(size).offset((number - 1) * size)
    items = list(db.session.execute(window).all() if rows else db.session.scalars(window))
    return Page(items=items, number=number, size=size, total=total or 0)
