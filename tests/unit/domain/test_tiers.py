from __future__ import annotations

from datetime import date

import pytest

from tenants.domain.explain import explain_tier
from tenants.domain.program import Program
from tenants.domain.tiers import (
    CAMPAIGN_GRANT,
    FEE,
    HQ_GRANT,
    PURCHASE,
    RETURN,
    TOP_UP,
    UNLOCK,
    MemberTierState,
    TierActivity,
    evaluate_tier,
    initial_tier_state,
)

from .conftest import program_from

JOINED = date(2026, 1, 1)


def tiered(*tiers: dict, **sections) -> Program:
    base = {"code": "base", "name": {"zh_CN": "普通", "en": "Base"}}
    named = [{"name": {"en": t["code"].title()}, **t} for t in tiers]
    return program_from("blank", tiers=[base, *named], **sections)


def spend(day: date, fen: int, points: int = 0) -> TierActivity:
    return TierActivity(PURCHASE, day, spend_fen=fen, points=points, amount_fen=fen)


def start() -> MemberTierState:
    return MemberTierState("base", since=JOINED, period_start=JOINED)


def test_a_new_member_starts_on_the_base_tier_for_life(clothing):
    state = initial_tier_state(clothing, JOINED)
    assert (state.tier_code, state.period_end) == ("regular", None)


def test_cumulative_spend_jumps_straight_to_the_highest_tier_a_rule_reaches(clothing):
    state = initial_tier_state(clothing, JOINED)
    decision = evaluate_tier(clothing, state, [spend(date(2026, 2, 1), 350000)], date(2026, 2, 1))
    assert decision.tier_code == "gold"
    assert len(decision.changes) == 1


def test_the_activity_that_caused_an_upgrade_does_not_count_again_since_the_tier_began():
    program = tiered(
        {"code": "silver", "reach": [{"kind": "cumulative", "window": "since_tier_start", "min": 1000}]},
        {"code": "gold", "reach": [{"kind": "cumulative", "window": "since_tier_start", "min": 2000}]},
    )
    acts = [spend(date(2026, 2, 1), 1500)]
    assert evaluate_tier(program, start(), acts, date(2026, 2, 1)).tier_code == "silver"
    acts.append(spend(date(2026, 2, 5), 600))  # 2100 in all, but only 600 since silver began
    assert evaluate_tier(program, start(), acts, date(2026, 2, 5)).tier_code == "silver"
    acts.append(spend(date(2026, 2, 6), 1400))
    decision = evaluate_tier(program, start(), acts, date(2026, 2, 6))
    assert [c.to_tier for c in decision.changes] == ["silver", "gold"]


def test_the_calendar_year_window_starts_again_on_1_january():
    program = tiered({"code": "silver", "reach": [{"kind": "cumulative", "window": "calendar_year", "min": 1000}]})
    acts = [spend(date(2026, 12, 20), 600), spend(date(2027, 1, 3), 600)]
    assert evaluate_tier(program, start(), acts, date(2027, 1, 3)).tier_code == "base"


def test_the_rolling_12_month_window_is_open_at_its_start_and_closed_at_its_end():
    program = tiered({"code": "silver", "reach": [{"kind": "cumulative", "window": "rolling_12_months", "min": 1000}]})
    on_the_edge = [spend(date(2026, 3, 1), 600), spend(date(2027, 3, 1), 600)]
    assert evaluate_tier(program, start(), on_the_edge, date(2027, 3, 1)).tier_code == "base"
    inside = [spend(date(2026, 3, 2), 600), spend(date(2027, 3, 1), 600)]
    assert evaluate_tier(program, start(), inside, date(2027, 3, 1)).tier_code == "silver"


def test_a_points_measure_counts_purchase_points_only():
    program = tiered({"code": "silver", "reach": [{"kind": "cumulative", "measure": "points", "min": 500}]})
    acts = [spend(date(2026, 2, 1), 100000, points=499)]
    assert evaluate_tier(program, start(), acts, date(2026, 2, 1)).tier_code == "base"
    acts.append(spend(date(2026, 2, 2), 100, points=1))
    decision = evaluate_tier(program, start(), acts, date(2026, 2, 2))
    assert decision.changes[0].reason.code == "reached_cumulative_points"


