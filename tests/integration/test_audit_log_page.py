"""The audit log page: owner and chain admin read who did what when, filtered; nobody else, no other tenant."""

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import select

from saas.audit import ACTIONS, audit
from saas.extensions import db
from saas.models import StaffUser
from tenants.models import Member
from tenants.scoping import tenant_context
from tenants.services.members import update_member
from tests.conftest import login
from tests.factories import PASSWORD, make_staff
from tests.integration.test_counter import enrol

ROOT = Path(__file__).resolve().parents[2]


def _entry(tenant, action: str, target: str, at: dt.datetime, actor_id=None, **details) -> None:
    with tenant_context(tenant):
        audit(action, target, actor_id=actor_id, **details).at = at  # inserted so (the log refuses updates)
        db.session.commit()


def rows_of(html: str) -> list[str]:
    """The log's rows (the action filter lists every action's name, so look in the rows only)."""
    return re.findall(r"<tr>\s*<td class=\"nowrap\">.*?</tr>", html, flags=re.S)


def rows_text(html: str) -> str:
    return "".join(rows_of(html))


def test_every_action_the_code_writes_has_a_name_on_the_page():
    written = set()
    for path in [*ROOT.joinpath("saas").rglob("*.py"), *ROOT.joinpath("tenants").rglob("*.py")]:
        written |= set(re.findall(r"audit\(\s*\"([a-z_]+\.[a-z_]+)\"", path.read_text()))
        for a, b in re.findall(r"audit\(\s*\"([a-z_.]+)\" if \w+ else \"([a-z_.]+)\"", path.read_text()):
            written |= {a, b}
    assert len(written) >= 25
    assert written - set(ACTIONS) == set(), "name these actions in saas/audit.py ACTIONS"


def test_the_owner_reads_failed_sign_ins_and_profile_changes_and_filters_them(client, tenant_a, tenant_b):
    clerk = make_staff(tenant_a, "clerk")
    assert login(client, tenant_a, clerk.email, "wrong password").status_code == 401
    assert login(client, tenant_a, "nobody@example.com", "wrong password").status_code == 401
    member = enrol(tenant_a, name="李雷")
    with tenant_context(tenant_a):
        update_member(db.session.get(Member, (tenant_a.id, member.id)), {"name": "李雷雷", "email": "li@example.com"})
        db.session.commit()
    b_member = enrol(tenant_b, name="乙租户会员", phone="13900001111")
    with tenant_context(tenant_b):
        update_member(db.session.get(Member, (tenant_b.id, b_member.id)), {"name": "乙租户改名"})
        db.session.commit()

    owner = make_staff(tenant_a, "owner")
    assert login(client, tenant_a, owner.email, PASSWORD).status_code == 302
    html = client.get("/t/tenant-a/audit").get_data(as_text=True)
    page = rows_text(html)
    assert "审计日志" in html and "登录失败" in page and "会员资料变更" in page and "李雷雷" in page
    assert "n***@example.com" in page and "nobody@example.com" not in page  # an unknown address, masked
    assert "姓名、电子邮件" in page or "姓名、邮箱" in page  # the fields, in words, never their values
    assert "li@example.com" not in page
    assert "乙租户" not in page  # another tenant's entries never

    only_clerk = client.get(f"/t/tenant-a/audit?actor={clerk.id}", headers={"HX-Request": "true"})
    body = only_clerk.get_data(as_text=True)
    assert "<html" not in body and len(rows_of(body)) == 1 and "登录失败" in rows_text(body)

    only_member = client.get(f"/t/tenant-a/audit?member={member.id}").get_data(as_text=True)
    assert len(rows_of(only_member)) == 1 and "会员资料变更" in rows_text(only_member) and "显示全部会员" in only_member

    failed = client.get("/t/tenant-a/audit?action=staff.login_failed").get_data(as_text=True)
    assert len(rows_of(failed)) == 2

    with tenant_context(tenant_b):
        b_owner = db.session.scalar(select(StaffUser).where(StaffUser.role == "owner"))
    assert client.get(f"/t/tenant-a/audit?actor={b_owner.id}").status_code == 404
    assert client.get(f"/t/tenant-a/audit?member={b_member.id}").status_code == 404
    assert client.get("/t/tenant-a/audit?member=12abc").status_code == 404


def test_days_are_the_tenants_calendar_days_and_bad_dates_say_so(client, tenant_a):
    # 16:30 UTC on 2 December is 00:30 on 3 December in Shanghai.
    _entry(tenant_a, "store.created", "store:1", dt.datetime(2026, 12, 2, 16, 30, tzinfo=dt.UTC), name="Late")
    _entry(tenant_a, "store.created", "store:2", dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC), name="Early")
    owner = make_staff(tenant_a, "chain_admin")
    assert login(client, tenant_a, owner.email, PASSWORD).status_code == 302
    third = client.get("/t/tenant-a/audit?action=store.created&from=2026-12-03&to=2026-12-03").get_data(as_text=True)
    assert len(rows_of(third)) == 1 and "Late" in third and "Early" not in third
    second = client.get("/t/tenant-a/audit?action=store.created&from=2026-12-02&to=2026-12-02").get_data(as_text=True)
    assert len(rows_of(second)) == 1 and "Early" in second
    bad = client.get("/t/tenant-a/audit?from=2026-13-40")
    assert bad.status_code == 200 and "必须是日期" in bad.get_data(as_text=True)
    assert not rows_of(bad.get_data(as_text=True))
    backwards = client.get("/t/tenant-a/audit?from=2026-12-03&to=2026-12-01").get_data(as_text=True)
    assert "结束日期早于开始日期" in backwards and 'value="2026-12-01"' in backwards  # the input is kept


def test_sixty_entries_page_with_the_filters_kept(client, tenant_a):
    start = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
    for i in range(60):
        _entry(tenant_a, "region.created", f"region:{i}", start + dt.timedelta(minutes=i), name=f"R{i:02d}")
    owner = make_staff(tenant_a, "owner")
    assert login(client, tenant_a, owner.email, PASSWORD).status_code == 302
    first = client.get("/t/tenant-a/audit?action=region.created").get_data(as_text=True)
    assert len(rows_of(first)) == 50 and "R59" in first and "R09" not in first  # newest first
    assert "action=region.created" in re.search(r'href="([^"]*page=2[^"]*)"', first).group(1)
    second = client.get("/t/tenant-a/audit?action=region.created&page=2").get_data(as_text=True)
    assert len(rows_of(second)) == 10 and "R00" in second and "60 条" in second


def test_only_the_owner_and_chain_admins_read_the_log(client, tenant_a):
    for role in ("regional_supervisor", "store_manager", "vip_specialist", "clerk"):
        user = make_staff(tenant_a, role)
        assert login(client, tenant_a, user.email, PASSWORD).status_code == 302
        assert client.get("/t/tenant-a/audit").status_code == 403, role
        assert "/audit" not in client.get("/t/tenant-a/").get_data(as_text=True)
        client.post("/t/tenant-a/logout")  # (the next role signs in on the same client)
        with client.session_transaction() as session:
            session.clear()
