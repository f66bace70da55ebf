"""How members of each trade behave: who they are, when they come, what they buy, and what they do with
their points and stored value (one Vertical per demo tenant)."""

from __future__ import annotations

import datetime as dt
import random
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from tenants.demo.draws import yuan
from tenants.demo.plans import MINUTE, Context, Event, Live, Plan, Segment
from tenants.domain.program import Program
from tenants.models import Store
from tenants.services.purchases import LineIn

if TYPE_CHECKING:
    from tenants.demo.posting import Poster


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

    def enrol_stores(self, ctx: Context) -> list[tuple[Store, float]]:
        return [(s, 1.0) for s in ctx.stores if ctx.counter_staff.get(s.id)]

    def shop_stores(self, ctx: Context, home: Store) -> list[tuple[Store, float]]:
        others = [s for s in ctx.stores if s.id != home.id and ctx.honours(s)]
        return [(home, 6.0)] + [(s, 1.0) for s in others]

    def profile(self, rng: random.Random, plan: Plan) -> dict:
        return {}

    @abstractmethod
    def plan_visit(self, ctx: Context, rng: random.Random, plan: Plan, at: dt.datetime, store: Store) -> dict:
        """One visit at `store`: its receipt lines and the rolls that decide, when it is posted, whether
        points or stored value pay part of it (each vertical says)."""

    def give_back(self, rng: random.Random, visit: dict) -> dict | None:
        """What a return of this visit takes back (line id → quantity), or None when it is not returnable."""
        return {"line": "L1", "quantity": 1}

    def post_visit(self, poster: Poster, live: Live, ev: Event) -> None:
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
            regular, roll = yuan(lo, hi, rng), rng.random()
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
            lines.append(_line(f"dining{n + 1}", yuan(120, 880, rng, step=1), category="dining", sku="F&B"))
        if stay and rng.random() < 0.2:
            lines.append(_line("minibar", yuan(30, 180, rng, step=1), category="other", sku="MINI"))
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

    def desk(self, ctx: Context) -> Store:
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
            lines.append(_line(f"L{n + 1}", yuan(lo, hi, rng, step=1 if kind == "dining" else 10),
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
