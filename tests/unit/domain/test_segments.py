from __future__ import annotations

from datetime import date
from fractions import Fraction

from tenants.domain.program import AbcRules, LifecycleRules, RfmRules
from tenants.domain.segments import (
    RfmFacts,
    abc_by_points,
    abc_by_spend,
    is_falling,
    lifecycle,
    rfm_pyramid,
    rfm_score,
)

AS_OF = date(2026, 7, 1)


def test_abc_ties_are_broken_by_member_id():
    result = abc_by_spend({"b": 50, "a": 50, "c": 10, "d": 5, "e": 1}, AbcRules())
    assert result.ranking == ("a", "b", "c", "d", "e")
    assert result.classes["a"] == "A" and result.classes["b"] == "B"


def test_abc_class_sizes_round_half_up_on_the_cumulative_share_of_members():
    result = abc_by_spend({f"m{i}": 100 - i for i in range(7)}, AbcRules())  # 1.4 → 1, 3.5 → 4
    counts = {row.cls: row.members for row in result.summary}
    assert counts == {"A": 1, "B": 3, "C": 3}


def test_abc_by_points_bands_with_each_class_share_of_spend():
    points = {"m1": 3000, "m2": 2999, "m3": 1500, "m4": 1499}
    spends = {"m1": 700, "m2": 200, "m3": 100, "m4": 0}
    result = abc_by_points(points, AbcRules(mode="points_bands"), spends)
    assert [result.classes[m] for m in points] == ["A", "B", "B", "C"]
    assert {row.cls: row.spend_share for row in result.summary} == {
        "A": Fraction(7, 10),
        "B": Fraction(3, 10),
        "C": Fraction(0),
    }


def test_an_empty_population_has_empty_classes():
    assert all(row.members == 0 for row in abc_by_spend({}, AbcRules()).summary)


def test_rfm_counts_high_dimensions_into_four_layers():
    rules = RfmRules(recent_days=90, frequent_visits=3, monetary_fen=300000)
    core = rfm_score(RfmFacts("m1", date(2026, 6, 1), 5, 500000), AS_OF, rules)
    assert (core.layer, core.layer_code, core.code) == (1, "core", "R1F1M1")
    lapsed = rfm_score(RfmFacts("m2", date(2025, 1, 1), 1, 100), AS_OF, rules)
    assert (lapsed.layer, lapsed.layer_code) == (4, "at_risk")
    never = RfmFacts("m3", None, 0, 0)
    assert rfm_pyramid([core_facts := RfmFacts("m1", date(2026, 6, 1), 5, 500000), never], AS_OF, rules) == {
        1: 1,
        2: 0,
        3: 0,
        4: 1,
    }
    assert core_facts.member_id == "m1"


def test_lifecycle_stages_new_active_dormant_and_lost():
    rules = LifecycleRules()
    assert lifecycle(date(2026, 6, 15), None, 0, AS_OF, rules).stage == "new"
    assert lifecycle(date(2025, 1, 1), date(2026, 5, 1), 4, AS_OF, rules).stage == "active"
    assert lifecycle(date(2025, 1, 1), date(2026, 4, 1), 4, AS_OF, rules).stage == "dormant"
    assert lifecycle(date(2025, 1, 1), date(2026, 1, 1), 4, AS_OF, rules).stage == "lost"
    assert lifecycle(date(2025, 1, 1), None, 0, AS_OF, rules).stage == "lost"


def test_a_familiar_customer_was_served_three_times_or_more():
    assert lifecycle(date(2025, 1, 1), date(2026, 6, 1), 3, AS_OF, LifecycleRules()).familiar
    assert not lifecycle(date(2025, 1, 1), date(2026, 6, 1), 2, AS_OF, LifecycleRules()).familiar


def test_a_member_whose_visits_or_spend_fall_is_flagged():
    rules = LifecycleRules(falling_drop_bp=3000)
    assert is_falling(7, 10, 1000, 1000, rules)
    assert not is_falling(8, 10, 800, 1000, rules)
    assert is_falling(10, 10, 700, 1000, rules)
    assert not is_falling(0, 0, 0, 0, rules)
