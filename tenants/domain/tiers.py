"""Tier evaluation (SPEC §5, §19.6–19.8).

The service keeps a ``MemberTierState`` per member (or per linked group) and a list of
``TierActivity`` — purchases and returns (counted on their release day), top-ups, fees and
grants. ``evaluate_tier`` replays the days not yet evaluated up to ``as_of``:

* same-day order (§19.1): a period ending on a day is closed before that day's activities;
* **upgrades** are immediate, on the day an activity makes a reach rule true; one evaluation
  per day, jumping straight to the highest tier some rule reaches (no cascade: the activity
  that caused an upgrade never counts again toward the next tier);
* **period end** (validity periods are half-open [start, start + N months), month arithmetic
  clamps): the tier is renewed from the old end when its keep threshold was met in the
  period; otherwise, with ``after_consecutive_periods``, it is kept while fewer than K periods
  in a row fell short; otherwise the member lands on the highest lower tier whose keep
  threshold was met in the same period (a lower tier without a keep threshold qualifies when
  one of its cumulative reach rules is still met), else on the base tier;
* within a day, activities are events in the order they happened (``at``): the first one after
  which a rule is met upgrades, and what follows it that day counts toward the new tier's period
  (§19.16: renewal and "since tier start" measures start right after the upgrading purchase);
* returns never take a tier back: they only lower what later measures see (§19.8), and they
  lower the period or window where the returned purchase counted, never a later one (§19.14). A
  return known by the purchase's release day is netted into the purchase, so a purchase returned
  in full before it counts never counts, for any rule.

Measures: "spend" in fen (goods money, §19.6) and "points" (purchase points after multiplier),
both net of returns and never below zero; redemptions and manual adjustments never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from tenants.domain.dates import add_months
from tenants.domain.program import (
    CampaignGrantReach,
    CumulativeReach,
    FeeReach,
    HqGrantReach,
    Program,
    SinglePurchaseReach,
    SingleTopUpReach,
    Tier,
)

PURCHASE = "purchase"
RETURN = "return"
TOP_UP = "top_up"
FEE = "fee"
HQ_GRANT = "hq_grant"
CAMPAIGN_GRANT = "campaign_grant"
UNLOCK = "unlock"  # a top-up bonus row that unlocks a tier (stored value, §8)

ONE_DAY = timedelta(days=1)

# The exclusive lower bound of a measure: activities that belong on or before the date are out, except,
# on the date itself, those that happened after the instant (None: the whole date is out).
Bound = tuple[date, datetime | None]


@dataclass(frozen=True)
class Reason:
    """A stable code and its parameters, for the app to translate (and to store with a tier change)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TierActivity:
    """Something that counts for tiers, on ``counts_on``.

    purchase: ``spend_fen`` and ``points`` (the purchase's goods money and points, net of
    returns made before release) count on the release day; ``amount_fen`` is the single-purchase
    amount (usually = spend_fen). return: negative ``spend_fen``/``points`` on the later of the
    return day and the purchase's release day. top_up: ``amount_fen`` without bonus. fee:
    ``amount_fen`` paid for ``tier_code``. hq_grant / campaign_grant / unlock: ``tier_code``
    (unlock: granted by a top-up bonus row, whatever the tier's reach rules).
    """

    kind: str
    counts_on: date
    spend_fen: int = 0
    points: int = 0
    amount_fen: int = 0
    tier_code: str | None = None
    ref: str = ""
    at: datetime | None = None
    belongs_on: date | None = None
    of_ref: str = ""

    @property
    def day(self) -> date:
        """The day whose measures this activity changes."""
        return self.belongs_on or self.counts_on


@dataclass(frozen=True)
class MemberTierState:
    """A member's (or linked group's) tier as persisted between evaluations.

    period_end is exclusive (None: for life). ``tier_counter_after``: activities counted on or
    before this day belong to the previous tier (since_tier_start windows and keep measures
    start after it; None: count everything). ``counter_after``: set when a tier with
    ``reset_counter_on_change`` is entered; every cumulative window starts after it.
    ``evaluated_through``: days up to here were already replayed. ``tier_counter_after_at`` /
    ``counter_after_at``: on that day, what happened after this instant still counts (the spend after
    the upgrading purchase, §19.16); None: the whole day is out.
    """

    tier_code: str
    since: date
    period_start: date
    period_end: date | None = None
    periods_below: int = 0
    tier_counter_after: date | None = None
    counter_after: date | None = None
    evaluated_through: date | None = None
    tier_counter_after_at: datetime | None = None
    counter_after_at: datetime | None = None


