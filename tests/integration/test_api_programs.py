"""The program through the API: chains keep rules as code, post versions, and read what is in force when."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from saas.extensions import db
from saas.models import AuditEntry
from tenants.models import IdempotencyKey, ProgramVersion
from tenants.programs import business_today
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key


@pytest.fixture
def key_a(tenant_a) -> str:
    with tenant_context(tenant_a):
        return create_api_key("Rules repository", created_by=None).token


def headers(key: str, idempotency_key: str | None = None, **extra) -> dict:
    result = {"Authorization": f"Bearer {key}", **extra}
    if idempotency_key:
        result["Idempotency-Key"] = idempotency_key
    return result


def today_of(tenant) -> dt.date:
    with tenant_context(tenant):
        return business_today()


def current_rules(client, key) -> dict:
    return client.get("/api/v1/program", headers=headers(key)).json["rules"]


def post(client, key, rules, effective_from: dt.date, idempotency_key: str, note: str = "", **extra):
    body = {"rules": rules, "effective_from": effective_from.isoformat(), "note": note}
    return client.post("/api/v1/program/versions", json=body, headers=headers(key, idempotency_key, **extra))


def version_count(tenant) -> int:
    with tenant_context(tenant):
        return db.session.query(ProgramVersion).count()


def test_the_program_in_force_is_the_sign_up_preset(client, tenant_a, key_a):
    response = client.get("/api/v1/program", headers=headers(key_a))
    assert response.status_code == 200
    body = response.json
    assert body["version"] == 1
    assert body["effective_from"] == today_of(tenant_a).isoformat()
    assert body["note"] == "preset:clothing"
    assert body["created_by"] is not None and isinstance(body["created_by"], str)  # ids are strings
    assert body["rules"]["vertical"] == "clothing" and body["rules"]["tiers"]


def test_a_version_posted_for_today_is_in_force_at_once(client, tenant_a, key_a):
    rules = current_rules(client, key_a)
    rules["earning"]["pending_days"] = 3
    today = today_of(tenant_a)
    response = post(client, key_a, rules, today, "v2-today", note="shorter return window")
    assert response.status_code == 201, response.json
    assert response.json["version"] == 2
    assert response.json["effective_from"] == today.isoformat()
    assert response.json["note"] == "shorter return window"
    assert response.json["created_by"] is None
    in_force = client.get("/api/v1/program", headers=headers(key_a)).json
    assert in_force["version"] == 2
    assert in_force["rules"]["earning"]["pending_days"] == 3


def test_a_version_for_a_later_date_takes_over_on_that_date(client, tenant_a, key_a):
    rules = current_rules(client, key_a)
    today = today_of(tenant_a)
    assert post(client, key_a, rules, today + dt.timedelta(days=3), "later").status_code == 201

    def version_on(day: dt.date | None) -> int:
        query = f"?on={day.isoformat()}" if day else ""
        return client.get(f"/api/v1/program{query}", headers=headers(key_a)).json["version"]

    assert version_on(None) == 1
    assert version_on(today + dt.timedelta(days=2)) == 1
    assert version_on(today + dt.timedelta(days=3)) == 2
    assert version_on(today + dt.timedelta(days=400)) == 2


def test_a_version_effective_in_the_past_explains_the_days_since(client, tenant_a, key_a):
    today = today_of(tenant_a)
    with tenant_context(tenant_a):  # the tenant has run its preset for a month
        db.session.query(ProgramVersion).one().effective_from = today - dt.timedelta(days=30)
        db.session.commit()
    assert post(client, key_a, current_rules(client, key_a), today - dt.timedelta(days=10), "past").status_code == 201

    def version_on(day: dt.date) -> int:
        return client.get(f"/api/v1/program?on={day.isoformat()}", headers=headers(key_a)).json["version"]

    assert version_on(today - dt.timedelta(days=20)) == 1
    assert version_on(today - dt.timedelta(days=10)) == 2
    assert client.get("/api/v1/program", headers=headers(key_a)).json["version"] == 2


def test_before_the_first_version_there_is_no_program(client, tenant_a, key_a):
    day = today_of(tenant_a) - dt.timedelta(days=1)
    response = client.get(f"/api/v1/program?on={day.isoformat()}", headers=headers(key_a))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "no_program"


def test_a_version_may_not_start_before_the_latest_one(client, tenant_a, key_a):
    rules = current_rules(client, key_a)
    today = today_of(tenant_a)
    assert post(client, key_a, rules, today + dt.timedelta(days=5), "first").status_code == 201
    response = post(client, key_a, rules, today + dt.timedelta(days=4), "second", **{"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert list(response.json["error"]["fields"]) == ["effective_from"]
    assert "version 2" in response.json["error"]["fields"]["effective_from"]
    assert version_count(tenant_a) == 2


def test_an_invalid_program_is_refused_field_by_field_and_nothing_is_written(client, tenant_a, key_a):
    rules = current_rules(client, key_a)
    broken = copy.deepcopy(rules)
    broken["tiers"][0]["code"] = "Not A Code"
    broken["earning"]["pending_days"] = -1
    broken["expiry"] = {"mode": "sometimes"}
    broken["surprise"] = True
    response = post(client, key_a, broken, today_of(tenant_a), "broken", **{"Accept-Language": "en"})
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid_program"
    assert error["message"] == "The program is not valid."
    assert error["fields"]["rules.tiers.0.code"] == "Has an unexpected format."
    assert error["fields"]["rules.earning.pending_days"] == "Must be at least 0."
    assert error["fields"]["rules.expiry.mode"].startswith("Must be one of:")
    assert error["fields"]["rules.surprise"] == "Unknown field."
    assert version_count(tenant_a) == 1
    with tenant_context(tenant_a):
        assert db.session.query(IdempotencyKey).count() == 0
    # The key was not used up: the corrected request goes through with it.
    assert post(client, key_a, rules, today_of(tenant_a), "broken").status_code == 201


def test_a_domain_rule_violation_is_reported_on_its_field(client, tenant_a, key_a):
    rules = current_rules(client, key_a)
    rules["tiers"].append(copy.deepcopy(rules["tiers"][-1]))  # a duplicate tier code
    response = post(client, key_a, rules, today_of(tenant_a), "dup", **{"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.json["error"]["fields"]["rules.tiers"] == "Tier codes must be unique."


def test_a_retry_with_the_same_key_replays_the_first_answer(client, tenant_a, key_a):
    rules = current_rules(client, key_a)
    first = post(client, key_a, rules, today_of(tenant_a), "retry-me", note="once")
    again = post(client, key_a, rules, today_of(tenant_a), "retry-me", note="once")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert version_count(tenant_a) == 2


def test_the_same_key_with_another_body_is_refused(client, tenant_a, key_a):
    rules = current_rules(client, key_a)
    assert post(client, key_a, rules, today_of(tenant_a), "k-1", note="one").status_code == 201
    response = post(client, key_a, rules, today_of(tenant_a), "k-1", note="two")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "idempotency_key_reused"
    assert version_count(tenant_a) == 2


def test_idempotency_keys_are_per_tenant(client, tenant_a, tenant_b, key_a):
    with tenant_context(tenant_b):
        key_b = create_api_key("B", created_by=None).token
    for key, tenant in ((key_a, tenant_a), (key_b, tenant_b)):
        response = post(client, key, current_rules(client, key), today_of(tenant), "shared-key")
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response.headers
    assert version_count(tenant_a) == version_count(tenant_b) == 2


def test_the_history_pages_newest_first_without_the_rules(client, tenant_a, key_a):
    rules = current_rules(client, key_a)
    for n in (2, 3):
        assert post(client, key_a, rules, today_of(tenant_a), f"v{n}", note=f"v{n}").status_code == 201
    first = client.get("/api/v1/program/versions?limit=2", headers=headers(key_a)).json
    assert [item["version"] for item in first["items"]] == [3, 2]
    assert all("rules" not in item for item in first["items"])
    assert first["next_cursor"] == "2"
    rest = client.get(f"/api/v1/program/versions?limit=2&cursor={first['next_cursor']}", headers=headers(key_a)).json
    assert [item["version"] for item in rest["items"]] == [1]
    assert rest["next_cursor"] is None
    one = client.get("/api/v1/program/versions/2", headers=headers(key_a)).json
    assert one["version"] == 2 and one["note"] == "v2" and one["rules"] == rules


def test_a_bad_page_request_is_a_422(client, tenant_a, key_a):
    for query in ("limit=0", "limit=500", "limit=x", "cursor=abc"):
        response = client.get(f"/api/v1/program/versions?{query}", headers=headers(key_a))
        assert response.status_code == 422, query
        assert response.json["error"]["code"] == "validation_failed"


def test_another_tenants_version_is_not_found_like_a_missing_one(client, tenant_a, tenant_b, key_a):
    assert post(client, key_a, current_rules(client, key_a), today_of(tenant_a), "a-v2").status_code == 201
    with tenant_context(tenant_b):
        key_b = create_api_key("B", created_by=None).token
    foreign = client.get("/api/v1/program/versions/2", headers=headers(key_b))
    missing = client.get("/api/v1/program/versions/99", headers=headers(key_b))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_data() == missing.get_data()
    history = client.get("/api/v1/program/versions", headers=headers(key_b)).json
    assert [item["version"] for item in history["items"]] == [1]
    assert version_count(tenant_b) == 1


def test_posting_a_version_is_audited_with_the_key(client, tenant_a, key_a):
    assert post(client, key_a, current_rules(client, key_a), today_of(tenant_a), "audited").status_code == 201
    with tenant_context(tenant_a):
        entry = db.session.query(AuditEntry).filter_by(action="program.version_posted").one()
    assert entry.target == "program_version:2"
    assert entry.details["via"] == f"api:{key_a.split('_')[2]}"
