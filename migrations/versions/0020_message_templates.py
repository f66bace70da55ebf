"""message templates: the tenant's library of member message texts (短信库)

A tenant-owned table with row-level security as in 0002-0019.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 05:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.rls import disable_tenant_rls, enable_tenant_rls

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('message_templates',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('occasion', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.String(length=4000), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('options', JSON_DOC, nullable=False),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'updated_by'], ['staff_users.tenant_id', 'staff_users.id'],
                            name=op.f('fk_message_templates_tenant_id_updated_by_staff_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_message_templates_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_message_templates')),
    sa.UniqueConstraint('tenant_id', 'occasion', 'channel', 'locale',
                        name=op.f('uq_message_templates_tenant_id_occasion_channel_locale'))
    )
    enable_tenant_rls(op, 'message_templates')


def downgrade():
    disable_tenant_rls(op, 'message_templates')
    op.drop_table('message_templates')
