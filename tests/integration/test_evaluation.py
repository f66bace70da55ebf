"""Scheduled evaluation as of a date, and the daily job per tenant in its own time zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from rq import SimpleWorker

from saas.extensions import db
from saas.jobs import get_queue, redis_connection
from saas.models import Tenant
from tenants.models import Member, TierChangeRow
from tenants.scoping import tenant_context
from tenants.services.evaluation import evaluate_due_tenants, evaluate_members, members_due
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, record_purchase
from tests.factories import make_tenant

pytestmark = pytest.mark.tenant_clock  # dates matter here: run either side of the UTC date change

SH = ZoneInfo("Asia/Shanghai")
DAY0 = dt.date(2026, 3, 2)


def at(day):
    return dt.datetime.combine(day, dt.time(12), tzinfo=SH)


def test_only_members_with_something_due_are_evaluated_and_a_tier_change_is_recorded(app_ctx):
    tenant = make_tenant("eval-shop", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        buyer = enroll_member(business_at=at(DAY0), name="甲", phone="13811112222")
        idle = enroll_member(business_at=at(DAY0), name="乙", phone="13811113333")
        db.session.commit()
        record_purchase(member_id=buyer.id, lines=[LineIn("a", 120_000)], tenders=[], business_at=at(DAY0))
        db.session.commit()
        release_day = DAY0 + dt.timedelta(days=7)
        assert members_due(DAY0) == []
        assert members_due(release_day) == [buyer.id]
        stats = evaluate_members(release_day)
        assert stats["members"] == 1 and stats["tier_changes"] == 1 and stats["points_released"] == 1200
        change = db.session.query(TierChangeRow).one()
        assert (change.to_tier, change.reason_code) == ("silver", "reached_cumulative_spend")
        assert change.program_version == 1
        assert members_due(release_day) == []  # idempotent: nothing left to do
        assert idle.id not in members_due(release_day + dt.timedelta(days=400))


def test_the_hourly_cron_queues_each_tenant_once_per_local_day(app, app_ctx):
    tenant = make_tenant("cron-shop", vertical="pharmacy")
    with tenant_context(tenant):
        member = enroll_member(business_at=dt.datetime.now(SH), name="丙", phone="13822223333")
        db.session.commit()
    now = dt.datetime.now(dt.UTC)
    assert evaluate_due_tenants(now) == ["cron-shop"]
    queue = get_queue("reports")
    assert queue.count == 1
    SimpleWorker([queue], connection=redis_connection(app)).work(burst=True)
    db.session.expire_all()
    local_today = now.astimezone(SH).date().isoformat()
    assert db.session.get(Tenant, tenant.id).settings["evaluated_through"] == local_today
    assert evaluate_due_tenants(now) == []  # done for today
    with tenant_context(tenant):
        assert db.session.get(Member, (tenant.id, member.id)).status == "active"


def test_the_evaluate_command_brings_members_up_to_a_date(app, app_ctx):
    tenant = make_tenant("cli-shop", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        member = enroll_member(business_at=at(DAY0), name="丁", phone="13833334444")
        db.session.commit()
        record_purchase(member_id=member.id, lines=[LineIn("a", 50_000)], tenders=[], business_at=at(DAY0))
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["loyalty", "evaluate", "--as-of", "2026-03-09", "--tenant", "cli-shop"])
    assert result.exit_code == 0, result.output
    assert "cli-shop: evaluated 1 members as of 2026-03-09" in result.output
    assert "500 points released" in result.output
    unknown = runner.invoke(args=["loyalty", "evaluate", "--as-of", "2026-03-09", "--tenant", "nope"])
    assert unknown.exit_code != 0 and "no tenant" in unknown.output
    db.session.expire_all()
    with tenant_context(tenant):
        assert db.session.get(Member, (tenant.id, member.id)).points_balance == 500
