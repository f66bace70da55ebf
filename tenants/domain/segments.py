"""Segments (SPEC §10, §19.13): ABC classes, the RFM pyramid and lifecycle stages.

Inputs are plain per-member figures the report service aggregates (spend in fen, visits,
dates); thresholds come from ``Program.segments``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from tenants.domain.dates import add_days, add_months
from tenants.domain.money import BP, round_half_up
from tenants.domain.program import AbcRules, LifecycleRules, RfmRules

CLASSES = ("A", "B", "C")


@dataclass(frozen=True)
class AbcClassSummary:
    cls: str
    members: int
    member_share: Fraction  # of all members ranked
    spend_fen: int
    spend_share: Fraction  # of total spend (0 when nobody spent)


@dataclass(frozen=True)
class AbcResult:
    classes: Mapping[str, str]  # member id → "A" | "B" | "C"
    ranking: tuple[str, ...]  # member ids, best first
    summary: tuple[AbcClassSummary, ...]


def abc_cuts(members: int, rules: AbcRules) -> tuple[int, int]:
    """How many of ``members`` ranked by spend are A, and A + B: class boundaries round half up on the
    cumulative share of members (§19.13): 10 members at 20 %/30 % → (2, 5)."""
    cut_a = round_half_up(Fraction(members * rules.shares_bp[0], BP))
    cut_ab = round_half_up(Fraction(members * (rules.shares_bp[0] + rules.shares_bp[1]), BP))
    return cut_a, cut_ab


def abc_by_spend(spends: Mapping[str, int], rules: AbcRules) -> AbcResult:
    """Rank members by spend (ties: member id ascending, as text); A is the top ``shares_bp[0]``, B the next
    ``shares_bp[1]`` (``abc_cuts``)."""
    ranking = tuple(sorted(spends, key=lambda m: (-spends[m], m)))
    cut_a, cut_ab = abc_cuts(len(ranking), rules)
    classes = {m: ("A" if i < cut_a else "B" if i < cut_ab else "C") for i, m in enumerate(ranking)}
    return AbcResult(classes, ranking, _summary(classes, spends))


def abc_by_points(points: Mapping[str, int], rules: AbcRules, spends: Mapping[str, int] | None = None) -> AbcResult:
    """Points bands: A ≥ ``a_min_points``, B ≥ ``b_min_points``, else C; shares of spend from ``spends``."""
    ranking = tuple(sorted(points, key=lambda m: (-points[m], m)))
    classes = {
        m: "A" if points[m] >= rules.a_min_points else "B" if points[m] >= rules.b_min_points else "C" for m in ranking
    }
    return AbcResult(classes, ranking, _summary(classes, spends or {}))


def _summary(classes: Mapping[str, str], spends: Mapping[str, int]) -> tuple[AbcClassSummary, ...]:
    n = len(classes)
    total = sum(spends.get(m, 0) for m in classes)
    rows = []
    for cls in CLASSES:
        members = [m for m, c in classes.items() if c == cls]
        spend = sum(spends.get(m, 0) for m in members)
        rows.append(
            AbcClassSummary(
                cls=cls,
                members=len(members),
                member_share=Fraction(len(members), n) if n else Fraction(0),
                spend_fen=spend,
                spend_share=Fraction(spend, total) if total else Fraction(0),
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class RfmFacts:
    member_id: str
    last_purchase_on: date | None
    visits: int  # purchases in the RFM period
    spend_fen: int  # spend in the RFM period


RFM_LAYERS = {3: (1, "core"), 2: (2, "important"), 1: (3, "general"), 0: (4, "at_risk")}


@dataclass(frozen=True)
class RfmScore:
    member_id: str
    recent: bool
    frequent: bool
    high_value: bool
    layer: int  # 1 (top of the pyramid) … 4
    layer_code: str  # core | important | general | at_risk

    @property
    def code(self) -> str:
        """ "R1F0M1"-style label of the three bands."""
        return f"R{int(self.recent)}F{int(self.frequent)}M{int(self.high_value)}"


@dataclass(frozen=True)
class RfmBars:
    """The RFM rules as of a day, as plain bars: high recency = a purchase on or after ``recent_since``."""

    recent_since: date
    frequent_visits: int
    monetary_fen: int


def rfm_bars(as_of: date, rules: RfmRules) -> RfmBars:
    return RfmBars(add_days(as_of, -rules.recent_days), rules.frequent_visits, rules.monetary_fen)


def rfm_layer(recent: bool, frequent: bool, high_value: bool) -> tuple[int, str]:
    """The number of highs gives the layer: 3 → 1 core, 2 → 2 important, 1 → 3 general, 0 → 4 at risk."""
    return RFM_LAYERS[recent + frequent + high_value]


def rfm_score(facts: RfmFacts, as_of: date, rules: RfmRules) -> RfmScore:
    """Each dimension is high or low against the tenant's bar (``rfm_bars``); the number of highs gives the
    layer (``rfm_layer``)."""
    bars = rfm_bars(as_of, rules)
    recent = facts.last_purchase_on is not None and facts.last_purchase_on >= bars.recent_since
    frequent = facts.visits >= bars.frequent_visits
    high_value = facts.spend_fen >= bars.monetary_fen
    layer, code = rfm_layer(recent, frequent, high_value)
    return RfmScore(facts.member_id, recent, frequent, high_value, layer, code)


def rfm_pyramid(facts: Iterable[RfmFacts], as_of: date, rules: RfmRules) -> dict[int, int]:
    """Members per layer (1…4)."""
    counts = {1: 0, 2: 0, 3: 0, 4: 0}
    for f in facts:
        counts[rfm_score(f, as_of, rules).layer] += 1
    return counts


@dataclass(frozen=True)
class LifecycleStatus:
    stage: str  # new | active | dormant | lost
    familiar: bool  # 熟客: served at least ``familiar_visits`` times
    since: date  # the last purchase (or the join date when none)


@dataclass(frozen=True)
class LifecycleBars:
    """The lifecycle rules as of a day, as plain bars (months clamp the day)."""

    new_after: date  # joined after it: new
    lost_on_or_before: date  # last purchase (or join) on or before it: lost
    dormant_on_or_before: date  # … on or before it: dormant
    familiar_visits: int


def lifecycle_bars(as_of: date, rules: LifecycleRules) -> LifecycleBars:
    return LifecycleBars(add_days(as_of, -rules.new_days), add_months(as_of, -rules.lost_months),
                         add_months(as_of, -rules.dormant_months), rules.familiar_visits)


def lifecycle(
    joined_on: date, last_purchase_on: date | None, visits: int, as_of: date, rules: LifecycleRules
) -> LifecycleStatus:
    """new: joined within ``new_days`` (as_of − new_days, as_of]; lost: no purchase for ``lost_months``;
    dormant: none for ``dormant_months``; else active. A member who never bought is measured from
    the join date. (``lifecycle_bars``.)"""
    bars = lifecycle_bars(as_of, rules)
    last = last_purchase_on or joined_on
    familiar = visits >= bars.familiar_visits
    if joined_on > bars.new_after:
        stage = "new"
    elif last <= bars.lost_on_or_before:
        stage = "lost"
    elif last <= bars.dormant_on_or_before:
        stage = "dormant"
    else:
        stage = "active"
    return LifecycleStatus(stage, familiar, last)


def is_falling(
    recent_visits: int, previous_visits: int, recent_fen: int, previous_fen: int, rules: LifecycleRules
) -> bool:
    """Flag a member whose visits or spend in the recent window fell by at least ``falling_drop_bp``
    compared with the window before it (equal lengths, chosen by the caller)."""

    def fell(recent: int, previous: int) -> bool:
        return previous > 0 and (previous - recent) * BP >= previous * rules.falling_drop_bp

    return fell(recent_visits, previous_visits) or fell(recent_fen, previous_fen)
