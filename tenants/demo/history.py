"""Twelve months of history for a demo tenant: members, purchases, returns, top-ups, redemptions.

The parts: plans.py (what is planned and posted), draws.py (names, phones, IDs, prices), verticals.py
(how each trade's members behave), planning.py (the draws of a member's year), posting.py (the services).

The history is *planned* deterministically (one `random.Random` per tenant, from which each member
draws its own seed) and *posted* through the loyalty services — `enroll_member`, `record_purchase`,
`record_return`, `top_up`, `redeem`, `adjust_points`, `evaluate_member` — so ledgers, lots, tiers,
tier periods and pending points are exactly what the product itself produces. Every random choice
is drawn while planning; what depends on the ledgers (are there enough points for a reward? is
there stored value to pay with?) is decided while posting, from the services' own answers, so the
same seed and the same `today` always give the same history.

Members are posted in batches of `BATCH`: the events of a batch's members are interleaved in
business-time order (so a referrer has joined before the friend they bring), each member is then
evaluated up to today, and the batch is committed. A batch that fails is retried member by member
and a member that still fails is skipped (and counted), so one bad plan cannot stop `make run`.
Members are recognised by their phone number: seeding again posts only the members still missing
(an interrupted run resumes; a larger `members` adds more).

Phones are unique per tenant and, with `phone_block`, across the demo tenants too.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from saas.extensions import db
from tenants.demo.planning import Planner
from tenants.demo.plans import BATCH, Context, HistoryStats, Live, Plan
from tenants.demo.posting import Poster
from tenants.demo.verticals import VERTICALS
from tenants.domain.dates import add_months
from tenants.domain.errors import DomainError
from tenants.models import Member, ProgramVersion, RewardStock, RewardStockMovement
from tenants.scoping import current_tenant
from tenants.services import ledger
from tenants.services.errors import ServiceError
from tenants.services.members import normalize_phone
from tenants.services.reward_stock import lock_stock
from tenants.services.tiers import evaluate_member

log = logging.getLogger(__name__)


def seed_history(*, vertical: str, members: int, today: dt.date | None = None, now: dt.datetime | None = None,
                 seed: int | str = 2026, phone_block: int = 0, phone_blocks: int = 1,
                 progress: Callable[[int, int], None] | None = None, batch: int = BATCH) -> HistoryStats:
    """Give the current tenant `members` members with twelve months of history up to `today`.

    The program must be in force from before the history starts (a year before `today`): legacy
    members are imported on its first day. Commits once per batch. Returns what was done.
    """
    stats = HistoryStats()
    for done, total in history_batches(stats, vertical=vertical, members=members, today=today, now=now, seed=seed,
                                       phone_block=phone_block, phone_blocks=phone_blocks, batch=batch):
        if progress:
            progress(done, total)
    return stats


def history_batches(stats: HistoryStats, *, vertical: str, members: int, today: dt.date | None = None,
                    now: dt.datetime | None = None, seed: int | str = 2026, phone_block: int = 0,
                    phone_blocks: int = 1, batch: int = BATCH) -> Iterator[tuple[int, int]]:
    """`seed_history` one committed batch at a time: yields (members done, members) after each batch and
    adds what was done to `stats`. Each step must run in the tenant's context (steps of several tenants
    may be interleaved: each tenant's history depends on its own seed only)."""
    started = time.perf_counter()
    tenant = current_tenant()
    zone = ZoneInfo(tenant.timezone)
    now = now or dt.datetime.now(zone)
    today = today or now.date()
    if now.date() != today:
        now = dt.datetime.combine(today, dt.time(23, 59), tzinfo=zone)
    stats.existing = db.session.scalar(select(func.count(Member.id))) or 0
    if members <= 0 or stats.existing >= members:
        return
    first = db.session.scalar(select(func.min(ProgramVersion.effective_from)))
    start = add_months(today, -12)
    if first is None or first > start:
        stats.skipped_reason = f"the program starts on {first}, after the history would (from {start})"
        return
    ctx = Context(VERTICALS[vertical](), today, now, zone, first, phone_block, phone_blocks)
    _stock_rewards(ctx)
    planner, poster = Planner(ctx), Poster(ctx)
    rng = random.Random(f"{seed}:{tenant.slug}")
    seeds = [rng.getrandbits(64) for _ in range(members)]
    known = set(db.session.scalars(select(Member.phone)))
    for first_index in range(0, members, batch):
        plans = [planner.plan(i, seeds[i]) for i in range(first_index, min(first_index + batch, members))]
        plans = [p for p in plans if normalize_phone(p.phone) not in known]  # stored in E.164
        _refer(plans, random.Random(seeds[first_index]), ctx)
        if plans:
            stats.add(_post_batch(poster, plans, today, stats))
        stats.seconds = time.perf_counter() - started
        yield min(first_index + batch, members), members
    db.session.commit()  # the reward stock, when every member was there already


def _refer(plans: list[Plan], rng: random.Random, ctx: Context) -> None:
    """About one new member in twelve was brought by a friend who joined before them (same batch)."""
    if not ctx.program(ctx.today).earning.referral_points:
        return
    for plan in plans:
        if plan.source != "import" and rng.random() < 0.08:
            earlier = [p for p in plans if p.joined_at < plan.joined_at]
            if earlier:
                plan.referrer = rng.choice(earlier).index


def _post_batch(poster: Poster, plans: list[Plan], today: dt.date, totals: HistoryStats) -> HistoryStats:
    """Post a batch in business-time order, evaluate its members up to today, commit. On a failure,
    start again member by member and skip (and count) the members that still fail."""
    try:
        done = _post(poster, plans, today)
        db.session.commit()
        return done
    except (ServiceError, DomainError, SQLAlchemyError) as err:
        db.session.rollback()
        log.warning("demo history: a batch failed (%s); posting its members one by one", err)
    done = HistoryStats()
    for plan in plans:
        if plan.referrer is not None:
            plan.referrer = None  # the friend may be the member that fails
        try:
            done.add(_post(poster, [plan], today))
            db.session.commit()
        except (ServiceError, DomainError, SQLAlchemyError) as err:
            db.session.rollback()
            totals.failed += 1
            log.warning("demo history: member %s skipped: %s", plan.index, err)
    return done


def _post(poster: Poster, plans: list[Plan], today: dt.date) -> HistoryStats:
    by_index = {p.index: p for p in plans}
    lives: dict[int, Live] = {}
    for ev in sorted(e for p in plans for e in p.events):
        poster.post(lives, by_index[ev.member], ev)
    done = HistoryStats()
    for live in lives.values():
        evaluate_member(ledger.lock_member(live.member_id), today)
        done.add(live.stats)
        done.members += 1
    return done


def _stock_rewards(ctx: Context) -> None:
    """Reward catalogue items need stock to be redeemable (a store's inventory, not a program rule): a
    delivery of 300 on the history's first day, through the stock ledger like any receipt."""
    have = set(db.session.scalars(select(RewardStock.item_code)))
    for item in ctx.program(ctx.today).redemption.catalogue:
        if item.code not in have:
            row = lock_stock(item.code)
            row.stock += 300
            db.session.add(RewardStockMovement(item_code=item.code, change=300, stock_after=row.stock,
                                               kind="received", staff_id=ctx.admin_id, business_date=ctx.start))
    db.session.flush()
