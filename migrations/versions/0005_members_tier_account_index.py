"""members: index (tenant_id, tier_account_id)

Every evaluation of a tier account (a purchase, a return, the daily evaluation, the tier explanation)
loads the activities of the account's members through members.tier_account_id; without an index that
is a scan of the tenant's members (0.2-0.4 s per purchase at a million members, bench/RESULTS.md).

On PostgreSQL the index is built CONCURRENTLY, outside the migration's transaction, so a populated
members table stays writable while it is built.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:00:00

"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

INDEX = 'ix_members_tenant_id_tier_account_id'


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.create_index(INDEX, 'members', ['tenant_id', 'tier_account_id'], unique=False,
                            postgresql_concurrently=True, if_not_exists=True)
    else:
        op.create_index(INDEX, 'members', ['tenant_id', 'tier_account_id'], unique=False)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.drop_index(INDEX, table_name='members', postgresql_concurrently=True, if_exists=True)
    else:
        op.drop_index(INDEX, table_name='members')
