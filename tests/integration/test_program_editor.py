"""The program editor: every part as a form, saved into the draft exactly; refusals on their field, input kept."""

import copy

import pytest
from werkzeug.datastructures import MultiDict

from saas.extensions import db
from saas.models import AuditEntry
from tenants.domain.program import Program
from tenants.models import ProgramDraft
from tenants.scoping import tenant_context
from tenants.services.program_drafts import current_draft
from tenants.services.programs import latest_program_version
from tenants.views.program_form import PARTS
from tests.conftest import csrf_from
from tests.integration.program_editor_support import input_id, post_data, read_form

BASE = "/t/tenant-a/program"


def draft_rules(tenant):
    with tenant_context(tenant):
        db.session.expire_all()
        draft = current_draft()
        return copy.deepcopy(draft.rules) if draft else None


def in_force_rules(tenant):
    with tenant_context(tenant):
        return copy.deepcopy(latest_program_version().rules)


def open_part(client, part, **headers):
    response = client.get(f"{BASE}/{part}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return read_form(response.get_data(as_text=True))


def save(client, part, values: dict[str, list[str]]):
    data = MultiDict([(k, v) for k, vs in values.items() for v in vs])
    return client.post(f"{BASE}/{part}", data=data)


@pytest.mark.parametrize("part", PARTS)
def test_every_part_posted_as_shown_saves_the_same_rules(client, tenant_a, login_as, part):
    login_as("owner")
    before = in_force_rules(tenant_a)
    form = open_part(client, part)
    response = client.post(f"{BASE}/{part}", data=MultiDict(post_data(form)))
    assert response.status_code == 302, read_form(response.get_data(as_text=True)).errors
    after = draft_rules(tenant_a)
    assert Program.model_validate(after) == Program.model_validate(before)


@pytest.mark.parametrize("vertical", ["pharmacy", "hotel", "mall"])
def test_every_part_of_every_template_comes_back_unchanged(client, tenant_a, login_as, vertical):
    login_as("owner")
    token = csrf_from(client.get(BASE).get_data(as_text=True))
    assert client.post(f"{BASE}/start", data={"csrf_token": token, "idem": f"start-{vertical}", "source": "preset",
                                              "preset": vertical}).status_code == 302
    started = draft_rules(tenant_a)
    for part in PARTS:
        response = client.post(f"{BASE}/{part}", data=MultiDict(post_data(open_part(client, part))))
        assert response.status_code == 302, (part, read_form(response.get_data(as_text=True)).errors)
    assert Program.model_validate(draft_rules(tenant_a)) == Program.model_validate(started)


def test_a_tier_threshold_in_yuan_is_saved_in_fen_exactly(client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "tiers")
    last = max(int(k.split(".")[1]) for k in form.values if k.startswith("tiers.") and k.endswith(".code"))
    reach = next(k for k in form.values if k.startswith(f"tiers.{last}.reach.") and k.endswith(".min_fen")
                 or k.startswith(f"tiers.{last}.reach.") and k.endswith(".min"))
    form.values[reach] = ["1234.10"]
    assert save(client, "tiers", form.values).status_code == 302
    saved = draft_rules(tenant_a)["tiers"][last]["reach"][int(reach.split(".")[3])]
    assert saved.get("min_fen", saved.get("min")) == 123_410


def test_a_negative_threshold_is_refused_on_its_field_with_the_input_kept_and_nothing_written(
        client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "tiers")
    reach = next(k for k in form.values if k.startswith("tiers.1.reach.0.") and k.rsplit(".", 1)[1]
                 in ("min", "min_fen"))
    form.values[reach] = ["-5"]
    response = save(client, "tiers", form.values)
    assert response.status_code == 422
    again = read_form(response.get_data(as_text=True))
    assert again.values[reach] == ["-5"]
    assert again.errors[input_id(reach)]
    assert draft_rules(tenant_a) is None  # no draft was started by the refusal
    with tenant_context(tenant_a):
        assert db.session.query(AuditEntry).filter(AuditEntry.action.like("program.%")).count() == 0


def test_the_check_endpoint_puts_the_message_under_the_field_and_saves_nothing(client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "earning")
    form.values["earning.base.per_fen"] = ["0"]
    response = client.post(f"{BASE}/earning?check=1", data=MultiDict(post_data(form)),
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body  # the fragment only
    checked = read_form(body)
    assert checked.errors[input_id("earning.base.per_fen")]
    assert draft_rules(tenant_a) is None


def test_discounts_are_typed_in_zhe_and_shares_in_percent(client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "tiers")
    form.values["tiers.1.benefits.discount_price_bp"] = ["8.85"]
    assert save(client, "tiers", form.values).status_code == 302
    assert draft_rules(tenant_a)["tiers"][1]["benefits"]["discount_price_bp"] == 8850
    form = open_part(client, "earning")
    assert form.values["earning.classes.0.earn_bp"] == ["100"]
    form.values["earning.classes.0.earn_bp"] = ["33.33"]
    assert save(client, "earning", form.values).status_code == 302
    assert draft_rules(tenant_a)["earning"]["classes"][0]["earn_bp"] == 3333
    form.values["earning.classes.0.earn_bp"] = ["33.333"]
    response = save(client, "earning", form.values)
    assert response.status_code == 422
    assert read_form(response.get_data(as_text=True)).errors[input_id("earning.classes.0.earn_bp")]
    assert draft_rules(tenant_a)["earning"]["classes"][0]["earn_bp"] == 3333


def test_rows_are_added_and_removed_without_saving(client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "redemption")
    data = MultiDict([*post_data(form), ("_add", "redemption.catalogue")])
    added = read_form(client.post(f"{BASE}/redemption?check=1", data=data).get_data(as_text=True))
    new = [k for k in added.values if k.startswith("redemption.catalogue.") and k.endswith(".code")]
    assert len(new) == len([k for k in form.values if k.startswith("redemption.catalogue.")
                            and k.endswith(".code")]) + 1
    row = new[-1].rsplit(".", 1)[0]
    added.values[f"{row}.code"] = ["umbrella"]
    added.values[f"{row}.name.zh_CN"] = ["雨伞"]
    added.values[f"{row}.points"] = ["800"]
    assert save(client, "redemption", added.values).status_code == 302
    catalogue = draft_rules(tenant_a)["redemption"]["catalogue"]
    assert catalogue[-1] == {"description": "", "code": "umbrella", "name": {"zh_CN": "雨伞", "en": ""},
                             "points": 800, "kind": "gift", "value_fen": 0}
    form = open_part(client, "redemption")
    data = MultiDict([*post_data(form), ("_remove", row)])
    removed = read_form(client.post(f"{BASE}/redemption?check=1", data=data).get_data(as_text=True))
    assert f"{row}.code" not in removed.values
    assert save(client, "redemption", removed.values).status_code == 302
    assert [c["code"] for c in draft_rules(tenant_a)["redemption"]["catalogue"]] == \
        [c["code"] for c in catalogue[:-1]]


def test_a_reach_rule_of_another_kind_is_added_with_its_own_fields(client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "tiers")
    data = MultiDict([*post_data(form), ("_add", "tiers.1.reach"), ("_kind:tiers.1.reach", "single_purchase")])
    added = read_form(client.post(f"{BASE}/tiers?check=1", data=data).get_data(as_text=True))
    index = max(int(k.split(".")[3]) for k in added.values if k.startswith("tiers.1.reach."))
    assert added.values[f"tiers.1.reach.{index}.kind"] == ["single_purchase"]
    added.values[f"tiers.1.reach.{index}.min_fen"] = ["2000"]
    assert save(client, "tiers", added.values).status_code == 302
    assert draft_rules(tenant_a)["tiers"][1]["reach"][-1] == {"description": "", "kind": "single_purchase",
                                                             "min_fen": 200_000, "from_tiers": []}


def test_stored_value_bonus_rows_and_expiry_and_enrolment_save_exactly(client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "stored_value")
    form.values["stored_value.enabled"] = ["1"]
    data = MultiDict([*post_data(form), ("_add", "stored_value.bonus_rows")])
    added = read_form(client.post(f"{BASE}/stored_value?check=1", data=data).get_data(as_text=True))
    row = max(int(k.split(".")[2]) for k in added.values if k.startswith("stored_value.bonus_rows."))
    added.values[f"stored_value.bonus_rows.{row}.min_top_up_fen"] = ["0.10"]
    added.values[f"stored_value.bonus_rows.{row}.bonus_fen"] = ["0.01"]
    assert save(client, "stored_value", added.values).status_code == 302
    stored = draft_rules(tenant_a)["stored_value"]
    assert stored["enabled"] is True
    assert stored["bonus_rows"][-1]["min_top_up_fen"] == 10 and stored["bonus_rows"][-1]["bonus_fen"] == 1
    form = open_part(client, "expiry")
    form.values["expiry.mode"] = ["rolling_months"]
    form.values["expiry.months"] = [""]
    response = save(client, "expiry", form.values)
    assert response.status_code == 422
    page = read_form(response.get_data(as_text=True))
    assert page.values["expiry.mode"] == ["rolling_months"]
    assert any(page.errors.values())
    form.values["expiry.months"] = ["24"]
    assert save(client, "expiry", form.values).status_code == 302
    expiry = draft_rules(tenant_a)["expiry"]
    assert (expiry["mode"], expiry["months"], expiry["days"]) == ("rolling_months", 24, None)


@pytest.mark.parametrize("role", ["regional_supervisor", "store_manager", "clerk"])
def test_people_without_the_program_permission_get_403_and_no_nav_entry(client, tenant_a, login_as, role):
    login_as(role)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}/tiers").status_code == 403
    assert f'href="{BASE}"' not in client.get("/t/tenant-a/").get_data(as_text=True)


def test_the_owner_and_the_chain_admin_see_the_nav_entry(client, tenant_a, login_as):
    login_as("chain_admin")
    assert f'href="{BASE}"' in client.get("/t/tenant-a/").get_data(as_text=True)
    assert client.get(BASE).status_code == 200


def test_a_refused_save_without_an_idempotency_key_writes_nothing(client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "returns")
    form.values.pop("idem")
    assert save(client, "returns", form.values).status_code == 422
    with tenant_context(tenant_a):
        assert db.session.query(ProgramDraft).count() == 0


def test_texts_are_cleaned_of_control_characters_and_come_back_escaped(client, tenant_a, login_as):
    login_as("owner")
    form = open_part(client, "categories")
    data = MultiDict([*post_data(form), ("_add", "categories")])
    added = read_form(client.post(f"{BASE}/categories?check=1", data=data).get_data(as_text=True))
    row = max(int(k.split(".")[1]) for k in added.values if k.startswith("categories."))
    added.values[f"categories.{row}.code"] = ["gifts"]
    added.values[f"categories.{row}.name.zh_CN"] = ["<script>alert(1)</script>礼\x07品\u202e"]
    added.values[f"categories.{row}.description"] = ["节日\x1b礼盒"]
    assert save(client, "categories", added.values).status_code == 302
    saved = draft_rules(tenant_a)["categories"][-1]
    assert saved["name"]["zh_CN"] == "<script>alert(1)</script>礼品" and saved["description"] == "节日礼盒"
    page = client.get(f"{BASE}/categories").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
