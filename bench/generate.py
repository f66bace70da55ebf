"""The deterministic data generator: tenants set up through the product's services, their history
(members, cards, purchases, points lots and entries, tier activities and changes, top-ups) COPYed in.

Determinism: every member draws from its own ``random.Random`` seeded by (seed, member index); ids come
from a counter laid out like ``saas.ids`` (a fixed node, milliseconds two days before ``as_of``), so
the same seed, size and ``as_of`` give the same rows.

The history is what the product itself would have written, computed with the pure domain:

* each purchase is priced by ``tenants.domain.purchase.price_purchase`` (memoised per tier and amount),
  with the tier in force before it, as ``record_purchase`` does;
* the tier follows the preset's reach rules, which for the supported presets are lifetime cumulative
  spend counted on the release day (purchase day + return window) — an upgrade happens on the day the
  cumulative spend reaches the bar (``tier_changes`` rows with the reason the domain gives);
* every purchase that earns opens a points lot (``earn`` entry), released after the return window
  (``release`` entry), written off on expiry (``expire`` entry) — as the daily evaluation does;
* top-ups come from ``tenants.domain.stored_value`` (bonus rows included);
* the tier account is as the daily evaluation leaves it the evening before ``as_of``.

So ``members.points_balance`` = sum of points entries = sum of lot remainders, ``stored_value_fen`` = sum
of stored-value entries = sum of lots, and ``python -m bench check`` re-derives sampled tier states with
``tenants.domain.tiers.evaluate_tier``. Supported presets: those whose tiers are reached by lifetime
cumulative spend only, without validity periods (clothing, pharmacy, hotel); others are refused.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import psycopg

from bench.bulk import BulkLoader, analyze, libpq_url, text_field
from saas.ids import SEQ_LIMIT, compose_id, ms_since_epoch
from tenants.services.members import luhn_digit

NODE = 4093  # a node value runtime ids may also draw (1 in 4096); they use other milliseconds
ONE_DAY = dt.timedelta(days=1)
ZONE = ZoneInfo("Asia/Shanghai")
BENCH_PREFIX = "bench-"
LARGE_SLUG = "bench-large"
SMALL_VERTICALS = ("pharmacy", "hotel", "clothing")
AMOUNT_MEDIAN_YUAN = {"clothing": 260, "pharmacy": 85, "hotel": 480}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宁欣怡婷雪琳浩宇晨轩"

TABLES: dict[str, tuple[str, ...]] = {
    "tier_accounts": ("tenant_id", "id", "kind", "tier_code", "since", "period_start", "period_end",
                      "periods_below", "tier_counter_after", "counter_after", "evaluated_through",
                      "program_version"),
    "members": ("tenant_id", "id", "name", "phone", "phone_last4", "email", "gender", "birthday", "id_birthday",
                "id_doc_type", "id_doc_number", "real_name_verified", "address", "profile", "notes", "tags",
                "source", "marketing_consent", "status", "joined_on", "enrolled_store_id", "enrolled_by",
                "responsible_staff_id", "referrer_id", "tier_account_id", "first_purchase_on", "last_purchase_on",
                "visits", "points_balance", "stored_value_fen", "unlocked_price_bp", "created_at"),
    "cards": ("tenant_id", "id", "member_id", "number", "kind", "card_type", "status", "issued_on", "valid_until",
              "blocked_at", "replaced_by_id", "pin_hash", "pin_failures", "fee_fen", "sold_by", "store_id"),
    "purchases": ("tenant_id", "id", "member_id", "store_id", "staff_id", "device", "receipt_no", "business_at",
                  "business_date", "goods_fen", "voucher_fen", "points_used", "points_value_fen", "discount_fen",
                  "amount_due_fen", "stored_value_paid_fen", "points_earned", "spend_fen", "pending_until",
                  "tier_before", "tier_after", "program_version", "lines", "tenders", "earn_lot_id",
                  "points_used_lots", "returned", "returned_spend_fen", "created_at"),
    "points_lots": ("tenant_id", "id", "member_id", "points", "earned", "earned_on", "available_on", "expires_on",
                    "released", "purchase_id", "source"),
    "points_entries": ("tenant_id", "id", "member_id", "lot_id", "kind", "points", "moved", "business_date", "ref",
                       "reason", "program_version", "staff_id", "approved_by", "created_at"),
    "tier_activities": ("tenant_id", "id", "member_id", "kind", "counts_on", "spend_fen", "points", "amount_fen",
                        "tier_code", "ref"),
    "tier_changes": ("tenant_id", "id", "tier_account_id", "member_id", "changed_on", "action", "from_tier",
                     "to_tier", "period_start", "period_end", "reason_code", "reason_params", "program_version",
                     "created_at"),
    "top_ups": ("tenant_id", "id", "member_id", "store_id", "staff_id", "business_date", "amount_fen", "bonus_fen",
                "card_fee_fen", "card_fee_waived", "unlock_tier", "lot_id", "program_version", "created_at"),
    "stored_value_lots": ("tenant_id", "id", "member_id", "principal_fen", "bonus_fen", "topped_up_on",
                          "expires_on"),
    "stored_value_entries": ("tenant_id", "id", "member_id", "lot_id", "kind", "principal_fen", "bonus_fen",
                             "business_date", "ref", "reason", "program_version", "staff_id", "created_at"),
}
N = "\\N"


class IdMaker:
    """Ids shaped like saas.ids.new_id: milliseconds, a fixed node, a sequence; strictly increasing."""

    def __init__(self, as_of: dt.date):
        start = dt.datetime.combine(as_of - 2 * ONE_DAY, dt.time(0), tzinfo=dt.UTC)
        self.ms = ms_since_epoch(int(start.timestamp() * 1000))
        if self.ms <= 0:
            raise SystemExit("as_of must be after 2025-01-03 (ids count milliseconds from 2025-01-01)")
        self.seq = 0

    def __call__(self) -> int:
        self.seq += 1
        if self.seq == SEQ_LIMIT:
            self.seq = 0
            self.ms += 1
        return compose_id(self.ms, NODE, self.seq)


@dataclass
class TenantPlan:
    """A tenant made by sign-up, and how many members of which kind to give it."""

    tenant_id: int
    slug: str
    vertical: str
    program: object  # tenants.domain.program.Program
    version: int
    store_ids: list[int]
    members: int
    purchases_per_member: float
    top_up_share: float
    first_index: int = 0  # global member index of its first member (phones, cards, seeds)
    tiers: list[tuple[int, str]] = field(default_factory=list)  # (cumulative spend bar, code), ascending
    card_type: str = ""


def supported(program) -> list[tuple[int, str]]:
    """(bar, tier) for a program this generator can write faithfully, else ValueError."""
    from tenants.domain.program import CumulativeReach

    tiers = []
    for index, tier in enumerate(program.tiers):
        if tier.validity_months or tier.keep or tier.reset_counter_on_change:
            raise ValueError(f"tier {tier.code}: validity periods and keep rules are not generated")
        if index == 0:
            tiers.append((0, tier.code))
            continue
        rules = [r for r in tier.reach if isinstance(r, CumulativeReach)]
        if len(rules) != len(tier.reach) or len(rules) != 1 or rules[0].measure != "spend" \
                or rules[0].window != "lifetime":
            raise ValueError(f"tier {tier.code}: only one lifetime cumulative spend rule is generated")
        tiers.append((rules[0].min, tier.code))
    if [bar for bar, _ in tiers] != sorted(bar for bar, _ in tiers):
        raise ValueError("tier bars must rise with the tiers")
    return tiers


# --- tenants, through the product's own services ---------------------------------------------------


def setup_tenants(app, owner_url: str, size, as_of: dt.date, log=print) -> list[TenantPlan]:
    """Sign up the big tenant and the small ones (program v1 in force the day before the history), add
    stores. Refuses a database with tenants that are not the bench's own."""
    from sqlalchemy import delete, func, select

    from saas.extensions import db
    from saas.models import Tenant
    from saas.signup import create_tenant
    from tenants.models import ProgramVersion, Store
    from tenants.scoping import tenant_context

    program_from = as_of - dt.timedelta(days=size.history_days) - ONE_DAY
    with app.app_context():
        others = db.session.scalar(select(func.count()).select_from(Tenant)
                                   .where(~Tenant.slug.startswith(BENCH_PREFIX)))
        if others:
            raise SystemExit(f"the database holds {others} tenants that are not the bench's: use a database of "
                             "its own (the loader truncates the ledger tables)")
        # A previous bench data set goes: its history first (TRUNCATE, instant), then its tenants (whose
        # ON DELETE CASCADE would otherwise visit every history row through the foreign keys).
        db.session.commit()
        with psycopg.connect(libpq_url(owner_url)) as conn:
            conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        db.session.execute(delete(Tenant).where(Tenant.slug.startswith(BENCH_PREFIX)))
        db.session.commit()
        specs = [(LARGE_SLUG, "clothing", size.members, size.stores)]
        specs += [(f"bench-small-{n:02d}", SMALL_VERTICALS[n % len(SMALL_VERTICALS)], size.small_members, 2)
                  for n in range(1, size.small_tenants + 1)]
        plans = []
        first_index = 0
        for slug, vertical, members, stores in specs:
            result = create_tenant(business_name=f"Bench {slug[6:]}", slug=slug, vertical=vertical,
                                   owner_name="Bench owner", email=f"owner@{slug}.bench.example.com",
                                   password="Bench-2026-huiyuan", language="zh_CN", today=program_from)
            db.session.commit()
            tenant = result.tenant
            with tenant_context(tenant):
                for n in range(2, stores + 1):
                    db.session.add(Store(code=f"S{n:03d}", name=f"{tenant.name} #{n}"))
                db.session.commit()
                store_ids = list(db.session.scalars(select(Store.id).order_by(Store.code)))
                version = db.session.scalars(select(ProgramVersion)).one()
                from tenants.programs import _validated

                program = _validated(tenant.id, version.id, version.version)
            plan = TenantPlan(tenant_id=tenant.id, slug=slug, vertical=vertical, program=program,
                              version=version.version, store_ids=store_ids, members=members,
                              purchases_per_member=size.purchases_per_member, top_up_share=size.top_up_share,
                              first_index=first_index)
            plan.tiers = supported(program)
            plan.card_type = program.card_type(None).code
            plans.append(plan)
            first_index += members
        log(f"tenants: {len(plans)} signed up ({sum(p.members for p in plans):,} members planned)")
        return plans


