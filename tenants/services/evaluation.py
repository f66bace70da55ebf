"""Scheduled evaluation "as of" a date: tier period ends, points expiry, pending releases, stored-value
expiry — for the members who have something due, in batches, one commit per batch.

Run daily per tenant in its own time zone (saas/cron.py → `evaluate_due_tenants`), or by hand with
`flask loyalty evaluate --as-of YYYY-MM-DD [--tenant SLUG]`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, extract, or_, select

from saas.extensions import db
from saas.jobs import enqueue, tenant_job
from saas.models import Tenant
from tenants.models import Card, Member, PointsLot, StoredValueLot, TierAccount, TierActivityRow
from tenants.services import ledger
from tenants.services.cards import renew_cards
from tenants.services.points import credit_birthday_bonus
from tenants.services.tiers import evaluate_member

log = logging.getLogger(__name__)
BATCH = 500
CARD_RENEWAL_LOOKBACK = dt.timedelta(days=31)


def members_due(as_of: dt.date) -> list[int]:
    """Ids of members with something to evaluate as of `as_of`: a tier period ending, activity not yet
    replayed, points to release or expire, stored value to expire. Everyone else is already current."""
    activity_due = (
        select(TierActivityRow.member_id)
        .join(Member, Member.id == TierActivityRow.member_id)
        .join(TierAccount, TierAccount.id == Member.tier_account_id)
        .where(TierActivityRow.counts_on <= as_of,
               or_(TierAccount.evaluated_through.is_(None), TierActivityRow.counts_on > TierAccount.evaluated_through))
    )
    by_account = select(Member.id).where(Member.tier_account_id.in_(
        select(TierAccount.id).where(TierAccount.period_end <= as_of)))
    lots_due = select(PointsLot.member_id).where(or_(
        and_(PointsLot.released.is_(False), PointsLot.available_on <= as_of),
        and_(PointsLot.points > 0, PointsLot.expires_on <= as_of),
    ))
    sv_due = select(StoredValueLot.member_id).where(
        StoredValueLot.expires_on <= as_of, (StoredValueLot.principal_fen + StoredValueLot.bonus_fen) > 0)
    ids: set[int] = set()
    ids.update(_birthdays_on(as_of))
    for query in (activity_due, by_account, lots_due, sv_due, _cards_due(as_of)):
        ids.update(db.session.scalars(query))
    return sorted(ids)


def _cards_due(as_of: dt.date):
    """Members with a card whose validity ended lately (a missed run or two still renews it from its old end)."""
    return select(Card.member_id).where(Card.status == "active", Card.valid_until <= as_of,
                                        Card.valid_until > as_of - CARD_RENEWAL_LOOKBACK)


def _birthdays_on(as_of: dt.date) -> list[int]:
    """Members whose birthday falls on `as_of` (a 29 February birthday on the 28th in other years)."""
    days = [(as_of.month, as_of.day)]
    if (as_of.month, as_of.day) == (2, 28) and not calendar.isleap(as_of.year):
        days.append((2, 29))
    return list(db.session.scalars(select(Member.id).where(Member.birthday.is_not(None), or_(*(
        and_(extract("month", Member.birthday) == month, extract("day", Member.birthday) == day)
        for month, day in days)))))


def evaluate_members(as_of: dt.date, progress: Callable[[int, int], None] | None = None,
                     batch: int = BATCH) -> dict:
    """Evaluate every member due as of `as_of`; returns counts. Commits per batch."""
    ids = members_due(as_of)
    with_cards_due = set(db.session.scalars(_cards_due(as_of)))  # the others need no card query
    stats = {"members": 0, "tier_changes": 0, "points_expired": 0, "points_released": 0,
             "stored_value_expired_fen": 0, "cards_renewed": 0,
             "birthday_points": 0}
    for start in range(0, len(ids), batch):
        for member_id in ids[start:start + batch]:
            member = ledger.lock_member(member_id)
            if member.status != "active":
                continue
            result = evaluate_member(member, as_of)
            stats["members"] += 1
            stats["tier_changes"] += len(result["tier_changes"])
            for key in ("points_expired", "points_released", "stored_value_expired_fen"):
                stats[key] += result[key]
            if member.id in with_cards_due:
                stats["cards_renewed"] += renew_cards(member, as_of)
            stats["birthday_points"] += credit_birthday_bonus(member, as_of)
        db.session.commit()
        if progress:
            progress(min(start + batch, len(ids)), len(ids))
    return stats


def _evaluate_tenant(tenant_id: int, as_of: str) -> dict:
    day = dt.date.fromisoformat(as_of)
    stats = evaluate_members(day)
    tenant = db.session.get(Tenant, tenant_id)
    tenant.settings = {**(tenant.settings or {}), "evaluated_through": as_of}
    db.session.commit()
    log.info("evaluated tenant %s as of %s: %s", tenant.slug, as_of, stats)
    return stats


def evaluate_tenant(tenant_id: int, as_of: str) -> dict:
    """Job (reports queue): evaluate one tenant as of a date."""
    return tenant_job(_evaluate_tenant)(tenant_id, as_of)


def evaluate_due_tenants(now: dt.datetime | None = None) -> list[str]:
    """Cron (hourly): queue the evaluation of every tenant whose local day has not been evaluated yet."""
    now = now or dt.datetime.now(dt.UTC)
    queued = []
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.id)):
        today = now.astimezone(ZoneInfo(tenant.timezone)).date().isoformat()
        if (tenant.settings or {}).get("evaluated_through") != today:
            enqueue("reports", evaluate_tenant, tenant.id, today)
            queued.append(tenant.slug)
    return queued
