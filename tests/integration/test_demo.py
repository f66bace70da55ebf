"""`make run` seeds one demo tenant per vertical, with stores and staff in every role, once.

These tests ask for no member history (members=0) to stay fast; tests/integration/test_demo_history.py
covers the history.
"""

from saas.extensions import db
from saas.models import StaffUser, Tenant
from saas.permissions import Role
from tenants.demo.seed import DEMO_PASSWORD, DEMO_TENANTS, seed_demo
from tenants.models import ProgramVersion, Store
from tenants.scoping import tenant_context
from tests.conftest import login


def test_the_demo_has_a_tenant_per_vertical_with_stores_staff_and_a_program(app_ctx):
    logins = seed_demo(members=0)
    tenants = db.session.query(Tenant).order_by(Tenant.slug).all()
    assert {t.vertical for t in tenants} == {"pharmacy", "clothing", "hotel", "mall"}
    for tenant in tenants:
        with tenant_context(tenant):
            stores = db.session.query(Store).all()
            roles = {u.role for u in db.session.query(StaffUser)}
            assert roles == set(Role)
            assert db.session.query(ProgramVersion).count() == 1
            if tenant.vertical == "mall":
                merchants = [s for s in stores if s.kind == "merchant"]
                assert len(merchants) >= 3
                from tenants.programs import program_in_force

                rules = program_in_force()[1].stores
                assert all(m.code in rules for m in merchants)
                assert any(not rules[m.code].honours_card for m in merchants)
            else:
                assert len(stores) == 3
    assert len(logins) == sum(len(u) for u in [[x for x in logins]])
    assert {login.slug for login in logins} == {t.slug for t in DEMO_TENANTS}


def test_seeding_twice_reuses_the_data(app_ctx):
    first = seed_demo(members=0)
    second = seed_demo(members=0)
    assert first == second
    assert db.session.query(Tenant).count() == len(DEMO_TENANTS)


def test_the_demo_logins_work(client, app_ctx):
    logins = seed_demo(members=0)
    clerk = next(x for x in logins if x.slug == "demo-hotel" and x.role == "clerk")
    tenant = db.session.query(Tenant).filter_by(slug="demo-hotel").one()
    response = login(client, tenant, clerk.email, password=DEMO_PASSWORD, follow=True)
    assert response.status_code == 200
    assert "云栖酒店" in response.get_data(as_text=True)


def test_the_mall_store_list_says_which_merchants_do_not_accept_the_card(client, app_ctx):
    logins = seed_demo(members=0)
    owner = next(x for x in logins if x.slug == "demo-mall" and x.role == "owner")
    tenant = db.session.query(Tenant).filter_by(slug="demo-mall").one()
    login(client, tenant, owner.email, password=DEMO_PASSWORD)
    listing = client.get("/t/demo-mall/stores").get_data(as_text=True)
    cinema_row = next(row for row in listing.split("<tr>") if "星汇影城" in row)
    assert "不受理会员卡" in cinema_row
    assert "不受理会员卡" not in next(row for row in listing.split("<tr>") if "悦己美妆" in row)
    with tenant_context(tenant):
        cosmetics = db.session.query(Store).filter_by(code="f1-cosmetics").one()
    page = client.get(f"/t/demo-mall/stores/{cosmetics.id}").get_data(as_text=True)
    assert "原价的 98%" in page and "每 ¥2.00 积 1 分" in page


def test_demo_staff_can_use_the_counter_with_the_printed_pin(app_ctx):
    from saas.passwords import verify_password
    from tenants.demo.seed import DEMO_PIN

    seed_demo(members=0)
    tenant = db.session.query(Tenant).filter_by(slug="demo-clothing").one()
    with tenant_context(tenant):
        staff = db.session.query(StaffUser).all()
        assert staff and all(verify_password(u.pin_hash, DEMO_PIN) for u in staff)