# --- the history ---------------------------------------------------------------------------------


def phone_of(index: int) -> str:
    """A unique mainland mobile number per member index, in E.164 as the app stores it (+8613…; every 13x
    number is a valid mobile); a bijection on 10^9 scatters the last digits."""
    return "+8613" + f"{(index * 387_420_489 + 12_345_678) % 1_000_000_000:09d}"


def card_number_of(index: int) -> str:
    body = "8" + f"{(index * 1_594_323 + 7_654_321) % 10_000_000_000:010d}"
    return body + luhn_digit(body)


def physical_number_of(index: int) -> str:
    body = "6" + f"{(index * 4_782_969 + 1_234_567) % 10_000_000_000:010d}"
    return body + luhn_digit(body)


class Pricer:
    """``price_purchase`` memoised on what it depends on here: tier, amount, birthday window."""

    def __init__(self, program):
        from tenants.domain.purchase import MemberState, PurchaseLine, price_purchase

        self.program = program
        self._price, self._state, self._line = price_purchase, MemberState, PurchaseLine
        self.cache: dict[tuple[str, int, bool], tuple] = {}
        self.day = dt.date(2026, 1, 1)

    def __call__(self, tier: str, amount_fen: int, birthday: bool) -> tuple:
        key = (tier, amount_fen, birthday)
        found = self.cache.get(key)
        if found is None:
            state = self._state(tier_code=tier, birthday=self.day if birthday else None, available_points=0)
            result = self._price(self.program, state, [self._line("1", amount_fen, amount_fen)], [], self.day)
            line = result.lines[0]
            lines = json.dumps([{
                "line_id": line.line_id, "kind": line.kind, "category": line.category, "quantity": line.quantity,
                "regular_fen": line.regular_fen, "charged_fen": line.charged_fen, "voucher_fen": line.voucher_fen,
                "points_fen": line.points_fen, "price_bp": line.price_bp, "discount_source": line.discount_source,
                "discount_fen": line.discount_fen, "due_fen": line.due_fen, "spend_fen": line.spend_fen,
                "earn_class": line.earn_class, "earn_bp": line.earn_bp, "points": line.points,
            }], separators=(", ", ": "))
            tenders = json.dumps([{"kind": "cash", "amount_fen": result.amount_due_fen, "points": 0}]
                                 if result.amount_due_fen else [])
            found = (text_field(lines), text_field(tenders), result.goods_fen, result.discount_fen,
                     result.amount_due_fen, result.points_earned, result.spend_fen)
            self.cache[key] = found
        return found


