"""Manual points adjustments from the member page; above the tenant's threshold a second person approves."""

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry
from tenants.models import Member, PointsAdjustmentRequest, PointsEntry, Store
from tenants.scoping import tenant_context
from tenants.services.adjustments import decide, request_adjustment
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, make_staff
from tests.integration.test_concurrency import race
from tests.integration.test_counter import form_key
from tests.integration.test_member_list import add

SH = ZoneInfo("Asia/Shanghai")


def balance(tenant, member_id) -> tuple[int, int]:
    """(the member's balance, the sum of their ledger entries): always equal."""
    with tenant_context(tenant):
        db.session.expire_all()
        held = db.session.get(Member, (tenant.id, member_id)).points_balance
        summed = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                                   .where(PointsEntry.member_id == member_id))
        return held, summed


def sign_in(client, tenant, user):
    with tenant_context(tenant):
        email = user.email  # (the row expires between requests)
    with client.session_transaction() as session:
        session.clear()
    assert login(client, tenant, email, PASSWORD).status_code == 302
    return client.get("/t/tenant-a/approvals").get_data(as_text=True)


def test_small_adjustments_post_at_once_and_large_ones_wait_for_a_second_person(client, tenant_a):
    member, _ = add(tenant_a, "调整会员", "13800000021")
    first, second = make_staff(tenant_a, "store_manager"), make_staff(tenant_a, "chain_admin")
    with tenant_context(tenant_a):
        first_id, second_id = first.id, second.id
    page = sign_in(client, tenant_a, first)
    url = f"/t/tenant-a/members/{member}/points-adjustments"
    form = client.get(f"/t/tenant-a/members/{member}").get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf_from(page), "delta": "500", "reason": "活动补偿",
                                  "idem": form_key(form)}).status_code == 302
    assert balance(tenant_a, member) == (500, 500)
    form = client.get(f"/t/tenant-a/members/{member}").get_data(as_text=True)
    twice = {"csrf_token": csrf_from(page), "delta": "5,000", "reason": "系统故障补分", "idem": form_key(form)}
    assert client.post(url, data=twice).status_code == 302
    assert client.post(url, data=twice).status_code == 302  # sent twice (a double tap): asked once
    assert balance(tenant_a, member) == (500, 500)  # waits
    listed = client.get("/t/tenant-a/approvals").get_data(as_text=True)
    assert "系统故障补分" in listed and "+5,000" in listed
    with tenant_context(tenant_a):
        request_id = db.session.scalars(select(PointsAdjustmentRequest.id)).one()
    own = client.post(f"/t/tenant-a/approvals/{request_id}", data={"csrf_token": csrf_from(page),
                                                                   "decision": "approve"})
    assert own.status_code == 422 and "提出调整的人不能自己批准" in own.get_data(as_text=True)
    assert balance(tenant_a, member) == (500, 500)

    page = sign_in(client, tenant_a, second)
    assert client.post(f"/t/tenant-a/approvals/{request_id}", data={"csrf_token": csrf_from(page),
                                                                    "decision": "approve"}).status_code == 302
    assert balance(tenant_a, member) == (5500, 5500)
    with tenant_context(tenant_a):
        entry = db.session.scalars(select(PointsEntry).where(PointsEntry.points == 5000)).one()
        assert (entry.staff_id, entry.approved_by, entry.reason) == (first_id, second_id, "系统故障补分")
        actions = [a for (a,) in db.session.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("points.%")).order_by(AuditEntry.at, AuditEntry.id))]
        assert actions == ["points.adjusted", "points.adjustment_requested", "points.adjustment_approved"]
    again = client.post(f"/t/tenant-a/approvals/{request_id}", data={"csrf_token": csrf_from(page),
                                                                     "decision": "approve"})
    assert again.status_code == 422 and "该申请已处理" in again.get_data(as_text=True)
    assert balance(tenant_a, member) == (5500, 5500)
    assert "没有待审批的事项" in client.get("/t/tenant-a/approvals").get_data(as_text=True)


