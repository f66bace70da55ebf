from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenants.domain.errors import DomainError
from tenants.domain.program import LocalizedText, Program
from tenants.presets import VERTICALS, load_preset


@pytest.mark.parametrize("vertical", VERTICALS)
def test_every_preset_is_a_valid_program_with_both_languages(vertical):
    raw = load_preset(vertical)
    program = Program.model_validate(raw)
    assert program.schema_version == 1
    assert program.vertical == vertical
    for tier in program.tiers:
        assert tier.name.zh_CN and tier.name.en
    for card_type in program.card_types:
        assert card_type.name.zh_CN and card_type.name.en


@pytest.mark.parametrize("vertical", VERTICALS)
def test_a_program_survives_a_round_trip_through_json(vertical):
    program = Program.model_validate(load_preset(vertical))
    assert Program.model_validate_json(program.model_dump_json()) == program


def test_load_preset_returns_a_fresh_copy_each_time():
    first = load_preset("clothing")
    first["tiers"].clear()
    assert load_preset("clothing")["tiers"]


def test_an_unknown_vertical_is_a_value_error():
    with pytest.raises(ValueError):
        load_preset("bakery")


def test_the_presets_follow_the_vertical_templates():
    clothing = Program.model_validate(load_preset("clothing"))
    assert [t.name.zh_CN for t in clothing.tiers] == ["普通会员", "银卡", "金卡", "白金", "钻石"]
    assert [t.reach[0].min for t in clothing.tiers[1:]] == [100000, 300000, 1000000, 3000000]
    assert [str(t.benefits.points_multiplier) for t in clothing.tiers] == ["1", "1.5", "2", "2.5", "3"]
    assert clothing.earning.pending_days == 7
    hotel = Program.model_validate(load_preset("hotel"))
    assert hotel.card_type().fee_fen == 3800 and hotel.card_type().fee_waivers[0].min_fen == 50000
    assert hotel.earning.base.per_fen == 10000
    assert hotel.redemption.nights.points_per_night == 50
    mall = Program.model_validate(load_preset("mall"))
    assert mall.enrolment.real_name_required
    assert mall.stores["f6-cinema"].honours_card is False
    pharmacy = Program.model_validate(load_preset("pharmacy"))
    assert [t.name.zh_CN for t in pharmacy.tiers] == ["普通会员", "黄金会员", "钻石会员"]


def errors_of(raw) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        Program.model_validate(raw)
    return [e["loc"] for e in caught.value.errors()]


def test_invalid_fields_are_reported_with_their_location():
    raw = load_preset("clothing")
    raw["tiers"][1]["benefits"]["discount_price_bp"] = 12000
    raw["earning"]["base"]["per_fen"] = 0
    locations = errors_of(raw)
    assert ("tiers", 1, "benefits", "discount_price_bp") in locations
    assert ("earning", "base", "per_fen") in locations


def test_unknown_keys_are_refused_rather_than_ignored():
    raw = load_preset("blank")
    raw["earning"] = {"points_per_yuan": 1}
    assert ("earning", "points_per_yuan") in errors_of(raw)


def test_a_reach_rule_of_an_unknown_kind_is_refused():
    raw = load_preset("clothing")
    raw["tiers"][1]["reach"] = [{"kind": "astrology", "min": 1}]
    assert any(loc[:3] == ("tiers", 1, "reach") for loc in errors_of(raw))


def test_duplicate_tier_codes_and_a_base_tier_with_a_keep_threshold_are_refused():
    raw = load_preset("clothing")
    raw["tiers"][2]["code"] = "silver"
    assert ("tiers",) in errors_of(raw)
    raw = load_preset("clothing")
    raw["tiers"][0]["keep"] = {"min": 100}
    assert ("tiers",) in errors_of(raw)


def test_references_to_unknown_tiers_are_reported_on_the_field_that_holds_them():
    raw = load_preset("hotel")
    raw["stored_value"]["bonus_rows"][0]["unlock_tier"] = "vip"
    assert ("stored_value",) in errors_of(raw)
    raw = load_preset("mall")
    raw["stores"]["f3-fashion"]["tier_discount_price_bp"] = {"platinum": 9000}
    assert ("stores",) in errors_of(raw)


def test_earning_classes_must_start_at_full_price_and_increase():
    raw = load_preset("clothing")
    raw["earning"]["classes"][1]["min_off_bp"] = 7000
    assert ("earning", "classes") in errors_of(raw)


def test_an_unsupported_schema_version_is_refused():
    raw = load_preset("blank")
    raw["schema_version"] = 2
    assert ("schema_version",) in errors_of(raw)


def test_abc_shares_must_make_a_whole():
    raw = load_preset("blank")
    raw["segments"] = {"abc": {"shares_bp": [2000, 3000, 4000]}}
    assert ("segments", "abc", "shares_bp") in errors_of(raw)


def test_localized_text_falls_back_to_the_other_language_and_needs_one():
    assert LocalizedText(zh_CN="金卡").text("en") == "金卡"
    assert LocalizedText(zh_CN="金卡", en="Gold").text("en_US") == "Gold"
    with pytest.raises(ValidationError):
        LocalizedText()


def test_looking_up_an_unknown_tier_is_a_domain_error(clothing):
    with pytest.raises(DomainError) as caught:
        clothing.tier("emerald")
    assert caught.value.code == "unknown_tier"
    assert clothing.tier_index("gold") == 2
    assert clothing.card_type().code == "regular"


def test_multipliers_are_exact_decimals_not_floats():
    raw = load_preset("clothing")
    raw["tiers"][1]["benefits"]["points_multiplier"] = "1.1"
    program = Program.model_validate(raw)
    assert str(program.tiers[1].benefits.points_multiplier) == "1.1"


def test_the_program_has_a_json_schema_for_the_api_documentation():
    schema = Program.model_json_schema()
    assert {"schema_version", "tiers", "earning", "redemption", "stored_value"} <= set(schema["properties"])


def test_the_blank_preset_is_the_programs_defaults_and_sets_nothing_else():
    """One source for what an omitted field means: a version posted with only the required fields is the
    blank preset (no return window, no stored value), not a second set of defaults."""
    blank = load_preset("blank")
    required = {name for name, spec in Program.model_fields.items() if spec.is_required()}
    assert set(blank) - {"schema_version", "vertical", "description"} == required
    posted = {key: blank[key] for key in required}
    assert Program.model_validate(posted) == Program.model_validate(blank).model_copy(update={"description": ""})
    defaults = Program.model_validate(posted)
    assert defaults.earning.pending_days == 0 and defaults.stored_value.enabled is False
    assert defaults.expiry.mode == "never" and [c.kind for c in defaults.enrolment.conditions] == ["free"]
