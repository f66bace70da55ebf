"""program drafts and publish requests: the back office's program editor and the owner's approval of a version

Tenant-owned tables with row-level security as in 0002-0015.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 01:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from saas.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _staff_fk(table, column):
    return sa.ForeignKeyConstraint(['tenant_id', column], ['staff_users.tenant_id', 'staff_users.id'],
                                   name=op.f(f'fk_{table}_tenant_id_{column}_staff_users'))


def upgrade():
    op.create_table('program_drafts',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('rules', JSON_DOC, nullable=False),
    sa.Column('based_on_version', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    _staff_fk('program_drafts', 'updated_by'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_program_drafts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_program_drafts')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_program_drafts_tenant_id'))
    )
    enable_tenant_rls(op, 'program_drafts')
    op.create_table('program_publish_requests',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('rules', JSON_DOC, nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('based_on_version', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.BigInteger(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    _staff_fk('program_publish_requests', 'requested_by'),
    _staff_fk('program_publish_requests', 'decided_by'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_program_publish_requests_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_program_publish_requests'))
    )
    op.create_index(op.f('ix_program_publish_requests_tenant_id_status_requested_at'), 'program_publish_requests',
                    ['tenant_id', 'status', 'requested_at'], unique=False)
    enable_tenant_rls(op, 'program_publish_requests')


def downgrade():
    disable_tenant_rls(op, 'program_publish_requests')
    op.drop_index(op.f('ix_program_publish_requests_tenant_id_status_requested_at'), table_name='program_publish_requests')
    op.drop_table('program_publish_requests')
    disable_tenant_rls(op, 'program_drafts')
    op.drop_table('program_drafts')