def test_bad_adjustments_are_refused_on_their_field_and_change_nothing(client, tenant_a):
    member, _ = add(tenant_a, "输入会员", "13800000022")
    manager = make_staff(tenant_a, "store_manager")
    page = sign_in(client, tenant_a, manager)
    url = f"/t/tenant-a/members/{member}/points-adjustments"
    for delta, reason, message in (("abc", "x", "不为零的整数积分"), ("0", "x", "不为零的整数积分"),
                                   ("1e9", "x", "不为零的整数积分"), ("99999999999", "x", "不为零的整数积分"),
                                   ("12.5", "x", "不为零的整数积分"), ("100", "  \u200b ", "需要填写原因")):
        response = client.post(url, data={"csrf_token": csrf_from(page), "delta": delta, "reason": reason,
                                          "idem": f"bad-{delta}"})
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and message in body, (delta, reason)
        assert f'value="{delta}"' in body  # the input is kept
    taken = client.post(url, data={"csrf_token": csrf_from(page), "delta": "-300", "reason": "扣多了", "idem": "k-1"})
    assert client.post(url, data={"csrf_token": csrf_from(page), "delta": "5", "reason": "无键"}).status_code == 422
    assert taken.status_code == 422 and "adjust-form" in taken.get_data(as_text=True)  # below zero: refused
    assert balance(tenant_a, member) == (0, 0)
    with tenant_context(tenant_a):
        assert db.session.scalar(select(func.count()).select_from(PointsAdjustmentRequest)) == 0


def test_a_rejected_request_posts_nothing_and_a_deduction_too_large_stays_pending(client, tenant_a):
    member, _ = add(tenant_a, "驳回会员", "13800000023")
    asker, decider = make_staff(tenant_a, "store_manager"), make_staff(tenant_a, "owner")
    with tenant_context(tenant_a):
        now = dt.datetime.now(SH)
        big = request_adjustment(member_id=member, delta_raw="2000", reason="录错", actor_id=asker.id, business_at=now)
        minus = request_adjustment(member_id=member, delta_raw="-3000", reason="扣回", actor_id=asker.id,
                                   business_at=now)
        db.session.commit()
        decided = decide(request_id=int(big["request_id"]), approve=False, actor_id=decider.id, business_at=now)
        assert decided == "rejected"
    assert balance(tenant_a, member) == (0, 0)
    page = sign_in(client, tenant_a, decider)
    refused = client.post(f"/t/tenant-a/approvals/{minus['request_id']}",
                          data={"csrf_token": csrf_from(page), "decision": "approve"})
    assert refused.status_code == 422 and "扣回" in refused.get_data(as_text=True)  # still listed, with why
    with tenant_context(tenant_a):
        assert db.session.get(PointsAdjustmentRequest, (tenant_a.id, minus["request_id"])).status == "pending"
    assert balance(tenant_a, member) == (0, 0)


def test_ten_approvers_at_once_post_the_adjustment_once(app, app_ctx, tenant_a):
    member, _ = add(tenant_a, "并发审批", "13800000024")
    asker = make_staff(tenant_a, "store_manager")
    approvers = [make_staff(tenant_a, "chain_admin") for _ in range(10)]
    with tenant_context(tenant_a):
        asked = request_adjustment(member_id=member, delta_raw="8000", reason="并发", actor_id=asker.id,
                                   business_at=dt.datetime.now(SH))
        db.session.commit()
    results = race(app, tenant_a, 10, lambda i: decide(request_id=int(asked["request_id"]), approve=True,
                                                       actor_id=approvers[i].id, business_at=dt.datetime.now(SH)))
    assert [r for r in results if r == "applied"] == ["applied"]
    assert all(getattr(r, "code", None) == "validation_failed" for r in results if r != "applied")
    assert balance(tenant_a, member) == (8000, 8000)


def test_a_manager_reaches_only_their_stores_requests_and_a_clerk_none(client, tenant_a, tenant_b):
    with tenant_context(tenant_a):
        second = db.session.scalars(select(Store).order_by(Store.code)).all()[1]
    other, _ = add(tenant_a, "二店调整", "13800000025", store="second")
    asker = make_staff(tenant_a, "store_manager", store=second)
    with tenant_context(tenant_a):
        asked = request_adjustment(member_id=other, delta_raw="3000", reason="二店", actor_id=asker.id,
                                   business_at=dt.datetime.now(SH))
        db.session.commit()
    b_member, _ = add(tenant_b, "乙调整", "13900000025")
    manager = make_staff(tenant_a, "store_manager")  # of the first store
    page = sign_in(client, tenant_a, manager)
    assert "二店" not in page
    assert client.post(f"/t/tenant-a/approvals/{asked['request_id']}",
                       data={"csrf_token": csrf_from(page), "decision": "approve"}).status_code == 404
    assert client.post(f"/t/tenant-a/members/{b_member}/points-adjustments",
                       data={"csrf_token": csrf_from(page), "delta": "5", "reason": "x"}).status_code == 404
    assert balance(tenant_a, other) == (0, 0)
    clerk = make_staff(tenant_a, "clerk")
    sign_in(client, tenant_a, clerk)
    assert client.get("/t/tenant-a/approvals").status_code == 403
