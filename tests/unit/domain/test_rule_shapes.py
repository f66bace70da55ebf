"""Rule shapes of SPEC §5 and §7 that a program can express (issue: tier-limited reach, expiry after N days)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from tenants.domain.explain import explain_tier
from tenants.domain.points import lot_expiry
from tenants.domain.program import Expiry
from tenants.domain.tiers import PURCHASE, MemberTierState, TierActivity, evaluate_tier

from .test_tiers import start, tiered


def one_purchase(day: date, fen: int) -> TierActivity:
    return TierActivity(PURCHASE, day, spend_fen=fen, amount_fen=fen, ref=f"purchase:{fen}")


def gold_by_one_purchase():
    return tiered(
        {"code": "silver", "reach": [{"kind": "cumulative", "window": "lifetime", "min": 100000}]},
        {"code": "gold", "reach": [{"kind": "single_purchase", "min_fen": 150000, "from_tiers": ["silver"]},
                                   {"kind": "single_purchase", "min_fen": 200000, "from_tiers": ["base"]}]},
    )


def test_a_reach_rule_limited_to_silver_applies_to_silver_members_only():
    program = gold_by_one_purchase()
    day = date(2026, 3, 1)
    silver = MemberTierState("silver", since=date(2026, 1, 1), period_start=date(2026, 1, 1),
                             tier_counter_after=date(2026, 1, 1))
    assert evaluate_tier(program, silver, [one_purchase(day, 150000)], day).tier_code == "gold"
    # ¥1500 from the base tier: silver by the cumulative rule, not gold (gold from base needs ¥2000)
    assert evaluate_tier(program, start(), [one_purchase(day, 150000)], day).tier_code == "silver"
    assert evaluate_tier(program, start(), [one_purchase(day, 200000)], day).tier_code == "gold"


def test_the_explanation_offers_only_the_ways_up_from_the_members_tier():
    program = gold_by_one_purchase()
    silver = MemberTierState("silver", since=date(2026, 1, 1), period_start=date(2026, 1, 1))
    needs = explain_tier(program, silver, [], date(2026, 3, 1)).upgrades
    assert [(n.tier_code, n.required) for n in needs if n.tier_code == "gold"] == [("gold", 150000)]


def test_from_tiers_must_name_lower_tiers():
    with pytest.raises(ValidationError, match="from_tiers"):
        tiered({"code": "silver", "reach": [{"kind": "single_purchase", "min_fen": 1, "from_tiers": ["gold"]}]},
               {"code": "gold", "reach": [{"kind": "hq_grant"}]})


def test_points_can_expire_n_days_after_they_were_earned():
    expiry = Expiry(mode="rolling_days", days=90)
    assert lot_expiry(expiry, date(2026, 12, 3)) == date(2027, 3, 3)
    with pytest.raises(ValidationError, match="days"):
        Expiry(mode="rolling_days")