def test_spend_counts_on_its_release_day_not_before(clothing):
    state = initial_tier_state(clothing, JOINED)
    acts = [spend(date(2026, 5, 11), 100000)]  # bought 2026-05-04, released after 7 days
    assert evaluate_tier(clothing, state, acts, date(2026, 5, 10)).tier_code == "regular"
    assert evaluate_tier(clothing, state, acts, date(2026, 5, 11)).tier_code == "silver"


def test_single_purchase_and_single_top_up_rules_need_one_large_event(mall):
    state = initial_tier_state(mall, JOINED)
    small = [spend(date(2026, 2, 1), 300000), spend(date(2026, 2, 2), 300000)]
    assert evaluate_tier(mall, state, small, date(2026, 2, 2)).tier_code == "regular"
    big = [spend(date(2026, 2, 3), 500000)]
    decision = evaluate_tier(mall, state, big, date(2026, 2, 3))
    assert decision.tier_code == "gold" and decision.changes[0].reason.code == "reached_single_purchase"

    program = tiered({"code": "silver", "reach": [{"kind": "single_top_up", "min_fen": 100000}]})
    top = [TierActivity(TOP_UP, date(2026, 2, 1), amount_fen=100000)]
    assert evaluate_tier(program, start(), top, date(2026, 2, 1)).tier_code == "silver"


def test_top_ups_never_count_as_spend():
    program = tiered({"code": "silver", "reach": [{"kind": "cumulative", "min": 1000}]})
    top = [TierActivity(TOP_UP, date(2026, 2, 1), amount_fen=100000)]
    assert evaluate_tier(program, start(), top, date(2026, 2, 1)).tier_code == "base"


def test_a_tier_fee_an_hq_grant_a_campaign_grant_and_a_top_up_unlock_reach_their_tier():
    program = tiered(
        {"code": "paid", "reach": [{"kind": "fee", "fee_fen": 9900}], "validity_months": 12, "keep": {"min": 999999}},
        {
            "code": "vip",
            "reach": [{"kind": "hq_grant"}, {"kind": "campaign_grant", "validity_months": 3}],
            "keep": {"min": 999999},
            "validity_months": 12,
        },
    )
    day = date(2026, 2, 1)
    fee = evaluate_tier(program, start(), [TierActivity(FEE, day, amount_fen=9900, tier_code="paid")], day)
    assert fee.tier_code == "paid" and fee.state.period_end == date(2027, 2, 1)
    hq = evaluate_tier(program, start(), [TierActivity(HQ_GRANT, day, tier_code="vip")], day)
    assert hq.tier_code == "vip" and hq.state.period_end == date(2027, 2, 1)
    campaign = evaluate_tier(program, start(), [TierActivity(CAMPAIGN_GRANT, day, tier_code="vip")], day)
    assert campaign.state.period_end == date(2026, 5, 1)
    unlock = evaluate_tier(program, start(), [TierActivity(UNLOCK, day, tier_code="paid")], day)
    assert unlock.changes[0].reason.code == "unlocked_by_top_up"


def test_a_campaign_grant_ends_on_the_tier_the_member_still_qualifies_for(clothing):
    program = program_from(
        "clothing",
        tiers=[
            *clothing.model_dump(mode="json")["tiers"][:2],
            {
                "code": "gold",
                "name": {"en": "Gold"},
                "reach": [{"kind": "campaign_grant", "validity_months": 3}],
                "keep": {"min": 500000},
                "validity_months": 12,
            },
        ],
    )
    state = initial_tier_state(program, JOINED)
    acts = [spend(date(2026, 1, 10), 120000), TierActivity(CAMPAIGN_GRANT, date(2026, 2, 1), tier_code="gold")]
    decision = evaluate_tier(program, state, acts, date(2026, 5, 1))
    assert [(c.action, c.to_tier) for c in decision.changes] == [
        ("upgrade", "silver"),
        ("upgrade", "gold"),
        ("downgrade", "silver"),
    ]


