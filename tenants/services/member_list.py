"""The back office's member list: search, filters, sorting, within the person's store scope (SPEC §10, §17).

A lifecycle stage filter compares each member's join date and last purchase with the bars the pure rules of
``tenants.domain.segments`` give for the day (the same ``lifecycle_bars`` the segments report uses).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, extract, func, not_, select

from tenants.domain.consent import BITS as CHANNEL_BITS
from tenants.domain.segments import LifecycleBars
from tenants.models import Member, TierAccount
from tenants.services.members import search_condition

SORTS = {
    "name": (Member.name.asc(),),
    "joined": (Member.joined_on.desc(),),
    "last_purchase": (Member.last_purchase_on.desc().nulls_last(),),
    "points": (Member.points_balance.desc(),),
    "balance": (Member.stored_value_fen.desc(),),
}
STAGES = ("new", "active", "dormant", "lost")


@dataclass(frozen=True)
class MemberFilter:
    q: str = ""
    store_id: int | None = None
    tier: str | None = None
    stage: str | None = None
    birthday_month: int | None = None
    consent: bool | None = None
    consent_channel: str | None = None  # agrees to offers on this channel (tenants/domain/consent.py)
    joined_from: dt.date | None = None
    joined_to: dt.date | None = None
    include_closed: bool = False
    sort: str = "joined"


def stage_condition(stage: str, bars: LifecycleBars):
    last = func.coalesce(Member.last_purchase_on, Member.joined_on)
    new = Member.joined_on > bars.new_after
    lost = last <= bars.lost_on_or_before
    dormant = last <= bars.dormant_on_or_before
    return {"new": new, "lost": and_(not_(new), lost), "dormant": and_(not_(new), not_(lost), dormant),
            "active": and_(not_(new), not_(dormant))}[stage]


def member_query(f: MemberFilter, store_ids: list[int] | None, bars: LifecycleBars | None):
    """The members `f` selects among those enrolled in `store_ids` (None: every store), with their tier code."""
    query = select(Member, TierAccount.tier_code).join(TierAccount, TierAccount.id == Member.tier_account_id)
    if store_ids is not None:
        query = query.where(Member.enrolled_store_id.in_(store_ids))
    condition = search_condition(f.q, tags=True)
    if condition is not None:
        query = query.where(condition)
    if f.store_id is not None:
        query = query.where(Member.enrolled_store_id == f.store_id)
    if f.tier:
        query = query.where(TierAccount.tier_code == f.tier)
    if f.stage and bars is not None:
        query = query.where(stage_condition(f.stage, bars))
    if f.birthday_month:
        query = query.where(extract("month", Member.birthday) == f.birthday_month)
    if f.consent is not None:
        query = query.where(Member.marketing_consent.is_(f.consent))
    if f.consent_channel in CHANNEL_BITS:
        query = query.where(Member.consent_channels.op("&")(CHANNEL_BITS[f.consent_channel]) != 0)
    if f.joined_from:
        query = query.where(Member.joined_on >= f.joined_from)
    if f.joined_to:
        query = query.where(Member.joined_on <= f.joined_to)
    if not f.include_closed:
        query = query.where(Member.status == "active")
    return query.order_by(*SORTS.get(f.sort, SORTS["joined"]), Member.id.desc())
