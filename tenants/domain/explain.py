"""Explaining a member's tier: what it takes to reach the next tiers and to keep the current one.

"Spend ¥312 more before 2027-03-01 to keep Gold" is ``KeepNeed(missing=31200, deadline=
2027-03-01)`` with reason ``spend_more_to_keep``. Amounts are fen (spend) or points; deadlines
are exclusive ("before"). ``pending`` is what the member already bought that will count once
its return window passes, before the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

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
from tenants.domain.tiers import (
    MemberTierState,
    Reason,
    TierActivity,
    evaluate_tier,
    keep_after,
    keep_min,
    measure,
    reach_min,
    window_after,
    window_end,
)


@dataclass(frozen=True)
class TierNeed:
    """One way to reach ``tier_code`` and how far the member is from it."""

    tier_code: str
    rule: str  # cumulative | single_purchase | single_top_up | fee | hq_grant | campaign_grant
    measure: str | None  # spend | points (cumulative rules)
    window: str | None
    required: int
    have: int
    missing: int
    pending: int
    deadline: date | None
    reason: Reason


@dataclass(frozen=True)
class KeepNeed:
    tier_code: str
    measure: str
    required: int
    have: int
    missing: int
    pending: int
    deadline: date  # the end of the current period (exclusive)
    reason: Reason


@dataclass(frozen=True)
class Progress:
    """The member's cumulative ``measure`` (spend in fen, or purchase points) so far in one ``window`` that
    the program's tiers count in; shown at every tier, the top one included (where no upgrade is left)."""

    measure: str  # spend | points
    window: str
    have: int  # counted as of the day
    pending: int  # bought, counting once its return window passes (before window_end, when there is one)
    window_end: date | None  # when the window stops counting what is spent now (exclusive)


@dataclass(frozen=True)
class TierExplanation:
    state: MemberTierState  # the state brought up to ``as_of``
    tier_code: str
    period_end: date | None
    next_tier: str | None
    upgrades: tuple[TierNeed, ...]  # every rule of every higher tier, next tier first
    keep: KeepNeed | None
    reasons: tuple[Reason, ...]  # the sentences to show, most useful first
    progress: tuple[Progress, ...] = ()  # each (measure, window) of the tiers' cumulative rules, base tier first


def explain_tier(
    program: Program,
    state: MemberTierState,
    activities: Iterable[TierActivity],
    as_of: date,
    *,
    linked: bool = False,
) -> TierExplanation:
    """Explain the member's tier as of ``as_of`` (the state is first brought up to that day)."""
    acts = list(activities)
    state = evaluate_tier(program, state, acts, as_of, linked=linked).state
    tier = program.tier(state.tier_code)
    index = program.tier_index(tier.code)
    upgrades: list[TierNeed] = []
    for higher in program.tiers[index + 1 :]:
        upgrades.extend(_needs(program, higher, state, acts, as_of, linked))
    keep = _keep_need(program, tier, state, acts, as_of, linked)

    reasons: list[Reason] = []
    if keep is not None:
        reasons.append(keep.reason)
    elif state.period_end is None:
        reasons.append(Reason("tier_for_life", {"tier": tier.code}))
    else:
        reasons.append(Reason("tier_until", {"tier": tier.code, "until": state.period_end.isoformat()}))
    next_tier = program.tiers[index + 1].code if index + 1 < len(program.tiers) else None
    if next_tier is None:
        reasons.append(Reason("top_tier", {"tier": tier.code}))
    else:
        reasons.extend(n.reason for n in upgrades if n.tier_code == next_tier)
    return TierExplanation(
        state=state,
        tier_code=tier.code,
        period_end=state.period_end,
        next_tier=next_tier,
        upgrades=tuple(upgrades),
        keep=keep,
        reasons=tuple(reasons),
        progress=cumulative_progress(program, state, acts, as_of),
    )


