"""A new owner's dashboard: the first steps, each ticked off by real data, and the staff sign-in address."""

from __future__ import annotations

import copy
import re

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.signup import create_tenant
from tenants.models import ProgramVersion, Store
from tenants.scoping import tenant_context
from tests.conftest import login
from tests.factories import PASSWORD, make_staff, make_tenant
from tests.integration.test_counter import enrol, register_tablet


def steps_shown(html: str) -> dict[str, bool]:
    return {code: "step-done" in classes for classes, code in
            re.findall(r'<li class="step ([^"]*)" data-step="([a-z]+)">', html)}


@pytest.fixture
def new_shop(app_ctx):
    """A shop as sign-up leaves it: the owner, one store, the preset program (version 1)."""
    tenant = create_tenant(business_name="新店", slug="new-shop", vertical="pharmacy", owner_name="Owner",
                           email="owner@new-shop.example.com", password=PASSWORD, language="en").tenant
    db.session.commit()
    return tenant


def test_a_new_owner_sees_the_first_steps_and_the_staff_sign_in_address(client, new_shop):
    login(client, new_shop, "owner@new-shop.example.com")
    page = client.get("/t/new-shop/").get_data(as_text=True)
    assert steps_shown(page) == {"program": False, "stores": False, "staff": False, "tablet": False,
                                 "members": False}
    assert "0 of 5 done" in page
    assert 'value="http://localhost/t/new-shop/login"' in page  # absolute, to send to staff
    for link in ("/t/new-shop/stores/new", "/t/new-shop/staff/invite", "/t/new-shop/counter",
                 "/t/new-shop/members/import", "/t/new-shop/settings/api-keys"):
        assert f'href="{link}"' in page


def test_each_step_is_ticked_off_by_real_data_and_the_list_goes_away_when_all_are_done(client, new_shop):
    login(client, new_shop, "owner@new-shop.example.com")
    other = make_tenant("other-shop", vertical="pharmacy")  # another tenant's data never ticks a step
    make_staff(other, "clerk")
    enrol(other)
    register_tablet(other)
    assert not any(steps_shown(client.get("/t/new-shop/").get_data(as_text=True)).values())

    with tenant_context(new_shop):
        db.session.add(Store(code="S002", name="二店"))
        db.session.commit()
    assert steps_shown(client.get("/t/new-shop/").get_data(as_text=True))["stores"] is True
    make_staff(new_shop, "clerk")
    register_tablet(new_shop)
    enrol(new_shop)
    page = client.get("/t/new-shop/").get_data(as_text=True)
    assert steps_shown(page) == {"program": False, "stores": True, "staff": True, "tablet": True, "members": True}
    assert "4 of 5 done" in page
    with tenant_context(new_shop):
        current = db.session.scalars(select(ProgramVersion)).one()
        db.session.add(ProgramVersion(version=2, effective_from=current.effective_from,
                                      rules=copy.deepcopy(current.rules), note="our own tiers"))
        db.session.commit()
    page = client.get("/t/new-shop/").get_data(as_text=True)
    assert 'class="card onboarding"' not in page and "Welcome, Owner" in page


def test_the_chain_admin_sees_the_checklist_and_a_store_manager_does_not(client, new_shop):
    admin = make_staff(new_shop, "chain_admin")
    login(client, new_shop, admin.email)
    page = client.get("/t/new-shop/").get_data(as_text=True)
    assert 'class="card onboarding"' in page and steps_shown(page)["staff"] is True
    assert 'href="/t/new-shop/settings/api-keys"' not in page  # API keys are the owner's
    manager = make_staff(new_shop, "store_manager")
    client.post("/t/new-shop/logout", data={"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
                                                     .group(1)})
    login(client, new_shop, manager.email)
    page = client.get("/t/new-shop/").get_data(as_text=True)
    assert "Welcome" in page and 'class="card onboarding"' not in page
