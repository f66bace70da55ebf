"""Chain administrators add, edit, deactivate and reactivate stores (and mall alliance merchants);
the plan's store limit, program rules keyed by store code, permissions and tenancy hold."""

import copy
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from saas.billing import entitlements
from saas.billing.plans import PLANS
from saas.extensions import db
from saas.models import AuditEntry
from tenants.models import Region, Store
from tenants.programs import business_today
from tenants.scoping import tenant_context
from tenants.services.errors import ServiceError
from tenants.services.programs import latest_program_version, post_program_version
from tenants.services.stores import create_store, set_active, update_store
from tests.conftest import csrf_from
from tests.integration.billing_support import set_subscription, states, switch_billing_on

BASE = "/t/tenant-a"


def english(client):
    page = client.get("/")
    client.post("/lang", data={"lang": "en", "next": "/", "csrf_token": csrf_from(page.get_data(as_text=True))})


def form_values(**values) -> dict:
    return {"code": "S100", "name": "Riverside", "kind": "store", "region_id": "", "floor": "", **values}


def add_store(client, **values):
    page = client.get(f"{BASE}/stores/new")
    assert page.status_code == 200
    return client.post(f"{BASE}/stores/new",
                       data={"csrf_token": csrf_from(page.get_data(as_text=True)), **form_values(**values)})


def edit_store(client, store_id, **values):
    page = client.get(f"{BASE}/stores/{store_id}/edit")
    assert page.status_code == 200
    return client.post(f"{BASE}/stores/{store_id}/edit",
                       data={"csrf_token": csrf_from(page.get_data(as_text=True)), **values})


def toggle(client, store_id, active: str | None = None):
    token = csrf_from(client.get(f"{BASE}/stores").get_data(as_text=True))
    data = {"csrf_token": token} | ({"active": active} if active is not None else {})
    return client.post(f"{BASE}/stores/{store_id}/active", data=data)


def stores_of(tenant) -> dict[str, Store]:
    """The tenant's stores as committed now, detached (readable outside the tenant context)."""
    with tenant_context(tenant):
        db.session.rollback()  # see what the app committed since
        stores = {s.code: s for s in db.session.scalars(select(Store))}
        for store in stores.values():
            db.session.expunge(store)
        return stores


def first_region(tenant) -> Region:
    with tenant_context(tenant):
        region = db.session.scalars(select(Region)).first()
        db.session.expunge(region)
        return region


def audit_actions(tenant) -> list[tuple[str, str]]:
    with tenant_context(tenant):
        db.session.rollback()
        return [(a.action, a.target) for a in db.session.scalars(select(AuditEntry).where(
            AuditEntry.action.like("store.%")).order_by(AuditEntry.at, AuditEntry.id))]


def name_store_in_program(tenant, code: str) -> None:
    """A new program version with a merchant rule keyed by `code` (the mall's per-merchant rates)."""
    with tenant_context(tenant):
        rules = copy.deepcopy(latest_program_version().rules)
        rules["stores"] = {code: {"honours_card": False}}
        post_program_version(rules, business_today(), note="merchant rule")


@pytest.fixture
def admin(client, tenant_a, login_as):
    user = login_as("chain_admin")
    english(client)
    return user


# --- adding ----------------------------------------------------------------------------------------

def test_a_chain_admin_adds_a_store_that_appears_in_the_list_with_an_audit_entry(client, tenant_a, admin):
    region = first_region(tenant_a)
    listing = client.get(f"{BASE}/stores").get_data(as_text=True)
    assert "Add a store" in listing and f'href="{BASE}/stores/new"' in listing

    response = add_store(client, code="f3-fashion", name="衣橱时装", kind="merchant", region_id=str(region.id),
                         floor="3F")
    store = stores_of(tenant_a)["f3-fashion"]
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/stores/{store.id}")
    assert (store.name, store.kind, store.region_id, store.floor, store.active) == ("衣橱时装", "merchant", region.id,
                                                                                   "3F", True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Store “衣橱时装” added." in page and "Merchant (mall)" in page and "3F" in page
    assert "f3-fashion" in client.get(f"{BASE}/stores").get_data(as_text=True)
    assert audit_actions(tenant_a) == [("store.created", f"store:{store.id}")]
    with tenant_context(tenant_a):
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "store.created")).one()
        assert entry.actor_id == admin.id and entry.details["code"] == "f3-fashion"


