"""Bad input never reaches a stack trace: every page of a tenant, asked with nonsense in its query string, answers
with a page or a clear refusal (< 500)."""

import pytest

from tests.conftest import csrf_from
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
    from tests.integration.isolation_support import own_one_of_everything

    ids = own_one_of_everything(tenant_a, "Amark", "13999990000").ids  # real ids, here of tenant A itself
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


# Names with invisible characters: a right-to-left override, isolates, zero-width spaces, a stray control
# character. Each is stored as the visible name (saas/text.py clean_name), whichever way it comes in.
SNEAKY = "\u202eevil\u2066 \u200bname\u2069\x07\u200f"
CLEAN = "evil name"


def test_a_name_enrolled_at_the_counter_is_stored_without_invisible_characters(client, app_ctx):
    from sqlalchemy import select

    from saas.extensions import db
    from tenants.models import Member
    from tenants.scoping import tenant_context
    from tests.factories import make_staff, make_tenant
    from tests.integration.test_counter import form_key, open_counter

    shop = make_tenant("odd-names", vertical="pharmacy", language="en")
    open_counter(client, shop, make_staff(shop, "clerk"))
    page = client.get("/t/odd-names/counter/enrol").get_data(as_text=True)
    done = client.post("/t/odd-names/counter/enrol", data={
        "csrf_token": csrf_from(page), "idem": form_key(page), "name": SNEAKY, "phone": "13600000001",
        "card_type": "regular"}, headers={"HX-Request": "true"})
    assert done.status_code == 200, done.get_data(as_text=True)
    with tenant_context(shop):
        assert db.session.scalars(select(Member.name)).one() == CLEAN


def test_a_name_sent_by_the_api_is_stored_without_invisible_characters_on_enrolment_and_update(pos):  # noqa: F811
    response = pos.post("/members", {"name": SNEAKY, "phone": "13800007777"})
    assert response.status_code == 201 and response.get_json()["name"] == CLEAN
    member_id = response.get_json()["id"]
    patched = pos.patch(f"/members/{member_id}", {"name": "\u202dWang\u00a0\u00a0Fang\u200b\r\n"})
    assert patched.status_code == 200 and patched.get_json()["name"] == "Wang Fang"
    assert pos.get(f"/members/{member_id}").get_json()["name"] == "Wang Fang"


def test_an_invited_staff_members_name_is_stored_clean_and_an_invisible_only_name_is_refused(
        client, login_as, tenant_a):
    from saas.extensions import db
    from saas.models import StaffUser
    from tenants.scoping import tenant_context
    from tests.integration.test_invitations import invite, store_ids

    login_as("owner")
    store = str(store_ids(tenant_a)[0])
    assert invite(client, tenant_a, name=SNEAKY, store_id=store).status_code == 200
    refused = invite(client, tenant_a, name="\u202e\u200b\u2066", email="nobody@example.com", store_id=store)
    assert refused.status_code == 422 and "请输入此人的姓名" in refused.get_data(as_text=True)
    with tenant_context(tenant_a):
        assert db.session.query(StaffUser).filter_by(email="xiaowang@example.com").one().name == CLEAN
        assert db.session.query(StaffUser).filter_by(email="nobody@example.com").count() == 0


def test_store_and_region_names_are_stored_without_invisible_characters(client, login_as, tenant_a):
    from tests.integration.test_store_management import add_store, stores_of

    login_as("chain_admin")
    assert add_store(client, code="odd1", name=SNEAKY).status_code == 302
    assert stores_of(tenant_a)["odd1"].name == CLEAN
    refused = add_store(client, code="odd2", name="\u202e\u200b")
    assert refused.status_code == 422 and "odd2" not in stores_of(tenant_a)
    from tenants.scoping import tenant_context
    from tenants.services.regions import create_region

    with tenant_context(tenant_a):
        assert create_region(SNEAKY).name == CLEAN


def test_the_business_and_owner_names_of_a_sign_up_are_stored_clean(app_ctx):
    from saas.extensions import db
    from saas.signup import create_tenant

    result = create_tenant(business_name="\u202eOdd\u200b Shop\x1b", slug="odd-shop", vertical="blank",
                           owner_name="\u2067Li\u2069 Na", email="odd@example.com", password="Odd-shop-pass-2026",
                           language="en")
    db.session.commit()
    assert (result.tenant.name, result.owner.name) == ("Odd Shop", "Li Na")


def test_an_api_keys_name_is_stored_without_invisible_characters(tenant_a):
    from tenants.scoping import tenant_context
    from tenants.services.api_keys import create_api_key

    with tenant_context(tenant_a):
        assert create_api_key(SNEAKY, created_by=None).api_key.name == CLEAN
