"""The schema: Citus-ready keys, row-level security everywhere, migrations that match the models."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import ForeignKeyConstraint, UniqueConstraint, create_engine, inspect, text

from saas import create_app
from saas.extensions import db
from tenants.scoping import TenantOwned

PLATFORM_TABLES = {"tenants", "subscriptions", "processed_stripe_events"}


def tenant_tables():
    return [t for t in db.metadata.sorted_tables if t.name not in PLATFORM_TABLES]


def test_every_table_but_the_platform_ones_is_tenant_owned(app_ctx):
    owned = {m.class_.__table__.name for m in db.Model.registry.mappers if issubclass(m.class_, TenantOwned)}
    assert owned == {t.name for t in tenant_tables()}
    assert len(owned) >= 7


def test_tenant_tables_lead_keys_constraints_and_foreign_keys_with_tenant_id(app_ctx):
    problems = []
    for table in tenant_tables():
        if [c.name for c in table.primary_key.columns] != ["tenant_id", "id"]:
            problems.append(f"{table.name}: primary key {[c.name for c in table.primary_key.columns]}")
        for constraint in table.constraints:
            columns = [c.name for c in constraint.columns]
            if isinstance(constraint, UniqueConstraint) and columns[0] != "tenant_id":
                problems.append(f"{table.name}: unique {columns}")
            if isinstance(constraint, ForeignKeyConstraint):
                target = constraint.referred_table.name
                if target != "tenants" and (columns[0] != "tenant_id"
                                            or constraint.elements[0].column.name != "tenant_id"):
                    problems.append(f"{table.name}: foreign key {columns} -> {target}")
        for index in table.indexes:
            if index.unique and index.columns.keys()[0] != "tenant_id":
                problems.append(f"{table.name}: unique index {index.columns.keys()}")
    assert problems == []


def test_row_level_security_is_enabled_and_forced_on_every_tenant_table(app_ctx):
    rows = db.session.execute(text(
        "select c.relname, c.relrowsecurity, c.relforcerowsecurity, "
        "(select count(*) from pg_policies p where p.tablename = c.relname) "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'public' and c.relkind = 'r'")).all()
    state = {r[0]: (r[1], r[2], r[3]) for r in rows}
    for table in tenant_tables():
        assert state[table.name] == (True, True, 1), table.name


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), db.metadata)
    finally:
        engine.dispose()


def test_migrations_build_the_schema_the_models_describe_on_postgresql(app_ctx):
    assert _diff(os.environ["TEST_MIGRATION_DATABASE_URL"]) == []


@pytest.mark.parametrize("direction", ["up", "down-and-up"])
def test_migrations_run_from_empty_on_sqlite(tmp_path, direction):
    from flask_migrate import downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    sqlite_app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URI": url, "REDIS_URL": None,
                             "TESTING": True})
    with sqlite_app.app_context():
        upgrade()
        if direction == "down-and-up":
            downgrade(revision="base")
            assert inspect(db.engine).get_table_names() == ["alembic_version"]
            upgrade()
        assert _diff(url) == []
        db.session.remove()
        db.engine.dispose()