@pytest.fixture(scope="module")
def three_yearly() -> Program:
    return tiered(
        {
            "code": "silver",
            "reach": [{"kind": "cumulative", "window": "current_period", "min": 100000}],
            "validity_months": 12,
            "keep": {"min": 50000},
        },
        {
            "code": "gold",
            "reach": [{"kind": "cumulative", "window": "current_period", "min": 300000}],
            "validity_months": 12,
            "keep": {"min": 200000},
        },
    )


GOLD = MemberTierState(
    "gold",
    since=date(2026, 1, 1),
    period_start=date(2026, 1, 1),
    period_end=date(2027, 1, 1),
    tier_counter_after=date(2025, 12, 31),
)


def test_a_renewal_extends_the_period_from_the_old_end(three_yearly):
    decision = evaluate_tier(three_yearly, GOLD, [spend(date(2026, 12, 31), 200000)], date(2027, 1, 1))
    assert (decision.state.period_start, decision.state.period_end) == (date(2027, 1, 1), date(2028, 1, 1))


def test_spend_on_the_period_end_day_counts_for_the_next_period(three_yearly):
    decision = evaluate_tier(three_yearly, GOLD, [spend(date(2027, 1, 1), 200000)], date(2027, 1, 1))
    assert decision.tier_code == "silver"


def test_at_expiry_the_member_lands_on_the_highest_tier_whose_keep_bar_was_met(three_yearly):
    decision = evaluate_tier(three_yearly, GOLD, [spend(date(2026, 6, 1), 60000)], date(2027, 1, 1))
    assert decision.tier_code == "silver"
    assert decision.changes[0].reason.params["landed"] == "silver"
    assert decision.state.period_end == date(2028, 1, 1)
    nothing = evaluate_tier(three_yearly, GOLD, [], date(2027, 1, 1))
    assert nothing.tier_code == "base" and nothing.state.period_end is None


def test_downgrades_wait_for_the_period_end_even_after_returns(three_yearly):
    acts = [spend(date(2026, 6, 1), 250000), TierActivity(RETURN, date(2026, 6, 20), spend_fen=-250000)]
    assert evaluate_tier(three_yearly, GOLD, acts, date(2026, 12, 31)).tier_code == "gold"
    assert evaluate_tier(three_yearly, GOLD, acts, date(2027, 1, 1)).tier_code == "base"


def test_an_evaluation_run_late_closes_every_period_that_ended(three_yearly):
    acts = [spend(date(2026, 6, 1), 200000), spend(date(2027, 6, 1), 60000)]
    decision = evaluate_tier(three_yearly, GOLD, acts, date(2029, 2, 1))
    assert [(c.on, c.action, c.to_tier) for c in decision.changes] == [
        (date(2027, 1, 1), "renew", "gold"),
        (date(2028, 1, 1), "downgrade", "silver"),
        (date(2029, 1, 1), "downgrade", "base"),
    ]


def test_gold_falls_to_silver_only_after_two_consecutive_years_below_the_bar():
    program = tiered(
        {"code": "silver", "reach": [{"kind": "cumulative", "min": 1}], "validity_months": 12, "keep": {"min": 0}},
        {
            "code": "gold",
            "reach": [{"kind": "hq_grant"}],
            "validity_months": 12,
            "keep": {"measure": "points", "min": 24000},
            "downgrade": {"mode": "after_consecutive_periods", "periods": 2},
        },
    )
    first = evaluate_tier(program, GOLD, [spend(date(2026, 5, 1), 1, points=20000)], date(2027, 1, 1))
    assert first.tier_code == "gold" and first.state.periods_below == 1
    assert first.changes[0].reason.code == "kept_below_threshold"
    again = evaluate_tier(program, first.state, [], date(2028, 1, 1))
    assert again.tier_code == "silver"
    recovered = evaluate_tier(program, first.state, [spend(date(2027, 5, 1), 1, points=24000)], date(2028, 1, 1))
    assert recovered.tier_code == "gold" and recovered.state.periods_below == 0


