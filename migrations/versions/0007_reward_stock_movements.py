"""reward stock movements: an append-only ledger of each catalogue item's stock

reward_stock.stock stays materialised as the sum of the item's movements. Existing stock (seeded
demo tenants) gets one opening `counted` movement per item, so the sum holds from the start. The new
table is tenant-owned: row-level security as in 0002-0006.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00

"""
import datetime as dt
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

from saas.ids import new_id
from saas.rls import disable_tenant_rls, enable_tenant_rls

TENANT_TABLES = ('reward_stock_movements',)

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    movements = op.create_table('reward_stock_movements',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('change', sa.Integer(), nullable=False),
    sa.Column('stock_after', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('staff_id', sa.BigInteger(), nullable=True),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('redemption_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'item_code'], ['reward_stock.tenant_id', 'reward_stock.item_code'], name=op.f('fk_reward_stock_movements_tenant_id_item_code_reward_stock')),
    sa.ForeignKeyConstraint(['tenant_id', 'redemption_id'], ['redemptions.tenant_id', 'redemptions.id'], name=op.f('fk_reward_stock_movements_tenant_id_redemption_id_redemptions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_reward_stock_movements_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_reward_stock_movements'))
    )
    op.create_index(op.f('ix_reward_stock_movements_tenant_id_item_code_id'), 'reward_stock_movements', ['tenant_id', 'item_code', 'id'], unique=False)
    _open_with_existing_stock(movements)
    for table in TENANT_TABLES:
        enable_tenant_rls(op, table)


def _open_with_existing_stock(movements) -> None:
    """One `counted` movement per item in stock, dated today in its tenant's time zone.

    reward_stock has FORCEd row-level security and no tenant is set here, so it would look empty: it is
    un-FORCEd for the read and FORCEd again in this transaction (the ALTERs hold their lock to the commit,
    as saas/rls.py create_tenant_foreign_key does). The new table gets its policy after the backfill.
    """
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        op.execute('ALTER TABLE reward_stock NO FORCE ROW LEVEL SECURITY')
    rows = bind.execute(sa.text(
        'SELECT s.tenant_id, s.item_code, s.stock, t.timezone FROM reward_stock s '
        'JOIN tenants t ON t.id = s.tenant_id WHERE s.stock > 0')).all()
    if postgres:
        op.execute('ALTER TABLE reward_stock FORCE ROW LEVEL SECURITY')
    now = dt.datetime.now(dt.timezone.utc)
    opening = []
    for tenant_id, item_code, stock, timezone in rows:
        try:
            today = now.astimezone(ZoneInfo(timezone)).date()
        except (KeyError, ValueError):  # an unknown zone name: the UTC date is near enough
            today = now.date()
        opening.append({'tenant_id': tenant_id, 'id': new_id(), 'item_code': item_code, 'change': stock,
                        'stock_after': stock, 'kind': 'counted', 'note': '', 'staff_id': None,
                        'business_date': today, 'redemption_id': None, 'created_at': now})
    if opening:
        op.bulk_insert(movements, opening)


def downgrade():
    for table in TENANT_TABLES:
        disable_tenant_rls(op, table)
    op.drop_index(op.f('ix_reward_stock_movements_tenant_id_item_code_id'), table_name='reward_stock_movements')
    op.drop_table('reward_stock_movements')
