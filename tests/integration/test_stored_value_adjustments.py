"""Manual stored-value adjustments from the member page, typed in yuan, with a reason; above the tenant's threshold
(Settings) a second person approves. The balance stays the sum of its ledger entries and never goes below zero."""

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry, Tenant
from saas.settings import tenant_setting
from tenants.models import Store, StoredValueAdjustmentRequest, StoredValueEntry
from tenants.scoping import tenant_context
from tenants.services import stored_value_adjustments as sv
from tenants.services.errors import ServiceError
from tenants.services.stored_value import top_up
from tests.conftest import csrf_from
from tests.factories import make_staff
from tests.integration.test_concurrency import race
from tests.integration.test_member_cards import keyed, page_of, signed_in, sv_sum
from tests.integration.test_member_list import add
from tests.integration.test_tenant_settings import form_values

SH = ZoneInfo("Asia/Shanghai")


def entries(tenant, member_id) -> list[tuple[str, int, str, int | None]]:
    with tenant_context(tenant):
        return [(e.kind, e.principal_fen + e.bonus_fen, e.reason, e.approved_by) for e in db.session.scalars(
            select(StoredValueEntry).where(StoredValueEntry.member_id == member_id, StoredValueEntry.kind == "adjust")
            .order_by(StoredValueEntry.created_at, StoredValueEntry.id))]


def test_a_small_credit_posts_at_once_and_a_large_one_waits_for_a_second_person(client, tenant_a):
    member, _ = add(tenant_a, "储值调整", "13800000051")
    first = signed_in(client, tenant_a)
    with tenant_context(tenant_a):
        first_name = first.name
    url = f"/t/tenant-a/members/{member}/stored-value-adjustments"
    html = page_of(client, tenant_a, member)
    assert "超过 ¥500.00 需由另一人审批" in html
    posted = client.post(url, data={**keyed(html, "sv-adjust-form"), "direction": "credit", "amount": "¥12.34",
                                    "reason": "收银少记"}, follow_redirects=True)
    assert "储值已入账 +¥12.34" in posted.get_data(as_text=True)
    assert sv_sum(tenant_a, member) == (1234, 1234)
    html = page_of(client, tenant_a, member)
    ledger = html[html.index('id="stored-ledger"'):]
    assert "收银少记" in ledger and f"经办：{first_name}" in ledger and "第 1 版，自" in ledger and "+¥12.34" in ledger

    twice = {**keyed(html, "sv-adjust-form"), "direction": "credit", "amount": "800", "reason": "系统迁移补差"}
    assert client.post(url, data=twice).status_code == 302
    assert client.post(url, data=twice).status_code == 302  # a double tap asks once
    assert sv_sum(tenant_a, member) == (1234, 1234)
    assert "待审批：+¥800.00，“系统迁移补差”" in page_of(client, tenant_a, member)
    with tenant_context(tenant_a):
        (request_id,) = db.session.scalars(select(StoredValueAdjustmentRequest.id)).all()
    listed = client.get("/t/tenant-a/approvals").get_data(as_text=True)
    assert "系统迁移补差" in listed and "+¥800.00" in listed and "等待他人审批" in listed
    own = client.post(f"/t/tenant-a/approvals/stored-value/{request_id}",
                      data={"csrf_token": csrf_from(listed), "decision": "approve"})
    assert own.status_code == 422 and "提出调整的人不能自己批准" in own.get_data(as_text=True)

    second = signed_in(client, tenant_a, "chain_admin")
    with tenant_context(tenant_a):
        second_id, second_name = second.id, second.name
    listed = client.get("/t/tenant-a/approvals").get_data(as_text=True)
    done = client.post(f"/t/tenant-a/approvals/stored-value/{request_id}",
                       data={"csrf_token": csrf_from(listed), "decision": "approve"}, follow_redirects=True)
    assert "已批准：储值已入账" in done.get_data(as_text=True)
    assert sv_sum(tenant_a, member) == (81234, 81234)
    assert entries(tenant_a, member) == [("adjust", 1234, "收银少记", None),
                                         ("adjust", 80000, "系统迁移补差", second_id)]
    again = client.post(f"/t/tenant-a/approvals/stored-value/{request_id}",
                        data={"csrf_token": csrf_from(listed), "decision": "approve"})
    assert again.status_code == 422 and "该申请已处理" in again.get_data(as_text=True)
    assert sv_sum(tenant_a, member) == (81234, 81234)
    with tenant_context(tenant_a):
        assert [a for (a,) in db.session.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("stored_value.%")).order_by(AuditEntry.at, AuditEntry.id))] == [
            "stored_value.adjusted", "stored_value.adjustment_requested", "stored_value.adjustment_approved"]
    ledger = page_of(client, tenant_a, member)
    assert f"经办：{first_name}，审批：{second_name}" in ledger