@dataclass(frozen=True)
class TierChange:
    on: date
    action: str  # upgrade | renew | grace | downgrade | expire_to_same
    from_tier: str
    to_tier: str
    period_start: date
    period_end: date | None
    reason: Reason


@dataclass(frozen=True)
class TierDecision:
    state: MemberTierState
    changes: tuple[TierChange, ...] = ()

    @property
    def tier_code(self) -> str:
        return self.state.tier_code

    @property
    def changed(self) -> bool:
        return any(c.from_tier != c.to_tier for c in self.changes)


def initial_tier_state(program: Program, joined_on: date) -> MemberTierState:
    """A new member starts on the base tier, for life."""
    return MemberTierState(tier_code=program.base_tier.code, since=joined_on, period_start=joined_on)


def evaluate_tier(
    program: Program,
    state: MemberTierState,
    activities: Iterable[TierActivity],
    as_of: date,
    *,
    linked: bool = False,
) -> TierDecision:
    """Bring ``state`` up to ``as_of``: close ended periods and apply upgrades, day by day.

    ``activities`` may include future days (pending purchases): only those counted on or
    before ``as_of`` are seen. ``linked`` uses the linked-card thresholds of the program.
    """
    acts = sorted(net_returns(a for a in activities if a.counts_on <= as_of), key=_event_order)
    start_after = state.evaluated_through if state.evaluated_through is not None else state.since - ONE_DAY
    days = sorted({a.counts_on for a in acts if a.counts_on > start_after})
    changes: list[TierChange] = []
    for day in days:
        state = _close_periods(program, state, acts, day, linked, changes)
        before = [a for a in acts if a.counts_on < day]
        todays = [a for a in acts if a.counts_on == day]
        for i, event in enumerate(todays):
            state = _upgrade(program, state, before + todays[: i + 1], day, event, linked, changes)
    state = _close_periods(program, state, acts, as_of, linked, changes)
    through = as_of if state.evaluated_through is None else max(as_of, state.evaluated_through)
    return TierDecision(state=replace(state, evaluated_through=through), changes=tuple(changes))


def _event_order(act: TierActivity) -> tuple:
    # Events without a time (older records) keep their given order, ahead of the timed ones of the day.
    return (act.counts_on, act.at is not None, act.at.timestamp() if act.at is not None else 0.0)


def net_returns(activities: Iterable[TierActivity]) -> list[TierActivity]:
    """Fold each return known by its purchase's release day into the purchase (§19.14).

    The purchase then counts net of it, for cumulative measures and for "one purchase ≥ X" alike; a
    purchase returned in full before it counts nets to nothing. Later returns stay separate.
    """
    acts = list(activities)
    purchases = {a.ref: i for i, a in enumerate(acts) if a.kind == PURCHASE and a.ref}
    folded: set[int] = set()
    for i, act in enumerate(acts):
        target = purchases.get(act.of_ref) if act.kind == RETURN and act.of_ref else None
        if target is None or act.counts_on > acts[target].counts_on:
            continue
        bought = acts[target]
        acts[target] = replace(bought, spend_fen=bought.spend_fen + act.spend_fen, points=bought.points + act.points,
                               amount_fen=max(bought.amount_fen + act.spend_fen, 0))
        folded.add(i)
    return [a for i, a in enumerate(acts) if i not in folded]


def measure(activities: Iterable[TierActivity], what: str, after: Bound | date | None, through: date) -> int:
    """Sum of ``what`` ("spend" fen or "points") over activities known by ``through`` that belong in
    (after, through]; never below zero (§19.14)."""
    bound = (after, None) if isinstance(after, date) else after
    total = 0
    for act in activities:
        if act.counts_on > through or act.day > through or not _after(act, bound):
            continue
        total += act.spend_fen if what == "spend" else act.points
    return max(total, 0)


def _after(act: TierActivity, bound: Bound | None) -> bool:
    if bound is None or act.day > bound[0]:
        return True
    if act.day < bound[0]:
        return False
    return bound[1] is not None and act.at is not None and act.at > bound[1]


def _later(a: Bound | None, b: Bound | None) -> Bound | None:
    """The later of two bounds (the one that leaves out more)."""
    if a is None or b is None:
        return a if b is None else b
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    if a[1] is None or b[1] is None:
        return (a[0], None)
    return a if a[1] >= b[1] else b


def _bound(day: date | None, at: datetime | None = None) -> Bound | None:
    return None if day is None else (day, at)


