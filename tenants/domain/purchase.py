"""Pricing and earning of one purchase (SPEC §6, §7, §19.2–19.5, §19.12).

What the POS sends and what we compute:

* Each line carries its **regular price** and the **price charged** by the POS (line totals in
  fen, markdowns and special offers already applied), plus a ``special`` flag for special
  offers. The tier discount is *not* in the price charged: we compute it here, on the
  regular-price lines only (marked-down lines too when the tier benefit is ``combinable``).
* Tenders: ``voucher`` (fen) and ``points`` (a number of points) pay goods only; every other
  kind (cash, stored_value, bank_card, ...) is money paying what is left.

The order (§19.3): vouchers are spread over the goods lines in proportion to their charged
amounts; then the points payment is spread likewise over what is left; then the discount rate
(the best single one of tier, category, birthday, unlocked and store rates — never two) applies
to what is left of each eligible line, rounded half up to the fen per line. Money tenders must
then add up to the amount due (when given at all).

Points (§19.4–19.5): each line earns ``earning money × class share × rate × multiplier``
exactly, where the class share comes from the tenant's markdown table and the multiplier is
the one of the tier in force *before* the purchase; the purchase earns the floor of the exact
sum, and receipt line points are whole numbers adding up to it (largest remainder).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from tenants.domain.dates import add_days, birthday_in_year
from tenants.domain.errors import DomainError
from tenants.domain.money import BP, allocate, floor, largest_remainder, round_half_up
from tenants.domain.program import BirthdayBenefit, EarnRate, Program, StoreRule
from tenants.domain.redemption import check_points_share, check_redemption_open, points_to_fen

VOUCHER = "voucher"
POINTS = "points"
STORED_VALUE = "stored_value"
GOODS = "goods"


@dataclass(frozen=True)
class PurchaseLine:
    """One receipt line as the POS sends it; amounts are line totals in fen (price × quantity)."""

    line_id: str
    regular_fen: int
    charged_fen: int
    kind: str = GOODS  # goods | shipping | card_fee | top_up | red_packet | ...
    category: str = ""
    special: bool = False
    quantity: int = 1
    sku: str = ""


@dataclass(frozen=True)
class Tender:
    """A means of payment: ``voucher`` and money kinds give ``amount_fen``; ``points`` gives ``points``."""

    kind: str
    amount_fen: int = 0
    points: int = 0


@dataclass(frozen=True)
class MemberState:
    """What pricing needs to know of the member, as of the purchase (before it).

    ``unlocked_category_price_bp``: category rates unlocked by top-ups (hotel rooms at 8折).
    ``first_purchase``: this purchase created the membership (see ``first_purchase_earns``).
    ``available_points``: when given, a points tender larger than it is refused.
    ``available_stored_value_fen``: when given, stored-value tenders larger than it are refused.
    """

    tier_code: str
    birthday: date | None = None
    unlocked_category_price_bp: Mapping[str, int] = field(default_factory=dict)
    first_purchase: bool = False
    available_points: int | None = None
    issuing_store: str | None = None
    available_stored_value_fen: int | None = None


@dataclass(frozen=True)
class PricedLine:
    line_id: str
    kind: str
    category: str
    quantity: int
    regular_fen: int
    charged_fen: int
    voucher_fen: int
    points_fen: int
    price_bp: int | None  # the discount rate applied (8800 = 8.8折), None when none
    discount_source: str | None  # tier | category | birthday | unlock | store
    discount_fen: int
    due_fen: int  # money to pay for this line
    earning_fen: int  # money of tenders that earn (due less excluded tenders)
    spend_fen: int  # goods money counted for tiers (§19.6)
    earn_class: str  # a class code of the tenant's table, "special" or "excluded"
    earn_bp: int
    exact_points: Fraction
    points: int


@dataclass(frozen=True)
class PurchaseResult:
    tier_code: str  # the tier in force before the purchase
    multiplier: Decimal
    lines: tuple[PricedLine, ...]
    goods_fen: int  # charged amount of goods lines
    voucher_fen: int
    points_used: int
    points_value_fen: int
    discount_fen: int
    amount_due_fen: int  # money to collect (goods and other lines)
    money_tenders: tuple[Tender, ...]
    points_earned: int
    spend_fen: int  # counts toward tiers and "one purchase ≥ X", once released
    business_date: date
    pending_until: date  # points and tier spend are released on this day

    @property
    def receipt_points(self) -> dict[str, int]:
        return {line.line_id: line.points for line in self.lines}


def price_purchase(
    program: Program,
    member: MemberState,
    lines: Sequence[PurchaseLine],
    tenders: Sequence[Tender],
    business_date: date,
    store: str | None = None,
) -> PurchaseResult:
    """Price a purchase and compute its points, following §19.2–19.5 (see the module docstring).

    Refusals come in the order of §19.18, the first that applies: a bad request (invalid_line,
    duplicate_line, invalid_amount), the card not honoured at the store, redemption closed or at the
    wrong store (``check_redemption_open``), no points-payment rule fits the points offered
    (``points_to_fen``), points and vouchers worth more than the goods (tender_exceeds_goods,
    points_share_exceeded), tenders that do not add up to the amount due (tender_total_mismatch, known
    only once priced), insufficient_balance (stored value), insufficient_points.
    """
    _check_lines(lines)
    store_rule = program.stores.get(store) if store is not None else None
    if store_rule is not None and not store_rule.honours_card:
        raise DomainError("card_not_honoured", store=store)
    tier = program.tier(member.tier_code)

    goods = [i for i, line in enumerate(lines) if line.kind == GOODS]
    goods_fen = sum(lines[i].charged_fen for i in goods)
    voucher_fen, points_used, money = _split_tenders(tenders)

    points_value = 0
    if points_used:
        check_redemption_open(program, business_date, store, member.issuing_store)
        points_value = points_to_fen(program, points_used)
    if voucher_fen + points_value > goods_fen:
        raise DomainError("tender_exceeds_goods", goods_fen=goods_fen, voucher_fen=voucher_fen, points_fen=points_value)
    if points_used:
        check_points_share(program, points_value, goods_fen - voucher_fen)

    # Vouchers first, then points, each in proportion to what the lines still carry (§19.3).
    voucher_parts = [0] * len(lines)
    points_parts = [0] * len(lines)
    for i, part in zip(goods, allocate(voucher_fen, [lines[i].charged_fen for i in goods]), strict=True):
        voucher_parts[i] = part
    left = [lines[i].charged_fen - voucher_parts[i] for i in goods]
    for i, part in zip(goods, allocate(points_value, left), strict=True):
        points_parts[i] = part

    birthday = tier.benefits.birthday
    on_birthday = birthday is not None and _is_birthday(birthday, member.birthday, business_date)
    priced: list[dict] = []
    for i, line in enumerate(lines):
        base = line.charged_fen - voucher_parts[i] - points_parts[i]
        rate, source = _discount_rate(program, member, line, store_rule, on_birthday)
        discount = round_half_up(Fraction(base * (BP - rate), BP)) if rate is not None else 0
        priced.append({"base": base, "price_bp": rate, "source": source, "discount": discount, "due": base - discount})
    amount_due = sum(p["due"] for p in priced)

    money_total = sum(t.amount_fen for t in money)
    if money and money_total != amount_due:
        raise DomainError("tender_total_mismatch", expected_fen=amount_due, given_fen=money_total)
    stored_value = sum(t.amount_fen for t in money if t.kind == STORED_VALUE)
    if member.available_stored_value_fen is not None and stored_value > member.available_stored_value_fen:
        raise DomainError("insufficient_balance", needed_fen=stored_value,
                          available_fen=member.available_stored_value_fen)
    if member.available_points is not None and points_used > member.available_points:
        raise DomainError("insufficient_points", needed=points_used, available=member.available_points)
    # Money from excluded tenders (e.g. a gift card) is spread like vouchers and earns nothing.
    excluded_fen = sum(t.amount_fen for t in money if t.kind in program.earning.excluded_tenders)
    excluded_parts = allocate(excluded_fen, [p["due"] for p in priced]) if excluded_fen else [0] * len(lines)

    multiplier = tier.benefits.points_multiplier
    rate = _earn_rate(program, store_rule)
    earns_at_all = program.earning.first_purchase_earns or not member.first_purchase
    exact: list[Fraction] = []
    classes: list[tuple[str, int]] = []
    for i, line in enumerate(lines):
        earning_fen = priced[i]["due"] - excluded_parts[i]
        priced[i]["earning"] = earning_fen
        code, share_bp = _earning_class(program, line)
        classes.append((code, share_bp))
        if not earns_at_all:
            exact.append(Fraction(0))
            continue
        exact.append(Fraction(earning_fen * share_bp, BP) * Fraction(rate.points, rate.per_fen) * Fraction(multiplier))
    points_earned = floor(sum(exact, Fraction(0)))
    line_points = largest_remainder(exact, points_earned)

    priced_lines = tuple(
        PricedLine(
            line_id=line.line_id,
            kind=line.kind,
            category=line.category,
            quantity=line.quantity,
            regular_fen=line.regular_fen,
            charged_fen=line.charged_fen,
            voucher_fen=voucher_parts[i],
            points_fen=points_parts[i],
            price_bp=priced[i]["price_bp"],
            discount_source=priced[i]["source"],
            discount_fen=priced[i]["discount"],
            due_fen=priced[i]["due"],
            earning_fen=priced[i]["earning"],
            spend_fen=priced[i]["earning"] if line.kind == GOODS else 0,
            earn_class=classes[i][0],
            earn_bp=classes[i][1],
            exact_points=exact[i],
            points=line_points[i],
        )
        for i, line in enumerate(lines)
    )
    return PurchaseResult(
        tier_code=tier.code,
        multiplier=multiplier,
        lines=priced_lines,
        goods_fen=goods_fen,
        voucher_fen=voucher_fen,
        points_used=points_used,
        points_value_fen=points_value,
        discount_fen=sum(p["discount"] for p in priced),
        amount_due_fen=amount_due,
        money_tenders=tuple(money),
        points_earned=points_earned,
        spend_fen=sum(line.spend_fen for line in priced_lines),
        business_date=business_date,
        pending_until=add_days(business_date, program.earning.pending_days),
    )


def check_categories(program: Program, lines: Sequence[PurchaseLine]) -> None:
    """A line's category must be one the program lists (or none): a code typed differently (客房 for rooms)
    would silently miss its discount or exclusion. DomainError unknown_category."""
    listed = {c.code for c in program.categories}
    for line in lines:
        if line.category and line.category not in listed:
            raise DomainError("unknown_category", line_id=line.line_id, category=line.category,
                              categories=", ".join(sorted(listed)) or "—")


def is_birthday_benefit_day(program: Program, tier_code: str, birthday: date | None, day: date) -> bool:
    """Whether ``day`` falls in the tier's birthday window (the day, or the month) for this member."""
    benefit = program.tier(tier_code).benefits.birthday
    return benefit is not None and _is_birthday(benefit, birthday, day)


