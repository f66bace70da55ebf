"""The two tenants of the isolation suite and the instruments it measures them with.

`own_one_of_everything` gives a tenant one object of every type the URLs name (staff, invitation, store,
region, member, card, purchase, tablet, API key, member import, reward), each carrying a marker in its
name, so that a page that shows another tenant's data can be caught by a substring. `Fingerprint` reads
every table as the database superuser (row-level security does not apply to it), so that a write to either
tenant's rows is seen whatever the app's own guards believe.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from saas.extensions import db
from saas.models import StaffUser, Tenant
from saas.staff import invite_staff
from tenants import scoping
from tenants.counter import register_device
from tenants.models import Card, ProgramPublishRequest, ProgramVersion, Region, Store
from tenants.scoping import tenant_context
from tenants.services.adjustments import request_adjustment
from tenants.services.api_keys import create_api_key
from tenants.services.identity_changes import request_identity_change
from tenants.services.imports import create_import
from tenants.services.members import enroll_member
from tenants.services.programs import post_program_version
from tenants.services.purchases import LineIn, record_purchase
from tenants.services.reward_stock import receive as receive_reward_stock


@dataclass
class Owned:
    """What `own_one_of_everything` made: the ids by URL argument name, and what must never leak."""

    ids: dict[str, str]
    marker: str
    phone: str
    card_number: str
    emails: list[str] = field(default_factory=list)

    def leaks_in(self, body: str, sent: str = "") -> list[str]:
        """The pieces of this tenant's data that `body` shows (ignoring what the request itself sent)."""
        found = []
        lowered = body.lower()
        if self.marker.lower() in lowered:
            found.append(f"the marker {self.marker!r}")
        found += [f"the e-mail {e}" for e in self.emails if e.lower() in lowered]
        for spelling in (self.phone, "+86" + self.phone, f"{self.phone[:3]} {self.phone[3:7]} {self.phone[7:]}"):
            if spelling in body and spelling not in sent:
                found.append(f"the phone {spelling}")
        if self.card_number in body and self.card_number not in sent:
            found.append(f"the card {self.card_number}")
        return found


def own_one_of_everything(tenant, marker: str, phone: str) -> Owned:
    """One object of every type for `tenant`, named with `marker` (commits)."""
    slug = marker.lower()
    with tenant_context(tenant):
        db.session.get(Tenant, tenant.id).name = f"{marker} business"
        owner = db.session.query(StaffUser).filter_by(role="owner").order_by(StaffUser.id).first()
        store = db.session.query(Store).order_by(Store.code).first()
        store.name = f"{marker} store"
        region = db.session.get(Region, (tenant.id, store.region_id))
        region.name = f"{marker} region"
        owner.name = f"{marker} owner"
        db.session.commit()
        clerk_email = f"{slug}-clerk@example.com"
        issued = invite_staff(owner, name=f"{marker} clerk", email=clerk_email, role="clerk", store_id=store.id,
                              region_id=None)
        api_key = create_api_key(f"{marker} POS", created_by=owner.id).api_key
        now = dt.datetime.now(ZoneInfo(tenant.timezone))
        member = enroll_member(business_at=now, name=f"{marker} 会员", phone=phone, store_id=store.id)
        purchase = record_purchase(member_id=member.id, lines=[LineIn("1", 1000)], tenders=[], business_at=now,
                                   store_id=store.id)
        card = db.session.query(Card).filter_by(member_id=member.id).one()
        device, _token = register_device(manager=owner, store_id=store.id, name=f"{marker} till")
        member_import = create_import(f"{slug}.csv", f"姓名,手机号\n{marker} import,{phone[:-1]}9\n".encode(),
                                      max_bytes=10_000)
        db.session.commit()
        program = db.session.query(ProgramVersion).order_by(ProgramVersion.version.desc()).first()
        code = f"{slug[0]}-only-gift"  # no marker in it: a code sent in a request comes back in its page
        rules = {**program.rules, "redemption": {**program.rules["redemption"], "catalogue": [
            *program.rules["redemption"].get("catalogue", []),
            {"code": code, "name": {"en": f"{marker} gift", "zh_CN": f"{marker} 礼品"}, "points": 100}]}}
        post_program_version(rules, program.effective_from, f"a reward of {marker}")
        receive_reward_stock(code, 5)
        db.session.commit()
        version = db.session.query(ProgramVersion).order_by(ProgramVersion.version.desc()).first().version
        publish = ProgramPublishRequest(rules=rules, effective_from=program.effective_from, note=f"{marker} asks",
                                        requested_by=owner.id, status="pending")
        db.session.add(publish)
        db.session.flush()
        publish_id = publish.id
        asked = request_adjustment(member_id=member.id, delta_raw="5000", reason=f"{marker} request",
                                   actor_id=owner.id, business_at=now)  # above the threshold: it waits
        change = request_identity_change(member, "name", f"{marker} 新名字", actor_id=owner.id)
        db.session.commit()
        return Owned(
            ids={"staff_id": str(issued.user.id), "store_id": str(store.id), "token": issued.token,
                 "key_id": str(api_key.id), "member_id": str(member.id), "purchase_id": str(purchase["id"]),
                 "card_id": str(card.id), "device_id": str(device.id), "import_id": str(member_import.id),
                 "item_code": code, "region_id": str(region.id), "number": card.number, "version": str(version),
                 "phone": phone, "request_id": str(asked["request_id"]), "change_id": str(change.id),
                 "publish_request_id": str(publish_id)},
            marker=marker, phone=phone, card_number=card.number,
            emails=[clerk_email, owner.email],
        )


