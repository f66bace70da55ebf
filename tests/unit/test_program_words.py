"""Program changes in words, zh and en, and one label for every field of the Program model."""

import copy

import pytest
from flask_babel import force_locale

from tenants.domain.program_diff import Change, schema_paths
from tenants.presets import load_preset
from tenants.services import program_words
from tenants.services.program_words import FIELD_LABELS, LABELS, NOUNS, grouped_sentences, summary


@pytest.fixture(scope="module")
def babel_app():
    from saas import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    with app.app_context():
        yield app


def sentences(old, new, locale):
    with force_locale(locale):
        return [s for group in grouped_sentences(old, new) for s in group["sentences"]]


def gold_at(document):
    return next(t for t in document["tiers"] if t["code"] == "gold")


def test_a_threshold_in_zh_and_en(babel_app):
    old = load_preset("clothing")
    new = copy.deepcopy(old)
    gold_at(old)["reach"][0]["min"] = 1_000_000
    gold_at(new)["reach"][0]["min"] = 800_000
    name_zh, name_en = gold_at(new)["name"]["zh_CN"], gold_at(new)["name"]["en"]
    assert sentences(old, new, "zh_CN") == [f"{name_zh}：升级门槛 累计消费 ¥10,000 → ¥8,000"]
    assert sentences(old, new, "en") == [f"{name_en}: reach threshold, cumulative spend ¥10,000 → ¥8,000"]


def test_added_tier_expiry_price_share_and_booleans(babel_app):
    old = load_preset("clothing")
    new = copy.deepcopy(old)
    old["expiry"] = {"mode": "never"}
    new["expiry"] = {"mode": "end_of_next_year"}
    new["tiers"].append({"code": "diamond-x", "name": {"zh_CN": "钻石卡", "en": "Diamond"}})
    gold_at(new)["benefits"]["discount_price_bp"] = 8800
    gold_at(old)["benefits"]["discount_price_bp"] = 9500
    new["earning"]["first_purchase_earns"] = not old["earning"].get("first_purchase_earns", True)
    new["redemption"]["payment"]["max_share_bp"] = 5000
    zh = sentences(old, new, "zh_CN")
    assert "新增等级 钻石卡" in zh
    assert "积分有效期：永久有效 → 次年年底清零" in zh
    assert any(s.endswith("会员价 9.5折 → 8.8折") for s in zh)
    assert any("积分最多抵" in s and s.endswith("→ 50%") for s in zh)
    assert any(s.endswith("否") or s.endswith("是") for s in zh)
    en = sentences(old, new, "en")
    assert "New tier Diamond" in en
    assert "Points expiry: never expire → expire at the end of the next year" in en
    assert any(s.endswith("member price pay 95% → pay 88%") for s in en)


def test_a_moved_tier_and_a_removed_reward(babel_app):
    old = load_preset("clothing")
    old["redemption"]["catalogue"] = [{"code": "mug", "name": {"zh_CN": "马克杯", "en": "Mug"}, "points": 500}]
    new = copy.deepcopy(old)
    new["redemption"]["catalogue"] = []
    new["tiers"][1], new["tiers"][2] = new["tiers"][2], new["tiers"][1]
    zh = sentences(old, new, "zh_CN")
    assert "删除兑换礼品 马克杯" in zh
    assert any(s.startswith("等级 ") and "第 2 位 → 第 3 位" in s for s in zh)
    assert "Removed reward Mug" in sentences(old, new, "en")




def test_every_field_of_the_program_has_a_label_in_zh_and_en(babel_app):
    missing = []
    for schema in schema_paths():
        label = program_words.field_label(schema) if schema not in NOUNS else str(NOUNS[schema])
        if label is None or (label == "" and schema not in LABELS):
            missing.append(schema)
    assert missing == [], f"label these fields in tenants/services/program_words.py: {missing}"
    # and the catalogue names nothing the model does not have
    known = set(schema_paths())
    assert set(LABELS) - known == set() and set(NOUNS) - known == set()
    assert set(FIELD_LABELS) <= {p.rsplit(".", 1)[-1] for p in known}


def test_every_changed_field_renders_with_a_label_in_both_languages(babel_app):
    old = load_preset("hotel")
    for schema in schema_paths():
        path = tuple(p if p != "*" else "x" for p in schema.split("."))
        change = Change("changed", path, schema, 1, 2, {})
        for locale in ("zh_CN", "en"):
            with force_locale(locale):
                line = program_words.sentence(change, old, old)
                where, label = program_words.where_and_label(change, old, old, program_words.Names(old))
            assert label.strip(), f"{schema} has no label in {locale}"
            assert "→" in line


def test_a_version_summary_reads_in_words(babel_app):
    with force_locale("zh_CN"):
        parts = summary(load_preset("clothing"))
    assert [p["part"] for p in parts][:3] == ["general", "enrolment", "card_types"]
    lines = [f"{what} {value}" for p in parts for block in p["blocks"] for what, value in block["lines"]]
    tiers = next(p for p in parts if p["part"] == "tiers")
    assert [b["title"] for b in tiers["blocks"]] == ["普通会员", "银卡", "金卡", "白金", "钻石"]
    assert any("¥" in line for line in lines) and not any("_fen" in line or "_bp" in line for line in lines)
