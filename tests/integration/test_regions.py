"""Chain administrators add, rename and delete regions; a region is then chosen for stores and for the
regional supervisor who sees them. Names are unique regardless of case; permissions and tenancy hold."""

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry, StaffUser
from tenants.access import visible_store_ids
from tenants.models import Region, Store
from tenants.scoping import tenant_context
from tenants.services import regions as region_service
from tenants.services.errors import ServiceError
from tenants.services.regions import create_region, delete_region, rename_region
from tests.conftest import csrf_from
from tests.factories import make_staff
from tests.integration.test_store_management import edit_store, english, first_region, stores_of

BASE = "/t/tenant-a"


def post_form(client, page_url: str, action: str, **data):
    page = client.get(page_url)
    assert page.status_code == 200
    return client.post(action, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def add_region(client, name: str):
    return post_form(client, f"{BASE}/regions", f"{BASE}/regions", name=name)


def rename(client, region_id: int, name: str):
    return post_form(client, f"{BASE}/regions/{region_id}/edit", f"{BASE}/regions/{region_id}/edit", name=name)


def delete(client, region_id: int):
    return post_form(client, f"{BASE}/regions", f"{BASE}/regions/{region_id}/delete")


def regions_of(tenant) -> dict[str, Region]:
    """The tenant's regions as committed now, by name, detached."""
    with tenant_context(tenant):
        db.session.rollback()
        regions = {r.name: r for r in db.session.scalars(select(Region))}
        for region in regions.values():
            db.session.expunge(region)
        return regions


def new_region(tenant, name: str) -> Region:
    with tenant_context(tenant):
        region = create_region(name)
        db.session.expunge(region)
        return region


def audit_entries(tenant) -> list[tuple[str, str, int | None, dict]]:
    """(action, target, actor id, details) of the region audit entries, oldest first."""
    with tenant_context(tenant):
        db.session.rollback()
        return [(e.action, e.target, e.actor_id, e.details) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("region.%")).order_by(AuditEntry.at, AuditEntry.id))]


def take_stores_out_of_regions(tenant) -> None:
    with tenant_context(tenant):
        for store in db.session.scalars(select(Store)):
            store.region_id = None
        db.session.commit()


@pytest.fixture
def admin(client, tenant_a, login_as) -> int:
    """A chain administrator of tenant A signed in on `client`, reading English: their staff id."""
    user = login_as("chain_admin")
    english(client)
    with tenant_context(tenant_a):
        return user.id


# --- adding ----------------------------------------------------------------------------------------

def test_a_chain_admin_adds_a_region_that_is_listed_with_an_audit_entry(client, tenant_a, admin):
    listing = client.get(f"{BASE}/stores").get_data(as_text=True)
    assert f'href="{BASE}/regions"' in listing
    page = client.get(f"{BASE}/regions").get_data(as_text=True)
    assert "Add a region" in page and first_region(tenant_a).name in page

    response = add_region(client, "  East China  ")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{BASE}/regions")
    region = regions_of(tenant_a)["East China"]  # trimmed
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Region “East China” added." in page
    assert re.search(r"<td>East China</td>\s*<td>0</td>\s*<td>0</td>", page)
    assert f'action="{BASE}/regions/{region.id}/delete"' in page  # empty: it can be deleted

    assert audit_entries(tenant_a) == [("region.created", f"region:{region.id}", admin, {"name": "East China"})]


def test_the_list_counts_stores_and_staff_and_offers_delete_only_for_empty_regions(client, tenant_a, admin):
    used = first_region(tenant_a)
    make_staff(tenant_a, "regional_supervisor")
    empty = new_region(tenant_a, "West")
    page = client.get(f"{BASE}/regions").get_data(as_text=True)
    assert re.search(rf"<td>{used.name}</td>\s*<td>2</td>\s*<td>1</td>", page)
    assert f"/regions/{used.id}/delete" not in page and f"/regions/{used.id}/edit" in page
    assert f"/regions/{empty.id}/delete" in page


