"""what-if runs: the program editor's replay of the last twelve months under a draft; member list sort indexes

A tenant-owned table with row-level security as in 0002-0016. Indexes on members for the member list's sorts
(joined, points, stored value: their first page read through the index instead of sorting a million members,
bench/RESULTS.md §7), built CONCURRENTLY on PostgreSQL as in 0005.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 02:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


MEMBER_INDEXES = {
    'ix_members_tenant_id_joined_on_id': ['tenant_id', 'joined_on', 'id'],
    'ix_members_tenant_id_points_balance_id': ['tenant_id', 'points_balance', 'id'],
    'ix_members_tenant_id_stored_value_fen_id': ['tenant_id', 'stored_value_fen', 'id'],
}


def _member_indexes(create: bool):
    postgres = op.get_bind().dialect.name == 'postgresql'
    for name, columns in MEMBER_INDEXES.items():
        if create and postgres:
            op.create_index(name, 'members', columns, unique=False, postgresql_concurrently=True, if_not_exists=True)
        elif create:
            op.create_index(name, 'members', columns, unique=False)
        elif postgres:
            op.drop_index(name, table_name='members', postgresql_concurrently=True, if_exists=True)
        else:
            op.drop_index(name, table_name='members')


def upgrade():
    op.create_table('what_if_runs',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('rules', JSON_DOC, nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('today', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('done', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('cursor', sa.BigInteger(), nullable=False),
    sa.Column('attempt', sa.BigInteger(), nullable=True),
    sa.Column('result', JSON_DOC, nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('requested_by', sa.BigInteger(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'requested_by'], ['staff_users.tenant_id', 'staff_users.id'],
                            name=op.f('fk_what_if_runs_tenant_id_requested_by_staff_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_what_if_runs_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_what_if_runs'))
    )
    op.create_index(op.f('ix_what_if_runs_tenant_id_requested_at'), 'what_if_runs', ['tenant_id', 'requested_at'],
                    unique=False)
    enable_tenant_rls(op, 'what_if_runs')
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            _member_indexes(create=True)
    else:
        _member_indexes(create=True)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            _member_indexes(create=False)
    else:
        _member_indexes(create=False)
    disable_tenant_rls(op, 'what_if_runs')
    op.drop_index(op.f('ix_what_if_runs_tenant_id_requested_at'), table_name='what_if_runs')
    op.drop_table('what_if_runs')
