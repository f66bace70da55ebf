"""The audit log as the owner and chain admin read it: who did what when, filtered, newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select

from saas.models import AuditEntry
from tenants.services.business_time import tenant_zone


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None
    member_id: int | None = None
    day_from: dt.date | None = None  # tenant calendar days, both included
    day_to: dt.date | None = None


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of a tenant calendar day (in UTC)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=tenant_zone()).astimezone(dt.UTC)


def audit_query(f: AuditFilter):
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if f.actor_id is not None:
        # What a person did, and what was done to their account (a failed sign-in has no actor yet).
        query = query.where(or_(AuditEntry.actor_id == f.actor_id, AuditEntry.target == f"staff:{f.actor_id}"))
    if f.action:
        query = query.where(AuditEntry.action == f.action)
    if f.member_id is not None:
        # Entries about the member, and about their cards (those name the member in their details).
        query = query.where(or_(AuditEntry.target == f"member:{f.member_id}",
                                AuditEntry.details["member_id"].as_string() == str(f.member_id)))
    if f.day_from is not None:
        query = query.where(AuditEntry.at >= day_start(f.day_from))
    if f.day_to is not None:
        query = query.where(AuditEntry.at < day_start(f.day_to + dt.timedelta(days=1)))
    return query
