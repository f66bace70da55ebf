"""The embedded default (SQLite, `make run`) behaves as PostgreSQL does: the same idempotent paths (whose
dialect-specific statements differ) and the same moments in time (SQLite keeps no offset)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime, select
from sqlalchemy.types import TypeDecorator

from saas.dbtypes import UTCDateTime
from saas.extensions import db
from saas.models import CounterDevice, StaffUser
from saas.signup import create_tenant
from tenants.counter import register_device, set_pin
from tenants.models import Purchase, Store
from tenants.scoping import tenant_context
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.members import enroll_member, find_by_phone
from tenants.services.purchases import LineIn, record_purchase
from tenants.views.counter_session import COOKIE

SH = ZoneInfo("Asia/Shanghai")
PASSWORD = "Embedded-2026-pw"


@pytest.fixture
def sqlite_tenant(sqlite_app):
    with sqlite_app.app_context():
        result = create_tenant(business_name="Embedded", slug="embedded", vertical="pharmacy", owner_name="O",
                               email="owner@embedded.example.com", password=PASSWORD, language="zh_CN",
                               today=dt.date(2026, 1, 1))
        db.session.commit()
        with tenant_context(result.tenant):
            yield result.tenant
        db.session.remove()


def test_a_key_runs_its_work_once_replays_the_answer_and_refuses_another_request(sqlite_tenant):
    calls = []

    def enrol():
        calls.append(1)
        member = enroll_member(business_at=dt.datetime(2026, 11, 30, 10, 0), name="甲", phone="13800001111")
        return {"id": str(member.id)}

    first, replayed_first = run_idempotent("key-1", "enrol", {"phone": "13800001111"}, enrol)
    again, replayed_again = run_idempotent("key-1", "enrol", {"phone": "13800001111"}, enrol)
    assert (replayed_first, replayed_again) == (False, True)
    assert again == first and len(calls) == 1
    assert str(find_by_phone("13800001111").id) == first["id"]
    with pytest.raises(ServiceError) as refused:
        run_idempotent("key-1", "enrol", {"phone": "13900002222"}, enrol)
    assert refused.value.code == "idempotency_key_reused" and len(calls) == 1


def test_every_moment_column_is_a_utc_datetime():
    def is_moment(kind) -> bool:
        return isinstance(kind, DateTime) or (isinstance(kind, TypeDecorator) and isinstance(kind.impl, DateTime))

    columns = [column for table in db.metadata.tables.values() for column in table.columns if is_moment(column.type)]
    assert len(columns) > 20
    assert [str(c) for c in columns if not isinstance(c.type, UTCDateTime)] == []


def test_moments_come_back_from_sqlite_as_the_same_instants_in_utc(sqlite_tenant):
    owner = db.session.scalars(select(StaffUser)).one()
    store = db.session.scalars(select(Store)).one()
    device, _token = register_device(manager=owner, store_id=store.id, name="Till")
    member = enroll_member(business_at=dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH), name="甲", phone="13800001111")
    # 00:30 in Shanghai is 16:30 UTC the day before: stored and read back as that instant.
    bought_at = dt.datetime(2026, 12, 3, 0, 30, tzinfo=SH)
    record_purchase(member_id=member.id, lines=[LineIn(line_id="L1", regular_fen=8800, charged_fen=8800)],
                    tenders=[], business_at=bought_at, store_id=store.id, staff_id=owner.id)
    db.session.commit()
    db.session.expunge_all()

    seen = db.session.scalars(select(CounterDevice.last_seen_at)).one()
    purchase = db.session.scalars(select(Purchase)).one()
    assert seen.tzinfo is dt.UTC and purchase.business_at.tzinfo is dt.UTC
    assert purchase.business_at == bought_at
    assert purchase.business_at == dt.datetime(2026, 12, 2, 16, 30, tzinfo=dt.UTC)
    assert db.session.scalars(select(Purchase.id).where(Purchase.business_at > dt.datetime(
        2026, 12, 3, 0, 29, tzinfo=SH))).all() == [purchase.id]
    assert dt.datetime.now(dt.UTC) - seen < dt.timedelta(minutes=1)
    assert device.id


def test_a_registered_tablet_opens_the_counter_on_sqlite(sqlite_app, sqlite_tenant):
    owner = db.session.scalars(select(StaffUser)).one()
    store = db.session.scalars(select(Store)).one()
    set_pin(owner, "2580")
    _device, token = register_device(manager=owner, store_id=store.id, name="Till")
    db.session.commit()
    client = sqlite_app.test_client()
    client.set_cookie(COOKIE, token, path="/t/embedded/")
    for _ in range(2):  # the second request compares the stored last_seen_at with now
        page = client.get("/t/embedded/counter/pin")
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
        assert "O" in page.get_data(as_text=True)


def test_the_audit_log_page_filters_by_member_on_sqlite(sqlite_app, sqlite_tenant):
    from saas.audit import audit
    from tests.conftest import login

    member = enroll_member(business_at=dt.datetime.now(SH), name="嵌入", phone="13800001234")
    db.session.flush()
    audit("card.reported_lost", "card:1", member_id=str(member.id))  # a card entry names its member in details
    audit("member.updated", f"member:{member.id}", fields=["name"])
    audit("store.created", "store:1", name="Other")
    db.session.commit()
    client = sqlite_app.test_client()
    assert login(client, sqlite_tenant, "owner@embedded.example.com", PASSWORD).status_code == 302
    page = client.get(f"/t/embedded/audit?member={member.id}")
    from tests.integration.test_audit_log_page import rows_text

    body = rows_text(page.get_data(as_text=True))
    assert page.status_code == 200 and "卡已挂失" in body and "会员资料变更" in body and "已添加门店" not in body


def test_the_member_list_searches_tags_and_birthday_months_on_sqlite(sqlite_app, sqlite_tenant):
    from tests.conftest import csrf_from, login
    from tests.integration.test_member_list import names

    member = enroll_member(business_at=dt.datetime.now(SH), name="标签会员", phone="13800005678",
                           birthday=dt.date(1991, 7, 9))
    member.tags = ["老客", "VIP"]
    enroll_member(business_at=dt.datetime.now(SH), name="别人", phone="13800005679")
    db.session.commit()
    client = sqlite_app.test_client()
    assert login(client, sqlite_tenant, "owner@embedded.example.com", PASSWORD).status_code == 302
    page = client.get("/t/embedded/members").get_data(as_text=True)
    for filters in ({"q": "老客"}, {"q": "VIP"}, {"month": "7"}, {"q": "5678"}):
        body = client.post("/t/embedded/members", data={"csrf_token": csrf_from(page), **filters}).get_data(
            as_text=True)
        assert names(body) == ["标签会员"], filters
