"""member profile: consent per channel with its events, identity changes waiting for HQ, the tenant's logo

Members who agreed to offers before channels were recorded agree on every channel. Tenant-owned tables with
row-level security as in 0002-0015.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 01:40:00

"""
from alembic import op
import sqlalchemy as sa

from saas.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ALL_CHANNELS = 15  # sms | wechat | email | phone (tenants/domain/consent.py)
TABLES = ('consent_events', 'identity_change_requests', 'tenant_logos')


def _staff_fk(table, column):
    return sa.ForeignKeyConstraint(['tenant_id', column], ['staff_users.tenant_id', 'staff_users.id'],
                                   name=op.f(f'fk_{table}_tenant_id_{column}_staff_users'))


def _member_fk(table):
    return sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'],
                                   name=op.f(f'fk_{table}_tenant_id_member_id_members'))


def _tenant_fk(table):
    return sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{table}_tenant_id_tenants'),
                                   ondelete='CASCADE')


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_channels', sa.Integer(), nullable=False, server_default='0'))
    op.execute(f"UPDATE members SET consent_channels = {ALL_CHANNELS} WHERE marketing_consent")

    op.create_table('consent_events',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('staff_id', sa.BigInteger(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    _member_fk('consent_events'), _staff_fk('consent_events', 'staff_id'), _tenant_fk('consent_events'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_consent_events'))
    )
    op.create_index(op.f('ix_consent_events_tenant_id_member_id_at'), 'consent_events',
                    ['tenant_id', 'member_id', 'at'], unique=False)

    op.create_table('identity_change_requests',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.BigInteger(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    _member_fk('identity_change_requests'), _staff_fk('identity_change_requests', 'requested_by'),
    _staff_fk('identity_change_requests', 'decided_by'), _tenant_fk('identity_change_requests'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_identity_change_requests'))
    )
    op.create_index(op.f('ix_identity_change_requests_tenant_id_status_requested_at'), 'identity_change_requests',
                    ['tenant_id', 'status', 'requested_at'], unique=False)

    op.create_table('tenant_logos',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.BigInteger(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    _tenant_fk('tenant_logos'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tenant_logos')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_tenant_logos_tenant_id'))
    )
    for table in TABLES:
        enable_tenant_rls(op, table)


def downgrade():
    for table in TABLES:
        disable_tenant_rls(op, table)
    op.drop_table('tenant_logos')
    op.drop_index(op.f('ix_identity_change_requests_tenant_id_status_requested_at'),
                  table_name='identity_change_requests')
    op.drop_table('identity_change_requests')
    op.drop_index(op.f('ix_consent_events_tenant_id_member_id_at'), table_name='consent_events')
    op.drop_table('consent_events')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('consent_channels')
