"""The embedded default (SQLite, `make run`) takes the same idempotent paths as PostgreSQL, whose dialect-specific
statements differ (INSERT … ON CONFLICT DO NOTHING RETURNING for the key)."""

import datetime as dt

import pytest

from saas import create_app
from saas.extensions import db
from saas.signup import create_tenant
from tenants.scoping import tenant_context
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.members import enroll_member, find_by_phone


@pytest.fixture
def sqlite_tenant(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URI": url, "REDIS_URL": None,
                      "TESTING": True, "SECRET_KEY": "embedded-test"})
    with app.app_context():
        db.create_all()
        result = create_tenant(business_name="Embedded", slug="embedded", vertical="pharmacy", owner_name="O",
                               email="owner@embedded.example.com", password="Embedded-2026-pw", language="zh_CN",
                               today=dt.date(2026, 1, 1))
        db.session.commit()
        with tenant_context(result.tenant):
            yield
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
