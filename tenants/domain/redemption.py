"""Redeeming points (SPEC §7): as payment, from the catalogue, threshold rewards, stepped rates, nights.

Every function here only *prices* a redemption and checks it is allowed; the points are then
taken with ``points.spend_points`` (soonest-expiring available points first). Redemption never
feeds tier measures: tiers count purchase points and spend only (§19.6).

Windows and the issuing-store restriction apply to every form of redemption, points payment
at the till included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from math import gcd

from tenants.domain.errors import DomainError
from tenants.domain.money import BP
from tenants.domain.program import LocalizedText, Program


@dataclass(frozen=True)
class RedemptionResult:
    """What a redemption costs and gives: ``points`` to take, goods value or voucher in fen, or a gift."""

    kind: str  # catalogue | threshold | stepped | nights
    code: str
    quantity: int
    points: int
    value_fen: int = 0
    voucher_fen: int = 0
    gift: LocalizedText | None = None


def check_redemption_open(
    program: Program, on: date, store: str | None = None, issuing_store: str | None = None
) -> None:
    """Refuse a redemption outside the tenant's window months, or away from the issuing store.

    With ``issuing_store_only`` both stores must be known and equal: unknown fails closed.
    """
    rules = program.redemption
    if rules.window is not None and on.month not in rules.window.months:
        raise DomainError("redemption_window_closed", months=sorted(rules.window.months))
    if rules.issuing_store_only and (store is None or store != issuing_store):
        raise DomainError("redemption_store_not_allowed", store=store, issuing_store=issuing_store)


def points_to_fen(program: Program, points: int) -> int:
    """Fen paid by ``points`` points.

    Without payment rules: at the tenant's rate (``payment.points`` points = ``payment.fen`` fen), from
    ``min_points``, only whole fen. With rules: the rule the offer reaches with the highest ``from_points``,
    in whole ``step_points``; an offer below every rule fits none (points_no_payment_rule).
    """
    payment = program.redemption.payment
    if not payment.enabled:
        raise DomainError("points_payment_disabled")
    if points < payment.min_points:
        raise DomainError("points_below_minimum", min_points=payment.min_points)
    if payment.rules:
        fitting = [rule for rule in payment.rules if rule.from_points <= points]
        if not fitting:
            raise DomainError("points_no_payment_rule", min_points=payment.rules[0].from_points)
        rule = fitting[-1]
        if points % rule.step_points:
            raise DomainError("points_not_whole_step", step_points=rule.step_points)
        return points // rule.step_points * rule.step_fen
    if (points * payment.fen) % payment.points:
        raise DomainError("points_not_whole_step", step_points=payment.points // gcd(payment.points, payment.fen))
    return points * payment.fen // payment.points


def check_points_share(program: Program, value_fen: int, payable_goods_fen: int) -> None:
    """Points may pay at most ``max_share_bp`` of the goods amount still payable (after vouchers)."""
    payment = program.redemption.payment
    max_fen = max(payable_goods_fen * payment.max_share_bp // BP, 0)
    if value_fen > max_fen:
        raise DomainError("points_share_exceeded", max_fen=max_fen, share_bp=payment.max_share_bp)


def points_payment_value(program: Program, points: int, payable_goods_fen: int) -> int:
    """``points_to_fen`` checked against the maximum share of ``payable_goods_fen``."""
    value = points_to_fen(program, points)
    check_points_share(program, value, payable_goods_fen)
    return value


def points_for_fen(program: Program, fen: int) -> int:
    """Points needed to pay ``fen`` fen, rounded up (the business never gives value away)."""
    payment = program.redemption.payment
    return -(-fen * payment.points // payment.fen)


def redeem_catalogue_item(
    program: Program,
    item_code: str,
    available_points: int,
    stock: int,
    on: date,
    quantity: int = 1,
    store: str | None = None,
    issuing_store: str | None = None,
) -> RedemptionResult:
    """Exchange points for ``quantity`` of a catalogue item; ``stock`` comes from the store's inventory."""
    check_redemption_open(program, on, store, issuing_store)
    item = next((i for i in program.redemption.catalogue if i.code == item_code), None)
    if item is None:
        raise DomainError("unknown_reward", reward=item_code)
    if quantity < 1:
        raise DomainError("invalid_amount", quantity=quantity)
    if stock < quantity:
        raise DomainError("out_of_stock", reward=item_code, stock=max(stock, 0))
    cost = item.points * quantity
    _check_points(cost, available_points)
    is_voucher = item.kind == "voucher"
    return RedemptionResult(
        kind="catalogue",
        code=item.code,
        quantity=quantity,
        points=cost,
        voucher_fen=item.value_fen * quantity if is_voucher else 0,
        value_fen=0 if is_voucher else item.value_fen * quantity,
        gift=None if is_voucher else item.name,
    )


