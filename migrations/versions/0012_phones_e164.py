"""members: phone numbers in E.164

Members' phones were stored as digits only (a mainland number without its +86, a foreign one without
its +). The app now parses them with `phonenumbers` and stores E.164 (+8613812345678), so existing
numbers are rewritten: digits read in the tenant's `phone_region` (CN unless set) when that gives a
valid number, else read as international digits (+447911123456, whose + the old code dropped); a value
neither reading makes valid, or whose E.164 another member of the tenant already has, is left as it is.
phone_last4 is set to the last four digits of the national number (unchanged for every number so far).

The members table has FORCEd row-level security and no tenant is set here, so it would look empty:
it is un-FORCEd for the rewrite and FORCEd again in this transaction (the ALTERs hold their lock to the
commit, as saas/rls.py create_tenant_foreign_key and 0007 do). Downgrade writes the old form back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:30:00

"""
import json
import re

from alembic import op
import phonenumbers
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BATCH = 5000
DEFAULT_REGION = 'CN'


def _e164(stored: str, region: str) -> str | None:
    digits = re.sub(r'\D', '', stored)
    if not digits:
        return None
    for text, reading in ((digits, region), ('+' + digits, None)):
        try:
            number = phonenumbers.parse(text, reading)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _old_form(stored: str) -> str:
    """What the code before this migration stored: digits only, a mainland number without its 86."""
    if not stored.startswith('+'):
        return stored
    digits = stored[1:]
    return digits[2:] if digits.startswith('86') else digits


def _region(settings) -> str:
    if isinstance(settings, str):
        try:
            settings = json.loads(settings)
        except ValueError:
            settings = None
    region = settings.get('phone_region') if isinstance(settings, dict) else None
    return str(region or DEFAULT_REGION).upper()


def _rewrite(convert) -> None:
    """Apply `convert(phone, region) -> new phone or None` to every member's phone, tenant by tenant."""
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        op.execute('ALTER TABLE members NO FORCE ROW LEVEL SECURITY')
    update = sa.text('UPDATE members SET phone = :phone, phone_last4 = :last4 WHERE tenant_id = :t AND id = :id')
    tenants = bind.execute(sa.text('SELECT DISTINCT m.tenant_id, t.settings FROM members m '
                                   'JOIN tenants t ON t.id = m.tenant_id WHERE m.phone IS NOT NULL')).all()
    for tenant_id, settings in tenants:
        region = _region(settings)
        rows = bind.execute(sa.text('SELECT id, phone FROM members WHERE tenant_id = :t AND phone IS NOT NULL'),
                            {'t': tenant_id}).all()
        taken = {phone for _id, phone in rows}
        changes = []
        for member_id, phone in rows:
            new = convert(phone, region)
            if new is None or new == phone or new in taken:
                continue
            taken.add(new)
            changes.append({'t': tenant_id, 'id': member_id, 'phone': new, 'last4': _last4(new)})
        for start in range(0, len(changes), BATCH):
            bind.execute(update, changes[start:start + BATCH])
    if postgres:
        op.execute('ALTER TABLE members FORCE ROW LEVEL SECURITY')


def _last4(phone: str) -> str:
    try:
        national = str(phonenumbers.parse(phone).national_number)
    except phonenumbers.NumberParseException:
        national = re.sub(r'\D', '', phone)
    return national[-4:]


def upgrade():
    _rewrite(_e164)


def downgrade():
    _rewrite(lambda phone, _region: _old_form(phone))