def test_a_code_already_used_in_another_case_is_refused_and_nothing_is_written(client, tenant_a, admin):
    before = len(stores_of(tenant_a))
    response = add_store(client, code="s001", name="Copy")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Another store already has the code “s001”." in html
    assert 'value="Copy"' in html and 'value="s001"' in html  # the input is kept
    assert len(stores_of(tenant_a)) == before and audit_actions(tenant_a) == []


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"kind": "warehouse"}, "kind", "Choose a store or a mall merchant."),
    ({"name": "   "}, "name", "Enter the store&#39;s name."),
    ({"name": "x" * 121}, "name", "At most 120 characters."),
    ({"code": ""}, "code", "Enter a code."),
    ({"code": "S 1"}, "code", "Use 1 to 20 letters, digits, - or _."),
    ({"code": "门店1"}, "code", "Use 1 to 20 letters, digits, - or _."),
    ({"code": "x" * 21}, "code", "Use 1 to 20 letters, digits, - or _."),
    ({"floor": "x" * 21}, "floor", "At most 20 characters."),
    ({"region_id": "123"}, "region_id", "Unknown region."),
    ({"region_id": "not-a-number"}, "region_id", "Unknown region."),
    ({"region_id": "99999999999999999999999"}, "region_id", "Unknown region."),
])
def test_bad_input_is_refused_next_to_its_field_with_the_input_kept(client, tenant_a, admin, values, field, message):
    response = add_store(client, **{"name": "Kept name", **values})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error">{message}</p>' in html
    assert "Please correct the fields marked below." in html
    if field != "name":
        assert 'value="Kept name"' in html
    assert "S100" not in stores_of(tenant_a) and audit_actions(tenant_a) == []


def test_the_region_of_another_tenant_is_unknown(client, tenant_a, tenant_b, admin):
    foreign = first_region(tenant_b)
    response = add_store(client, region_id=str(foreign.id))
    assert response.status_code == 422 and "Unknown region." in response.get_data(as_text=True)


def test_the_form_is_in_chinese_by_default(client, tenant_a, login_as):
    login_as("owner")
    html = client.get(f"{BASE}/stores/new").get_data(as_text=True)
    assert "编号" in html and "楼层" in html and "区域" in html


# --- editing ---------------------------------------------------------------------------------------

def test_name_kind_and_floor_are_edited_and_audited(client, tenant_a, admin):
    store = stores_of(tenant_a)["S002"]
    form = client.get(f"{BASE}/stores/{store.id}/edit").get_data(as_text=True)
    assert f'value="{store.name}"' in form and 'value="S002"' in form
    response = edit_store(client, store.id, code="S002", name="Mall counter", kind="merchant", floor="B1",
                          region_id=str(store.region_id))
    assert response.status_code == 302
    edited = stores_of(tenant_a)["S002"]
    assert (edited.name, edited.kind, edited.floor, edited.region_id) == ("Mall counter", "merchant", "B1",
                                                                          store.region_id)
    assert audit_actions(tenant_a) == [("store.updated", f"store:{store.id}")]
    with tenant_context(tenant_a):
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "store.updated")).one()
        assert entry.details["changes"] == {"name": [store.name, "Mall counter"], "kind": ["store", "merchant"],
                                            "floor": ["", "B1"]}


