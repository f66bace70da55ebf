"""The JSON API framework: bearer keys name the tenant, errors are JSON in the caller's language, the
OpenAPI document matches the routes."""

from __future__ import annotations

import re

import pytest

from saas.extensions import db
from tenants.models import ApiKey
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key, revoke_api_key


def issue_key(tenant, name: str = "Counter POS") -> str:
    with tenant_context(tenant):
        return create_api_key(name, created_by=None).token


def bearer(key: str, **headers) -> dict:
    return {"Authorization": f"Bearer {key}", **headers}


# --- authentication --------------------------------------------------------------------------


def test_a_request_without_a_key_is_refused_with_a_json_401(client, tenant_a):
    response = client.get("/api/v1/program")
    assert response.status_code == 401
    assert response.is_json
    assert response.json["error"]["code"] == "unauthorized"
    assert response.json["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def _tampered(key: str, tenant_b) -> dict[str, str]:
    hy, tenant36, prefix, secret = key.split("_")
    other36 = issue_key(tenant_b).split("_")[1]
    return {
        "wrong secret": f"{hy}_{tenant36}_{prefix}_{secret[::-1]}",
        "unknown prefix": f"{hy}_{tenant36}_zzzzzzzz_{secret}",
        "another tenant": f"{hy}_{other36}_{prefix}_{secret}",
        "no such tenant": f"{hy}_1_{prefix}_{secret}",
        "truncated": key[:-1],
        "garbage": "not-a-key",
    }


def test_a_wrong_key_of_any_kind_gets_the_same_401(client, tenant_a, tenant_b):
    key = issue_key(tenant_a)
    bodies = set()
    for label, bad in _tampered(key, tenant_b).items():
        response = client.get("/api/v1/program", headers=bearer(bad))
        assert response.status_code == 401, label
        bodies.add(response.get_data(as_text=True))
    response = client.get("/api/v1/program", headers={"Authorization": f"Basic {key}"})
    assert response.status_code == 401
    bodies.add(response.get_data(as_text=True))
    assert len(bodies) == 1, "every refusal must look the same"
    assert client.get("/api/v1/program", headers=bearer(key)).status_code == 200


def test_a_revoked_key_stops_working_at_once(client, tenant_a):
    key = issue_key(tenant_a)
    assert client.get("/api/v1/program", headers=bearer(key)).status_code == 200
    with tenant_context(tenant_a):
        revoke_api_key(db.session.query(ApiKey).one().id, revoked_by=None)
    response = client.get("/api/v1/program", headers=bearer(key))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_using_a_key_records_when_it_was_last_used(client, tenant_a):
    key = issue_key(tenant_a)
    assert client.get("/api/v1/program", headers=bearer(key)).status_code == 200
    with tenant_context(tenant_a):
        db.session.expire_all()
        assert db.session.query(ApiKey).one().last_used_at is not None


def test_a_staff_session_cookie_does_not_authenticate_the_api(client, tenant_a, login_as):
    login_as("owner")
    assert client.get("/api/v1/program").status_code == 401


def test_each_key_sees_its_own_tenant_only(client, tenant_a, tenant_b):
    a = client.get("/api/v1/program", headers=bearer(issue_key(tenant_a)))
    b = client.get("/api/v1/program", headers=bearer(issue_key(tenant_b)))
    assert a.json["rules"]["vertical"] == "clothing"
    assert b.json["rules"]["vertical"] == "pharmacy"


def test_the_api_needs_no_csrf_token_and_sets_no_cookie(client, tenant_a):
    key = issue_key(tenant_a)
    response = client.post("/api/v1/program/versions", json={}, headers=bearer(key, **{"Idempotency-Key": "k1"}))
    assert response.status_code == 422  # refused for its body, not for CSRF
    assert response.json["error"]["code"] == "validation_failed"
    assert "Set-Cookie" not in response.headers


# --- errors ----------------------------------------------------------------------------------


def test_malformed_json_is_a_400_that_says_where(client, tenant_a):
    key = issue_key(tenant_a)
    response = client.post("/api/v1/program/versions", data='{"rules": {"a": 1,}}', content_type="application/json",
                           headers=bearer(key, **{"Idempotency-Key": "k1", "Accept-Language": "en"}))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"
    assert "line 1" in response.json["error"]["message"]


def test_a_body_that_is_not_a_json_object_is_a_400(client, tenant_a):
    key = issue_key(tenant_a)
    response = client.post("/api/v1/program/versions", json=[1, 2], headers=bearer(key, **{"Idempotency-Key": "k"}))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


def test_a_body_that_is_not_json_at_all_is_a_415(client, tenant_a):
    key = issue_key(tenant_a)
    response = client.post("/api/v1/program/versions", data="rules=1", content_type="application/x-www-form-urlencoded",
                           headers=bearer(key, **{"Idempotency-Key": "k"}))
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"


def test_a_body_over_the_size_limit_is_a_413(client, tenant_a):
    from tenants.api.schemas import MAX_BODY_BYTES

    key = issue_key(tenant_a)
    huge = '{"note": "' + "x" * MAX_BODY_BYTES + '"}'
    response = client.post("/api/v1/program/versions", data=huge, content_type="application/json",
                           headers=bearer(key, **{"Idempotency-Key": "k"}))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_invalid_fields_are_a_422_with_dotted_paths_in_the_callers_language(client, tenant_a):
    key = issue_key(tenant_a)
    response = client.post("/api/v1/program/versions", json={"rules": {}, "effective_from": "someday", "colour": 1},
                           headers=bearer(key, **{"Idempotency-Key": "k", "Accept-Language": "en"}))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_failed"
    assert error["message"] == "Some fields are not valid."
    assert error["fields"] == {"effective_from": "Must be a date (YYYY-MM-DD).", "colour": "Unknown field."}


def test_a_mutating_request_needs_an_idempotency_key(client, tenant_a):
    key = issue_key(tenant_a)
    response = client.post("/api/v1/program/versions", json={"rules": {}, "effective_from": "2026-01-01"},
                           headers=bearer(key))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "idempotency_key_required"


def test_an_unknown_url_and_a_missing_id_are_the_same_json_404(client, tenant_a):
    key = issue_key(tenant_a)
    unknown = client.get("/api/v1/no-such-thing", headers=bearer(key))
    missing = client.get("/api/v1/program/versions/999", headers=bearer(key))
    assert unknown.status_code == missing.status_code == 404
    assert unknown.json == missing.json == {"error": {"code": "not_found", "message": "未找到。"}}


def test_a_wrong_method_is_a_json_405_that_lists_the_allowed_ones(client, tenant_a):
    response = client.delete("/api/v1/program", headers=bearer(issue_key(tenant_a)))
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_pages_outside_the_api_keep_their_html_404(client, tenant_a):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_an_unexpected_error_is_a_json_500_without_a_trace(client, tenant_a, monkeypatch):
    import tenants.api.programs as endpoints

    def explode(on=None):
        raise RuntimeError("secret detail of the database")

    monkeypatch.setattr(endpoints, "current_program_version", explode)
    response = client.get("/api/v1/program", headers=bearer(issue_key(tenant_a)))
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "secret detail" not in text and "Traceback" not in text
    assert "出了点问题" in response.json["error"]["message"]


@pytest.mark.parametrize("accept,expected", [
    (None, "未找到。"),
    ("zh-CN", "未找到。"),
    ("zh-Hans-CN,zh;q=0.9", "未找到。"),
    ("en", "Not found."),
    ("en-US,en;q=0.9", "Not found."),
    ("fr-FR, en;q=0.5", "Not found."),
])
def test_messages_follow_accept_language_with_chinese_by_default(client, tenant_a, accept, expected):
    headers = bearer(issue_key(tenant_a))
    if accept:
        headers["Accept-Language"] = accept
    response = client.get("/api/v1/program/versions/999", headers=headers)
    assert response.json["error"]["message"] == expected


def test_the_401_is_translated_too(client, tenant_a):
    english = client.get("/api/v1/program", headers={"Accept-Language": "en"}).json["error"]["message"]
    assert english == "A valid API key is required (Authorization: Bearer <key>)."


def test_api_answers_are_not_cached(client, tenant_a):
    response = client.get("/api/v1/program", headers=bearer(issue_key(tenant_a)))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- models ----------------------------------------------------------------------------------


def test_ids_are_strings_in_json_and_read_from_strings_or_numbers():
    from tenants.api.schemas import ApiModel, Id

    class Thing(ApiModel):
        id: Id

    big = 2**62 + 12345
    assert Thing(id=big).model_dump(mode="json") == {"id": str(big)}
    assert Thing.model_validate({"id": str(big)}).id == big
    assert Thing.model_validate({"id": big}).id == big
    assert Thing.model_json_schema()["properties"]["id"]["type"] == "string"


# --- OpenAPI ---------------------------------------------------------------------------------


def _document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_openapi_document_lists_exactly_the_api_routes(app, client):
    from tenants.api.openapi import openapi_path

    routes = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    document = _document(client)
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented
    assert len(routes) >= 5


def test_the_openapi_document_describes_auth_idempotency_and_errors(client):
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "hy_<tenant>_<prefix>_<secret>"}
    assert document["security"] == [{"apiKey": []}]
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    post = document["paths"]["/api/v1/program/versions"]["post"]
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in post["parameters"]
    assert document["components"]["parameters"]["IdempotencyKey"]["name"] == "Idempotency-Key"
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProgramVersionIn"}
    assert set(post["responses"]) >= {"201", "400", "401", "409", "422"}
    assert post["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"}
    rules = document["components"]["schemas"]["ProgramVersionIn"]["properties"]["rules"]
    assert rules["$ref"] == "#/components/schemas/Program"
    get_one = document["paths"]["/api/v1/program/versions/{version}"]["get"]
    assert get_one["parameters"][0] == {"name": "version", "in": "path", "required": True,
                                        "schema": {"type": "integer", "format": "int32", "minimum": 0,
                                                   "maximum": 2**31 - 1}}
    read_only = {("/api/v1/members/lookup", "post")}  # a look-up by POST changes nothing: no key
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert ({"$ref": "#/components/parameters/IdempotencyKey"} in op.get("parameters", [])) == (
                method in ("post", "put", "patch", "delete") and (path, method) not in read_only)