def test_a_name_already_used_in_another_case_is_refused_and_nothing_is_written(client, tenant_a, admin):
    existing = first_region(tenant_a).name
    response = add_region(client, existing.upper())
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="name-error">There is already a region called “{existing.upper()}”.</p>' in html
    assert f'value="{existing.upper()}"' in html  # the input is kept
    assert list(regions_of(tenant_a)) == [existing] and audit_entries(tenant_a) == []


@pytest.mark.parametrize(("name", "message"), [
    ("", "Enter the region&#39;s name."),
    ("   ", "Enter the region&#39;s name."),
    ("x" * 81, "At most 80 characters."),
])
def test_an_empty_or_too_long_name_is_refused_with_the_input_kept(client, tenant_a, admin, name, message):
    response = add_region(client, name)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="name-error">{message}</p>' in html and "Please correct the fields marked below." in html
    assert f'name="name" type="text" value="{name}"' in html
    assert len(regions_of(tenant_a)) == 1 and audit_entries(tenant_a) == []


def test_a_name_of_80_characters_is_accepted(client, tenant_a, admin):
    assert add_region(client, "区" * 80).status_code == 302
    assert "区" * 80 in regions_of(tenant_a)


def test_two_people_adding_the_same_name_at_once_get_the_same_message_not_an_error(tenant_a, monkeypatch):
    existing = first_region(tenant_a).name
    monkeypatch.setattr(region_service, "taken", lambda *args: False)  # the other commit came in between
    with tenant_context(tenant_a), force_locale("en"):  # the messages are compared in English
        with pytest.raises(ServiceError) as refused:
            create_region(existing)
        assert refused.value.fields == {"name": f"There is already a region called “{existing}”."}
        assert db.session.scalar(select(func.count()).select_from(Region)) == 1
    assert audit_entries(tenant_a) == []


# --- renaming --------------------------------------------------------------------------------------

def test_a_region_is_renamed_and_audited(client, tenant_a, admin):
    region = first_region(tenant_a)
    form = client.get(f"{BASE}/regions/{region.id}/edit").get_data(as_text=True)
    assert f'value="{region.name}"' in form and f"Rename {region.name}" in form
    response = rename(client, region.id, " South ")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{BASE}/regions")
    assert "Region “South” saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert regions_of(tenant_a)["South"].id == region.id
    assert audit_entries(tenant_a) == [("region.renamed", f"region:{region.id}", admin,
                                        {"changes": {"name": [region.name, "South"]}})]
    # Changing only the case of its own name is not a clash with itself; an unchanged name writes nothing.
    assert rename(client, region.id, "SOUTH").status_code == 302
    assert rename(client, region.id, "SOUTH").status_code == 302
    assert list(regions_of(tenant_a)) == ["SOUTH"] and len(audit_entries(tenant_a)) == 2


def test_a_rename_to_another_regions_name_is_refused_with_the_input_kept(client, tenant_a, admin):
    region = first_region(tenant_a)
    new_region(tenant_a, "North")
    response = rename(client, region.id, "north")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "There is already a region called “north”." in html and 'value="north"' in html
    assert set(regions_of(tenant_a)) == {region.name, "North"}


# --- deleting --------------------------------------------------------------------------------------

def test_an_empty_region_is_deleted_and_audited(client, tenant_a, admin):
    region = new_region(tenant_a, "Pop-up")
    response = delete(client, region.id)
    assert response.status_code == 302
    assert "Region “Pop-up” deleted." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pop-up" not in regions_of(tenant_a)
    assert audit_entries(tenant_a) == [("region.created", f"region:{region.id}", None, {"name": "Pop-up"}),
                                       ("region.deleted", f"region:{region.id}", admin, {"name": "Pop-up"})]


def test_a_region_is_not_deleted_while_stores_or_staff_belong_to_it(client, tenant_a, admin):
    region = first_region(tenant_a)  # the factory puts both stores in it
    response = delete(client, region.id)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"“{region.name}” cannot be deleted: 2 store(s) and 0 staff member(s) still belong to it." in page
    assert region.name in regions_of(tenant_a) and audit_entries(tenant_a) == []

    take_stores_out_of_regions(tenant_a)
    make_staff(tenant_a, "regional_supervisor", active=False)  # even a deactivated account still names it
    delete(client, region.id)
    page = client.get(f"{BASE}/regions").get_data(as_text=True)
    assert "0 store(s) and 1 staff member(s) still belong to it." in page
    assert region.name in regions_of(tenant_a) and audit_entries(tenant_a) == []


