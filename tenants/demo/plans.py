"""What the demo history plans and posts for a member (Plan, Event, Live), what a run did (HistoryStats),
and the tenant it is for (Context: stores, staff, programs, the calendar)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from saas.extensions import db
from saas.models import StaffUser
from saas.permissions import Role
from tenants.domain.dates import add_months
from tenants.domain.program import Program
from tenants.models import ProgramVersion, Store, TierAccount

if TYPE_CHECKING:
    from tenants.demo.verticals import Vertical


BATCH = 50
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
LEGACY_REASON = "旧系统积分迁移"  # data a chain's admin would type, in the tenant's language
GOODWILL_REASON = "服务补偿（顾客投诉）"


@dataclass
class HistoryStats:
    """What one `seed_history` call did (counts of what was committed)."""

    members: int = 0
    existing: int = 0
    purchases: int = 0
    points_payments: int = 0  # purchases paid partly with points (the pharmacy's and clothing's redemption)
    returns: int = 0
    top_ups: int = 0
    redemptions: int = 0
    adjustments: int = 0
    failed: int = 0
    seconds: float = 0.0
    skipped_reason: str = ""

    def add(self, other: HistoryStats) -> None:
        for name in ("members", "purchases", "points_payments", "returns", "top_ups", "redemptions", "adjustments"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Segment:
    name: str
    weight: float
    visits: float  # visits per year while active


@dataclass(order=True)
class Event:
    at: dt.datetime
    seq: int
    kind: str = field(compare=False)  # enrol | adjust | top_up | visit | return
    member: int = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


@dataclass
class Plan:
    index: int
    phone: str
    name: str = ""
    gender: str = ""
    birthday: dt.date | None = None
    consent: bool = False
    email: str | None = None
    store: Store | None = None
    staff_id: int | None = None
    joined_at: dt.datetime | None = None
    source: str = "counter"
    segment: str = ""
    profile: dict = field(default_factory=dict)
    id_number: str | None = None
    referrer: int | None = None  # index of a member of the same batch who joined earlier
    sv_user: bool = False
    events: list[Event] = field(default_factory=list)


@dataclass
class Live:
    """A member while their batch is posted: ids, what the services said last, and a strong
    reference to the tier account so every service finds it in the session's identity map."""

    plan: Plan
    member_id: int
    account: TierAccount
    available: int = 0  # points available as of the last operation (a lower bound later on)
    sv_fen: int = 0
    unlocked: dict = field(default_factory=dict)
    purchases: dict = field(default_factory=dict)  # visit key → purchase id
    vouchers: list = field(default_factory=list)  # unused gift-money vouchers (fen)
    stats: HistoryStats = field(default_factory=HistoryStats)


class Context:
    """What planning and posting share for one tenant: stores, staff, programs, the calendar."""

    def __init__(self, vertical: Vertical, today: dt.date, now: dt.datetime, zone: ZoneInfo,
                 program_from: dt.date, phone_block: int, phone_blocks: int) -> None:
        self.vertical, self.today, self.now, self.zone = vertical, today, now, zone
        self.start = add_months(today, -12)
        self.program_from = program_from
        self.phone_block, self.phone_blocks = phone_block, phone_blocks
        self.stores: list[Store] = sorted(db.session.scalars(select(Store).where(Store.active.is_(True))),
                                          key=lambda s: s.code)
        staff = sorted(db.session.scalars(select(StaffUser).where(StaffUser.active.is_(True))), key=lambda u: u.email)
        self.counter_staff = {s.id: [u.id for u in staff if u.store_id == s.id and u.role == Role.CLERK] * 3
                              + [u.id for u in staff if u.store_id == s.id and u.role == Role.VIP_SPECIALIST]
                              for s in self.stores}
        self.admin_id = next((u.id for u in staff if u.role == Role.CHAIN_ADMIN), None)
        self.owner_id = next((u.id for u in staff if u.role == Role.OWNER), None)
        versions = db.session.scalars(select(ProgramVersion).order_by(ProgramVersion.effective_from,
                                                                      ProgramVersion.version)).all()
        self.programs = [(v.effective_from, v.version, Program.model_validate(v.rules)) for v in versions]
        self.by_code = {s.code: s for s in self.stores}

    def program(self, on: dt.date) -> Program:
        """The program in force on `on` (as tenants.programs decides it), without a query per call."""
        found = [p for p in self.programs if p[0] <= on]
        return max(found, key=lambda p: (p[0], p[1]))[2]

    def at(self, day: dt.date, hour: int, minute: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.zone)

    def staff_of(self, rng: random.Random, store: Store) -> int | None:
        people = self.counter_staff.get(store.id) or []
        return rng.choice(people) if people else None

    def honours(self, store: Store) -> bool:
        rule = self.program(self.today).stores.get(store.code)
        return rule is None or rule.honours_card

    def day(self, rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
        """A day in [first, last], weighted by the vertical's seasons and weekends."""
        v = self.vertical
        top = max(v.season) * max(v.weekend, 1.0)
        span = (last - first).days
        while True:
            day = first + dt.timedelta(days=rng.randint(0, span))
            weight = v.season[day.month - 1] * (v.weekend if day.weekday() >= 5 else 1.0)
            if rng.random() * top <= weight:
                return day

    def time_on(self, rng: random.Random, day: dt.date, after: dt.datetime | None = None) -> dt.datetime:
        hour = rng.choices(self.vertical.hours, weights=self.vertical.hour_weights)[0]
        at = self.at(day, hour, rng.randrange(60))
        if after is not None and at <= after:
            at = after + rng.randint(3, 20) * MINUTE
        return at