def test_bad_amounts_and_reasons_are_refused_on_their_field_with_the_input_kept_and_nothing_written(client, tenant_a):
    member, _ = add(tenant_a, "输入储值", "13800000052")
    with tenant_context(tenant_a):
        top_up(member_id=member, amount_fen=10000, business_at=dt.datetime.now(SH))
        db.session.commit()
    signed_in(client, tenant_a)
    url = f"/t/tenant-a/members/{member}/stored-value-adjustments"
    html = page_of(client, tenant_a, member)
    for direction, amount, reason, field_message in (
            ("credit", "abc", "x", "请输入以元为单位的金额"), ("credit", "0", "x", "须大于 0"),
            ("credit", "12.345", "x", "如 12.34"), ("credit", "-5", "x", "须大于 0"),
            ("credit", "NaN", "x", "请输入以元为单位的金额"), ("credit", "1e3", "x", "请输入以元为单位的金额"),
            ("credit", "99999999", "x", "不超过 ¥1,000,000.00"), ("credit", "5", " \u200b ", "需要填写原因"),
            ("", "5", "x", "请选择增加或扣减"), ("debit", "100.01", "扣多了", "最多只能扣减 ¥100.00")):
        response = client.post(url, data={**keyed(html, "sv-adjust-form"), "direction": direction, "amount": amount,
                                          "reason": reason})
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and field_message in body, (direction, amount, reason)
        assert f'value="{amount}"' in body  # the input is kept
    assert client.post(url, data={"csrf_token": csrf_from(html), "direction": "credit", "amount": "5",
                                  "reason": "无键"}).status_code == 422
    assert sv_sum(tenant_a, member) == (10000, 10000) and entries(tenant_a, member) == []
    with tenant_context(tenant_a):
        assert db.session.scalar(select(func.count()).select_from(StoredValueAdjustmentRequest)) == 0
    taken = client.post(url, data={**keyed(html, "sv-adjust-form"), "direction": "debit", "amount": "100",
                                   "reason": "退款"})
    assert taken.status_code == 302 and sv_sum(tenant_a, member) == (0, 0)  # down to zero, never below


def test_ten_approvers_at_once_post_the_adjustment_once(app, app_ctx, tenant_a):
    member, _ = add(tenant_a, "并发储值审批", "13800000053")
    asker = make_staff(tenant_a, "store_manager")
    approvers = [make_staff(tenant_a, "chain_admin") for _ in range(10)]
    with tenant_context(tenant_a):
        asked = sv.request_adjustment(member_id=member, direction="credit", amount_raw="2000", reason="并发",
                                      actor_id=asker.id, business_at=dt.datetime.now(SH))
        db.session.commit()
    assert tenant_a.id and approvers[0].id  # loaded here: the threads must not refresh the test's session
    ids = [a.id for a in approvers]
    results = race(app, tenant_a, 10, lambda i: sv.decide(request_id=int(asked["request_id"]), approve=True,
                                                          actor_id=ids[i], business_at=dt.datetime.now(SH)))
    assert [r for r in results if r == "applied"] == ["applied"]
    assert all(getattr(r, "code", None) == "validation_failed" for r in results if r != "applied")
    assert sv_sum(tenant_a, member) == (200000, 200000)
    assert len(entries(tenant_a, member)) == 1


def test_two_debits_at_once_never_take_the_balance_below_zero(app, app_ctx, tenant_a):
    member, _ = add(tenant_a, "并发扣减", "13800000054")
    staff = make_staff(tenant_a, "store_manager")
    with tenant_context(tenant_a):
        top_up(member_id=member, amount_fen=30000, business_at=dt.datetime.now(SH))
        db.session.commit()
    assert tenant_a.id and staff.id
    staff_id = staff.id
    results = race(app, tenant_a, 2, lambda i: (sv.request_adjustment(
        member_id=member, direction="debit", amount_raw="200", reason=f"扣减 {i}", actor_id=staff_id,
        business_at=dt.datetime.now(SH)), db.session.commit())[0])
    assert [r["status"] for r in results if isinstance(r, dict)] == ["applied"]
    assert [list(r.fields) for r in results if not isinstance(r, dict)] == [["amount"]]
    assert sv_sum(tenant_a, member) == (10000, 10000)


