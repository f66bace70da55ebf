"""audit_log: append-only for the app — no UPDATE, DELETE or TRUNCATE for any role but the schema owner

The app's role keeps INSERT and SELECT, so a compromised or buggy app cannot rewrite who did what. The
owner (migrations, an operator's erasure of a whole tenant) keeps every right. PostgreSQL only: the
embedded SQLite default has no database roles.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 18:35:00

"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _for_grantees(privilege_sql: str, having: str) -> None:
    op.execute(f"""
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
           WHERE table_schema = current_schema() AND table_name = 'audit_log'
             AND privilege_type = '{having}' AND grantee <> current_user
  LOOP
    EXECUTE format('{privilege_sql}', r.grantee);
  END LOOP;
END $$;
""")


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    _for_grantees('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I', 'INSERT')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    _for_grantees('GRANT UPDATE, DELETE ON audit_log TO %I', 'INSERT')
