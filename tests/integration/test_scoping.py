"""The tenancy guard: ORM criteria, stamping on insert, failing closed, and RLS underneath on PostgreSQL."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from saas.extensions import db
from saas.models import StaffUser
from tenants.models import Region, Store
from tenants.scoping import CrossTenantError, NoTenantError, current_tenant_or_none, tenant_context


def test_queries_see_only_the_current_tenants_rows(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        codes = {(s.tenant_id, s.code) for s in db.session.scalars(select(Store))}
        assert codes == {(tenant_a.id, "S001"), (tenant_a.id, "S002")}
    with tenant_context(tenant_b):
        assert {s.tenant_id for s in db.session.scalars(select(Store))} == {tenant_b.id}


def test_joins_and_aliases_are_scoped_too(tenant_a, tenant_b):
    from sqlalchemy.orm import aliased

    with tenant_context(tenant_a):
        other = aliased(Store)
        rows = db.session.execute(
            select(StaffUser.tenant_id, other.tenant_id).join(other, other.id == StaffUser.store_id)
        ).all()
        assert rows and all(row == (tenant_a.id, tenant_a.id) for row in rows)
        # Even a where clause naming the other tenant finds nothing.
        assert db.session.scalars(select(Store).where(Store.tenant_id == tenant_b.id)).all() == []


def test_get_by_another_tenants_key_finds_nothing(tenant_a, tenant_b):
    with tenant_context(tenant_b):
        store_b = db.session.scalars(select(Store)).first()
    db.session.expunge_all()
    with tenant_context(tenant_a):
        assert db.session.get(Store, (tenant_a.id, store_b.id)) is None


def test_objects_already_in_the_session_do_not_leak_into_another_tenants_queries(tenant_a, tenant_b):
    with tenant_context(tenant_b):
        loaded_b = db.session.scalars(select(Store)).all()
        assert loaded_b
    with tenant_context(tenant_a):
        seen = db.session.scalars(select(Store)).all()
        assert not {id(s) for s in seen} & {id(s) for s in loaded_b}
        assert all(s.tenant_id == tenant_a.id for s in seen)


def test_touching_tenant_data_with_no_tenant_raises(tenant_a):
    assert current_tenant_or_none() is None
    with pytest.raises(NoTenantError):
        db.session.scalars(select(Store)).all()
    with pytest.raises(NoTenantError):
        db.session.add(Region(name="nowhere"))
        db.session.flush()
    db.session.rollback()


def test_new_rows_are_stamped_with_the_current_tenant_and_foreign_ones_refused(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        region = Region(name="Stamped")
        db.session.add(region)
        db.session.flush()
        assert region.tenant_id == tenant_a.id
        db.session.add(Region(name="Smuggled", tenant_id=tenant_b.id))
        with pytest.raises(CrossTenantError):
            db.session.flush()
        db.session.rollback()


def test_changing_a_row_while_another_tenant_is_current_is_refused(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        store = db.session.scalars(select(Store)).first()
    with tenant_context(tenant_b):
        store.name = "hijacked"
        with pytest.raises(CrossTenantError):
            db.session.flush()
        db.session.rollback()


def test_tenant_context_restores_the_previous_tenant(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        with tenant_context(tenant_b):
            assert current_tenant_or_none().id == tenant_b.id
        assert current_tenant_or_none().id == tenant_a.id
    assert current_tenant_or_none() is None


def test_row_level_security_blocks_raw_sql_that_bypasses_the_orm(tenant_a, tenant_b):
    # Raw SQL skips the ORM criteria; PostgreSQL still shows only the current tenant's rows.
    with tenant_context(tenant_a):
        tenants = {r[0] for r in db.session.execute(text("select tenant_id from stores"))}
        assert tenants == {tenant_a.id}
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.execute(text("insert into regions (tenant_id, id, name) values (:t, 1, 'x')"),
                               {"t": tenant_b.id})
        db.session.rollback()
    db.session.commit()
    # With no tenant set the database returns nothing at all.
    assert db.session.execute(text("select count(*) from stores")).scalar() == 0
    assert db.session.execute(text("select count(*) from staff_users")).scalar() == 0
    db.session.rollback()


def test_the_app_connects_as_a_role_that_cannot_bypass_row_level_security(app_ctx):
    row = db.session.execute(text(
        "select rolsuper, rolbypassrls, current_user from pg_roles where rolname = current_user")).one()
    assert row[0] is False and row[1] is False
    owner = db.session.execute(text("select tableowner from pg_tables where tablename = 'stores'")).scalar()
    assert owner != row[2]


def test_the_orm_guard_alone_scopes_statements_without_an_entity_on_sqlite(tmp_path):
    """SQLite has no row-level security: the ORM criteria must catch every shape of statement."""
    import datetime as dt

    from sqlalchemy import func

    from saas import create_app
    from saas.models import Tenant
    from tenants.models import Member

    url = f"sqlite:///{tmp_path / 'guard.db'}"
    sqlite_app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URI": url, "REDIS_URL": None,
                             "TESTING": True})
    with sqlite_app.app_context():
        db.create_all()
        a = Tenant(id=1, slug="guard-a", name="A", owner_email="a@guard.example.com")
        b = Tenant(id=2, slug="guard-b", name="B", owner_email="b@guard.example.com")
        db.session.add_all([a, b])
        db.session.commit()
        with tenant_context(a):
            db.session.add(Member(phone="13800000000", joined_on=dt.date(2026, 1, 1), tier_account_id=1))
            db.session.commit()
        with tenant_context(b):
            assert db.session.scalar(select(func.count()).where(Member.phone == "13800000000")) == 0
            assert db.session.scalar(select(func.count()).select_from(Member)) == 0
            assert db.session.scalar(select(func.count(Member.id))) == 0
            assert db.session.scalars(select(Member.phone)).all() == []
        with tenant_context(a):
            assert db.session.scalar(select(func.count()).select_from(Member)) == 1
        with pytest.raises(NoTenantError):
            db.session.scalar(select(func.count()).where(Member.phone == "13800000000"))
        db.session.remove()
        db.engine.dispose()
