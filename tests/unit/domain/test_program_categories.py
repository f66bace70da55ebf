"""The program's goods categories: listed with names, and the only codes its rules may name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenants.domain.program import Program
from tenants.presets import VERTICALS, load_preset


def test_every_preset_lists_the_categories_its_rules_name_with_chinese_and_english_names():
    for vertical in VERTICALS:
        program = Program.model_validate(load_preset(vertical))
        for category in program.categories:
            assert category.name.zh_CN and category.name.en, (vertical, category.code)
    hotel = Program.model_validate(load_preset("hotel"))
    assert [(c.code, c.name.zh_CN) for c in hotel.categories][:2] == [("rooms", "客房"), ("dining", "餐饮")]
    assert hotel.category_name("rooms", "en") == "Rooms" and hotel.category_name("dining", "zh_CN") == "餐饮"
    pharmacy = Program.model_validate(load_preset("pharmacy"))
    assert pharmacy.category_name("prescription", "zh_CN") == "处方药"


def test_a_version_written_before_the_list_existed_stays_valid_with_the_codes_its_rules_name():
    rules = load_preset("hotel")
    del rules["categories"]
    program = Program.model_validate(rules)
    assert [(c.code, c.name.zh_CN, c.name.en) for c in program.categories] == [
        ("rooms", "客房", "Rooms"), ("dining", "餐饮", "Dining")]
    rules = load_preset("clothing")
    del rules["categories"]
    rules["tiers"][1]["benefits"]["excluded_categories"] = ["gift-sets"]
    assert Program.model_validate(rules).category_name("gift-sets", "en") == "gift-sets"


@pytest.mark.parametrize("where", ["tiers", "stored_value"])
def test_a_rule_naming_a_category_that_is_not_listed_is_refused_on_the_field_that_names_it(where):
    rules = load_preset("hotel")
    if where == "tiers":
        rules["tiers"][0]["benefits"]["category_price_bp"]["spa"] = 9000
    else:
        rules["stored_value"]["bonus_rows"][1]["unlock_category_price_bp"] = {"spa": 8000}
    with pytest.raises(ValidationError) as refused:
        Program.model_validate(rules)
    errors = refused.value.errors()
    assert [e["loc"] for e in errors] == [(where,)]
    assert "unknown category code(s): spa" in errors[0]["msg"]


def test_category_codes_are_unique():
    rules = load_preset("hotel")
    rules["categories"].append({"code": "rooms", "name": {"zh_CN": "房间"}})
    with pytest.raises(ValidationError, match="category codes must be unique"):
        Program.model_validate(rules)