def test_a_store_given_the_region_meanwhile_keeps_it_from_being_deleted(tenant_a, monkeypatch):
    """The check and the delete are not one step: the foreign key refuses, with the same message."""
    take_stores_out_of_regions(tenant_a)
    checked = []
    real_usage = region_service._usage_of

    def usage_then_a_store_moves_in(region_id):
        if not checked:
            checked.append(region_id)
            return 0, 0
        return real_usage(region_id)

    monkeypatch.setattr(region_service, "_usage_of", usage_then_a_store_moves_in)
    with tenant_context(tenant_a), force_locale("en"):  # the messages are compared in English
        region = db.session.scalars(select(Region)).one()
        db.session.scalars(select(Store)).first().region_id = region.id
        db.session.commit()
        with pytest.raises(ServiceError) as refused:
            delete_region(region)
        assert "1 store(s) and 0 staff member(s) still belong to it." in refused.value.fields["region"]
    assert len(regions_of(tenant_a)) == 1 and audit_entries(tenant_a) == []


# --- using a region --------------------------------------------------------------------------------

def test_a_new_region_is_chosen_for_a_store_and_its_supervisor_sees_only_that_regions_stores(
        client, tenant_a, admin):
    add_region(client, "North")
    north = regions_of(tenant_a)["North"]
    store = stores_of(tenant_a)["S001"]
    form = client.get(f"{BASE}/stores/{store.id}/edit").get_data(as_text=True)
    assert f'<option value="{north.id}">North</option>' in form
    assert edit_store(client, store.id, code="S001", name=store.name, kind="store",
                      region_id=str(north.id)).status_code == 302
    assert stores_of(tenant_a)["S001"].region_id == north.id

    invitation = client.get(f"{BASE}/staff/invite").get_data(as_text=True)
    assert f'<option value="{north.id}">North</option>' in invitation
    response = client.post(f"{BASE}/staff/invite", data={
        "csrf_token": csrf_from(invitation), "name": "North lead", "email": "north@example.com",
        "role": "regional_supervisor", "store_id": "", "region_id": str(north.id)})
    assert response.status_code == 200
    link = re.search(r'value="(http://[^"]+/invite/[^"]+)"', response.get_data(as_text=True)).group(1)
    path = link.split("localhost", 1)[1]

    supervisor = client.application.test_client()
    form = supervisor.get(path)
    assert supervisor.post(path, data={"password": "Harbour-view-2026",
                                       "csrf_token": csrf_from(form.get_data(as_text=True))}).status_code == 302
    with tenant_context(tenant_a):
        user = db.session.scalars(select(StaffUser).where(StaffUser.email == "north@example.com")).one()
        assert (user.role, user.region_id) == ("regional_supervisor", north.id)
        assert visible_store_ids(user) == [store.id]
    stores_page = supervisor.get(f"{BASE}/stores").get_data(as_text=True)
    assert ">S001<" in stores_page and ">S002<" not in stores_page
    # The region now has a store and a person: it is listed so and can no longer be deleted.
    page = client.get(f"{BASE}/regions").get_data(as_text=True)
    assert re.search(r"<td>North</td>\s*<td>1</td>\s*<td>1</td>", page)
    assert f"/regions/{north.id}/delete" not in page


