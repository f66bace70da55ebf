"""Twelve months of history for a demo tenant: members, purchases, returns, top-ups, redemptions.

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
import math
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from saas.extensions import db
from saas.models import StaffUser
from saas.permissions import Role
from tenants.domain.dates import add_months
from tenants.domain.errors import DomainError
from tenants.domain.program import Program
from tenants.domain.purchase import MemberState, PurchaseLine, Tender, price_purchase
from tenants.models import Member, ProgramVersion, RewardStock, RewardStockMovement, Store, TierAccount
from tenants.scoping import current_tenant
from tenants.services import ledger
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member, new_card_number, normalize_phone
from tenants.services.points import adjust_points, redeem
from tenants.services.purchases import LineIn, TenderIn, record_purchase, record_return
from tenants.services.reward_stock import lock_stock
from tenants.services.stored_value import top_up
from tenants.services.tiers import evaluate_member

log = logging.getLogger(__name__)

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


# --- people ----------------------------------------------------------------------------------

SURNAMES = ("王李张刘陈" * 6 + "杨黄赵吴周徐孙马朱胡郭何高林罗" * 3  # the commonest names, more often
            + "郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖"
            + "贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤")
GIVEN = {
    "female": tuple("秀英兰丽静敏燕艳娟霞芳娜婷雪琳颖欣怡佳悦梦晨雨思诗涵萱可馨倩蕾露菲瑶洁慧莉晶岚薇彤月文玉红梅丹宁"),
    "male": tuple("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林斌峰建国志文博晨阳毅然东海亮成昊天"),
}
MOBILE_PREFIXES = ("130 131 132 133 134 135 136 137 138 139 147 150 151 152 153 155 156 157 158 159 166 172 173 "
                   "175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 193 195 196 197 198 199").split()
ID_AREAS = ("330106", "330102", "330105", "320506", "320508", "310104", "310115", "110105", "110108", "440305",
            "440106", "510107", "420106", "370202", "350203", "120101")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _name(rng: random.Random, gender: str) -> str:
    pool = GIVEN[gender]
    given = rng.choice(pool)
    if rng.random() < 0.65:
        given += rng.choice([c for c in pool if c != given])
    return rng.choice(SURNAMES) + given


def _phone(rng: random.Random, index: int, block: int, blocks: int) -> str:
    """An 11-digit mobile: a real 13x–19x prefix and a suffix unique to (block, index) — a bijection
    of 0..10⁸-1, so no two members of any demo tenant share a number."""
    suffix = ((index * blocks + block) * 7_919_113 + 38_461_529) % 100_000_000
    return f"{rng.choice(MOBILE_PREFIXES)}{suffix:08d}"


def _id_number(rng: random.Random, birthday: dt.date, gender: str) -> str:
    """An 18-digit resident ID (身份证) of the right shape: area, birth date, sequence (odd for men), check digit."""
    seq = rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
    body = f"{rng.choice(ID_AREAS)}{birthday:%Y%m%d}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _yuan(lo: float, hi: float, rng: random.Random, step: int = 10) -> int:
    """A shelf price in fen between lo and hi yuan, ending in 9 (¥459) when step is 10."""
    price = rng.randrange(int(lo), int(hi) + 1)
    if step > 1:
        price = max(step, price // step * step) - 1
    return price * 100


# --- plans -----------------------------------------------------------------------------------


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


class _Context:
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


# --- the verticals ---------------------------------------------------------------------------


class Vertical(ABC):
    """How members of one trade behave: who they are, when they come, what they buy, what they do
    with their points and stored value. `plan_visit` draws a visit; `post_visit` posts it."""

    female_share = 0.55
    ages = (22, 70)
    legacy_share = 0.3  # members imported from the old system on the go-live day ...
    legacy_dormant = 0.35  # ... of whom these never came back (old records: dormant and lost lists)
    legacy_points = (0, 0)  # opening balance range of imported members (40% of them have one)
    churn = 0.25  # share of members who stop coming at some point (dormant / lost reports)
    join_with_visit = 0.9  # new members usually join at the counter while buying
    season = (1.0,) * 12  # visits per month, relative
    weekend = 1.2
    hours: tuple[int, ...] = tuple(range(9, 21))
    hour_weights: tuple[float, ...] = (1,) * 12
    segments: tuple[Segment, ...] = ()
    sv_share = 0.0  # members who keep stored value ...
    sv_segments: tuple[str, ...] | None = None  # ... among these segments (None: any)
    top_up_rate = 0.0  # chance an sv member tops up before a visit (when the balance runs low)
    top_up_amounts: tuple[int, ...] = (50_000, 100_000)
    return_rate = 0.0
    return_days = (1, 6)  # a return comes this many days after the purchase
    real_name = False

    def enrol_stores(self, ctx: _Context) -> list[tuple[Store, float]]:
        return [(s, 1.0) for s in ctx.stores if ctx.counter_staff.get(s.id)]

    def shop_stores(self, ctx: _Context, home: Store) -> list[tuple[Store, float]]:
        others = [s for s in ctx.stores if s.id != home.id and ctx.honours(s)]
        return [(home, 6.0)] + [(s, 1.0) for s in others]

    def profile(self, rng: random.Random, plan: Plan) -> dict:
        return {}

    @abstractmethod
    def plan_visit(self, ctx: _Context, rng: random.Random, plan: Plan, at: dt.datetime, store: Store) -> dict:
        """One visit at `store`: its receipt lines and the rolls that decide, when it is posted, whether
        points or stored value pay part of it (each vertical says)."""

    def give_back(self, rng: random.Random, visit: dict) -> dict | None:
        """What a return of this visit takes back (line id → quantity), or None when it is not returnable."""
        return {"line": "L1", "quantity": 1}

    def post_visit(self, poster: _Poster, live: Live, ev: Event) -> None:
        data = ev.data
        points = 0
        if data.get("points_roll") is not None and live.available >= data["points_min"]:
            points = self.points_to_use(poster.ctx.program(ev.at.date()), live, data)
        poster.purchase(live, ev, data["lines"], voucher_fen=data.get("voucher", 0), points=points,
                        pay_sv=live.plan.sv_user and data.get("sv_roll", 1.0) < 0.8)

    def points_to_use(self, program: Program, live: Live, data: dict) -> int:
        """Part of the available points, within the program's share of the goods, in whole hundreds."""
        goods = sum(line.charged_fen for line in data["lines"]) - data.get("voucher", 0)
        payment = program.redemption.payment
        most = min(live.available, goods * payment.max_share_bp // 10_000 * payment.points // payment.fen)
        points = int(most * data["points_roll"]) // 100 * 100
        return points if points >= payment.min_points else 0


def _line(line_id: str, regular: int, charged: int | None = None, *, category: str = "", special: bool = False,
          quantity: int = 1, sku: str = "") -> LineIn:
    return LineIn(line_id=line_id, regular_fen=regular, charged_fen=regular if charged is None else charged,
                  category=category, special=special, quantity=quantity, sku=sku)


PHARMACY_ITEMS = (  # category, shelf price in yuan; the index is the SKU
    ("otc", 19.8), ("otc", 26.5), ("otc", 15.0), ("otc", 12.0), ("otc", 9.9), ("otc", 16.8), ("otc", 18.0),
    ("otc", 45.0), ("otc", 32.0), ("otc", 28.5), ("prescription", 38.6), ("prescription", 45.0),
    ("prescription", 68.0), ("prescription", 52.0), ("prescription", 22.0), ("prescription", 36.0),
    ("prescription", 96.0), ("prescription", 128.0), ("health", 128.0), ("health", 89.0), ("health", 168.0),
    ("health", 298.0), ("health", 45.0), ("device", 299.0), ("device", 118.0), ("device", 25.0), ("device", 35.0),
    ("personal_care", 29.0), ("personal_care", 19.0), ("personal_care", 39.9),
)
PHARMACY_WEIGHTS = {"otc": 5, "prescription": 1.5, "health": 2, "device": 0.6, "personal_care": 2}
PRESCRIPTIONS = tuple(i for i, (category, _) in enumerate(PHARMACY_ITEMS) if category == "prescription")


class Pharmacy(Vertical):
    """Frequent small baskets: OTC, prescriptions (partly paid by medical insurance, never discounted),
    supplements, devices; chronic patients come monthly; points offset at checkout; few returns."""

    female_share = 0.58
    ages = (25, 78)
    legacy_share = 0.45
    legacy_points = (0, 1500)
    season = (1.25, 1.1, 1.0, 0.95, 0.9, 0.9, 0.95, 0.9, 0.95, 1.0, 1.1, 1.3)  # colds in winter
    weekend = 1.1
    hours = tuple(range(8, 22))
    hour_weights = (3, 5, 6, 5, 4, 3, 3, 3, 4, 5, 6, 6, 4, 2)
    segments = (Segment("occasional", 50, 0.5), Segment("regular", 30, 1.4), Segment("frequent", 13, 3),
                Segment("chronic", 7, 8.5))
    sv_share = 0.3
    sv_segments = ("chronic",)
    top_up_rate = 0.25
    return_rate = 0.012  # an unopened box brought back
    return_days = (0, 3)

    def profile(self, rng, plan):
        if plan.segment == "chronic":
            return {"chronic": rng.choice(["高血压", "糖尿病", "高血脂", "慢性胃炎"])}
        return {}

    def plan_visit(self, ctx, rng, plan, at, store):
        rx_visit = plan.segment == "chronic" and rng.random() < 0.7  # the monthly refill
        picks = [rng.choice(PRESCRIPTIONS) for _ in range(rng.choice((1, 1, 2, 3)))] if rx_visit else []
        others = 0 if rx_visit and rng.random() < 0.6 else rng.choices((1, 2, 3, 4), weights=(45, 30, 17, 8))[0]
        weights = [PHARMACY_WEIGHTS[category] for category, _ in PHARMACY_ITEMS]
        picks += rng.choices(range(len(PHARMACY_ITEMS)), weights=weights, k=others)
        lines = []
        for n, item in enumerate(picks):
            category, price = PHARMACY_ITEMS[item]
            if category == "prescription":
                qty = rng.choice((2, 3, 3, 4)) if rx_visit else rng.choice((1, 2))  # a month's supply
            else:
                qty = rng.choice((1, 1, 1, 2, 3)) if category in ("otc", "personal_care") else 1
            lines.append(_line(f"L{n + 1}", round(price * 100) * qty, category=category, quantity=qty,
                               sku=f"YP{item:04d}"))
        insurance = rx_visit and not others and rng.random() < 0.75  # 医保 pays part of a prescription
        return {"lines": lines, "insurance": insurance, "insurance_bp": rng.choice((6000, 7000, 8000)),
                "points_roll": rng.uniform(0.5, 1.0) if rng.random() < 0.3 and not insurance else None,
                "points_min": 100, "sv_roll": rng.random()}

    def give_back(self, rng, visit):
        return None if visit["insurance"] else {"line": "L1", "quantity": 1}

    def post_visit(self, poster, live, ev):
        if ev.data["insurance"]:
            poster.purchase(live, ev, ev.data["lines"], insurance_bp=ev.data["insurance_bp"])
        else:
            super().post_visit(poster, live, ev)


CLOTHING_CATEGORIES = (
    # category, price range in yuan, how much it sells per month Jan..Dec
    ("tops", 199, 499, (1, 1, 1.2, 1.3, 1.4, 1.5, 1.5, 1.4, 1.2, 1, 0.8, 0.8)),
    ("bottoms", 259, 599, (1,) * 12),
    ("dresses", 399, 1099, (0.3, 0.3, 0.7, 1, 1.5, 1.8, 1.8, 1.5, 0.8, 0.5, 0.3, 0.3)),
    ("knitwear", 299, 899, (1.5, 1.3, 1, 0.5, 0.2, 0.1, 0.1, 0.2, 0.8, 1.4, 1.6, 1.6)),
    ("outerwear", 699, 2999, (1.6, 1.2, 0.8, 0.4, 0.1, 0.05, 0.05, 0.1, 0.6, 1.3, 1.8, 1.8)),
    ("shoes", 399, 1299, (1,) * 12),
    ("accessories", 59, 299, (0.8,) * 12),
)


class Clothing(Vertical):
    """Seasonal spikes (Spring Festival, 618, National Day, Double 11, winter coats); full-price,
    marked-down and special-offer lines (deeper in the clearance months); store vouchers now and
    then; ~5% returns within the 7-day window; points paying part of a bill; a tote bag from the
    catalogue; VIPs who top up (¥1000 → ¥100 bonus) and pay from their balance."""

    female_share = 0.78
    ages = (20, 58)
    legacy_share = 0.4
    legacy_points = (0, 4000)
    season = (1.3, 1.1, 1.05, 0.95, 1.05, 1.35, 0.75, 0.75, 0.95, 1.3, 1.6, 1.3)
    weekend = 1.6
    hours = tuple(range(10, 22))
    hour_weights = (1, 2, 3, 3, 3, 4, 4, 4, 5, 6, 5, 3)
    segments = (Segment("one-off", 35, 0.15), Segment("occasional", 35, 1), Segment("regular", 22, 2.2),
                Segment("vip", 8, 5))
    sv_share = 0.35
    sv_segments = ("vip",)
    top_up_rate = 0.3
    top_up_amounts = (100_000, 100_000, 200_000, 300_000)
    return_rate = 0.05
    clearance = (1, 2, 7, 8)

    def profile(self, rng, plan):
        sizes = ("S", "M", "M", "L", "XL") if plan.gender == "female" else ("M", "L", "XL", "XXL")
        return {"size": rng.choice(sizes), "style": rng.choice(["通勤", "休闲", "简约", "优雅", "运动"])}

    def plan_visit(self, ctx, rng, plan, at, store):
        month, sale = at.month - 1, at.month in self.clearance
        items = rng.choices((1, 2, 3, 4), weights=(30, 35, 20, 15) if plan.segment == "vip" else (45, 32, 15, 8))[0]
        in_season = [c[3][month] for c in CLOTHING_CATEGORIES]
        lines = []
        for n in range(items):
            category, lo, hi, _ = rng.choices(CLOTHING_CATEGORIES, weights=in_season)[0]
            regular, roll = _yuan(lo, hi, rng), rng.random()
            sku = f"{category[:2].upper()}{rng.randrange(1000, 9999)}"
            if roll < (0.15 if sale else 0.07):  # a special offer: earns no points, no tier discount
                lines.append(_line(f"L{n + 1}", regular, regular * rng.choice((3, 4, 5)) // 1000 * 100,
                                   category=category, special=True, sku=sku))
            elif roll < (0.6 if sale else 0.3):  # marked down
                off = rng.choice((0.2, 0.3, 0.4, 0.5, 0.6, 0.7) if sale else (0.1, 0.2, 0.2, 0.3, 0.4))
                lines.append(_line(f"L{n + 1}", regular, round(regular * (1 - off) / 100) * 100, category=category,
                                   sku=sku))
            else:
                qty = 2 if category == "accessories" and rng.random() < 0.3 else 1
                lines.append(_line(f"L{n + 1}", regular * qty, category=category, quantity=qty, sku=sku))
        goods = sum(line.charged_fen for line in lines)
        voucher = rng.choice((5_000, 10_000, 20_000)) if rng.random() < 0.09 else 0
        return {"lines": lines, "voucher": voucher if voucher * 3 <= goods else 0, "points_min": 1_000,
                "points_roll": rng.uniform(0.3, 1.0) if rng.random() < 0.3 else None,
                "tote_roll": rng.random(), "sv_roll": rng.random()}

    def give_back(self, rng, visit):
        line = rng.choice(visit["lines"])
        return {"line": line.line_id, "quantity": line.quantity}

    def post_visit(self, poster, live, ev):
        if ev.data["tote_roll"] < 0.12 and live.available >= 2_000 and poster.stock.get("tote-bag", 0) > 0:
            poster.redeem(live, ev, kind="catalogue", code="tote-bag")
        super().post_visit(poster, live, ev)


HOTEL_RATES = ((688, 988, 1688), (528, 768, 1388), (498, 728, 1288))  # standard, deluxe, suite per hotel


class Hotel(Vertical):
    """Business travellers (weekday stays, several a year), leisure guests (weekends, holidays) and
    local diners; rooms and dining at 8.8折, rooms at 8折 after a ¥1000 top-up; members join with the
    ¥38 card or a ¥500/¥1000 top-up that waives it, pay stays from their balance and top it up again,
    and redeem free nights (50 points)."""

    female_share = 0.42
    ages = (24, 66)
    legacy_share = 0.3
    legacy_points = (0, 60)
    season = (0.8, 1.0, 0.9, 1.2, 1.3, 1.0, 1.1, 1.15, 1.0, 1.35, 1.0, 0.9)
    weekend = 1.3
    hours = (11, 12, 13, 18, 19, 20)
    hour_weights = (2, 7, 1, 2, 3, 2)  # check-out around noon, dinner in the evening
    segments = (Segment("business", 20, 3), Segment("leisure", 50, 0.7), Segment("diner", 30, 1.4))
    sv_share = 0.3
    real_name = True

    def profile(self, rng, plan):
        return {"room_preference": rng.choice(["高楼层", "安静房间", "无烟房", "大床房", "双床房"])}

    def shop_stores(self, ctx, home):
        return [(home, 5.0)] + [(s, 1.0) for s in ctx.stores if s.id != home.id]

    def plan_visit(self, ctx, rng, plan, at, store):
        stay = plan.segment != "diner" or rng.random() < 0.1
        lines, nights = [], 0
        if stay:
            nights = rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10) if plan.segment == "business"
                                 else (35, 40, 18, 7))[0]
            room = rng.choices((0, 1, 2), weights=(60, 32, 8))[0]
            rate = HOTEL_RATES[min(ctx.stores.index(store), len(HOTEL_RATES) - 1)][room] * 100
            lines.append(_line("room", rate * nights, category="rooms", quantity=nights,
                               sku=("STD", "DLX", "STE")[room]))
        for n in range(rng.choices((0, 1, 2), weights=(40, 45, 15) if stay else (0, 80, 20))[0]):
            lines.append(_line(f"dining{n + 1}", _yuan(120, 880, rng, step=1), category="dining", sku="F&B"))
        if stay and rng.random() < 0.2:
            lines.append(_line("minibar", _yuan(30, 180, rng, step=1), category="other", sku="MINI"))
        return {"lines": lines, "nights": nights, "night_roll": rng.random(), "sv_roll": rng.random(),
                "top_up": rng.choice((50_000, 50_000, 100_000))}

    def give_back(self, rng, visit):
        return None  # a night spent is not returned

    def post_visit(self, poster, live, ev):
        data = ev.data
        lines = list(data["lines"])
        if data["nights"] and data["night_roll"] < 0.7 and live.available >= 50:
            poster.redeem(live, ev, kind="nights", nights=1)  # one of the nights is free
            room = lines.pop(0)
            if room.quantity > 1:
                nights = room.quantity - 1
                lines.insert(0, _line("room", room.regular_fen // room.quantity * nights, category="rooms",
                                      quantity=nights, sku=room.sku))
        if not lines:
            return
        store = poster.visit_store(ev)
        if live.plan.sv_user and live.sv_fen < 30_000 and data["sv_roll"] < 0.6:
            poster.top_up(live, ev.at - 5 * MINUTE, store, data["top_up"])
        poster.purchase(live, ev, lines, pay_sv=live.plan.sv_user and live.sv_fen > 0)


