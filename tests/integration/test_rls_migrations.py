"""Migrations that add a foreign key to tenant tables holding rows validate it against every row,
although row-level security is FORCEd on them (saas/rls.py create_tenant_foreign_key)."""

from __future__ import annotations

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from saas.rls import create_tenant_foreign_key, enable_tenant_rls


@pytest.fixture
def scratch_tables(owner_engine):
    """Two tenant tables with RLS FORCEd, a child row of tenant 7 pointing at no parent."""
    with owner_engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch_parents (tenant_id bigint, id bigint, PRIMARY KEY (tenant_id, id))"))
        conn.execute(text("CREATE TABLE scratch_children (tenant_id bigint, id bigint, parent_id bigint, "
                          "PRIMARY KEY (tenant_id, id))"))
        ops = Operations(MigrationContext.configure(conn))
        for table in ("scratch_parents", "scratch_children"):
            enable_tenant_rls(ops, table)
        conn.execute(text("select set_config('app.tenant_id', '7', true)"))
        conn.execute(text("INSERT INTO scratch_parents VALUES (7, 1)"))
        conn.execute(text("INSERT INTO scratch_children VALUES (7, 1, 1), (7, 2, 99)"))  # 99: no such parent
    yield
    with owner_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS scratch_children, scratch_parents"))


def _add_key(owner_engine, helper: bool) -> None:
    with owner_engine.begin() as conn:
        ops = Operations(MigrationContext.configure(conn))
        args = ("fk_scratch", "scratch_children", "scratch_parents", ["tenant_id", "parent_id"], ["tenant_id", "id"])
        if helper:
            create_tenant_foreign_key(ops, *args)
        else:
            ops.create_foreign_key(*args)


def test_a_plain_foreign_key_on_forced_tables_accepts_a_dangling_row(owner_engine, scratch_tables):
    """The trap the helper exists for: validation under FORCEd RLS sees no rows."""
    _add_key(owner_engine, helper=False)
    with owner_engine.connect() as conn:
        names = conn.execute(text("SELECT conname FROM pg_constraint WHERE conname = 'fk_scratch'")).scalars().all()
    assert names == ["fk_scratch"]


def test_the_helper_validates_every_row_and_leaves_rls_forced(owner_engine, scratch_tables):
    with pytest.raises(IntegrityError):
        _add_key(owner_engine, helper=True)
    with owner_engine.begin() as conn:
        conn.execute(text("select set_config('app.tenant_id', '7', true)"))
        conn.execute(text("DELETE FROM scratch_children WHERE parent_id = 99"))
    _add_key(owner_engine, helper=True)
    with owner_engine.connect() as conn:
        forced = dict(conn.execute(text("SELECT relname, relforcerowsecurity FROM pg_class "
                                        "WHERE relname LIKE 'scratch_%' AND relkind = 'r'")).all())
        assert forced == {"scratch_parents": True, "scratch_children": True}
        assert conn.execute(text("SELECT count(*) FROM scratch_children")).scalar() == 0  # FORCEd: no tenant, no rows
