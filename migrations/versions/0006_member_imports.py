"""member imports: legacy member files (CSV/XLSX), their mapping and progress, and the problems found

The uploaded file is kept in member_imports.content (bytea), so a worker on another machine can read it.
Both tables are new and tenant-owned: row-level security as in 0002-0004.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 06:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from saas.rls import disable_tenant_rls, enable_tenant_rls

TENANT_TABLES = ('member_imports', 'member_import_issues')

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_imports',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('file_kind', sa.String(length=10), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('headers', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('preview', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('mapping', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempt', sa.BigInteger(), nullable=True),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('checked_rows', sa.Integer(), nullable=False),
    sa.Column('valid_rows', sa.Integer(), nullable=False),
    sa.Column('error_rows', sa.Integer(), nullable=False),
    sa.Column('duplicate_rows', sa.Integer(), nullable=False),
    sa.Column('issue_count', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=True),
    sa.Column('program_version', sa.Integer(), nullable=True),
    sa.Column('committed_through', sa.Integer(), nullable=False),
    sa.Column('commit_done_rows', sa.Integer(), nullable=False),
    sa.Column('created_members', sa.Integer(), nullable=False),
    sa.Column('skipped_at_commit', sa.Integer(), nullable=False),
    sa.Column('points_opened', sa.BigInteger(), nullable=False),
    sa.Column('stored_value_opened_fen', sa.BigInteger(), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error_params', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('committed_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_member_imports_tenant_id_store_id_stores')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_imports_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_imports'))
    )
    op.create_index(op.f('ix_member_imports_tenant_id_created_at'), 'member_imports', ['tenant_id', 'created_at'], unique=False)
    op.create_table('member_import_issues',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('first_row', sa.Integer(), nullable=False),
    sa.Column('issues', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'import_id'], ['member_imports.tenant_id', 'member_imports.id'], name=op.f('fk_member_import_issues_tenant_id_import_id_member_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_import_issues_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_import_issues'))
    )
    op.create_index(op.f('ix_member_import_issues_tenant_id_import_id_phase_first_row'), 'member_import_issues', ['tenant_id', 'import_id', 'phase', 'first_row'], unique=False)
    for table in TENANT_TABLES:
        enable_tenant_rls(op, table)


def downgrade():
    for table in TENANT_TABLES:
        disable_tenant_rls(op, table)
    op.drop_index(op.f('ix_member_import_issues_tenant_id_import_id_phase_first_row'), table_name='member_import_issues')
    op.drop_table('member_import_issues')
    op.drop_index(op.f('ix_member_imports_tenant_id_created_at'), table_name='member_imports')
    op.drop_table('member_imports')