def test_without_regions_the_invitation_form_says_where_to_add_one(client, tenant_a, login_as):
    take_stores_out_of_regions(tenant_a)
    with tenant_context(tenant_a):
        delete_region(db.session.scalars(select(Region)).one())
    login_as("owner")
    english(client)
    assert "No regions yet. Regions are for chains with regional supervisors" in client.get(
        f"{BASE}/regions").get_data(as_text=True)
    page = client.get(f"{BASE}/staff/invite").get_data(as_text=True)
    assert "A regional supervisor needs a region, and there are none yet." in page
    assert f'<a href="{BASE}/regions">Add a region</a>' in page and 'name="region_id"' not in page
    response = client.post(f"{BASE}/staff/invite", data={
        "csrf_token": csrf_from(page), "name": "Lead", "email": "lead@example.com",
        "role": "regional_supervisor", "store_id": "", "region_id": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose the region this person supervises." in html and f'href="{BASE}/regions"' in html


def test_a_store_manager_who_cannot_invite_supervisors_is_not_asked_for_a_region(client, tenant_a, login_as):
    login_as("store_manager")
    english(client)
    page = client.get(f"{BASE}/staff/invite").get_data(as_text=True)
    assert 'name="region_id"' not in page and "/regions" not in page


def test_a_region_picked_for_another_role_than_supervisor_is_not_kept(client, tenant_a, admin):
    region, store = first_region(tenant_a), stores_of(tenant_a)["S001"]
    response = post_form(client, f"{BASE}/staff/invite", f"{BASE}/staff/invite", name="Clerk", role="clerk",
                         email="clerk@example.com", store_id=str(store.id), region_id=str(region.id))
    assert response.status_code == 200
    with tenant_context(tenant_a):
        clerk = db.session.scalars(select(StaffUser).where(StaffUser.email == "clerk@example.com")).one()
        assert (clerk.store_id, clerk.region_id) == (store.id, None)


# --- who may -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["clerk", "store_manager", "vip_specialist", "regional_supervisor"])
def test_only_owners_and_chain_admins_manage_regions(client, tenant_a, login_as, role):
    login_as(role)
    region = first_region(tenant_a)
    empty = new_region(tenant_a, "Empty")
    listing = client.get(f"{BASE}/stores").get_data(as_text=True)
    assert "/regions" not in listing
    token = csrf_from(listing)
    assert client.get(f"{BASE}/regions").status_code == 403
    assert client.post(f"{BASE}/regions", data={"csrf_token": token, "name": "Mine"}).status_code == 403
    assert client.get(f"{BASE}/regions/{region.id}/edit").status_code == 403
    assert client.post(f"{BASE}/regions/{region.id}/edit",
                       data={"csrf_token": token, "name": "Taken over"}).status_code == 403
    assert client.post(f"{BASE}/regions/{empty.id}/delete", data={"csrf_token": token}).status_code == 403
    assert set(regions_of(tenant_a)) == {region.name, "Empty"}
    assert [action for action, *_ in audit_entries(tenant_a)] == ["region.created"]


def test_the_owner_manages_regions_too(client, tenant_a, login_as):
    login_as("owner")
    assert f'href="{BASE}/regions"' in client.get(f"{BASE}/stores").get_data(as_text=True)
    assert add_region(client, "Owner's region").status_code == 302


def test_signing_in_is_required(client, tenant_a):
    response = client.get(f"{BASE}/regions")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_tenants_region_is_not_found(client, tenant_a, tenant_b, admin):
    foreign = new_region(tenant_b, "B's empty region")
    token = csrf_from(client.get(f"{BASE}/regions").get_data(as_text=True))
    assert client.get(f"{BASE}/regions/{foreign.id}/edit").status_code == 404
    assert client.post(f"{BASE}/regions/{foreign.id}/edit",
                       data={"csrf_token": token, "name": "Taken over"}).status_code == 404
    assert client.post(f"{BASE}/regions/{foreign.id}/delete", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{BASE}/regions/99999999999999999999999/edit").status_code == 404
    assert client.post(f"{BASE}/regions/99999999999999999999999/delete",
                       data={"csrf_token": token}).status_code == 404
    assert "B's empty region" not in client.get(f"{BASE}/regions").get_data(as_text=True)
    assert "B's empty region" in regions_of(tenant_b) and audit_entries(tenant_a) == []


def test_services_keep_names_unique_without_regard_to_case_per_tenant(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        create_region("Coast")
        with pytest.raises(ServiceError) as refused:
            create_region("COAST ")
        db.session.rollback()
        assert list(refused.value.fields) == ["name"]
        region = rename_region(db.session.scalars(select(Region).where(Region.name == "Coast")).one(), "coast")
        assert region.name == "coast"
    with tenant_context(tenant_b):
        assert create_region("Coast").name == "Coast"  # another tenant may use the same name
