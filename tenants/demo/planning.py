"""Planning a member's year: every random choice of the history is drawn here, from the member's own seed."""

from __future__ import annotations

import datetime as dt
import random

from tenants.demo.draws import draw_id_number, draw_name, draw_phone, poisson
from tenants.demo.plans import DAY, GOODWILL_REASON, LEGACY_REASON, MINUTE, Context, Event, Plan
from tenants.demo.verticals import Hotel


class Planner:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.seq = 0

    def event(self, at: dt.datetime, kind: str, plan: Plan, data: dict | None = None) -> Event:
        self.seq += 1  # ties in business time are posted in planning order
        return Event(at, self.seq, kind, plan.index, data or {})

    def plan(self, index: int, seed: int) -> Plan:
        """Everything about member `index` that chance decides, drawn from its own seed."""
        ctx, v = self.ctx, self.ctx.vertical
        rng = random.Random(seed)
        plan = Plan(index=index, phone=draw_phone(rng, index, ctx.phone_block, ctx.phone_blocks))
        plan.gender = "female" if rng.random() < v.female_share else "male"
        plan.name = draw_name(rng, plan.gender)
        age = rng.randint(*v.ages)
        if index % 100 in (3, 41):  # some birthdays this week, so the counter shows its birthday banner
            day = ctx.today + dt.timedelta(days=rng.randint(-1, 5))
            plan.birthday = dt.date(ctx.today.year - age, day.month, min(day.day, 28 if day.month == 2 else 31))
        else:
            plan.birthday = dt.date(ctx.today.year - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
        plan.consent = rng.random() < 0.7
        plan.email = f"{plan.phone}@139.com" if rng.random() < 0.12 else None
        stores = v.enrol_stores(ctx)
        plan.store = rng.choices([s for s, _ in stores], weights=[w for _, w in stores])[0]
        plan.staff_id = ctx.staff_of(rng, plan.store)
        plan.segment = rng.choices(v.segments, weights=[s.weight for s in v.segments])[0].name
        plan.profile = v.profile(rng, plan)
        plan.sv_user = rng.random() < v.sv_share and (v.sv_segments is None or plan.segment in v.sv_segments)
        if v.real_name:
            plan.id_number = draw_id_number(rng, plan.birthday, plan.gender)
        regular = index % 25 == 7  # came in this week: pending points, a busy dashboard, even in small demos
        legacy = rng.random() < v.legacy_share
        first_visit = None
        if legacy:
            plan.source = "import"
            plan.joined_at = ctx.at(ctx.program_from, 9, 0) + (index * 7 % 28_800) * dt.timedelta(seconds=1)
            active_from = ctx.start
        else:
            plan.source = rng.choices(("counter", "online"), weights=(9, 1))[0]
            day = ctx.day(rng, ctx.start, ctx.today)
            plan.joined_at = ctx.time_on(rng, day)
            if plan.joined_at > ctx.now:  # later today than now: the day before, then
                day -= DAY
                plan.joined_at -= DAY
            active_from = day
            if rng.random() < v.join_with_visit:
                first_visit = plan.joined_at + rng.randint(2, 6) * MINUTE
        plan.events.append(self.event(plan.joined_at, "enrol", plan))
        if legacy and v.legacy_points[1] and rng.random() < 0.4:
            points = rng.randint(*v.legacy_points) // 10 * 10
            if points:
                plan.events.append(self.event(plan.joined_at + MINUTE, "adjust", plan,
                                              {"delta": points, "reason": LEGACY_REASON}))
        if isinstance(v, Hotel) and plan.sv_user:
            # Joined with a top-up that waives the card fee (and, from ¥1000, unlocks rooms at 8折).
            plan.events.append(self.event(plan.joined_at + MINUTE, "top_up", plan,
                                          {"amount": rng.choice((50_000, 50_000, 100_000)), "card_fee_due": True}))
        active_to = ctx.today
        dormant, churned = rng.random() < v.legacy_dormant, rng.random() < v.churn
        if regular:
            pass
        elif legacy and dormant:
            active_to = active_from - DAY  # no visit at all
        elif churned:
            span = (ctx.today - active_from).days
            active_to = active_from + dt.timedelta(days=int(span * rng.uniform(0.1, 0.8)))
        rate = next(s.visits for s in v.segments if s.name == plan.segment)
        years = max((active_to - active_from).days, 0) / 365
        days = [ctx.day(rng, active_from, active_to) for _ in range(poisson(rng, rate * years))]
        if regular:  # an early visit and one this week
            days.append(ctx.day(rng, active_from, max(active_from, ctx.today - dt.timedelta(days=30))))
            days.append(max(active_from, ctx.today - dt.timedelta(days=rng.randint(0, 5))))
        visits = ([first_visit] if first_visit else []) + [ctx.time_on(rng, d, after=plan.joined_at)
                                                           for d in sorted(days)]
        shops = v.shop_stores(ctx, plan.store)
        for key, at in enumerate(visits):
            store = rng.choices([s for s, _ in shops], weights=[w for _, w in shops])[0]
            visit = {"store": store.code, **v.plan_visit(ctx, rng, plan, at, store), "key": key}
            if regular and key == len(visits) - 1 and "points_roll" in visit:
                visit["points_roll"] = 1.0  # this week's visit pays with points if there are enough
            plan.events.append(self.event(at, "visit", plan, visit))
            # A few returns (and one by every other "regular", so that small demos have some too).
            if rng.random() < v.return_rate or (key == 0 and regular and index % 50 == 7):
                back = v.give_back(rng, visit)
                if back:
                    later = at + dt.timedelta(days=rng.randint(*v.return_days), hours=rng.randint(1, 4))
                    plan.events.append(self.event(later, "return", plan, {**back, "store": visit["store"], "key": key}))
            if plan.sv_user and rng.random() < v.top_up_rate:
                plan.events.append(self.event(at - 3 * MINUTE, "top_up", plan,
                                              {"amount": rng.choice(v.top_up_amounts), "if_below": 30_000}))
        if visits and rng.random() < 0.01:
            plan.events.append(self.event(visits[-1] + dt.timedelta(hours=2), "adjust", plan,
                                          {"delta": rng.choice((100, 200, 500)), "reason": GOODWILL_REASON}))
        plan.events = sorted(e for e in plan.events if plan.joined_at <= e.at <= ctx.now)
        return plan
