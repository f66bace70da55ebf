"""The program editor's form layer: shop-owner units both ways, exactly, and a label for every field."""

import json
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel

from tenants.domain.program import Program
from tenants.views.program_form import (
    PARTS,
    Shape,
    add_row,
    fields_of,
    parse_scaled,
    part_form,
    read_part,
    remove_row,
    shape_of,
    show_scaled,
)
from tenants.views.program_labels import CHOICES, PART_LABELS, has_label

PRESETS = Path(__file__).resolve().parents[2] / "tenants" / "presets"


@pytest.fixture(autouse=True)
def babel_context():
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        yield


@pytest.mark.parametrize(("typed", "unit", "stored"), [
    ("0.10", "yuan", 10), ("12.34", "yuan", 1234), ("¥1,500", "yuan", 150_000), ("0.01", "yuan", 1),
    ("9", "zhe", 9000), ("8.8", "zhe", 8800), ("8.85", "zhe", 8850), ("10", "zhe", 10_000),
    ("20", "percent", 2000), ("33.33", "percent", 3333), ("0.5%", "percent", 50),
])
def test_typed_amounts_become_exact_integers_and_show_as_typed(typed, unit, stored):
    assert parse_scaled(typed, unit) == stored
    assert parse_scaled(show_scaled(stored, unit), unit) == stored


@pytest.mark.parametrize(("typed", "unit"), [
    ("0.001", "yuan"), ("1e3", "yuan"), ("NaN", "yuan"), ("1-", "yuan"), ("abc", "yuan"),
    ("10.5", "zhe"), ("8.855", "zhe"), ("100.01", "percent"), ("9" * 20, "yuan"),
])
def test_amounts_that_are_not_exact_or_out_of_range_are_refused(typed, unit):
    with pytest.raises(ValueError):
        parse_scaled(typed, unit)


def test_every_float_looking_yuan_amount_is_exact_in_fen():
    for fen in range(0, 100_000, 7):
        assert parse_scaled(show_scaled(fen, "yuan"), "yuan") == fen


def models_of_program() -> list[type]:
    seen: dict[str, type] = {}

    def walk(shape: Shape):
        models = [shape.model] if shape.kind == "model" else list(shape.variants.values())
        for model in models:
            if model.__name__ not in seen:
                seen[model.__name__] = model
                for _name, field_shape in fields_of(model):
                    walk(field_shape)
        if shape.item is not None:
            walk(shape.item)

    walk(Shape("model", model=Program))
    return list(seen.values())


def test_every_field_of_the_program_has_a_label():
    missing = [f"{model.__name__}.{name}" for model in models_of_program() for name, _shape in fields_of(model)
               if not has_label(model, name)]
    assert missing == []
    assert set(PARTS) <= set(PART_LABELS)


def test_every_choice_of_the_program_has_a_label():
    missing = []
    for model in models_of_program():
        for name, shape in fields_of(model):
            inner = shape.item if shape.kind == "list" else shape
            for value in inner.choices if inner.kind == "choice" else ():
                if len(inner.choices) > 1 and (name, value) not in CHOICES:
                    missing.append((model.__name__, name, value))
            for value in inner.variants if inner.kind == "union" else ():
                if ("kind", value) not in CHOICES:
                    missing.append((model.__name__, name, value))
    assert missing == []


@pytest.mark.parametrize("vertical", ["blank", "pharmacy", "clothing", "hotel", "mall"])
def test_every_part_of_every_template_reads_back_as_the_same_rules(vertical):
    rules = json.loads((PRESETS / f"{vertical}.json").read_text())
    rebuilt = dict(rules)
    for part in PARTS:
        value, errors = read_part(part, part_form(part, rules))
        assert errors == {}, (part, errors)
        rebuilt[part] = value
    assert Program.model_validate(rebuilt) == Program.model_validate(rules)


def test_a_threshold_is_in_yuan_for_spend_and_in_points_for_points():
    rules = json.loads((PRESETS / "clothing.json").read_text())
    form = part_form("tiers", rules)
    form["tiers.1.reach.0.kind"] = ["cumulative"]
    form["tiers.1.reach.0.measure"] = ["spend"]
    form["tiers.1.reach.0.min"] = ["1234.5"]
    value, errors = read_part("tiers", form)
    assert errors == {} and value[1]["reach"][0]["min"] == 123_450
    form["tiers.1.reach.0.measure"] = ["points"]
    form["tiers.1.reach.0.min"] = ["1234"]
    value, _errors = read_part("tiers", form)
    assert value[1]["reach"][0]["min"] == 1234


def test_unreadable_inputs_get_a_message_on_their_own_path():
    form = part_form("earning", {})
    form["earning.base.per_fen"] = ["1.234"]
    form["earning.referral_points"] = ["ten"]
    _value, errors = read_part("earning", form)
    assert set(errors) == {"earning.base.per_fen", "earning.referral_points"}


def test_rows_added_and_removed_by_path():
    form = part_form("redemption", {})
    added = add_row("redemption", form, "redemption.catalogue", None)
    assert "redemption.catalogue.0.code" in added
    assert add_row("redemption", form, "redemption.nothing", None) == form
    assert "redemption.catalogue.0.code" not in remove_row(added, "redemption.catalogue.0")


def test_every_type_of_the_program_has_an_input():
    for model in models_of_program():
        for _name, info in model.model_fields.items():
            shape_of(info.annotation)  # raises on a type the editor cannot show


def test_a_number_below_its_bound_is_refused_in_the_forms_unit():
    form = part_form("tiers", json.loads((PRESETS / "clothing.json").read_text()))
    form["tiers.1.reach.0.min"] = ["-5"]
    form["tiers.1.benefits.discount_price_bp"] = ["-1"]
    _value, errors = read_part("tiers", form)
    assert errors["tiers.1.reach.0.cumulative.min"] == "Must be at least ¥0.01."
    assert errors["tiers.1.benefits.discount_price_bp"] == "Must be at least 0折."
