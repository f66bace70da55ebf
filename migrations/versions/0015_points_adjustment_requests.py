"""points adjustment requests: manual adjustments above the tenant's threshold wait for a second person

A tenant-owned table with row-level security as in 0002-0007.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 21:00:00

"""
from alembic import op
import sqlalchemy as sa

from saas.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('points_adjustment_requests',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.BigInteger(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'], name=op.f('fk_points_adjustment_requests_tenant_id_member_id_members')),
    sa.ForeignKeyConstraint(['tenant_id', 'requested_by'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_points_adjustment_requests_tenant_id_requested_by_staff_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'decided_by'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_points_adjustment_requests_tenant_id_decided_by_staff_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_points_adjustment_requests_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_points_adjustment_requests'))
    )
    op.create_index(op.f('ix_points_adjustment_requests_tenant_id_status_requested_at'), 'points_adjustment_requests', ['tenant_id', 'status', 'requested_at'], unique=False)
    enable_tenant_rls(op, 'points_adjustment_requests')


def downgrade():
    disable_tenant_rls(op, 'points_adjustment_requests')
    op.drop_index(op.f('ix_points_adjustment_requests_tenant_id_status_requested_at'), table_name='points_adjustment_requests')
    op.drop_table('points_adjustment_requests')