def window_after(state: MemberTierState, window: str, day: date) -> Bound | None:
    """The exclusive lower bound of a cumulative window as of ``day`` (None: no bound)."""
    tier_start = _bound(state.tier_counter_after, state.tier_counter_after_at)
    if window == "calendar_year":
        after: Bound | None = (date(day.year - 1, 12, 31), None)
    elif window == "rolling_12_months":
        after = (add_months(day, -12), None)  # (day − 12 months, day]
    elif window == "since_tier_start":
        after = tier_start
    elif window == "current_period":
        after = _later((state.period_start - ONE_DAY, None), tier_start)
    else:
        after = None
    return _later(after, _bound(state.counter_after, state.counter_after_at))


def window_end(state: MemberTierState, window: str, day: date) -> date | None:
    """When the window stops counting what is spent now (exclusive), if it does."""
    if window == "calendar_year":
        return date(day.year + 1, 1, 1)
    if window == "current_period":
        return state.period_end
    return None


def keep_after(state: MemberTierState) -> Bound:
    """Keep measures count from the period start, excluding what belonged to the previous tier."""
    return _later((state.period_start - ONE_DAY, None),
                  _bound(state.tier_counter_after, state.tier_counter_after_at))  # type: ignore[return-value]


def reach_min(program: Program, tier: Tier, rule: CumulativeReach, linked: bool) -> int:
    """The cumulative bar of ``rule``, replaced by the linked-card bar for linked groups."""
    if linked and program.linked_cards is not None:
        own = program.linked_cards.thresholds.get(tier.code)
        if own is not None and own.reach_min is not None:
            return own.reach_min
    return rule.min


def keep_min(program: Program, tier: Tier, linked: bool) -> int | None:
    """The keep bar of ``tier`` (None: it has none), linked-card bar for linked groups."""
    if tier.keep is None:
        return None
    if linked and program.linked_cards is not None:
        own = program.linked_cards.thresholds.get(tier.code)
        if own is not None and own.keep_min is not None:
            return own.keep_min
    return tier.keep.min


def _met_rule(
    program: Program,
    tier: Tier,
    state: MemberTierState,
    acts: Sequence[TierActivity],
    day: date,
    event: TierActivity,
    linked: bool,
) -> tuple[Reason, date | None] | None:
    """The first rule of ``tier`` met on ``day`` once ``event`` happened, and the period end it gives;
    own-validity rules win over a campaign grant, so a member who qualifies for real gets the full period."""
    own_end = add_months(day, tier.validity_months) if tier.validity_months else None
    given = event.tier_code == tier.code  # an unlock, fee or grant names the tier it gives
    if event.kind == UNLOCK and given:
        return Reason("unlocked_by_top_up", {"tier": tier.code}), own_end
    campaign: tuple[Reason, date | None] | None = None
    for rule in tier.reach:
        if getattr(rule, "from_tiers", None) and state.tier_code not in rule.from_tiers:
            continue  # this way up is only for members on the named tiers
        if isinstance(rule, CumulativeReach):
            bar = reach_min(program, tier, rule, linked)
            have = measure(acts, rule.measure, window_after(state, rule.window, day), day)
            if have >= bar:
                code = "reached_cumulative_spend" if rule.measure == "spend" else "reached_cumulative_points"
                return Reason(code, {"tier": tier.code, "have": have, "required": bar, "window": rule.window}), own_end
        elif isinstance(rule, SinglePurchaseReach):
            hit = event.amount_fen if event.kind == PURCHASE else 0
            if hit >= rule.min_fen:
                return Reason(
                    "reached_single_purchase", {"tier": tier.code, "amount_fen": hit, "required": rule.min_fen}
                ), own_end
        elif isinstance(rule, SingleTopUpReach):
            hit = event.amount_fen if event.kind == TOP_UP else 0
            if hit >= rule.min_fen:
                return Reason(
                    "reached_single_top_up", {"tier": tier.code, "amount_fen": hit, "required": rule.min_fen}
                ), own_end
        elif isinstance(rule, FeeReach):
            paid = event.amount_fen if event.kind == FEE and given else 0
            if paid >= rule.fee_fen:
                return Reason("paid_tier_fee", {"tier": tier.code, "fee_fen": rule.fee_fen}), own_end
        elif isinstance(rule, HqGrantReach):
            if event.kind == HQ_GRANT and given:
                return Reason("hq_grant", {"tier": tier.code}), own_end
        elif isinstance(rule, CampaignGrantReach):
            if campaign is None and event.kind == CAMPAIGN_GRANT and given:
                until = add_months(day, rule.validity_months)
                campaign = (Reason("campaign_grant", {"tier": tier.code, "until": until.isoformat()}), until)
    return campaign


