"""Tier measures after returns and on the upgrade day (SPEC §19.14, §19.16)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tenants.domain.tiers import PURCHASE, RETURN, MemberTierState, TierActivity, evaluate_tier, measure, net_returns

from .test_tiers import start, tiered


def bought(ref: str, counts_on: date, fen: int, at: datetime | None = None) -> TierActivity:
    return TierActivity(PURCHASE, counts_on, spend_fen=fen, points=fen // 100, amount_fen=fen, ref=ref, at=at)


def returned(of: TierActivity, known_on: date, fen: int) -> TierActivity:
    """A return of ``fen`` of ``of``, known on ``known_on``: it belongs where the purchase counted."""
    return TierActivity(RETURN, max(known_on, of.counts_on), spend_fen=-fen, points=-(fen // 100),
                        ref=f"return:{of.ref}", at=of.at, belongs_on=of.counts_on, of_ref=of.ref)


def yearly_gold():
    return tiered({"code": "gold", "reach": [{"kind": "cumulative", "window": "calendar_year", "min": 100000}]})


def test_a_return_in_january_of_a_purchase_of_last_year_does_not_lower_this_years_measure():
    december = bought("purchase:1", date(2026, 12, 20), 80000)
    january = bought("purchase:2", date(2027, 1, 10), 100000)
    acts = [december, returned(december, date(2027, 1, 5), 80000), january]
    decision = evaluate_tier(yearly_gold(), start(), acts, date(2027, 1, 10))
    assert decision.tier_code == "gold"  # 2027 holds ¥1000 of purchases; the return lowers 2026
    assert measure(acts, "spend", (date(2026, 12, 31), None), date(2027, 1, 10)) == 100000
    assert measure(acts, "spend", (date(2025, 12, 31), None), date(2027, 1, 10)) == 100000  # 2026 nets to 0


def test_no_tier_measure_goes_below_zero():
    first = bought("purchase:1", date(2026, 3, 1), 50000)
    acts = [first, returned(first, date(2026, 4, 1), 50000)]
    assert measure(acts, "spend", (date(2026, 3, 1), None), date(2026, 12, 31)) == 0
    assert measure(acts, "points", None, date(2026, 12, 31)) == 0
    lone = [TierActivity(RETURN, date(2026, 4, 1), spend_fen=-500)]  # its purchase lies before the data kept
    assert measure(lone, "spend", None, date(2026, 12, 31)) == 0


def test_a_purchase_returned_in_full_before_it_counts_never_reaches_one_purchase_of_x():
    program = tiered({"code": "gold", "reach": [{"kind": "single_purchase", "min_fen": 150000}]})
    big = bought("purchase:1", date(2026, 3, 8), 200000)
    acts = [big, returned(big, date(2026, 3, 3), 200000)]
    assert net_returns(acts)[0].amount_fen == 0 and len(net_returns(acts)) == 1
    assert evaluate_tier(program, start(), acts, date(2026, 3, 31)).tier_code == "base"
    partly = [big, returned(big, date(2026, 3, 3), 60000)]  # ¥1400 kept: under the bar
    assert evaluate_tier(program, start(), partly, date(2026, 3, 31)).tier_code == "base"
    later = [big, returned(big, date(2026, 3, 20), 200000)]  # returned after it counted: the tier stays
    assert evaluate_tier(program, start(), later, date(2026, 3, 31)).tier_code == "gold"


def test_spend_after_the_upgrading_purchase_on_the_same_day_counts_toward_renewal():
    program = tiered({"code": "silver", "reach": [{"kind": "cumulative", "window": "lifetime", "min": 70000}],
                      "validity_months": 12, "keep": {"min": 80000}})
    day = date(2026, 3, 1)
    morning, afternoon = datetime(2026, 2, 22, 2, 0, tzinfo=UTC), datetime(2026, 2, 22, 7, 0, tzinfo=UTC)
    acts = [bought("purchase:2", day, 20000, at=afternoon), bought("purchase:1", day, 70000, at=morning),
            bought("purchase:3", date(2026, 9, 1), 60000, at=datetime(2026, 8, 25, tzinfo=UTC))]
    up = evaluate_tier(program, start(), acts, day)
    assert up.tier_code == "silver" and up.state.tier_counter_after_at == morning
    renewed = evaluate_tier(program, up.state, acts, date(2027, 3, 1))
    assert [c.action for c in renewed.changes] == ["renew"]  # ¥200 that afternoon + ¥600 in September
    assert renewed.changes[0].reason.params["have"] == 80000
    whole_day = MemberTierState("silver", since=day, period_start=day, period_end=date(2027, 3, 1),
                                tier_counter_after=day)  # older state without the instant: the day is out
    assert evaluate_tier(program, whole_day, acts, date(2027, 3, 1)).tier_code == "base"