def _is_birthday(benefit: BirthdayBenefit, birthday: date | None, day: date) -> bool:
    if birthday is None:
        return False
    if benefit.window == "month":
        return birthday.month == day.month
    return birthday_in_year(birthday, day.year) == day


def _check_lines(lines: Sequence[PurchaseLine]) -> None:
    seen: set[str] = set()
    for line in lines:
        if line.line_id in seen:
            raise DomainError("duplicate_line", line_id=line.line_id)
        seen.add(line.line_id)
        if line.quantity < 1 or line.regular_fen < 0 or line.charged_fen < 0:
            raise DomainError("invalid_line", line_id=line.line_id)
        if line.kind == GOODS and line.charged_fen > line.regular_fen:
            raise DomainError("invalid_line", line_id=line.line_id)


def _split_tenders(tenders: Sequence[Tender]) -> tuple[int, int, list[Tender]]:
    vouchers = points = 0
    money: list[Tender] = []
    for tender in tenders:
        if tender.amount_fen < 0 or tender.points < 0:
            raise DomainError("invalid_amount", tender=tender.kind)
        if tender.kind == VOUCHER:
            vouchers += tender.amount_fen
        elif tender.kind == POINTS:
            points += tender.points
        else:
            money.append(tender)
    return vouchers, points, money