def _upgrade(
    program: Program,
    state: MemberTierState,
    acts: Sequence[TierActivity],
    day: date,
    event: TierActivity,
    linked: bool,
    changes: list[TierChange],
) -> MemberTierState:
    """Upgrade once ``event`` happened, if a rule of a higher tier is met; what happens after it that
    day counts toward the new tier (§19.16)."""
    current = program.tier_index(state.tier_code)
    for index in range(len(program.tiers) - 1, current, -1):
        tier = program.tiers[index]
        met = _met_rule(program, tier, state, acts, day, event, linked)
        if met is None:
            continue
        reason, period_end = met
        new_state = MemberTierState(
            tier_code=tier.code,
            since=day,
            period_start=day,
            period_end=period_end,
            periods_below=0,
            tier_counter_after=day,
            counter_after=day if tier.reset_counter_on_change else state.counter_after,
            evaluated_through=state.evaluated_through,
            tier_counter_after_at=event.at,
            counter_after_at=event.at if tier.reset_counter_on_change else state.counter_after_at,
        )
        changes.append(TierChange(day, "upgrade", state.tier_code, tier.code, day, period_end, reason))
        return new_state
    return state


def _close_periods(
    program: Program,
    state: MemberTierState,
    acts: Sequence[TierActivity],
    through: date,
    linked: bool,
    changes: list[TierChange],
) -> MemberTierState:
    # Each pass moves period_end forward by at least a month (or clears it), so this ends.
    while state.period_end is not None and state.period_end <= through:
        state = _close_period(program, state, acts, linked, changes)
    return state


def _close_period(
    program: Program,
    state: MemberTierState,
    acts: Sequence[TierActivity],
    linked: bool,
    changes: list[TierChange],
) -> MemberTierState:
    end = state.period_end
    assert end is not None
    tier = program.tier(state.tier_code)
    after, last_day = keep_after(state), end - ONE_DAY
    bar = keep_min(program, tier, linked)
    have = measure(acts, tier.keep.measure, after, last_day) if tier.keep else 0
    new_end = add_months(end, tier.validity_months) if tier.validity_months else None
    params = {"tier": tier.code, "have": have, "required": bar, "measure": tier.keep.measure if tier.keep else None}
    if bar is not None and have >= bar:
        changes.append(TierChange(end, "renew", tier.code, tier.code, end, new_end, Reason("keep_met", params)))
        return replace(state, period_start=end, period_end=new_end, periods_below=0)
    if (
        bar is not None
        and tier.downgrade.mode == "after_consecutive_periods"
        and state.periods_below + 1 < tier.downgrade.periods
    ):
        below = state.periods_below + 1
        reason = Reason(
            "kept_below_threshold", {**params, "periods_below": below, "periods_allowed": tier.downgrade.periods}
        )
        changes.append(TierChange(end, "grace", tier.code, tier.code, end, new_end, reason))
        return replace(state, period_start=end, period_end=new_end, periods_below=below)

    landing = program.base_tier
    for lower in reversed(program.tiers[1 : program.tier_index(tier.code)]):
        if _can_land(program, lower, state, acts, after, last_day, linked):
            landing = lower
            break
    landing_end = add_months(end, landing.validity_months) if landing.validity_months else None
    reason_code = "keep_not_met" if bar is not None else "validity_ended"
    changes.append(
        TierChange(
            end,
            "expire_to_same" if landing.code == tier.code else "downgrade",
            tier.code,
            landing.code,
            end,
            landing_end,
            Reason(reason_code, {**params, "landed": landing.code}),
        )
    )
    return MemberTierState(
        tier_code=landing.code,
        since=end,
        period_start=end,
        period_end=landing_end,
        periods_below=0,
        tier_counter_after=last_day,
        counter_after=last_day if landing.reset_counter_on_change else state.counter_after,
        evaluated_through=state.evaluated_through,
        counter_after_at=None if landing.reset_counter_on_change else state.counter_after_at,
    )


def _can_land(
    program: Program,
    tier: Tier,
    state: MemberTierState,
    acts: Sequence[TierActivity],
    after: Bound,
    last_day: date,
    linked: bool,
) -> bool:
    bar = keep_min(program, tier, linked)
    if tier.keep is not None and bar is not None:
        return measure(acts, tier.keep.measure, after, last_day) >= bar
    for rule in tier.reach:
        if isinstance(rule, CumulativeReach):
            window_start = window_after(state, rule.window, last_day)
            if measure(acts, rule.measure, window_start, last_day) >= reach_min(program, tier, rule, linked):
                return True
    return False
