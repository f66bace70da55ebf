"""PostgreSQL row-level security for tenant-owned tables, used by the migrations.

The app sets `app.tenant_id` per transaction (tenants/scoping.py); a row is visible and writable
only when its tenant_id equals it. FORCE makes the policy apply to the table owner too; only a
superuser or a BYPASSRLS role would pass, and the app must connect as neither.
"""

from __future__ import annotations

TENANT_EXPR = "nullif(current_setting('app.tenant_id', true), '')::bigint"


def enable_tenant_rls(op, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {TENANT_EXPR}) "
        f"WITH CHECK (tenant_id = {TENANT_EXPR})"
    )


def disable_tenant_rls(op, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def create_tenant_foreign_key(op, name: str | None, source: str, referent: str, local_cols: list[str],
                              remote_cols: list[str], **kw) -> None:
    """`op.create_foreign_key` for tenant tables that may already hold rows.

    PostgreSQL validates a new foreign key with a query that row-level security filters when it is
    FORCEd on the tables: run by the owner with no `app.tenant_id`, it sees no rows and accepts any
    dangling key (found by the benchmarks, bench/RESULTS.md). So the tables are un-FORCEd for the
    validation and FORCEd again in the same transaction; the ACCESS EXCLUSIVE lock the ALTERs take
    lasts until the commit, so no other session ever sees them un-FORCEd.
    """
    postgres = op.get_bind().dialect.name == "postgresql"
    tables = sorted({source, referent})
    if postgres:
        for table in tables:
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.create_foreign_key(name, source, referent, local_cols, remote_cols, **kw)
    if postgres:
        for table in tables:
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
