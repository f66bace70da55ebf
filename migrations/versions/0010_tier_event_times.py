"""tier activities and accounts: when things happened within a day, and where a return belongs

tier_activities.occurred_at orders a day's events (the spend after an upgrading purchase counts in the
new tier's period, SPEC §19.16); tier_activities.belongs_on is the day whose measures a return lowers
(its purchase's release day, §19.14). tier_accounts.tier_counter_after_at / counter_after_at: on the
counter day, what happened after this instant still counts. All nullable: older rows keep their meaning
(the whole day is out; a return lowers the day it counts on).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tier_activities', sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tier_activities', sa.Column('belongs_on', sa.Date(), nullable=True))
    op.add_column('tier_accounts', sa.Column('tier_counter_after_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tier_accounts', sa.Column('counter_after_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('tier_accounts') as batch:
        batch.drop_column('counter_after_at')
        batch.drop_column('tier_counter_after_at')
    with op.batch_alter_table('tier_activities') as batch:
        batch.drop_column('belongs_on')
        batch.drop_column('occurred_at')
