"""store foreign keys: cards, top-ups, returns and redemptions name a store of their own tenant

Their store_id had no foreign key, so the API accepted another tenant's store or a made-up id. The
services now refuse those (422 on store_id); this adds the tenant-leading keys (tenant_id, store_id) →
stores(tenant_id, id) underneath.

Existing rows whose store names no store of their tenant (another tenant's, or none at all) cannot be
attributed to any store: their store_id is set to NULL, as for a transaction recorded without a store.
The rows themselves (and their money and points) are untouched.

Tables with FORCEd row-level security look empty to the owner with no tenant set, so both the clean-up
and the validation of the new keys run with the tables un-FORCEd inside this migration's transaction
(saas/rls.py create_tenant_foreign_key; the ALTERs' locks last until the commit).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:30:00

"""
from alembic import op

from saas.rls import create_tenant_foreign_key

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ('cards', 'top_ups', 'purchase_returns', 'redemptions')


def _name(table: str) -> str:
    return f'fk_{table}_tenant_id_store_id_stores'


def _null_dangling_store_ids(table: str) -> None:
    op.execute(
        f'UPDATE {table} SET store_id = NULL WHERE store_id IS NOT NULL AND NOT EXISTS '
        f'(SELECT 1 FROM stores s WHERE s.tenant_id = {table}.tenant_id AND s.id = {table}.store_id)')


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table in TABLES:
        if postgres:
            for forced in (table, 'stores'):
                op.execute(f'ALTER TABLE {forced} NO FORCE ROW LEVEL SECURITY')
            _null_dangling_store_ids(table)
            for forced in (table, 'stores'):
                op.execute(f'ALTER TABLE {forced} FORCE ROW LEVEL SECURITY')
            create_tenant_foreign_key(op, _name(table), table, 'stores', ['tenant_id', 'store_id'],
                                      ['tenant_id', 'id'])
        else:
            _null_dangling_store_ids(table)
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.create_foreign_key(_name(table), 'stores', ['tenant_id', 'store_id'], ['tenant_id', 'id'])


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(_name(table), type_='foreignkey')
