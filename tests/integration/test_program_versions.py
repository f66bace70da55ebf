"""Program versions: history, a version in words and as JSON, comparisons, and the owner's approval of publishing."""

import copy
import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry, Tenant
from tenants.models import ProgramPublishRequest, ProgramVersion
from tenants.scoping import tenant_context
from tenants.services.errors import ServiceError
from tenants.services.program_drafts import publish_draft, save_draft_part, start_draft
from tenants.services.program_publishing import approve_publishing, reject_publishing, withdraw_publishing
from tenants.services.programs import latest_program_version, post_program_version
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, make_staff
from tests.integration.test_concurrency import race

TODAY = dt.date(2026, 12, 4)


@pytest.fixture(autouse=True)
def _on_the_day():
    """Before the tenants are signed up: the whole test runs on TODAY, 10:00 in Shanghai."""
    import time_machine

    with time_machine.travel(dt.datetime(2026, 12, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        yield


def gold(rules):
    return next(t for t in rules["tiers"] if t["code"] == "gold")


def second_version(tenant, threshold=800_000, note="门槛下调"):
    with tenant_context(tenant):
        first = latest_program_version()
        rules = copy.deepcopy(first.rules)
        gold(rules)["reach"][0]["min"] = threshold
        post_program_version(rules, TODAY, note)
        return first.rules, rules


def needs_owner(tenant, on=True):
    with tenant_context(tenant):
        row = db.session.get(Tenant, tenant.id)
        row.settings = {**(row.settings or {}), "program_publish_needs_owner": on}
        db.session.commit()


def test_history_lists_versions_newest_first_with_who_and_what_is_in_force(client, tenant_a, login_as):
    second_version(tenant_a)
    login_as("chain_admin")
    page = client.get("/t/tenant-a/program/versions").get_data(as_text=True)
    assert page.index('href="/t/tenant-a/program/versions/2"') < page.index('href="/t/tenant-a/program/versions/1"')
    assert "门槛下调" in page and "现行" in page
    shown = client.get("/t/tenant-a/program/versions/2").get_data(as_text=True)
    assert "升级门槛 累计消费" in shown and "¥8,000" in shown and "_fen" not in shown
    download = client.get("/t/tenant-a/program/versions/2/json")
    assert download.mimetype == "application/json" and "attachment" in download.headers["Content-Disposition"]
    assert gold(download.json)["reach"][0]["min"] == 800_000
    assert client.get("/t/tenant-a/program/versions/3").status_code == 404
    assert client.get("/t/tenant-a/program/versions/3/json").status_code == 404


def test_compare_defaults_to_the_version_in_force_vs_the_newest_and_takes_a_draft(client, tenant_a, login_as):
    old, new = second_version(tenant_a)
    with tenant_context(tenant_a):  # a third version scheduled: the newest is not the one in force
        later = copy.deepcopy(new)
        gold(later)["reach"][0]["min"] = 700_000
        post_program_version(later, TODAY + dt.timedelta(days=10), "later")
    login_as("owner")
    name = gold(new)["name"]["zh_CN"]
    page = client.get("/t/tenant-a/program/versions/compare").get_data(as_text=True)
    assert f"{name}：升级门槛 累计消费 ¥8,000 → ¥7,000" in page
    chosen = client.get("/t/tenant-a/program/versions/compare?a=1&b=2").get_data(as_text=True)
    assert f"{name}：升级门槛 累计消费 ¥30,000 → ¥8,000" in chosen or "→ ¥8,000" in chosen
    fragment = client.get("/t/tenant-a/program/versions/compare?a=1&b=2", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<section class="card" id="comparison">')
    with tenant_context(tenant_a):
        rules = copy.deepcopy(start_draft(actor_id=None).rules)
        gold(rules)["reach"][0]["min"] = 500_000
        save_draft_part("tiers", rules["tiers"], actor_id=None)
    drafted = client.get("/t/tenant-a/program/versions/compare?a=2&b=draft").get_data(as_text=True)
    assert "¥8,000 → ¥5,000" in drafted, drafted[drafted.find('id="comparison"'):][:1500]
    assert client.get("/t/tenant-a/program/versions/compare?a=9&b=2").status_code == 404
    assert client.get("/t/tenant-a/program/versions/compare?a=x&b=2").status_code == 404
    english = client.get("/t/tenant-a/program/versions/compare?a=2&b=3", headers={"Accept-Language": "en"})
    assert english.status_code == 200


@pytest.mark.parametrize("role", ["regional_supervisor", "store_manager", "vip_specialist", "clerk"])
def test_roles_without_program_edit_get_403(client, tenant_a, login_as, role):
    login_as(role)
    for url in ("/t/tenant-a/program/versions", "/t/tenant-a/program/versions/1",
                "/t/tenant-a/program/versions/1/json", "/t/tenant-a/program/versions/compare"):
        assert client.get(url).status_code == 403, url


def test_with_the_setting_a_chain_admin_publish_waits_and_the_owner_approves_it(client, tenant_a):
    needs_owner(tenant_a)
    admin, owner = make_staff(tenant_a, "chain_admin"), make_staff(tenant_a, "owner")
    with tenant_context(tenant_a):
        admin_id, owner_id, admin_email, owner_email = admin.id, owner.id, admin.email, owner.email
        rules = copy.deepcopy(start_draft(actor_id=admin_id).rules)
        gold(rules)["reach"][0]["min"] = 600_000
        save_draft_part("tiers", rules["tiers"], actor_id=admin_id)
        asked = publish_draft(effective_from=TODAY + dt.timedelta(days=3), today=TODAY, note="请批准",
                              actor_id=admin_id)
        assert isinstance(asked, ProgramPublishRequest) and asked.status == "pending"
        assert db.session.scalar(select(func.count()).select_from(ProgramVersion)) == 1
        request_id = asked.id
    assert login(client, tenant_a, admin_email, PASSWORD).status_code == 302
    mine = client.get("/t/tenant-a/program/versions").get_data(as_text=True)
    assert "请批准" in mine and "批准并发布" not in mine and "撤回" in mine  # own request: withdraw, not approve
    refused = client.post(f"/t/tenant-a/program/versions/requests/{request_id}/approve",
                          data={"csrf_token": csrf_from(mine)})
    assert refused.status_code == 403
    with client.session_transaction() as session:
        session.clear()
    assert login(client, tenant_a, owner_email, PASSWORD).status_code == 302
    approvals = client.get("/t/tenant-a/approvals").get_data(as_text=True)
    assert "1 个方案版本等待您审批" in approvals
    page = client.get("/t/tenant-a/program/versions").get_data(as_text=True)
    assert "¥10,000 → ¥6,000" in page or "→ ¥6,000" in page
    bad = client.post(f"/t/tenant-a/program/versions/requests/{request_id}/approve",
                      data={"csrf_token": csrf_from(page), "effective_from": "2026-12-01"})
    assert bad.status_code == 422 and "已过" in bad.get_data(as_text=True)
    done = client.post(f"/t/tenant-a/program/versions/requests/{request_id}/approve",
                       data={"csrf_token": csrf_from(page), "effective_from": "2026-12-07"})
    assert done.status_code == 302
    with tenant_context(tenant_a):
        db.session.expire_all()
        latest = latest_program_version()
        assert latest.version == 2 and latest.effective_from == dt.date(2026, 12, 7)
        assert gold(latest.rules)["reach"][0]["min"] == 600_000 and latest.created_by == admin_id
        row = db.session.get(ProgramPublishRequest, (tenant_a.id, request_id))
        assert row.status == "published" and row.version == 2 and row.decided_by == owner_id
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"program.publish_requested", "program.publish_approved", "program.version_posted"} <= actions


def test_the_owner_publishes_at_once_and_without_the_setting_nobody_waits(tenant_a):
    needs_owner(tenant_a)
    owner = make_staff(tenant_a, "owner")
    with tenant_context(tenant_a):
        owner = SimpleNamespace(id=owner.id)
    with tenant_context(tenant_a):
        start_draft(actor_id=owner.id)
        assert isinstance(publish_draft(effective_from=TODAY, today=TODAY, actor_id=owner.id), ProgramVersion)
    needs_owner(tenant_a, on=False)
    admin = make_staff(tenant_a, "chain_admin")
    with tenant_context(tenant_a):
        admin = SimpleNamespace(id=admin.id)
    with tenant_context(tenant_a):
        start_draft(actor_id=admin.id)
        assert isinstance(publish_draft(effective_from=TODAY, today=TODAY, actor_id=admin.id), ProgramVersion)


def ask(tenant, actor_id, day=TODAY + dt.timedelta(days=1)):
    with tenant_context(tenant):
        start_draft(actor_id=actor_id)
        return publish_draft(effective_from=day, today=TODAY, note="n", actor_id=actor_id).id


def test_reject_withdraw_and_a_date_that_passed(tenant_a):
    needs_owner(tenant_a)
    admin, owner = make_staff(tenant_a, "chain_admin"), make_staff(tenant_a, "owner")
    with tenant_context(tenant_a):
        admin, owner = SimpleNamespace(id=admin.id), SimpleNamespace(id=owner.id)
    first = ask(tenant_a, admin.id)
    with tenant_context(tenant_a):
        with pytest.raises(ServiceError) as refused:
            withdraw_publishing(first, actor_id=owner.id)  # only the requester withdraws
        assert refused.value.code == "forbidden"
        reject_publishing(first, actor_id=owner.id, note="再想想")
        with pytest.raises(ServiceError):
            approve_publishing(first, actor_id=owner.id, today=TODAY)  # decided already
    second = ask(tenant_a, admin.id)
    with tenant_context(tenant_a):
        withdraw_publishing(second, actor_id=admin.id)
        assert db.session.get(ProgramPublishRequest, (tenant_a.id, second)).status == "withdrawn"
    third = ask(tenant_a, admin.id)
    with tenant_context(tenant_a):
        with pytest.raises(ServiceError) as passed:  # two days later the asked date is in the past
            approve_publishing(third, actor_id=owner.id, today=TODAY + dt.timedelta(days=2))
        assert "effective_from" in passed.value.fields
        db.session.rollback()
        assert db.session.get(ProgramPublishRequest, (tenant_a.id, third)).status == "pending"
        version = approve_publishing(third, actor_id=owner.id, today=TODAY + dt.timedelta(days=2),
                                     effective_from=TODAY + dt.timedelta(days=2))
        assert version.version == 2


def test_two_owners_approving_at_once_publish_one_version(app, tenant_a):
    needs_owner(tenant_a)
    admin = make_staff(tenant_a, "chain_admin")
    owners = [make_staff(tenant_a, "owner") for _ in range(2)]
    with tenant_context(tenant_a):
        owner_ids = [o.id for o in owners]
        admin = SimpleNamespace(id=admin.id)
    request_id = ask(tenant_a, admin.id)
    results = race(app, tenant_a, 2, lambda i: approve_publishing(request_id, actor_id=owner_ids[i], today=TODAY))
    assert sum(isinstance(r, ProgramVersion) for r in results) == 1
    assert sum(isinstance(r, ServiceError) for r in results) == 1
    with tenant_context(tenant_a):
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).select_from(ProgramVersion)) == 2
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "program.publish_approved")) == 1


def test_only_an_owner_changes_the_setting(client, tenant_a, login_as):
    admin = login_as("chain_admin")
    page = client.get("/t/tenant-a/settings").get_data(as_text=True)
    assert 'name="program_publish_needs_owner"' in page and "disabled" in page
    from tenants.services.tenant_settings import current_settings, update_settings

    with tenant_context(tenant_a):
        values = {**current_settings(db.session.get(Tenant, tenant_a.id)), "program_publish_needs_owner": True}
        with pytest.raises(ServiceError) as refused:
            update_settings(values, actor_id=admin.id)
        assert "program_publish_needs_owner" in refused.value.fields
        owner = make_staff(tenant_a, "owner")
        assert "program_publish_needs_owner" in update_settings(values, actor_id=owner.id)
