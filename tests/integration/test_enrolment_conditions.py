"""Enrolment by cumulative purchases (receipts the clerk enters) and by a gift card activated within N days of
the store's opening (SPEC §3), through the JSON API."""

import datetime as dt

import pytest

from saas.extensions import db
from tenants.models import Member, Store
from tenants.presets import load_preset
from tenants.scoping import tenant_context
from tenants.services.programs import post_program_version
from tenants.services.stores import update_store
from tests.integration.test_api_members import pos as pos  # noqa: F401  (the POS fixture)

pytestmark = pytest.mark.tenant_clock


def enrolment(pos, *conditions) -> None:
    with tenant_context(pos.tenant):
        rules = load_preset("clothing")
        rules["enrolment"]["conditions"] = list(conditions)
        post_program_version(rules, dt.date(2025, 1, 1), "enrolment rules")


def days_ago(n: int) -> str:
    from tests.integration.test_api_members import now_iso

    return dt.date.fromisoformat(now_iso(days_ago=n)[:10]).isoformat()


def test_receipts_within_the_window_enrol_and_are_kept_older_ones_do_not_count(pos):
    enrolment(pos, {"kind": "cumulative_purchase", "min_fen": 68800, "months": 3})
    old = pos.post("/members", {"phone": "13800000001", "receipts": [
        {"date": days_ago(200), "amount_fen": 50000}, {"date": days_ago(10), "amount_fen": 20000}]})
    assert old.status_code == 422 and old.json["error"]["code"] == "enrolment_conditions_not_met"
    future = pos.post("/members", {"phone": "13800000001", "receipts": [{"date": days_ago(-2), "amount_fen": 90000}]})
    assert future.status_code == 422 and "receipts" in future.json["error"]["fields"]
    joined = pos.post("/members", {"phone": "13800000001", "receipts": [
        {"date": days_ago(40), "amount_fen": 50000}, {"date": days_ago(10), "amount_fen": 18800}]})
    assert joined.status_code == 201, joined.json
    with tenant_context(pos.tenant):
        member = db.session.get(Member, (pos.tenant.id, int(joined.json["id"])))
        assert [fen for _, fen in member.profile["enrolment_receipts"]] == [50000, 18800]


def test_a_gift_card_enrols_within_the_days_after_the_store_opened(pos):
    enrolment(pos, {"kind": "gift_card", "activation_days": 10})
    with tenant_context(pos.tenant):
        new, old = db.session.query(Store).order_by(Store.code).all()[:2]
        update_store(new, {"opened_on": days_ago(5)})
        update_store(old, {"opened_on": days_ago(20)})
        db.session.commit()
        new_id, old_id = str(new.id), str(old.id)
    late = pos.post("/members", {"phone": "13800000002", "store_id": old_id, "gift_card_activated": True})
    assert late.status_code == 422 and late.json["error"]["code"] == "enrolment_conditions_not_met"
    on_time = pos.post("/members", {"phone": "13800000002", "store_id": new_id, "gift_card_activated": True})
    assert on_time.status_code == 201, on_time.json
    no_card = pos.post("/members", {"phone": "13800000003", "store_id": new_id})
    assert no_card.status_code == 422
