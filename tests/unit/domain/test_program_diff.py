"""Comparing two program documents: coded lists matched by code, moves, nested benefits, optional sections."""

import copy

from tenants.domain.program_diff import as_document, diff_programs, facts, lookup, schema_paths
from tenants.presets import load_preset


def clothing():
    return load_preset("clothing")


def test_the_same_document_has_no_changes():
    assert diff_programs(clothing(), clothing()) == []


def test_a_threshold_of_a_tier_is_found_by_its_code_with_old_and_new_value():
    old, new = clothing(), clothing()
    gold = next(t for t in new["tiers"] if t["code"] == "gold")
    before = gold["reach"][0]["min"]
    gold["reach"][0]["min"] = before - 200_000
    [change] = diff_programs(old, new)
    assert change.kind == "changed" and change.part == "tiers"
    assert change.path == ("tiers", "gold", "reach", "cumulative", "min")
    assert change.schema == "tiers.*.reach.cumulative.min"
    assert (change.old, change.new) == (before, before - 200_000)
    assert change.owner["measure"] == "spend"


def test_a_tier_moved_in_order_is_moved_not_removed_and_added():
    old, new = clothing(), clothing()
    new["tiers"][1], new["tiers"][2] = new["tiers"][2], new["tiers"][1]
    changes = diff_programs(old, new)
    assert [c.kind for c in changes] == ["moved"]
    assert changes[0].path[-1] in {new["tiers"][1]["code"], new["tiers"][2]["code"]}
    assert {changes[0].old, changes[0].new} == {2, 3}


def test_added_and_removed_items_are_matched_by_code_not_position():
    old, new = clothing(), clothing()
    removed = new["tiers"].pop()  # the top tier goes
    new["tiers"].append({"code": "black", "name": {"zh_CN": "黑卡", "en": "Black"}})
    new["categories"].insert(0, {"code": "bags", "name": {"zh_CN": "箱包", "en": "Bags"}})
    changes = diff_programs(old, new)
    kinds = {(c.kind, c.path) for c in changes}
    assert ("removed", ("tiers", removed["code"])) in kinds
    assert ("added", ("tiers", "black")) in kinds
    assert ("added", ("categories", "bags")) in kinds
    assert not any(c.kind == "moved" for c in changes)  # inserting in front moves nothing
    assert not any(c.kind == "changed" and c.part == "categories" for c in changes)


def test_nested_benefits_maps_and_optional_sections():
    old, new = clothing(), clothing()
    silver = next(t for t in new["tiers"] if t["code"] == "silver")
    silver["benefits"]["category_price_bp"] = {"tops": 9000}
    silver["benefits"]["birthday"] = {"price_bp": 8000, "bonus_points": 200}
    silver.pop("keep", None)
    silver["keep"] = {"measure": "spend", "min": 100_000}
    changes = {c.path: c for c in diff_programs(old, new)}
    assert changes[("tiers", "silver", "benefits", "category_price_bp", "tops")].kind == "added"
    assert changes[("tiers", "silver", "benefits", "category_price_bp", "tops")].new == 9000
    birthday = [c for p, c in changes.items() if p[:4] == ("tiers", "silver", "benefits", "birthday")]
    assert birthday and all(c.schema.startswith("tiers.*.benefits.birthday") for c in birthday)
    keep = [c for p, c in changes.items() if p[:3] == ("tiers", "silver", "keep")]
    assert keep and keep[0].schema.startswith("tiers.*.keep")


def test_reach_rules_are_matched_by_kind_and_a_second_rule_of_a_kind_is_its_own_item():
    old = clothing()
    new = copy.deepcopy(old)
    gold = next(t for t in new["tiers"] if t["code"] == "gold")
    gold["reach"].append({"kind": "single_purchase", "min_fen": 200_000})
    gold["reach"].append({"kind": "single_purchase", "min_fen": 150_000, "from_tiers": ["silver"]})
    paths = {c.path for c in diff_programs(old, new) if c.kind == "added"}
    assert paths == {("tiers", "gold", "reach", "single_purchase"), ("tiers", "gold", "reach", "single_purchase#2")}


def test_every_change_names_a_field_of_the_model():
    old, new = as_document(load_preset("pharmacy")), as_document(load_preset("hotel"))
    known = set(schema_paths())
    changes = diff_programs(old, new)
    assert changes
    assert {c.schema for c in changes} <= known
    assert all(lookup(new if c.kind != "removed" else old, c.path) is not None or c.new is None for c in changes)


def test_facts_list_every_field_of_a_document_once():
    listed = facts(clothing())
    assert len({c.path for c in listed}) == len(listed)
    assert {c.schema for c in listed} <= set(schema_paths())
