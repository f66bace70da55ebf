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


def payment_rules():
    from .conftest import program_from

    return program_from("clothing", redemption={"payment": {
        "min_points": 2000,
        "rules": [{"from_points": 5000, "step_points": 1000, "step_fen": 9000},
                  {"from_points": 2000, "step_points": 2000, "step_fen": 15000}]}})


@pytest.mark.parametrize(("offered", "fen"), [(2000, 15000), (4000, 30000), (5000, 45000), (7000, 63000)])
def test_the_points_offered_choose_the_payment_rule(offered, fen):
    from tenants.domain.redemption import points_to_fen

    assert points_to_fen(payment_rules(), offered) == fen


@pytest.mark.parametrize(("offered", "code"), [(1500, "points_below_minimum"), (3000, "points_not_whole_step"),
                                               (5500, "points_not_whole_step")])
def test_an_offer_that_fits_no_rule_or_no_whole_step_is_refused(offered, code):
    from tenants.domain.errors import DomainError
    from tenants.domain.redemption import points_to_fen

    with pytest.raises(DomainError) as refused:
        points_to_fen(payment_rules(), offered)
    assert refused.value.code == code


def test_below_every_rule_is_refused_as_no_rule_fits_when_the_minimum_is_lower():
    from tenants.domain.errors import DomainError
    from tenants.domain.redemption import points_to_fen

    from .conftest import program_from

    program = program_from("clothing", redemption={"payment": {
        "rules": [{"from_points": 2000, "step_points": 2000, "step_fen": 15000}]}})
    with pytest.raises(DomainError) as refused:
        points_to_fen(program, 1000)
    assert refused.value.code == "points_no_payment_rule" and refused.value.params["min_points"] == 2000


def test_a_base_tier_with_its_own_validity_starts_a_new_period_at_its_end():
    from tenants.domain.program import Program

    from .conftest import program_from

    raw = program_from("clothing").model_dump(mode="json")
    raw["tiers"][0]["validity_months"] = 12
    program = Program.model_validate(raw)
    state = MemberTierState("regular", since=date(2026, 1, 1), period_start=date(2026, 1, 1),
                            period_end=date(2027, 1, 1))
    decision = evaluate_tier(program, state, [], date(2027, 1, 1))
    assert [(c.action, c.to_tier) for c in decision.changes] == [("expire_to_same", "regular")]
    assert (decision.state.period_start, decision.state.period_end) == (date(2027, 1, 1), date(2028, 1, 1))
    assert not decision.changed
    raw["tiers"][0]["keep"] = {"min": 100}
    with pytest.raises(ValidationError, match="keep"):
        Program.model_validate(raw)