def test_every_operation_declares_the_errors_any_request_can_meet_with_the_error_schema(client):
    document = _document(client)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, item in document["paths"].items():
        for method, op in item.items():
            for status in ("400", "404", "405", "414", "500"):
                assert op["responses"].get(status, {}).get("content") == error, (path, method, status)


def test_a_url_too_long_is_a_json_414_in_the_callers_language_and_a_page_elsewhere(client, tenant_a):
    key = issue_key(tenant_a)
    long_query = "?phone=" + "1" * 5000
    for path in ("/api/v1/members", "/api/v1/no-such-thing"):
        zh = client.get(path + long_query, headers=bearer(key))
        en = client.get(path + long_query, headers=bearer(key, **{"Accept-Language": "en"}))
        assert zh.status_code == en.status_code == 414
        assert zh.json == {"error": {"code": "uri_too_long", "message": "地址太长。"}}
        assert en.json["error"]["message"] == "The address is too long."
    page = client.get("/login" + long_query)
    assert page.status_code == 414 and page.mimetype == "text/html"
    assert "地址太长。" in page.get_data(as_text=True)
    assert client.get("/api/v1/members?phone=13800138000", headers=bearer(key)).status_code != 414


def test_a_wrong_method_is_answered_in_the_callers_language(client, tenant_a):
    key = issue_key(tenant_a)
    zh = client.delete("/api/v1/program", headers=bearer(key))
    en = client.delete("/api/v1/program", headers=bearer(key, **{"Accept-Language": "en"}))
    assert zh.status_code == en.status_code == 405
    assert en.json["error"]["message"] == "This action is not allowed here."
    assert zh.json["error"]["message"] not in ("", "This action is not allowed here.")