def test_a_debit_that_waits_is_checked_again_when_approved(app_ctx, tenant_a):
    member, _ = add(tenant_a, "审批时余额不足", "13800000055")
    asker, decider = make_staff(tenant_a, "store_manager"), make_staff(tenant_a, "owner")
    with tenant_context(tenant_a):
        now = dt.datetime.now(SH)
        top_up(member_id=member, amount_fen=100000, business_at=now)
        asked = sv.request_adjustment(member_id=member, direction="debit", amount_raw="900", reason="扣回",
                                      actor_id=asker.id, business_at=now)
        sv.request_adjustment(member_id=member, direction="debit", amount_raw="300", reason="先扣",
                              actor_id=asker.id, business_at=now)
        db.session.commit()
        (request,) = [r for r in db.session.scalars(select(StoredValueAdjustmentRequest))]
        assert request.id == int(asked["request_id"])
        try:
            sv.decide(request_id=request.id, approve=True, actor_id=decider.id, business_at=now)
        except ServiceError as err:
            assert "最多只能扣减 ¥800.00" in err.fields["decision"]  # ¥1,000 + ¥100 bonus − ¥300
        else:
            raise AssertionError("a debit larger than the balance was approved")
        db.session.expire_all()
        assert db.session.get(StoredValueAdjustmentRequest, (tenant_a.id, request.id)).status == "pending"
        assert sv.decide(request_id=request.id, approve=False, actor_id=decider.id, business_at=now) == "rejected"
    assert sv_sum(tenant_a, member) == (80000, 80000)


def test_the_threshold_is_a_setting_in_yuan_next_to_the_points_threshold(client, tenant_a, login_as):
    login_as("owner")
    page = client.get("/t/tenant-a/settings").get_data(as_text=True)
    assert 'name="adjust_approval_fen"' in page and 'value="500.00"' in page
    assert page.index('name="adjust_approval_points"') < page.index('name="adjust_approval_fen"')
    form = form_values(page)
    bad = client.post("/t/tenant-a/settings", data={**form, "adjust_approval_fen": "12.345"})
    assert bad.status_code == 422 and "范围 0 到" in bad.get_data(as_text=True)
    assert 'value="12.345"' in bad.get_data(as_text=True)
    ok = client.post("/t/tenant-a/settings", data={**form, "adjust_approval_fen": "¥1,200.50"})
    assert ok.status_code == 302
    with tenant_context(tenant_a):
        db.session.expire_all()
        assert tenant_setting(db.session.get(Tenant, tenant_a.id), "adjust_approval_fen") == 120050
        assert sv.sv_approval_threshold() == 120050


def test_a_manager_reaches_only_their_stores_stored_value_requests(client, tenant_a):
    with tenant_context(tenant_a):
        second = db.session.scalars(select(Store).order_by(Store.code)).all()[1]
    other, _ = add(tenant_a, "二店储值", "13800000056", store="second")
    asker = make_staff(tenant_a, "store_manager", store=second)
    with tenant_context(tenant_a):
        asked = sv.request_adjustment(member_id=other, direction="credit", amount_raw="3000", reason="二店补差",
                                      actor_id=asker.id, business_at=dt.datetime.now(SH))
        db.session.commit()
    signed_in(client, tenant_a)  # a manager of the first store
    listed = client.get("/t/tenant-a/approvals").get_data(as_text=True)
    assert "二店补差" not in listed
    refused = client.post(f"/t/tenant-a/approvals/stored-value/{asked['request_id']}",
                          data={"csrf_token": csrf_from(listed), "decision": "approve"})
    assert refused.status_code == 404 and sv_sum(tenant_a, other) == (0, 0)
    signed_in(client, tenant_a, "clerk")
    token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    assert client.post(f"/t/tenant-a/members/{other}/stored-value-adjustments",
                       data={"csrf_token": token, "idem": "k", "direction": "credit", "amount": "1",
                             "reason": "x"}).status_code == 403
