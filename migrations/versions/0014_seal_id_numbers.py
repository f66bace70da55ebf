"""members.id_doc_number: sealed at rest (Fernet, keys from DATA_KEYS; saas/crypto.py)

The column becomes text (a token is longer than the 40 characters of a number) and every stored number is
sealed with the first key, tenant table un-FORCEd for the rewrite as earlier data migrations do. Downgrade
opens them again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:45:00

"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

from saas.crypto import TOKEN_PREFIX, seal, unseal

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BATCH = 2000


def _rewrite(convert) -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        op.execute('ALTER TABLE members NO FORCE ROW LEVEL SECURITY')
    rows = bind.execute(sa.text('SELECT tenant_id, id, id_doc_number FROM members '
                                'WHERE id_doc_number IS NOT NULL')).all()
    changes = [{'t': t, 'id': i, 'v': new} for t, i, old in rows if (new := convert(old)) != old]
    update = sa.text('UPDATE members SET id_doc_number = :v WHERE tenant_id = :t AND id = :id')
    for start in range(0, len(changes), BATCH):
        bind.execute(update, changes[start:start + BATCH])
    if postgres:
        op.execute('ALTER TABLE members FORCE ROW LEVEL SECURITY')


def upgrade():
    with op.batch_alter_table('members') as batch:
        batch.alter_column('id_doc_number', type_=sa.Text(), existing_type=sa.String(40), existing_nullable=True)
    config = current_app.config
    _rewrite(lambda value: value if value.startswith(TOKEN_PREFIX) else seal(value, config))


def downgrade():
    config = current_app.config
    _rewrite(lambda value: unseal(value, config)[:40])
    with op.batch_alter_table('members') as batch:
        batch.alter_column('id_doc_number', type_=sa.String(40), existing_type=sa.Text(), existing_nullable=True)