@dataclass
class Totals:
    members: int = 0
    purchases: int = 0
    points: int = 0
    stored_value_fen: int = 0
    upgrades: int = 0


class History:
    """Writes the rows of one tenant's members to the loader's streams."""

    def __init__(self, plan: TenantPlan, load: BulkLoader, ids: IdMaker, seed: int, as_of: dt.date,
                 history_days: int):
        from tenants.domain.points import lot_expiry
        from tenants.domain.purchase import is_birthday_benefit_day
        from tenants.domain.stored_value import top_up, top_up_lot

        self.plan, self.load, self.ids, self.seed = plan, load, ids, seed
        self.program = plan.program
        self.as_of, self.yesterday = as_of, as_of - ONE_DAY
        self.start = as_of - dt.timedelta(days=history_days)
        self.t = str(plan.tenant_id)
        self.v = str(plan.version)
        self.pending = dt.timedelta(days=self.program.earning.pending_days)
        self.price = Pricer(self.program)
        self.birthday_day = is_birthday_benefit_day
        self.mu = math.log(AMOUNT_MEDIAN_YUAN.get(plan.vertical, 200))
        self.bars = plan.tiers
        self.expiry = lambda on: lot_expiry(self.program.expiry, on, self.program.redemption.window)
        self.sv = self.program.stored_value.enabled
        self._top_up, self._top_up_lot = top_up, top_up_lot
        self.stores = [str(s) for s in plan.store_ids]
        self.days = {}
        self.totals = Totals()
        validity = self.program.card_type(plan.card_type).validity_months
        self.card_validity = validity

    def d(self, day: dt.date) -> str:
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = day.isoformat()
        return text

    def tier_for(self, spend: int) -> str:
        code = self.bars[0][1]
        for bar, tier in self.bars:
            if spend >= bar:
                code = tier
        return code

    def write_members(self, log=print) -> Totals:
        started = time.perf_counter()
        every = max(1, self.plan.members // 10)
        for local in range(self.plan.members):
            self.member(self.plan.first_index + local, local)
            if self.plan.members >= 50_000 and (local + 1) % every == 0:
                log(f"  {self.plan.slug}: {local + 1:,} / {self.plan.members:,} members "
                    f"({time.perf_counter() - started:.0f} s)")
        return self.totals

    def member(self, index: int, local: int) -> None:  # noqa: C901 - one member's whole story, in order
        rng = random.Random(self.seed * 10_000_019 + index)
        load, ids, t, v, d = self.load, self.ids, self.t, self.v, self.d
        span = (self.yesterday - self.start).days
        joined = self.start + dt.timedelta(days=int(span * rng.random() ** 0.7))
        member_id, account_id = ids(), ids()
        sm = str(member_id)
        store = rng.choice(self.stores)
        gender = rng.choice(("female", "female", "male", None))
        birthday = None
        if rng.random() < 0.7:
            birthday = dt.date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28))
        # How many purchases, over which days: a fifth never buy again, a third stop at some point.
        n = 0
        if rng.random() >= 0.15:
            # 1 + floor(exponential): the floor loses about half a purchase on average, hence the - 0.5.
            n = min(150, 1 + int(rng.expovariate(1 / max(0.01, self.plan.purchases_per_member / 0.85 - 0.5))))
        last_day = self.yesterday
        if rng.random() < 0.35:
            last_day = joined + dt.timedelta(days=int((self.yesterday - joined).days * rng.random()))
        days_open = (last_day - joined).days
        purchase_days = sorted(joined + dt.timedelta(days=rng.randint(0, days_open)) for _ in range(n))
        top_up_days = []
        if self.sv and rng.random() < self.plan.top_up_share:
            top_up_days = sorted(joined + dt.timedelta(days=rng.randint(0, days_open))
                                 for _ in range(rng.choice((1, 1, 2, 3))))

        # Tier replay: activities count on their release day; the tier before a purchase is the one
        # reached by what counted up to that day (the evaluation runs before the day's operations).
        counted = 0
        tier = self.bars[0][1]
        since, upgraded_on = joined, None
        queue: list[tuple[dt.date, int]] = []  # (counts_on, spend) not counted yet, in day order
        later: list[tuple[dt.date, int, str]] = []  # entries the evaluation writes on a later day
        points_total = 0

        def count_through(day: dt.date) -> None:
            nonlocal counted, tier, since, upgraded_on
            while queue and queue[0][0] <= day:
                on = queue[0][0]
                while queue and queue[0][0] == on:
                    counted += queue.pop(0)[1]
                reached = self.tier_for(counted)
                if reached != tier:
                    bar = next(b for b, code in self.bars if code == reached)
                    params = json.dumps({"tier": reached, "have": counted, "required": bar, "window": "lifetime"},
                                        separators=(", ", ": "))
                    load["tier_changes"].add(
                        f"{t}\t{ids()}\t{account_id}\t{sm}\t{d(on)}\tupgrade\t{tier}\t{reached}\t{d(on)}\t{N}\t"
                        f"reached_cumulative_spend\t{params}\t{v}\t{d(on)} 20:00:00+08")
                    self.totals.upgrades += 1
                    tier, since, upgraded_on = reached, on, on

        def flush_later(through: dt.date) -> None:
            # Release and expiry entries get their ids when the evaluation writes them (ids follow time).
            later.sort(key=lambda e: (e[0], e[1]))
            while later and later[0][0] <= through:
                load["points_entries"].add(f"{t}\t{ids()}\t{later.pop(0)[2]}")

        events = [(day, 0) for day in purchase_days] + [(day, 1) for day in top_up_days]
        events.sort()
        stored_value = 0
        unlocked: dict[str, int] = {}
        visits = 0
        first_purchase = last_purchase = None
        for day, kind in events:
            flush_later(day)
            count_through(day)
            at = f"{d(day)} {9 + rng.randrange(12):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}+08"
            if kind == 1:
                stored_value += self.top_up(sm, store, day, at, rng, unlocked)
                continue
            yuan = min(20_000, max(5, int(rng.lognormvariate(self.mu, 0.75))))
            tier_before = tier
            on_birthday = birthday is not None and self.birthday_day(self.program, tier, birthday, day)
            lines, tenders, goods, discount, due, points, spend = self.price(tier, yuan * 100, on_birthday)
            purchase_id = ids()
            sp = str(purchase_id)
            release = day + self.pending
            lot = N
            if points:
                lot = str(ids())
                expires = self.expiry(day)
                released_now = release <= day
                released = released_now or release <= self.yesterday
                left = points
                load["points_entries"].add(f"{t}\t{ids()}\t{sm}\t{lot}\tearn\t{points}\t0\t{d(day)}\t{sp}\t\t{v}\t"
                                           f"{N}\t{N}\t{at}")
                if released and not released_now and (expires is None or expires > release):
                    later.append((release, 0, f"{sm}\t{lot}\trelease\t0\t{points}\t{d(release)}\t{sp}\t\t{v}\t{N}\t"
                                              f"{N}\t{d(release)} 03:00:00+08"))
                if expires is not None and expires <= self.yesterday:
                    later.append((expires, 1, f"{sm}\t{lot}\texpire\t{-points}\t0\t{d(expires)}\texpiry\texpired\t"
                                              f"{v}\t{N}\t{N}\t{d(expires)} 03:00:00+08"))
                    left = 0
                load["points_lots"].add(f"{t}\t{lot}\t{sm}\t{left}\t{points}\t{d(day)}\t{d(release)}\t"
                                        f"{d(expires) if expires else N}\t{'t' if released else 'f'}\t{sp}\tpurchase")
                points_total += left
            if spend or points:
                load["tier_activities"].add(f"{t}\t{ids()}\t{sm}\tpurchase\t{d(release)}\t{spend}\t{points}\t"
                                            f"{spend}\t{N}\tpurchase:{sp}")
                queue.append((release, spend))  # days come in order and the window is fixed: queue stays sorted
                if release <= day:  # no return window: it counts today, and may upgrade at once
                    count_through(day)
            load["purchases"].add(
                f"{t}\t{sp}\t{sm}\t{store}\t{N}\t\tR{index}-{visits + 1}\t{at}\t{d(day)}\t{goods}\t0\t0\t0\t"
                f"{discount}\t{due}\t0\t{points}\t{spend}\t{d(release)}\t{tier_before}\t{tier}\t{v}\t{lines}\t"
                f"{tenders}\t{lot}\t[]\t{{}}\t0\t{at}")
            visits += 1
            first_purchase = first_purchase or day
            last_purchase = day
            self.totals.purchases += 1
        flush_later(self.yesterday)
        count_through(self.yesterday)

        load["tier_accounts"].add(
            f"{t}\t{account_id}\tsingle\t{tier}\t{d(since)}\t{d(since)}\t{N}\t0\t"
            f"{d(upgraded_on) if upgraded_on else N}\t{N}\t{d(self.yesterday)}\t{v}")
        name = SURNAMES[rng.randrange(len(SURNAMES))] + "".join(GIVEN[rng.randrange(len(GIVEN))]
                                                              for _ in range(rng.choice((1, 2, 2))))
        phone = phone_of(index)
        email = f"m{index}@bench.example.com" if rng.random() < 0.3 else None
        consent = "t" if rng.random() < 0.6 else "f"
        source = "import" if joined < self.start + dt.timedelta(days=30) else "counter"
        load["members"].add(
            f"{t}\t{sm}\t{name}\t{phone}\t{phone[-4:]}\t{email or N}\t{gender or N}\t{d(birthday) if birthday else N}"
            f"\t{N}\t{N}\t{N}\tf\t\t{{}}\t\t[]\t{source}\t{consent}\tactive\t{d(joined)}\t{store}\t{N}\t{N}\t{N}\t"
            f"{account_id}\t{d(first_purchase) if first_purchase else N}\t"
            f"{d(last_purchase) if last_purchase else N}\t{visits}\t{points_total}\t{stored_value}\t"
            f"{text_field(json.dumps(unlocked, separators=(', ', ': ')))}\t{d(joined)} 10:00:00+08")
        until = N
        if self.card_validity:
            from tenants.domain.dates import add_months

            until = d(add_months(joined, self.card_validity))
        load["cards"].add(f"{t}\t{ids()}\t{sm}\t{card_number_of(index)}\tvirtual\t{self.plan.card_type}\tactive\t"
                          f"{d(joined)}\t{until}\t{N}\t{N}\t{N}\t0\t0\t{N}\t{store}")
        if rng.random() < 0.2:
            load["cards"].add(f"{t}\t{ids()}\t{sm}\t{physical_number_of(index)}\tphysical\t{self.plan.card_type}\t"
                              f"active\t{d(joined)}\t{until}\t{N}\t{N}\t{N}\t0\t0\t{N}\t{store}")
        self.totals.members += 1
        self.totals.points += points_total
        self.totals.stored_value_fen += stored_value

    def top_up(self, sm: str, store: str, day: dt.date, at: str, rng: random.Random, unlocked: dict) -> int:
        load, ids, t, v, d = self.load, self.ids, self.t, self.v, self.d
        amount = rng.choice((20_000, 50_000, 100_000, 100_000, 200_000))
        result = self._top_up(self.program, amount, self.plan.card_type)
        row_id, lot_id = ids(), ids()
        ref = f"top_up:{row_id}"
        movement = self._top_up_lot(self.program, str(lot_id), result, day, ref=ref)
        load["top_ups"].add(f"{t}\t{row_id}\t{sm}\t{store}\t{N}\t{d(day)}\t{amount}\t{result.bonus_fen}\t"
                            f"{result.card_fee_fen}\t{'t' if result.card_fee_waived else 'f'}\t"
                            f"{result.unlock_tier or N}\t{lot_id}\t{v}\t{at}")
        for lot in movement.lots:
            load["stored_value_lots"].add(f"{t}\t{lot.lot_id}\t{sm}\t{lot.principal_fen}\t{lot.bonus_fen}\t"
                                          f"{d(lot.topped_up_on)}\t{d(lot.expires_on) if lot.expires_on else N}")
        credited = 0
        for entry in movement.entries:
            load["stored_value_entries"].add(f"{t}\t{ids()}\t{sm}\t{entry.lot_id}\t{entry.kind}\t"
                                             f"{entry.principal_fen}\t{entry.bonus_fen}\t{d(entry.on)}\t{ref}\t\t{v}\t"
                                             f"{N}\t{at}")
            credited += entry.principal_fen + entry.bonus_fen
        load["tier_activities"].add(f"{t}\t{ids()}\t{sm}\ttop_up\t{d(day)}\t0\t0\t{amount}\t{N}\t{ref}")
        if result.unlock_tier:
            raise ValueError("top-ups that unlock a tier are not generated")
        unlocked.update(result.unlock_category_price_bp)
        return credited


