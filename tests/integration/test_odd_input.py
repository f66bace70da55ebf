"""Bad input never reaches a stack trace: every page of a tenant, asked with nonsense in its query string, answers
with a page or a clear refusal (< 500)."""

import pytest

from tests.integration.test_api_members import pos  # noqa: F401 - the POS fixture

JUNK = [
    "page=abc&q=" + "长" * 500,
    "page=-1&per_page=-5&status=%00&before=zzz",
    "page=99999999999999999999999&on=2026-13-45&as_of=yesterday&store_id=abc&member_id=1e9",
    "q=%27%22%3C%3E%00&sort=;drop&direction=sideways&lang=xx&tab=../../etc",
]


def pages_without_ids(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.arguments == {"slug"} and not rule.rule.startswith("/api/"):
            yield rule.rule.replace("<slug>", "tenant-a")


def test_every_page_with_ids_survives_nonsense_query_strings(app, client, login_as, tenant_a):
    from tests.integration.test_cross_tenant import ids_of_tenant_b

    ids = ids_of_tenant_b(tenant_a)  # real ids, here of tenant A itself
    login_as("owner")
    failures = []
    for rule in app.url_map.iter_rules():
        wanted = rule.arguments - {"slug"}
        if "GET" not in rule.methods or not wanted or "slug" not in rule.arguments or not wanted <= set(ids):
            continue
        path = rule.rule.replace("<slug>", "tenant-a")
        for name in wanted:
            path = path.replace(f"<int:{name}>", ids[name]).replace(f"<{name}>", ids[name])
        for junk in JUNK:
            response = client.get(f"{path}?{junk}", buffered=True)  # streamed answers run to their end too
            if response.status_code >= 500:
                failures.append((path, junk[:40], response.status_code))
    assert failures == [], failures


@pytest.mark.parametrize("role", ["owner", "clerk"])
def test_every_tenant_page_survives_nonsense_query_strings(app, client, login_as, role):
    login_as(role)
    failures = []
    for path in pages_without_ids(app):
        for junk in JUNK:
            response = client.get(f"{path}?{junk}")
            if response.status_code >= 500:
                failures.append((path, junk[:40], response.status_code))
            response = client.get(f"{path}?{junk}", headers={"HX-Request": "true"})
            if response.status_code >= 500:
                failures.append((path, "htmx " + junk[:35], response.status_code))
    assert failures == [], failures


def test_a_nul_character_in_a_search_or_a_form_is_a_clear_400_and_changes_nothing(client, login_as, tenant_a):
    from sqlalchemy import func, select

    from saas.extensions import db
    from tenants.models import Store
    from tenants.scoping import tenant_context
    from tests.conftest import csrf_from

    login_as("owner")
    response = client.get("/t/tenant-a/stores?q=a%00b")
    assert response.status_code == 400
    assert "(NUL)" in response.get_data(as_text=True) or "（NUL）" in response.get_data(as_text=True)
    form = client.get("/t/tenant-a/stores/new")
    response = client.post("/t/tenant-a/stores/new", data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "code": "S900", "name": "Nul\x00Store", "kind": "store"})
    assert response.status_code == 400
    with tenant_context(tenant_a):
        assert db.session.scalar(select(func.count()).select_from(Store).where(Store.code == "S900")) == 0


def test_the_api_refuses_a_nul_character_in_json_with_its_error_code(client, pos):  # noqa: F811
    response = pos.post("/members", {"name": "A\u0000B", "phone": "13800009999"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_characters"
    assert pos.get("/members?phone=13800009999").get_json().get("data", []) in ([], None)


def test_a_percent_sign_in_a_search_is_a_character_not_a_wildcard(client, login_as, tenant_a):
    from sqlalchemy import select

    from saas.extensions import db
    from tenants.models import Store
    from tenants.scoping import tenant_context

    with tenant_context(tenant_a):
        code = db.session.scalars(select(Store.code)).first()
    login_as("owner")
    assert code in client.get("/t/tenant-a/stores?q=", headers={"HX-Request": "true"}).get_data(as_text=True)
    for wildcard in ("%25", "_"):  # no store's name or code holds them: nothing is found
        response = client.get(f"/t/tenant-a/stores?q={wildcard}", headers={"HX-Request": "true"})
        assert response.status_code == 200 and code not in response.get_data(as_text=True)


def test_ids_beyond_any_database_integer_are_not_found(app, client, login_as):
    login_as("owner")
    failures = []
    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items() if type(converter).__name__ == "IntegerConverter"]
        if "GET" not in rule.methods or "slug" not in rule.arguments or not ints:
            continue
        path = rule.rule.replace("<slug>", "tenant-a")
        for name in rule.arguments - {"slug"}:
            path = path.replace(f"<int:{name}>", str(10**20)).replace(f"<{name}>", "x")
        status = client.get(path, buffered=True).status_code
        if status != 404 and not (status in (302, 303) and "/counter" in path):  # no tablet here: to its setup
            failures.append((path, status))
    assert failures == [], failures