MALL_MERCHANTS = {  # merchant kind (found in the store code) → category, price range in yuan
    "cosmetics": (("skincare", 380, 1880), ("makeup", 180, 580), ("fragrance", 680, 1580)),
    "fashion": (("womenswear", 399, 2599), ("menswear", 399, 2999), ("bags", 899, 4999)),
    "dining": (("food", 58, 388), ("drinks", 18, 128)),
}


class Mall(Vertical):
    """Real-name sign-up at the service desk; purchases at the alliance merchants that honour the card
    (never at the cinema), each with its own rates; gift-money vouchers (used on later purchases),
    6000-point gifts and stepped redemptions at the desk; a few members with stored value; gold by
    ¥5000 at once or ¥20000 in twelve months, kept a year at a time."""

    female_share = 0.62
    ages = (20, 65)
    legacy_share = 0.25
    legacy_points = (0, 9000)
    season = (1.3, 1.2, 0.9, 0.9, 1.1, 1.1, 1.0, 1.0, 0.9, 1.3, 1.3, 1.4)
    weekend = 1.9
    hours = tuple(range(10, 22))
    hour_weights = (1, 2, 4, 4, 3, 3, 3, 4, 6, 6, 4, 2)
    segments = (Segment("diner", 35, 1.2), Segment("shopper", 35, 0.9), Segment("beauty", 20, 1.4),
                Segment("big-spender", 10, 3.4))
    sv_share = 0.08
    return_rate = 0.025
    real_name = True
    prefers = {"diner": "dining", "beauty": "cosmetics", "shopper": "fashion", "big-spender": "fashion"}

    def kind_of(self, store: Store) -> str | None:
        return next((kind for kind in MALL_MERCHANTS if kind in store.code), None)

    def enrol_stores(self, ctx):
        return [(s, 1.0 if self.kind_of(s) else 6.0) for s in ctx.stores if ctx.counter_staff.get(s.id)]

    def shop_stores(self, ctx, home):
        return [(s, 1.0) for s in ctx.stores if self.kind_of(s) and ctx.honours(s)]

    def desk(self, ctx: _Context) -> Store:
        return next((s for s in ctx.stores if s.kind != "merchant"), ctx.stores[0])

    def plan_visit(self, ctx, rng, plan, at, store):
        merchants = [s for s, _ in self.shop_stores(ctx, plan.store)]
        prefer = self.prefers[plan.segment]
        store = rng.choices(merchants, weights=[4 if self.kind_of(s) == prefer else 1 for s in merchants])[0]
        kind = self.kind_of(store)
        lines = []
        for n in range(rng.choices((1, 2, 3), weights=(55, 32, 13))[0]):
            category, lo, hi = rng.choice(MALL_MERCHANTS[kind])
            if kind == "fashion" and plan.segment == "big-spender" and rng.random() < 0.25:
                lo, hi = 5_000, 12_000  # a coat or a bag that makes gold at once
            lines.append(_line(f"L{n + 1}", _yuan(lo, hi, rng, step=1 if kind == "dining" else 10),
                               category=category, sku=f"{store.code[:2].upper()}{rng.randrange(100, 999)}"))
        return {"store": store.code, "lines": lines, "redeem_roll": rng.random(), "sv_roll": rng.random(),
                "top_up": rng.choice((100_000, 200_000, 500_000))}

    def give_back(self, rng, visit):
        return None if "dining" in visit["store"] else {"line": "L1", "quantity": 1}

    def post_visit(self, poster, live, ev):
        data, desk = ev.data, self.desk(poster.ctx)
        roll = data["redeem_roll"]
        if live.available >= 7_000 and roll < 0.15:
            poster.redeem(live, ev, kind="stepped", points=live.available // 2 // 1000 * 1000, store=desk)
        elif live.available >= 6_000 and roll < 0.25:
            poster.redeem(live, ev, kind="threshold", code="gift-6000", store=desk)
        elif live.available >= 2_000 and roll < 0.5:
            poster.redeem(live, ev, kind="threshold", code="gift-money", quantity=min(3, live.available // 2_000),
                          store=desk)
        if live.plan.sv_user and live.sv_fen < 20_000 and data["sv_roll"] < 0.5:
            poster.top_up(live, ev.at - 20 * MINUTE, desk, data["top_up"])
        goods = sum(line.charged_fen for line in data["lines"])
        voucher = 0
        while live.vouchers and voucher + live.vouchers[-1] <= goods // 2:
            voucher += live.vouchers.pop()
        poster.purchase(live, ev, data["lines"], voucher_fen=voucher,
                        pay_sv=live.plan.sv_user and live.sv_fen > 0 and data["sv_roll"] < 0.8)


VERTICALS: dict[str, type[Vertical]] = {"pharmacy": Pharmacy, "clothing": Clothing, "hotel": Hotel, "mall": Mall}


# --- planning ---------------------------------------------------------------------------------


class _Planner:
    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.seq = 0

    def event(self, at: dt.datetime, kind: str, plan: Plan, data: dict | None = None) -> Event:
        self.seq += 1  # ties in business time are posted in planning order
        return Event(at, self.seq, kind, plan.index, data or {})

    def plan(self, index: int, seed: int) -> Plan:
        """Everything about member `index` that chance decides, drawn from its own seed."""
        ctx, v = self.ctx, self.ctx.vertical
        rng = random.Random(seed)
        plan = Plan(index=index, phone=_phone(rng, index, ctx.phone_block, ctx.phone_blocks))
        plan.gender = "female" if rng.random() < v.female_share else "male"
        plan.name = _name(rng, plan.gender)
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
            plan.id_number = _id_number(rng, plan.birthday, plan.gender)
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
        days = [ctx.day(rng, active_from, active_to) for _ in range(_poisson(rng, rate * years))]
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


# --- posting ----------------------------------------------------------------------------------


class _Poster:
    """Posts planned events through the services and keeps what they answer."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        # Stock left of catalogue rewards; only ever lowered, so a rolled-back batch errs on the safe side.
        self.stock = dict(db.session.execute(select(RewardStock.item_code, RewardStock.stock)).all())

    def staff(self, live: Live, store: Store, ev: Event | None = None) -> int | None:
        people = self.ctx.counter_staff.get(store.id) or []
        if not people:
            return None
        return people[(live.plan.index + (ev.seq if ev else 0)) % len(people)]

    def enrol(self, live_by_index: dict[int, Live], plan: Plan) -> Live:
        ctx, v = self.ctx, self.ctx.vertical
        referrer = live_by_index.get(plan.referrer) if plan.referrer is not None else None
        hotel = isinstance(v, Hotel)
        top_up_fen = 50_000 if hotel and plan.sv_user else 0
        member = enroll_member(
            business_at=plan.joined_at, name=plan.name, phone=plan.phone, email=plan.email, birthday=plan.birthday,
            gender=plan.gender, store_id=plan.store.id, staff_id=plan.staff_id,
            referrer_id=referrer.member_id if referrer else None, marketing_consent=plan.consent,
            source=plan.source, real_name_verified=v.real_name, id_doc_type="id_card" if plan.id_number else None,
            id_doc_number=plan.id_number, top_up_fen=top_up_fen,
            card_fee_paid_fen=0 if top_up_fen or not hotel else ctx.program(plan.joined_at.date()).card_type().fee_fen,
            physical_card_number=new_card_number() if hotel or (v.real_name and plan.index % 2 == 0) else None,
            profile=plan.profile)
        if referrer is not None:
            referrer.available += ctx.program(plan.joined_at.date()).earning.referral_points
        account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
        return Live(plan=plan, member_id=member.id, account=account)

    def adjust(self, live: Live, ev: Event) -> None:
        adjust_points(member_id=live.member_id, delta=ev.data["delta"], reason=ev.data["reason"],
                      business_at=ev.at, staff_id=self.ctx.admin_id, approved_by=self.ctx.owner_id)
        live.available += ev.data["delta"]
        live.stats.adjustments += 1

    def top_up(self, live: Live, at: dt.datetime, store: Store, amount: int, card_fee_due: bool = False) -> None:
        result = top_up(member_id=live.member_id, amount_fen=amount, business_at=at, store_id=store.id,
                        staff_id=self.staff(live, store), card_fee_due=card_fee_due)
        live.sv_fen = result["stored_value_fen"]
        live.unlocked.update(result["unlocked_price_bp"])
        live.stats.top_ups += 1

    def redeem(self, live: Live, ev: Event, *, kind: str, store: Store | None = None, **kwargs) -> None:
        store = store or self.visit_store(ev)
        result = redeem(member_id=live.member_id, kind=kind, business_at=ev.at - MINUTE, store_id=store.id,
                        staff_id=self.staff(live, store, ev), **kwargs)
        live.available = result["balances"]["points_available"]
        if kind == "catalogue":
            self.stock[result["code"]] -= result["quantity"]
        if result["voucher_fen"]:
            live.vouchers.extend([result["voucher_fen"] // result["quantity"]] * result["quantity"])
        live.stats.redemptions += 1

    def visit_store(self, ev: Event) -> Store:
        return self.ctx.by_code[ev.data["store"]]

    def amount_due(self, live: Live, on: dt.date, store: Store, lines: list[LineIn], tenders: list[TenderIn]) -> int:
        """What the member will owe, priced by the domain exactly as record_purchase will price it.

        The price may depend on the tier in force before the purchase; when it does (the tiers give
        different amounts), the member is first evaluated up to the day so that tier is known."""
        program = self.ctx.program(on)
        domain_lines = [PurchaseLine(line.line_id, line.regular_fen, line.charged_fen, line.kind, line.category,
                                     line.special, line.quantity, line.sku) for line in lines]
        domain_tenders = [Tender(t.kind, t.amount_fen, t.points) for t in tenders]

        def due(tier_code: str) -> int:
            state = MemberState(tier_code=tier_code, birthday=live.plan.birthday,
                                unlocked_category_price_bp=dict(live.unlocked))
            return price_purchase(program, state, domain_lines, domain_tenders, on, store.code).amount_due_fen

        amounts = {due(tier.code) for tier in program.tiers}
        if len(amounts) == 1:
            return amounts.pop()
        evaluate_member(ledger.lock_member(live.member_id), on)
        return due(live.account.tier_code)

    def purchase(self, live: Live, ev: Event, lines: list[LineIn], *, voucher_fen: int = 0, points: int = 0,
                 pay_sv: bool = False, insurance_bp: int = 0) -> None:
        """Record the visit's purchase; stored value or medical insurance pay exact shares of the amount
        due, so that amount is priced first (the domain's own pricing, with the tier in force)."""
        store = self.visit_store(ev)
        tenders = []
        if voucher_fen:
            tenders.append(TenderIn("voucher", voucher_fen))
        if points:
            tenders.append(TenderIn("points", points=points))
        if (pay_sv and live.sv_fen > 0) or insurance_bp:
            due = self.amount_due(live, ev.at.date(), store, lines, tenders)
            money = []
            if insurance_bp:
                money.append(TenderIn("medical_insurance", due * insurance_bp // 10_000))
            if pay_sv:
                money.append(TenderIn("stored_value", min(live.sv_fen, due - sum(t.amount_fen for t in money))))
            rest = due - sum(t.amount_fen for t in money)
            money.append(TenderIn(("wechat", "alipay", "bank_card", "cash")[ev.seq % 4], rest))
            tenders += [t for t in money if t.amount_fen > 0]
        result = record_purchase(member_id=live.member_id, lines=lines, tenders=tenders, business_at=ev.at,
                                 store_id=store.id, staff_id=self.staff(live, store, ev),
                                 device=f"POS-{store.code}", pin_verified=pay_sv,
                                 receipt_no=f"{store.code}-{ev.at:%Y%m%d}-{ev.seq % 10_000:04d}")
        live.available = result["balances"]["points_available"]
        live.sv_fen = result["balances"]["stored_value_fen"]
        live.purchases[ev.data["key"]] = int(result["id"])
        live.stats.purchases += 1
        live.stats.points_payments += bool(points)

    def give_back(self, live: Live, ev: Event) -> None:
        purchase_id = live.purchases.get(ev.data["key"])
        if purchase_id is None:  # the purchase was not posted (e.g. the whole stay paid with a free night)
            return
        store = self.visit_store(ev)
        result = record_return(purchase_id=purchase_id, member_id=live.member_id,
                               lines={ev.data["line"]: ev.data["quantity"]}, business_at=ev.at, store_id=store.id,
                               staff_id=self.staff(live, store, ev))
        live.available = max(0, live.available - result["points_taken_back"])
        live.sv_fen = result["balances"]["stored_value_fen"]
        live.stats.returns += 1

    def post(self, lives: dict[int, Live], plan: Plan, ev: Event) -> None:
        if ev.kind == "enrol":
            lives[plan.index] = self.enrol(lives, plan)
            return
        live = lives[plan.index]
        if ev.kind == "adjust":
            self.adjust(live, ev)
        elif ev.kind == "top_up":
            if live.sv_fen < ev.data.get("if_below", live.sv_fen + 1):
                self.top_up(live, ev.at, live.plan.store, ev.data["amount"], ev.data.get("card_fee_due", False))
        elif ev.kind == "visit":
            self.ctx.vertical.post_visit(self, live, ev)
        elif ev.kind == "return":
            self.give_back(live, ev)


# --- the entry point --------------------------------------------------------------------------


def seed_history(*, vertical: str, members: int, today: dt.date | None = None, now: dt.datetime | None = None,
                 seed: int | str = 2026, phone_block: int = 0, phone_blocks: int = 1,
                 progress: Callable[[int, int], None] | None = None, batch: int = BATCH) -> HistoryStats:
    """Give the current tenant `members` members with twelve months of history up to `today`.

    The program must be in force from before the history starts (a year before `today`): legacy
    members are imported on its first day. Commits once per batch. Returns what was done.
    """
    started = time.perf_counter()
    stats = HistoryStats()
    tenant = current_tenant()
    zone = ZoneInfo(tenant.timezone)
    now = now or dt.datetime.now(zone)
    today = today or now.date()
    if now.date() != today:
        now = dt.datetime.combine(today, dt.time(23, 59), tzinfo=zone)
    stats.existing = db.session.scalar(select(func.count(Member.id))) or 0
    if members <= 0 or stats.existing >= members:
        return stats
    first = db.session.scalar(select(func.min(ProgramVersion.effective_from)))
    start = add_months(today, -12)
    if first is None or first > start:
        stats.skipped_reason = f"the program starts on {first}, after the history would (from {start})"
        return stats
    ctx = _Context(VERTICALS[vertical](), today, now, zone, first, phone_block, phone_blocks)
    _stock_rewards(ctx)
    planner, poster = _Planner(ctx), _Poster(ctx)
    rng = random.Random(f"{seed}:{tenant.slug}")
    seeds = [rng.getrandbits(64) for _ in range(members)]
    known = set(db.session.scalars(select(Member.phone)))
    for first_index in range(0, members, batch):
        plans = [planner.plan(i, seeds[i]) for i in range(first_index, min(first_index + batch, members))]
        plans = [p for p in plans if normalize_phone(p.phone) not in known]  # stored in E.164
        _refer(plans, random.Random(seeds[first_index]), ctx)
        if plans:
            stats.add(_post_batch(poster, plans, today, stats))
        if progress:
            progress(min(first_index + batch, members), members)
    stats.seconds = time.perf_counter() - started
    return stats


def _refer(plans: list[Plan], rng: random.Random, ctx: _Context) -> None:
    """About one new member in twelve was brought by a friend who joined before them (same batch)."""
    if not ctx.program(ctx.today).earning.referral_points:
        return
    for plan in plans:
        if plan.source != "import" and rng.random() < 0.08:
            earlier = [p for p in plans if p.joined_at < plan.joined_at]
            if earlier:
                plan.referrer = rng.choice(earlier).index


def _post_batch(poster: _Poster, plans: list[Plan], today: dt.date, totals: HistoryStats) -> HistoryStats:
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


def _post(poster: _Poster, plans: list[Plan], today: dt.date) -> HistoryStats:
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


def _stock_rewards(ctx: _Context) -> None:
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