# --- writes, seen from outside the app --------------------------------------------------------------------

# Columns the app rewrites as bookkeeping of an accepted credential (at most once a minute), not data.
BOOKKEEPING_COLUMNS = ("last_used_at",)
# A tenant's audit rows may grow on a refused request (a refusal can be worth recording); every other table
# of that tenant must be byte-for-byte the same, and nothing at all of the other tenant may change.
AUDIT_TABLES = frozenset({"audit_log"})


class Fingerprint:
    """(row count, hash of the rows) per table and tenant, read by the superuser past row-level security."""

    def __init__(self, owner_engine):
        url = make_url(os.environ["TEST_SUPERUSER_DATABASE_URL"]).set(database=owner_engine.url.database)
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with self.engine.connect() as conn:
            tables = conn.execute(text(
                "select table_name, bool_or(column_name = 'tenant_id') from information_schema.columns "
                "where table_schema = 'public' and table_name <> 'alembic_version' group by table_name "
                "order by table_name")).all()
        minus = "".join(f" - '{c}'" for c in BOOKKEEPING_COLUMNS)
        parts = []
        for name, tenant_owned in tables:
            owner_column = "tenant_id" if tenant_owned else ("id" if name == "tenants" else "null::bigint")
            parts.append(f"select '{name}' as t, {owner_column} as tenant_id, count(*) as n, "
                         f"coalesce(sum(hashtextextended((to_jsonb(x){minus})::text, 0)), 0) as h "
                         f"from {name} x group by 2")
        self.query = text(" union all ".join(parts))
        self.connection = self.engine.connect()

    def take(self) -> dict[tuple[str, int | None], tuple[int, int]]:
        return {(t, tenant): (n, int(h)) for t, tenant, n, h in self.connection.execute(self.query)}

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


def changed(before: dict, after: dict, tenant_id: int | None, *, audit_ok: bool = False) -> list[str]:
    """Tables whose rows of `tenant_id` (None: the platform's tables with no tenant) differ."""
    keys = {k for k in before.keys() | after.keys() if k[1] == tenant_id}
    return sorted(k[0] for k in keys if before.get(k) != after.get(k) and not (audit_ok and k[0] in AUDIT_TABLES))


# --- switching one wall off -------------------------------------------------------------------------------


@contextmanager
def orm_guard_off():
    """The tenancy guard's ORM criteria removed (tenants/scoping.py `_add_tenant_criteria`): only row-level
    security keeps tenants apart. New rows are still stamped with the current tenant (before_flush)."""
    listener = scoping._add_tenant_criteria
    event.remove(Session, "do_orm_execute", listener)
    try:
        yield
    finally:
        event.listen(Session, "do_orm_execute", listener)


def rls_tables(owner_engine) -> list[str]:
    with owner_engine.connect() as conn:
        return [r[0] for r in conn.execute(text(
            "select relname from pg_class where relkind = 'r' and relrowsecurity "
            "and relnamespace = 'public'::regnamespace order by relname"))]


@contextmanager
def row_level_security_off(owner_engine):
    """Row-level security disabled on every tenant table (by the schema owner), restored after: only the
    ORM guard keeps tenants apart."""
    tables = rls_tables(owner_engine)
    assert tables, "no table has row-level security"
    with owner_engine.begin() as conn:
        for table in tables:
            conn.execute(text(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"))
            conn.execute(text(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
    try:
        yield tables
    finally:
        with owner_engine.begin() as conn:
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
                conn.execute(text(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))