def test_every_reference_in_the_openapi_document_resolves(client):
    document = _document(client)
    text = str(document)
    for ref in set(re.findall(r"'\$ref': '#/components/(\w+)/([^']+)'", text)):
        section, name = ref
        assert name in document["components"][section], ref


def test_the_openapi_document_is_translated(client):
    zh = client.get("/api/v1/openapi.json").json
    en = client.get("/api/v1/openapi.json", headers={"Accept-Language": "en"}).json
    assert en["paths"]["/api/v1/program"]["get"]["summary"] == "The program in force"
    assert set(zh["paths"]) == set(en["paths"])


def test_the_409_says_every_conflict_the_api_answers_409_by_its_code(client, tenant_a):
    from tenants.services.errors import HTTP_STATUS

    conflicts = [code for code, status in HTTP_STATUS.items() if status == 409]
    assert {"idempotency_in_progress", "duplicate_phone", "duplicate_email", "out_of_stock"} <= set(conflicts)
    document = _document(client)
    described = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            if "409" in op["responses"]:
                described += 1
                text = op["responses"]["409"]["description"]
                assert all(code in text for code in conflicts), (path, method, text)
    assert described >= 10
    # A real one: the phone of another member, on an operation that declares 409.
    key = issue_key(tenant_a)
    body = {"name": "王芳", "phone": "13812345678"}
    first = client.post("/api/v1/members", json=body, headers=bearer(key, **{"Idempotency-Key": "m-1"}))
    again = client.post("/api/v1/members", json=body, headers=bearer(key, **{"Idempotency-Key": "m-2"}))
    assert first.status_code == 201 and again.status_code == 409, again.json
    assert again.json["error"]["code"] == "duplicate_phone"
    assert "409" in document["paths"]["/api/v1/members"]["post"]["responses"]


def test_every_operation_answers_the_503_it_declares_while_the_database_is_unreachable(app, tenant_a):
    """An app whose database refuses connections (nothing listens on port 1): each operation with a key
    answers 503 service_unavailable with Retry-After, as its entry in the document says."""
    key = issue_key(tenant_a)  # a real key: its look-up is what meets the database
    from saas import create_app
    from tests.conftest import app_config

    down = create_app(app_config(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://huiyuan_app@127.0.0.1:1/huiyuan"))
    client = down.test_client()
    document = _document(app.test_client())
    tried = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            url = re.sub(r"\{[^}]+\}", "1", path)
            response = client.open(url, method=method.upper(), json={} if method != "get" else None,
                                   headers=bearer(key, **{"Idempotency-Key": f"k-{tried}"}))
            declared = op["responses"].get("503")
            if response.status_code == 503:
                assert declared is not None, (path, method)
                assert response.json["error"]["code"] == "service_unavailable"
                assert int(response.headers["Retry-After"]) >= 1
                assert set(declared["headers"]) == {"Retry-After"}
                tried += 1
            else:  # the document itself needs no database
                assert declared is None and path == "/api/v1/openapi.json", (path, method, response.status_code)
    assert tried >= 25
