"""What the fuzzers found, each kept as a plain regression test."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_from
from tests.integration.test_api_members import enrol, pos  # noqa: F401 - the POS fixture

pytestmark = pytest.mark.tenant_clock


def test_a_patch_that_sends_null_for_a_text_field_clears_it_instead_of_failing(pos):  # noqa: F811
    member = enrol(pos)
    filled = pos.patch(f"/members/{member['id']}", {"address": "上海市", "notes": "VIP", "tags": ["a"]})
    assert filled.status_code == 200
    cleared = pos.patch(f"/members/{member['id']}", {"name": None, "address": None, "notes": None, "tags": None})
    assert cleared.status_code == 200, cleared.json
    assert cleared.json["name"] == ""


def test_a_patch_that_sends_null_consent_is_refused_on_its_field(pos):  # noqa: F811
    member = enrol(pos, marketing_consent=True)
    refused = pos.patch(f"/members/{member['id']}", {"marketing_consent": None})
    assert refused.status_code == 422
    assert set(refused.json["error"]["fields"]) == {"marketing_consent"}
    assert pos.get(f"/members/{member['id']}").json["marketing_consent"] is True


@pytest.mark.parametrize("birthday", ["7383-08-13", "1899-12-31", "2999-01-01"])
def test_an_impossible_birthday_is_refused_on_enrolment_and_on_update(pos, birthday):  # noqa: F811
    refused = pos.post("/members", {"name": "王芳", "phone": "13800138000", "birthday": birthday})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"birthday"}
    assert pos.get("/members?phone=13800138000").status_code == 404
    member = enrol(pos, birthday="1990-05-20")
    refused = pos.patch(f"/members/{member['id']}", {"birthday": birthday})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"birthday"}
    assert pos.get(f"/members/{member['id']}").json["birthday"] == "1990-05-20"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/members/{mid}/top-ups", {"amount_fen": 228296162765710674771052126611177472}, "amount_fen"),
    ("/members/{mid}/stored-value/payments", {"amount_fen": 2**63}, "amount_fen"),
    ("/members/{mid}/points-adjustments", {"delta": -(2**64), "reason": "typo"}, "delta"),
    ("/purchases", {"member_id": "{mid}", "lines": [{"line_id": "1", "regular_fen": 10**19}]}, "lines.0.regular_fen"),
])
def test_an_amount_past_any_real_one_is_a_422_on_its_field_not_an_overflow(pos, path, body, field):  # noqa: F811
    mid = enrol(pos)["id"]
    body = {k: (mid if v == "{mid}" else v) for k, v in body.items()}
    refused = pos.post(path.format(mid=mid), body)
    assert refused.status_code == 422, refused.json
    assert field in refused.json["error"]["fields"]
    member = pos.get(f"/members/{mid}").json
    assert member["stored_value"]["balance_fen"] == 0 and member["points"]["balance"] == 0


def test_a_counter_search_posted_without_its_field_shows_the_empty_search(client, login_as, tenant_a):
    from tests.integration.test_counter import open_counter

    owner = login_as("owner")
    open_counter(client, tenant_a, owner)
    token = csrf_from(client.get("/t/tenant-a/counter").get_data(as_text=True))
    response = client.post("/t/tenant-a/counter", data={"csrf_token": token})
    assert response.status_code == 200


def declared(client, path: str, method: str) -> set[str]:
    document = client.get("/api/v1/openapi.json").json
    return set(document["paths"]["/api/v1" + path][method]["responses"])


def test_a_body_that_is_not_json_or_too_large_gets_a_status_the_document_declares(pos, client):  # noqa: F811
    not_json = client.post("/api/v1/members", data="name=x", content_type="text/plain", headers=pos.headers())
    assert not_json.status_code == 415
    too_large = client.post("/api/v1/members", data=b'{"name": "' + b"x" * (1024 * 1024) + b'"}',
                            content_type="application/json", headers=pos.headers())
    assert too_large.status_code == 413
    assert {"413", "415"} <= declared(client, "/members", "post")


def test_a_card_locked_by_wrong_pins_answers_423_as_the_document_declares(pos, client):  # noqa: F811
    mid = enrol(pos, pin="2468")["id"]
    assert pos.post(f"/members/{mid}/top-ups", {"amount_fen": 10000}).status_code == 201
    statuses = [pos.post(f"/members/{mid}/stored-value/payments", {"amount_fen": 100, "pin": "1111"}).status_code
                for _ in range(10)]
    assert 423 in statuses, statuses
    assert "423" in declared(client, "/members/{member_id}/stored-value/payments", "post")
    assert "423" in declared(client, "/purchases", "post")


@pytest.mark.parametrize(("path", "body"), [
    ("/members?on=1.9923131150258673e-38", None),
    ("/members", {"name": "王芳", "phone": "13900139000", "birthday": 0}),
    ("/members", {"name": "王芳", "phone": "13900139000", "business_at": "1700000000"}),
])
def test_a_number_where_a_date_belongs_is_refused_not_read_as_seconds_since_1970(pos, path, body):  # noqa: F811
    member = enrol(pos)
    if body is None:
        path = path.replace("/members", f"/members/{member['id']}")
        refused = pos.get(path)
        field = "on"
    else:
        refused = pos.post(path, body)
        field = next(k for k in body if k in ("birthday", "business_at"))
    assert refused.status_code == 422, refused.json
    assert field in refused.json["error"]["fields"]
    assert pos.get("/members?phone=13900139000").status_code == 404
