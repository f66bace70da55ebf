"""program versions: write down the two defaults that changed, so stored history keeps its rules

The program's defaults became the blank preset's (tenants/domain/program.py): an omitted
earning.pending_days now means 0 (it meant 7) and an omitted stored_value.enabled means false (it meant
true). Versions are stored as posted, so a version that omitted either field would silently change its
rules for every past and future business date. This writes the old meaning into those versions
(pending_days 7, enabled true); versions that state the fields are untouched. Nothing to undo on
downgrade: the written values are what the old defaults meant.

program_versions has FORCEd row-level security; the owner reads and writes it un-FORCEd inside this
migration's transaction (as saas/rls.py create_tenant_foreign_key does).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:45:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_DEFAULTS = (('earning', 'pending_days', 7), ('stored_value', 'enabled', True))

versions = sa.table(
    'program_versions',
    sa.column('tenant_id', sa.BigInteger()),
    sa.column('id', sa.BigInteger()),
    sa.column('rules', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')),
)


def with_old_defaults(rules: dict) -> dict | None:
    """The rules with the old defaults written where a field is omitted; None when nothing is omitted."""
    if not isinstance(rules, dict):
        return None
    changed = dict(rules)
    for section, key, value in OLD_DEFAULTS:
        part = changed.get(section)
        if part is None:
            changed[section] = {key: value}
        elif isinstance(part, dict) and key not in part:
            changed[section] = {**part, key: value}
    return changed if changed != rules else None


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        op.execute('ALTER TABLE program_versions NO FORCE ROW LEVEL SECURITY')
    for tenant_id, version_id, rules in bind.execute(sa.select(versions.c.tenant_id, versions.c.id,
                                                               versions.c.rules)).all():
        changed = with_old_defaults(rules)
        if changed is not None:
            bind.execute(versions.update().where(versions.c.tenant_id == tenant_id, versions.c.id == version_id)
                         .values(rules=changed))
    if postgres:
        op.execute('ALTER TABLE program_versions FORCE ROW LEVEL SECURITY')


def downgrade():
    pass