def test_a_reset_counter_starts_cumulative_spend_again_after_a_tier_change():
    program = tiered(
        {"code": "silver", "reach": [{"kind": "cumulative", "min": 1000}], "reset_counter_on_change": True},
        {"code": "gold", "reach": [{"kind": "cumulative", "min": 1500}]},
    )
    acts = [spend(date(2026, 2, 1), 1200), spend(date(2026, 2, 2), 400)]
    assert evaluate_tier(program, start(), acts, date(2026, 2, 2)).tier_code == "silver"
    acts.append(spend(date(2026, 2, 3), 1100))
    assert evaluate_tier(program, start(), acts, date(2026, 2, 3)).tier_code == "gold"


def test_linked_cards_use_their_own_higher_thresholds():
    program = tiered(
        {"code": "silver", "reach": [{"kind": "cumulative", "min": 1000}]},
        linked_cards={"kinds": ["couple"], "max_members": 2, "thresholds": {"silver": {"reach_min": 1600}}},
    )
    acts = [spend(date(2026, 2, 1), 1200)]
    assert evaluate_tier(program, start(), acts, date(2026, 2, 1)).tier_code == "silver"
    assert evaluate_tier(program, start(), acts, date(2026, 2, 1), linked=True).tier_code == "base"


def test_replaying_is_incremental_and_does_not_upgrade_twice(clothing):
    state = initial_tier_state(clothing, JOINED)
    acts = [spend(date(2026, 2, 1), 100000)]
    first = evaluate_tier(clothing, state, acts, date(2026, 2, 1))
    again = evaluate_tier(clothing, first.state, acts, date(2026, 2, 10))
    assert again.changes == () and again.state.evaluated_through == date(2026, 2, 10)


def test_the_explanation_tells_what_is_missing_to_reach_the_next_tier_and_by_when(three_yearly):
    silver = MemberTierState(
        "silver",
        since=date(2026, 3, 1),
        period_start=date(2026, 3, 1),
        period_end=date(2027, 3, 1),
        tier_counter_after=date(2026, 2, 28),
    )
    acts = [spend(date(2026, 4, 1), 120000), spend(date(2026, 9, 10), 30000)]
    explanation = explain_tier(three_yearly, silver, acts, date(2026, 9, 5))
    need = explanation.upgrades[0]
    assert (need.tier_code, need.missing, need.pending, need.deadline) == ("gold", 180000, 30000, date(2027, 3, 1))
    assert explanation.keep.reason.code == "keep_reached"
    assert [r.code for r in explanation.reasons] == ["keep_reached", "spend_more_to_reach"]


def test_the_explanation_of_a_lifetime_top_tier_says_so(clothing):
    diamond = MemberTierState("diamond", since=JOINED, period_start=JOINED)
    explanation = explain_tier(clothing, diamond, [], date(2026, 9, 5))
    assert [r.code for r in explanation.reasons] == ["tier_for_life", "top_tier"]
    assert explanation.next_tier is None


def test_redemptions_and_adjustments_are_not_tier_activities_so_they_never_change_the_tier(clothing):
    # Only purchases, returns, top-ups, fees and grants exist as tier activities: a redemption
    # has no way in. A purchase paid with points counts only the money part as spend.
    from tenants.domain.purchase import MemberState, PurchaseLine, Tender, price_purchase

    result = price_purchase(
        clothing,
        MemberState("regular", available_points=50000),
        [PurchaseLine("a", 100000, 100000)],
        [Tender("points", points=50000)],
        date(2026, 2, 1),
    )
    assert result.spend_fen == 50000
    state = initial_tier_state(clothing, JOINED)
    acts = [TierActivity(PURCHASE, result.pending_until, spend_fen=result.spend_fen, amount_fen=result.spend_fen)]
    assert evaluate_tier(clothing, state, acts, date(2026, 3, 1)).tier_code == "regular"
