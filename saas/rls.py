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