def generate(app, owner_url: str, size, *, seed: int = 1, as_of: dt.date | None = None, log=print) -> dict:
    """Set up the tenants and COPY their history; returns what was written and how long it took."""
    as_of = as_of or dt.datetime.now(ZONE).date()
    started = time.perf_counter()
    plans = setup_tenants(app, owner_url, size, as_of, log=log)
    setup_s = time.perf_counter() - started
    ids = IdMaker(as_of)
    totals = Totals()
    with BulkLoader(owner_url, TABLES, log=log) as load:
        copy_started = time.perf_counter()
        for plan in plans:
            history = History(plan, load, ids, seed, as_of, size.history_days)
            got = history.write_members(log=log)
            for name in ("members", "purchases", "points", "stored_value_fen", "upgrades"):
                setattr(totals, name, getattr(totals, name) + getattr(got, name))
        generate_s = time.perf_counter() - copy_started
    rows = load.counts
    cluster_s = cluster_by_time(owner_url, log=log)
    analyze_s = analyze(owner_url)
    log(f"rows: {sum(rows.values()):,} in {generate_s:.1f} s generating + {load.timings['commit_s']:.1f} s "
        f"committing + {load.timings['foreign_keys_s']:.1f} s re-adding foreign keys")
    return {
        "size": size.name, "seed": seed, "as_of": as_of.isoformat(), "tenants": len(plans),
        "large_tenant": LARGE_SLUG, "members": totals.members, "purchases": totals.purchases,
        "upgrades": totals.upgrades, "rows": rows, "setup_s": round(setup_s, 1),
        "generate_and_copy_s": round(generate_s, 1), "commit_s": round(load.timings["commit_s"], 1),
        "foreign_keys_s": round(load.timings["foreign_keys_s"], 1), "cluster_s": cluster_s, "analyze_s": analyze_s,
    }


def cluster_by_time(owner_url: str, log=print) -> float:
    """Put purchases in business-date order, as production appends them (the generator writes member by member;
    a report over a period would otherwise read the whole table at random)."""
    started = time.perf_counter()
    with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('ix_purchases_tenant_id_business_date')").fetchone()[0] is None:
            log("purchases: no (tenant_id, business_date) index to order by; left in generation order")
            return 0.0
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("CLUSTER purchases USING ix_purchases_tenant_id_business_date")
    return round(time.perf_counter() - started, 1)