def redeem_threshold_reward(
    program: Program,
    code: str,
    available_points: int,
    on: date,
    times: int | None = None,
    store: str | None = None,
    issuing_store: str | None = None,
) -> RedemptionResult:
    """A threshold reward: ``every`` N points buy one reward, as many times as asked (default: all
    the balance allows); ``at_least`` gives one reward for its points when the balance reaches them."""
    check_redemption_open(program, on, store, issuing_store)
    reward = next((r for r in program.redemption.threshold_rewards if r.code == code), None)
    if reward is None:
        raise DomainError("unknown_reward", reward=code)
    if reward.mode == "at_least":
        times = 1
    elif times is None:
        times = available_points // reward.points
    if times < 1:
        raise DomainError("insufficient_points", needed=reward.points, available=available_points)
    cost = reward.points * times
    _check_points(cost, available_points)
    return RedemptionResult(
        kind="threshold",
        code=reward.code,
        quantity=times,
        points=cost,
        voucher_fen=reward.voucher_fen * times,
        gift=reward.gift,
    )


def redeem_stepped(
    program: Program,
    points: int,
    available_points: int,
    on: date,
    store: str | None = None,
    issuing_store: str | None = None,
) -> RedemptionResult:
    """Stepped rate: the best row whose ``from_points`` the balance reaches sets the rate; ``points``
    must be whole steps (from 7000 points, each 1000 → ¥118 of goods)."""
    check_redemption_open(program, on, store, issuing_store)
    rows = [r for r in program.redemption.stepped if r.from_points <= available_points]
    if not rows:
        lowest = min((r.from_points for r in program.redemption.stepped), default=None)
        if lowest is None:
            raise DomainError("redemption_disabled", kind="stepped")
        raise DomainError("insufficient_points", needed=lowest, available=available_points)
    row = max(rows, key=lambda r: (r.value_fen * BP // r.step_points, r.from_points))
    if points < row.step_points or points % row.step_points:
        raise DomainError("points_not_whole_step", step_points=row.step_points)
    _check_points(points, available_points)
    steps = points // row.step_points
    return RedemptionResult(
        kind="stepped", code="stepped", quantity=steps, points=points, value_fen=steps * row.value_fen
    )


def redeem_nights(
    program: Program,
    nights: int,
    available_points: int,
    on: date,
    store: str | None = None,
    issuing_store: str | None = None,
) -> RedemptionResult:
    """Free room nights: each night costs ``nights.points_per_night`` points (hotel: 50)."""
    check_redemption_open(program, on, store, issuing_store)
    rule = program.redemption.nights
    if rule is None:
        raise DomainError("redemption_disabled", kind="nights")
    if nights < 1:
        raise DomainError("invalid_amount", nights=nights)
    cost = rule.points_per_night * nights
    _check_points(cost, available_points)
    return RedemptionResult(kind="nights", code="night", quantity=nights, points=cost, gift=rule.room_type)


def _check_points(cost: int, available: int) -> None:
    if cost > available:
        raise DomainError("insufficient_points", needed=cost, available=available)