def test_a_bad_edit_is_refused_with_the_input_kept(client, tenant_a, admin):
    store = stores_of(tenant_a)["S002"]
    response = edit_store(client, store.id, code="S001", name="Renamed", kind="store", floor="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Another store already has the code “S001”." in html and 'value="Renamed"' in html
    assert stores_of(tenant_a)["S002"].name == store.name


def test_the_code_can_change_while_no_program_rule_names_it(client, tenant_a, admin):
    store = stores_of(tenant_a)["S002"]
    assert edit_store(client, store.id, code="s002-new", name=store.name, kind="store").status_code == 302
    assert stores_of(tenant_a)["s002-new"].id == store.id
    # Changing only the case of one's own code is not a clash with oneself.
    assert edit_store(client, store.id, code="S002-NEW", name=store.name, kind="store").status_code == 302


def test_the_code_of_a_store_that_program_rules_name_cannot_change(client, tenant_a, admin):
    store = stores_of(tenant_a)["S002"]
    name_store_in_program(tenant_a, "S002")
    form = client.get(f"{BASE}/stores/{store.id}/edit").get_data(as_text=True)
    assert "The program rules refer to this code, so it cannot be changed." in form and "readonly" in form
    response = edit_store(client, store.id, code="S003", name="Renamed", kind="store")
    assert response.status_code == 422
    assert "The program rules refer to this store by its code “S002”" in response.get_data(as_text=True)
    assert stores_of(tenant_a)["S002"].name == store.name  # nothing written
    # Everything but the code still changes.
    assert edit_store(client, store.id, code="S002", name="Renamed", kind="merchant").status_code == 302
    assert stores_of(tenant_a)["S002"].name == "Renamed"


def test_the_service_refuses_fields_it_does_not_edit(tenant_a):
    with tenant_context(tenant_a):
        store = db.session.scalars(select(Store).where(Store.code == "S002")).one()
        with pytest.raises(ServiceError) as refused:
            update_store(store, {"active": False})
        assert list(refused.value.fields) == ["active"] and refused.value.code == "validation_failed"


# --- deactivating ----------------------------------------------------------------------------------

def test_a_store_is_deactivated_and_reactivated_keeping_its_history(client, tenant_a, admin):
    store = stores_of(tenant_a)["S002"]
    page = client.get(f"{BASE}/stores/{store.id}").get_data(as_text=True)
    assert ">Deactivate</button>" in page and ">Edit</a>" in page

    response = toggle(client, store.id, "0")
    assert response.status_code == 302
    assert stores_of(tenant_a)["S002"].active is False
    page = client.get(f"{BASE}/stores/{store.id}").get_data(as_text=True)
    assert "is deactivated" in page and ">Reactivate</button>" in page
    assert "Deactivated" in client.get(f"{BASE}/stores").get_data(as_text=True)  # still listed
    with tenant_context(tenant_a):
        assert entitlements.usage()["stores"] == 1

    toggle(client, store.id, "0")  # already so: nothing happens
    assert toggle(client, store.id).status_code == 302  # no value: toggles
    assert stores_of(tenant_a)["S002"].active is True
    assert audit_actions(tenant_a) == [("store.deactivated", f"store:{store.id}"),
                                       ("store.reactivated", f"store:{store.id}")]


# --- the plan's limit ------------------------------------------------------------------------------

def limit_stores(monkeypatch, key: str, stores: int) -> None:
    plan = PLANS[key]
    monkeypatch.setitem(PLANS, key, dataclasses.replace(plan, limits=dataclasses.replace(plan.limits, stores=stores)))


@pytest.fixture
def billing(app, monkeypatch, stripe_api_base):
    switch_billing_on(app, monkeypatch, stripe_api_base)


def test_the_plans_store_limit_refuses_a_new_store_with_its_message_and_writes_nothing(
        billing, client, tenant_a, admin, monkeypatch):
    set_subscription(tenant_a, **states()["trialing"])
    limit_stores(monkeypatch, "trial", 2)  # the two stores tenant A has
    response = add_store(client)
    assert response.status_code == 402
    html = response.get_data(as_text=True)
    assert "Your plan “Free trial” allows 2 stores. Upgrade your plan to add more." in html
    assert "Only the owner can change the plan" in html  # a chain admin cannot upgrade; the owner can
    assert "S100" not in stores_of(tenant_a) and audit_actions(tenant_a) == []

    limit_stores(monkeypatch, "trial", 3)
    assert add_store(client).status_code == 302


def test_the_owner_is_offered_the_upgrade_when_the_limit_is_reached(billing, client, tenant_a, login_as,
                                                                   monkeypatch):
    login_as("owner")
    english(client)
    set_subscription(tenant_a, **states()["trialing"])
    limit_stores(monkeypatch, "trial", 2)
    html = add_store(client).get_data(as_text=True)
    assert "allows 2 stores" in html and f'href="{BASE}/settings/billing"' in html


def test_reactivating_counts_against_the_limit_of_active_stores(billing, client, tenant_a, admin, monkeypatch):
    set_subscription(tenant_a, **states()["trialing"])
    store = stores_of(tenant_a)["S002"]
    assert toggle(client, store.id, "0").status_code == 302
    limit_stores(monkeypatch, "trial", 2)
    assert add_store(client).status_code == 302  # the deactivated store frees its place
    response = toggle(client, store.id, "1")
    assert response.status_code == 402 and "allows 2 stores" in response.get_data(as_text=True)
    assert stores_of(tenant_a)["S002"].active is False


def test_the_service_checks_the_limit_before_anything_else(app, billing, tenant_a, monkeypatch):
    set_subscription(tenant_a, **states()["trialing"])
    limit_stores(monkeypatch, "trial", 2)
    with tenant_context(tenant_a):
        with pytest.raises(entitlements.PlanLimitReached):
            create_store("S100", "Riverside", "store", None, "", actor_id=None)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Store)) == 2


