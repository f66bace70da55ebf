"""Data kept only as a means goes after its time: idempotency replies and unimported member files."""

import datetime as dt

import pytest
from sqlalchemy import select, update

from saas.extensions import db
from tenants.imports_models import CHECKED, CHECKING, EXPIRED, MemberImport, MemberImportIssues
from tenants.models import IdempotencyKey
from tenants.scoping import tenant_context
from tenants.services.retention import purge_expired
from tests.factories import make_tenant

NOW = dt.datetime.now(dt.UTC)


def key(name: str, age: dt.timedelta) -> None:
    db.session.add(IdempotencyKey(key=name, operation="purchase.create", request_hash="0" * 64,
                                  response={"phone": "+8613800001111"}, created_at=NOW - age))


def upload(status: str, age: dt.timedelta) -> int:
    imp = MemberImport(filename="会员.csv", file_kind="csv", size_bytes=10, content=b"name,phone\n", status=status,
                       preview=[["王芳", "13800001111"]], updated_at=NOW - age)
    db.session.add(imp)
    db.session.flush()
    db.session.add(MemberImportIssues(import_id=imp.id, phase="check", first_row=2,
                                      issues=[[2, "phone", "invalid_phone", {"value": "1380000"}]]))
    return imp.id


@pytest.fixture
def shops(app_ctx):
    return make_tenant("keep-a"), make_tenant("keep-b", vertical="pharmacy")


def test_idempotency_keys_go_after_the_keep_time_but_never_inside_the_backdate_window(shops, app):
    a, b = shops
    for tenant in shops:
        with tenant_context(tenant):
            key("old", dt.timedelta(days=9))
            key("inside-backdate", dt.timedelta(days=5))
            key("fresh", dt.timedelta(hours=1))
            db.session.commit()
    app.config["IDEMPOTENCY_KEEP_HOURS"] = 24  # shorter than the backdate window: the window wins
    try:
        assert purge_expired(NOW)["idempotency_keys"] == 2
    finally:
        app.config["IDEMPOTENCY_KEEP_HOURS"] = 192
    for tenant in shops:
        with tenant_context(tenant):
            assert sorted(db.session.scalars(select(IdempotencyKey.key))) == ["fresh", "inside-backdate"]


def test_an_unimported_file_is_dropped_with_its_rows_problems_after_the_keep_days(shops):
    a, _b = shops
    with tenant_context(a):
        stale, recent, running = (upload(CHECKED, dt.timedelta(days=8)), upload(CHECKED, dt.timedelta(days=2)),
                                  upload(CHECKING, dt.timedelta(days=8)))
        db.session.commit()
    assert purge_expired(NOW)["import_files"] == 1
    with tenant_context(a):
        db.session.expire_all()
        gone = db.session.get(MemberImport, (a.id, stale))
        assert (gone.status, gone.preview) == (EXPIRED, [])
        assert db.session.scalar(select(MemberImport.content).where(MemberImport.id == stale)) is None
        assert db.session.scalar(select(MemberImportIssues.id).where(MemberImportIssues.import_id == stale)) is None
        for kept in (recent, running):
            assert db.session.scalar(select(MemberImport.content).where(MemberImport.id == kept)) is not None
        db.session.execute(update(MemberImport).where(MemberImport.id == recent).values(updated_at=NOW))
    assert purge_expired(NOW)["import_files"] == 0  # nothing twice
