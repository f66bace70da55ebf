"""Proposed product changes, tried on the bench database only, to measure what they would buy before anyone
makes them for real (a migration, a query change). Never imported by the product.

* ``index``: ``members (tenant_id, tier_account_id)``. Every evaluation of a tier account loads its activities
  through ``members.tier_account_id`` (tenants/services/tiers.py ``account_activities``), which has no index:
  a sequential scan of the tenant's members per purchase. Created as the owner, dropped after the run.
* ``search``: the counter search by digits (tenants/services/members.py ``search_members``) asks
  ``id IN (card's member) OR phone = ?``, which no index serves: the planner walks every member of the tenant.
  Here the same answer comes from the two unique indexes (card number, phone) and the primary key.
"""

from __future__ import annotations

import re

import psycopg

from bench.bulk import libpq_url

KNOWN = ("index", "search")
INDEX = "bench_ix_members_tenant_id_tier_account_id"


def parse(text: str | None) -> tuple[str, ...]:
    chosen = tuple(x for x in (text or "").split(",") if x)
    unknown = set(chosen) - set(KNOWN)
    if unknown:
        raise SystemExit(f"unknown experiments {sorted(unknown)}: choose from {', '.join(KNOWN)}")
    return chosen


def create_index(owner_url: str) -> None:
    with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
        conn.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON members (tenant_id, tier_account_id)")
        conn.execute("ANALYZE members")


def drop_index(owner_url: str) -> None:
    with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
        conn.execute(f"DROP INDEX IF EXISTS {INDEX}")


def search_members_by_indexes(q: str, limit: int = 10):
    """search_members with the digits case answered from the unique indexes (same results, same order)."""
    from sqlalchemy import func, select

    from saas.extensions import db
    from tenants.models import Card, Member
    from tenants.services.errors import ServiceError
    from tenants.services.members import normalize_phone

    q = (q or "").strip()
    if not q:
        return []
    digits = re.sub(r"\D", "", q)
    if digits and digits == q.replace(" ", "").replace("-", "").lstrip("+"):
        if len(digits) == 4:
            query = select(Member).where(Member.phone_last4 == digits)
        else:
            ids = set(db.session.scalars(select(Card.member_id).where(Card.number == digits)))
            try:
                phone = normalize_phone(digits)
            except ServiceError:
                phone = None
            if phone:
                ids |= set(db.session.scalars(select(Member.id).where(Member.phone == phone)))
            if not ids:
                return []
            query = select(Member).where(Member.id.in_(ids))
    else:
        query = select(Member).where(func.lower(Member.name).like(f"%{q.lower()}%"))
    return list(db.session.scalars(query.order_by(Member.name, Member.id).limit(limit)))


def patch_search() -> None:
    """Swap the counter's search for the index-served one (in this process)."""
    import tenants.services.members as members
    import tenants.views.counter as counter

    members.search_members = search_members_by_indexes
    counter.search_members = search_members_by_indexes
