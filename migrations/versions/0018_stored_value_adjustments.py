"""stored-value adjustment requests (four-eyes above the tenant's threshold) and the approver of an entry

A tenant-owned table with row-level security as in 0015; `stored_value_entries.approved_by` names the second
person of an approved manual adjustment, as `points_entries.approved_by` does.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 02:00:00

"""
from alembic import op
import sqlalchemy as sa

from saas.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('stored_value_entries', sa.Column('approved_by', sa.BigInteger(), nullable=True))
    op.create_table('stored_value_adjustment_requests',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('delta_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.BigInteger(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'], name=op.f('fk_stored_value_adjustment_requests_tenant_id_member_id_members')),
    sa.ForeignKeyConstraint(['tenant_id', 'requested_by'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_stored_value_adjustment_requests_tenant_id_requested_by_staff_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'decided_by'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_stored_value_adjustment_requests_tenant_id_decided_by_staff_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_stored_value_adjustment_requests_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stored_value_adjustment_requests'))
    )
    op.create_index(op.f('ix_stored_value_adjustment_requests_tenant_id_status_requested_at'), 'stored_value_adjustment_requests', ['tenant_id', 'status', 'requested_at'], unique=False)
    enable_tenant_rls(op, 'stored_value_adjustment_requests')


def downgrade():
    disable_tenant_rls(op, 'stored_value_adjustment_requests')
    op.drop_index(op.f('ix_stored_value_adjustment_requests_tenant_id_status_requested_at'), table_name='stored_value_adjustment_requests')
    op.drop_table('stored_value_adjustment_requests')
    op.drop_column('stored_value_entries', 'approved_by')