def cumulative_progress(
    program: Program, state: MemberTierState, activities: Iterable[TierActivity], as_of: date
) -> tuple[Progress, ...]:
    """The measure so far in each window the program's cumulative tier rules use (one per measure and
    window, in tier order), whether or not a higher tier is left to reach."""
    acts = list(activities)
    seen: list[tuple[str, str]] = []
    for tier in program.tiers:
        for rule in tier.reach:
            if isinstance(rule, CumulativeReach) and (rule.measure, rule.window) not in seen:
                seen.append((rule.measure, rule.window))
    progress = []
    for what, window in seen:
        end = window_end(state, window, as_of)
        have = measure(acts, what, window_after(state, window, as_of), as_of)
        progress.append(Progress(what, window, have, _pending(acts, what, as_of, end), end))
    return tuple(progress)


def _needs(
    program: Program, tier: Tier, state: MemberTierState, acts: list[TierActivity], as_of: date, linked: bool
) -> list[TierNeed]:
    needs = []
    for rule in tier.reach:
        if getattr(rule, "from_tiers", None) and state.tier_code not in rule.from_tiers:
            continue  # not a way up from the member's tier
        if isinstance(rule, CumulativeReach):
            bar = reach_min(program, tier, rule, linked)
            have = measure(acts, rule.measure, window_after(state, rule.window, as_of), as_of)
            deadline = window_end(state, rule.window, as_of)
            pending = _pending(acts, rule.measure, as_of, deadline)
            missing = max(bar - have, 0)
            code = "spend_more_to_reach" if rule.measure == "spend" else "earn_points_to_reach"
            params = {
                "tier": tier.code,
                "missing": missing,
                "required": bar,
                "have": have,
                "pending": pending,
                "window": rule.window,
                "deadline": deadline.isoformat() if deadline else None,
            }
            needs.append(
                TierNeed(
                    tier.code,
                    "cumulative",
                    rule.measure,
                    rule.window,
                    bar,
                    have,
                    missing,
                    pending,
                    deadline,
                    Reason(code, params),
                )
            )
        elif isinstance(rule, SinglePurchaseReach | SingleTopUpReach):
            kind = "single_purchase" if isinstance(rule, SinglePurchaseReach) else "single_top_up"
            needs.append(
                TierNeed(
                    tier.code,
                    kind,
                    None,
                    None,
                    rule.min_fen,
                    0,
                    rule.min_fen,
                    0,
                    None,
                    Reason(f"{kind}_to_reach", {"tier": tier.code, "required": rule.min_fen}),
                )
            )
        elif isinstance(rule, FeeReach):
            needs.append(
                TierNeed(
                    tier.code,
                    "fee",
                    None,
                    None,
                    rule.fee_fen,
                    0,
                    rule.fee_fen,
                    0,
                    None,
                    Reason("pay_fee_to_reach", {"tier": tier.code, "required": rule.fee_fen}),
                )
            )
        elif isinstance(rule, HqGrantReach | CampaignGrantReach):
            kind = "hq_grant" if isinstance(rule, HqGrantReach) else "campaign_grant"
            needs.append(
                TierNeed(tier.code, kind, None, None, 0, 0, 0, 0, None, Reason(f"{kind}_only", {"tier": tier.code}))
            )
    return needs


def _keep_need(
    program: Program, tier: Tier, state: MemberTierState, acts: list[TierActivity], as_of: date, linked: bool
) -> KeepNeed | None:
    bar = keep_min(program, tier, linked)
    if tier.keep is None or bar is None or state.period_end is None:
        return None
    have = measure(acts, tier.keep.measure, keep_after(state), as_of)
    pending = _pending(acts, tier.keep.measure, as_of, state.period_end)
    missing = max(bar - have, 0)
    if missing == 0:
        code = "keep_reached"
    else:
        code = "spend_more_to_keep" if tier.keep.measure == "spend" else "earn_points_to_keep"
    params = {
        "tier": tier.code,
        "missing": missing,
        "required": bar,
        "have": have,
        "pending": pending,
        "deadline": state.period_end.isoformat(),
    }
    return KeepNeed(tier.code, tier.keep.measure, bar, have, missing, pending, state.period_end, Reason(code, params))


def _pending(acts: list[TierActivity], what: str, as_of: date, deadline: date | None) -> int:
    """What already happened but counts after ``as_of`` (and before the deadline, when there is one)."""
    total = 0
    for act in acts:
        if act.counts_on > as_of and (deadline is None or act.counts_on < deadline):
            total += act.spend_fen if what == "spend" else act.points
    return total