def _discount_rate(
    program: Program, member: MemberState, line: PurchaseLine, store_rule: StoreRule | None, on_birthday: bool
) -> tuple[int | None, str | None]:
    """The best single price rate for the line and where it comes from (§6, §19.12: never two)."""
    benefits = program.tier(member.tier_code).benefits
    if line.kind != GOODS or line.special or line.category in benefits.excluded_categories:
        return None, None
    if line.charged_fen != line.regular_fen and not benefits.combinable:
        return None, None
    candidates: list[tuple[int, str]] = []
    if line.category in benefits.category_price_bp:
        candidates.append((benefits.category_price_bp[line.category], "category"))
    elif benefits.discount_price_bp is not None:
        candidates.append((benefits.discount_price_bp, "tier"))
    if on_birthday and benefits.birthday and benefits.birthday.price_bp is not None:
        candidates.append((benefits.birthday.price_bp, "birthday"))
    if line.category in member.unlocked_category_price_bp:
        candidates.append((member.unlocked_category_price_bp[line.category], "unlock"))
    if store_rule is not None:
        store_bp = store_rule.tier_discount_price_bp.get(member.tier_code, store_rule.discount_price_bp)
        if store_bp is not None:
            candidates.append((store_bp, "store"))
    candidates = [c for c in candidates if c[0] < BP]
    if not candidates:
        return None, None
    # min() keeps the first of equal rates, so the tier's own rate wins a tie.
    return min(candidates, key=lambda c: c[0])


def _earning_class(program: Program, line: PurchaseLine) -> tuple[str, int]:
    """The line's earning class: excluded kinds earn nothing, special offers the special share,
    other lines the class of the deepest markdown bound they reach (off = 1 − charged/regular)."""
    earning = program.earning
    if line.kind in earning.excluded_line_kinds:
        return "excluded", 0
    if line.special:
        return "special", earning.special_earn_bp
    off = Fraction(line.regular_fen - line.charged_fen, line.regular_fen) if line.regular_fen else Fraction(0)
    chosen = earning.classes[0]
    for cls in earning.classes:
        if off >= Fraction(cls.min_off_bp, BP):
            chosen = cls
    return chosen.code, chosen.earn_bp


def _earn_rate(program: Program, store_rule: StoreRule | None) -> EarnRate:
    if store_rule is not None and store_rule.earn is not None:
        return store_rule.earn
    return program.earning.base
