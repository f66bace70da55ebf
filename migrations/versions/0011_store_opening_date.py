"""stores.opened_on: the opening day, for gift cards activated within N days of opening (SPEC §3)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('stores', sa.Column('opened_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('stores') as batch:
        batch.drop_column('opened_on')