# --- who may -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["clerk", "store_manager", "vip_specialist", "regional_supervisor"])
def test_only_owners_and_chain_admins_manage_stores(client, tenant_a, login_as, role):
    login_as(role)
    store = stores_of(tenant_a)["S001"]
    listing = client.get(f"{BASE}/stores").get_data(as_text=True)
    assert "/stores/new" not in listing
    assert f"/stores/{store.id}/edit" not in client.get(f"{BASE}/stores/{store.id}").get_data(as_text=True)
    token = csrf_from(listing)
    assert client.get(f"{BASE}/stores/new").status_code == 403
    assert client.post(f"{BASE}/stores/new", data={"csrf_token": token, **form_values()}).status_code == 403
    assert client.get(f"{BASE}/stores/{store.id}/edit").status_code == 403
    assert client.post(f"{BASE}/stores/{store.id}/edit",
                       data={"csrf_token": token, **form_values(code="S001")}).status_code == 403
    assert client.post(f"{BASE}/stores/{store.id}/active", data={"csrf_token": token}).status_code == 403
    assert "S100" not in stores_of(tenant_a) and stores_of(tenant_a)["S001"].active is True


def test_the_owner_manages_stores_too(client, tenant_a, login_as):
    login_as("owner")
    assert add_store(client).status_code == 302


def test_another_tenants_store_is_not_found(client, tenant_a, tenant_b, admin):
    foreign = stores_of(tenant_b)["S002"]
    token = csrf_from(client.get(f"{BASE}/stores").get_data(as_text=True))
    assert client.get(f"{BASE}/stores/{foreign.id}/edit").status_code == 404
    assert client.post(f"{BASE}/stores/{foreign.id}/edit",
                       data={"csrf_token": token, **form_values(code="S002", name="Taken over")}).status_code == 404
    assert client.post(f"{BASE}/stores/{foreign.id}/active", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{BASE}/stores/99999999999999999999999/edit").status_code == 404
    assert client.get(f"{BASE}/stores/99999999999999999999999").status_code == 404
    after = stores_of(tenant_b)["S002"]
    assert (after.name, after.active) == (foreign.name, True)


def test_services_keep_codes_unique_without_regard_to_case(tenant_a):
    with tenant_context(tenant_a):
        store = create_store("abc", "One", "store", None, "", actor_id=None)
        with pytest.raises(ServiceError) as refused:
            create_store("ABC", "Two", "store", None, "", actor_id=None)
        db.session.rollback()
        assert "code" in refused.value.fields
        set_active(store, False)
        with pytest.raises(ServiceError):
            create_store("Abc", "Three", "store", None, "", actor_id=None)  # a deactivated store keeps its code


def test_the_opening_day_is_set_on_the_form_and_a_bad_date_is_refused_with_the_input_kept(client, tenant_a, admin):
    store = stores_of(tenant_a)["S002"]
    values = {"code": "S002", "name": store.name, "kind": "store", "region_id": str(store.region_id), "floor": ""}
    bad = edit_store(client, store.id, **values, opened_on="2026-02-30")
    assert bad.status_code == 422 and 'value="2026-02-30"' in bad.get_data(as_text=True)
    assert stores_of(tenant_a)["S002"].opened_on is None
    assert edit_store(client, store.id, **values, opened_on="2026-03-01").status_code == 302
    assert stores_of(tenant_a)["S002"].opened_on == dt.date(2026, 3, 1)
    assert "2026" in client.get(f"{BASE}/stores/{store.id}").get_data(as_text=True)
