"""The member page's profile parts: consent per channel with its history, identity changes approved by HQ,
the tier history in words, the referrer and the linked card."""

import datetime as dt

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.models import AuditEntry
from tenants.domain import consent as dconsent
from tenants.models import Member, ProgramVersion, TierAccount, TierChangeRow
from tenants.profile_models import ConsentEvent, IdentityChangeRequest
from tenants.scoping import tenant_context
from tenants.services.consent import set_consent, set_general_consent
from tenants.services.errors import ServiceError
from tenants.services.identity_changes import decide_identity_change, request_identity_change
from tenants.services.members import enroll_member
from tenants.services.programs import post_program_version
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, make_staff
from tests.integration.test_api_members import enrol, pos  # noqa: F401 (the API shop fixture)
from tests.integration.test_concurrency import race
from tests.integration.test_counter import form_key
from tests.integration.test_member_list import SH, add


def sign_in(client, tenant, user) -> None:
    with tenant_context(tenant):
        email = user.email
    with client.session_transaction() as session:
        session.clear()
    assert login(client, tenant, email, PASSWORD).status_code == 302


def events_of(tenant, member_id) -> list[tuple[str, bool, str]]:
    with tenant_context(tenant):
        return [(e.channel, e.granted, e.source) for e in db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.member_id == member_id).order_by(ConsentEvent.at, ConsentEvent.id))]


def member_row(tenant, member_id) -> Member:
    with tenant_context(tenant):
        db.session.expire_all()
        return db.session.get(Member, (tenant.id, member_id))


def coherent(tenant, member_id) -> int:
    """The member's bit set, checked against the replay of their events and their yes/no."""
    member = member_row(tenant, member_id)
    assert member.consent_channels == dconsent.fold(0, [(c, g) for c, g, _s in events_of(tenant, member_id)])
    assert member.marketing_consent is (member.consent_channels != 0)
    return member.consent_channels


# --- consent per channel ---------------------------------------------------------------------------------


def test_consent_is_chosen_per_channel_on_the_member_page_each_change_an_event_with_its_history(client, tenant_a):
    member_id, _card = add(tenant_a, "同意会员", "13800000041")
    with tenant_context(tenant_a):  # enrolled at the counter with a yes to offers: every channel
        agreed = enroll_member(business_at=dt.datetime.now(SH), name="同意全部", phone="13800000042",
                               marketing_consent=True).id
        db.session.commit()
    assert coherent(tenant_a, agreed) == dconsent.ALL
    assert events_of(tenant_a, agreed) == [(c, True, "counter") for c in dconsent.CHANNELS]
    assert coherent(tenant_a, member_id) == 0 and events_of(tenant_a, member_id) == []

    manager = make_staff(tenant_a, "store_manager")
    sign_in(client, tenant_a, manager)
    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    assert "营销同意" in page and "尚无变更记录" in page
    form = {"csrf_token": csrf_from(page), "idem": form_key(page), "consent_sms": "1", "consent_email": "1"}
    url = f"/t/tenant-a/members/{member_id}/consent"
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data=form).status_code == 302  # sent twice: one change
    assert events_of(tenant_a, member_id) == [("sms", True, "back_office"), ("email", True, "back_office")]
    assert coherent(tenant_a, member_id) == dconsent.BITS["sms"] | dconsent.BITS["email"]

    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    assert "短信" in page and "邮箱" in page and "已同意" in page and "后台" in page
    withdraw = {"csrf_token": csrf_from(page), "idem": form_key(page), "consent_email": "1", "consent_wechat": "1"}
    assert client.post(url, data=withdraw).status_code == 302
    assert events_of(tenant_a, member_id)[2:] == [("sms", False, "back_office"), ("wechat", True, "back_office")]
    assert coherent(tenant_a, member_id) == dconsent.BITS["wechat"] | dconsent.BITS["email"]
    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    assert "已撤回" in page and "微信" in page

    nothing = client.post(url, data={"csrf_token": csrf_from(page), "idem": form_key(page)})  # all withdrawn
    assert nothing.status_code == 302 and coherent(tenant_a, member_id) == 0
    assert member_row(tenant_a, member_id).marketing_consent is False
    with tenant_context(tenant_a):
        audits = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "member.consent_changed",
                                                             AuditEntry.target == f"member:{member_id}")
                                    .order_by(AuditEntry.at, AuditEntry.id)).all()
        assert [(a.details["granted"], a.details["withdrawn"], a.actor_id) for a in audits] == [
            (["sms", "email"], [], manager.id), (["wechat"], ["sms"], manager.id),
            ([], ["wechat", "email"], manager.id)]
    log = client.get(f"/t/tenant-a/audit?member={member_id}")
    assert log.status_code in (200, 403)  # (a store manager has no audit log; the owner's is checked below)

    before = len(events_of(tenant_a, member_id))
    refused = client.post(url, data={"csrf_token": csrf_from(page), "consent_sms": "1"})  # no idempotency key
    assert refused.status_code == 422 and len(events_of(tenant_a, member_id)) == before


def test_the_owner_reads_consent_changes_in_words_in_the_audit_log(client, tenant_a, login_as):
    member_id, _card = add(tenant_a, "审计同意", "13800000043")
    login_as("owner")
    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    assert client.post(f"/t/tenant-a/members/{member_id}/consent", data={
        "csrf_token": csrf_from(page), "idem": form_key(page), "consent_phone": "1"}).status_code == 302
    log = client.get(f"/t/tenant-a/audit?member={member_id}").get_data(as_text=True)
    assert "营销同意已变更" in log and "电话" in log and "后台" in log


def test_the_member_list_filters_by_channel_and_the_api_keeps_the_one_yes_coherent(client, app_ctx, tenant_a,
                                                                                    login_as):
    sms, _c = add(tenant_a, "短信会员", "13800000044")
    wechat, _c = add(tenant_a, "微信会员", "13800000045")
    none, _c = add(tenant_a, "无同意会员", "13800000046")
    with tenant_context(tenant_a):
        set_consent(sms, ["sms"], source="counter", staff_id=None)
        set_consent(wechat, ["wechat", "phone"], source="counter", staff_id=None)
        db.session.commit()
    login_as("owner")
    token = csrf_from(client.get("/t/tenant-a/members").get_data(as_text=True))

    def listed(consent: str) -> set[str]:
        body = client.post("/t/tenant-a/members", data={"csrf_token": token, "consent": consent}).get_data(
            as_text=True)
        return {name for name in ("短信会员", "微信会员", "无同意会员") if name in body}

    assert listed("sms") == {"短信会员"}
    assert listed("wechat") == listed("phone") == {"微信会员"}
    assert listed("email") == set()
    assert listed("yes") == {"短信会员", "微信会员"} and listed("no") == {"无同意会员"}
    bad = client.post("/t/tenant-a/members", data={"csrf_token": token, "consent": "fax"})
    assert bad.status_code == 200 and "不是有效的选项" in bad.get_data(as_text=True)

    with tenant_context(tenant_a):  # the API's yes/no: a yes again keeps the channels; a no withdraws them all
        set_general_consent(db.session.get(Member, (tenant_a.id, sms)), True, source="api", staff_id=None)
        set_general_consent(db.session.get(Member, (tenant_a.id, wechat)), False, source="api", staff_id=None)
        set_general_consent(db.session.get(Member, (tenant_a.id, none)), True, source="api", staff_id=None)
        db.session.commit()
    assert coherent(tenant_a, sms) == dconsent.BITS["sms"]
    assert coherent(tenant_a, wechat) == 0
    assert events_of(tenant_a, wechat)[-2:] == [("wechat", False, "api"), ("phone", False, "api")]
    assert coherent(tenant_a, none) == dconsent.ALL


def test_the_api_changes_consent_through_the_same_events(pos):  # noqa: F811 (the fixture)
    member = enrol(pos, phone="13800138041", marketing_consent=True)
    assert events_of(pos.tenant, int(member["id"])) == [(c, True, "api") for c in dconsent.CHANNELS]
    patched = pos.patch(f"/members/{member['id']}", {"marketing_consent": False})
    assert patched.status_code == 200 and patched.json["marketing_consent"] is False
    assert coherent(pos.tenant, int(member["id"])) == 0
    assert events_of(pos.tenant, int(member["id"]))[-1] == ("phone", False, "api")


# --- identity changes approved by HQ ---------------------------------------------------------------------


def require_hq_approval(tenant, required: bool = True) -> None:
    with tenant_context(tenant):
        program = db.session.query(ProgramVersion).order_by(ProgramVersion.version.desc()).first()
        rules = {**program.rules, "enrolment": {**program.rules["enrolment"],
                                                "approval_for_identity_changes": required}}
        post_program_version(rules, program.effective_from, "identity changes go to HQ")
        db.session.commit()


PHONE = "13800000051"


def profile_form(page: str, phone: str, **changes) -> dict:
    return {"csrf_token": csrf_from(page), "name": "原名", "phone": phone, "email": "", "birthday": "", "gender": "",
            "address": "", **changes}


def test_a_managers_change_of_name_and_id_number_waits_for_hq_who_approves_or_rejects_it(client, tenant_a):
    require_hq_approval(tenant_a)
    member_id, _card = add(tenant_a, "原名", PHONE, id_doc_type="resident_id",
                           id_doc_number="110101199003070011")
    manager, admin = make_staff(tenant_a, "store_manager"), make_staff(tenant_a, "chain_admin")
    sign_in(client, tenant_a, manager)
    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    assert "总部审核" in page
    url = f"/t/tenant-a/members/{member_id}/profile"
    bad = client.post(url, data=profile_form(page, PHONE, name="新名字", id_doc_number="11<script>"))
    assert bad.status_code == 422 and "证件号码" in bad.get_data(as_text=True)
    assert "11&lt;script&gt;" in bad.get_data(as_text=True)  # the input kept (escaped)
    form = profile_form(page, PHONE, name="新名字", address="人民路 2 号", id_doc_number="110101199003070099")
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data=form).status_code == 302  # sent twice: asked once
    member = member_row(tenant_a, member_id)
    assert (member.name, member.id_doc_number, member.address) == ("原名", "110101199003070011", "人民路 2 号")
    with tenant_context(tenant_a):
        waiting = db.session.scalars(select(IdentityChangeRequest).order_by(IdentityChangeRequest.field)).all()
        assert [(w.field, w.old_value, w.new_value, w.status) for w in waiting] == [
            ("id_doc_number", "110101199003070011", "110101199003070099", "pending"),
            ("name", "原名", "新名字", "pending")]
        raw = db.session.execute(text("select old_value, new_value from identity_change_requests")).all()
        assert all(v.startswith("gAAAAA") and "1101" not in v for row in raw for v in row)  # sealed at rest
    other = client.post(url, data=profile_form(page, PHONE, name="第三个名字"))
    assert other.status_code == 422 and "在等待总部审核" in other.get_data(as_text=True)
    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    assert "新名字" in page and "11**************99" in page and "110101199003070099" not in page
    approvals = client.get("/t/tenant-a/approvals").get_data(as_text=True)
    assert "新名字" not in approvals  # a store manager does not decide identity changes
    change = waiting[1].id
    assert client.post(f"/t/tenant-a/approvals/identity/{change}", data={
        "csrf_token": csrf_from(page), "decision": "approve"}).status_code == 403

    sign_in(client, tenant_a, admin)
    approvals = client.get("/t/tenant-a/approvals").get_data(as_text=True)
    assert "新名字" in approvals and "11**************99" in approvals and "110101199003070099" not in approvals
    token = csrf_from(approvals)
    assert client.post(f"/t/tenant-a/approvals/identity/{change}",
                       data={"csrf_token": token, "decision": "approve"}).status_code == 302
    assert client.post(f"/t/tenant-a/approvals/identity/{waiting[0].id}",
                       data={"csrf_token": token, "decision": "reject"}).status_code == 302
    member = member_row(tenant_a, member_id)
    assert (member.name, member.id_doc_number) == ("新名字", "110101199003070011")
    again = client.post(f"/t/tenant-a/approvals/identity/{change}", data={"csrf_token": token, "decision": "reject"})
    assert again.status_code == 422 and "该申请已处理" in again.get_data(as_text=True)
    assert member_row(tenant_a, member_id).name == "新名字"
    with tenant_context(tenant_a):
        actions = [(a.action, a.actor_id) for a in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("member.identity%"))
            .order_by(AuditEntry.at, AuditEntry.id))]
        assert actions == [("member.identity_change_requested", manager.id),
                           ("member.identity_change_requested", manager.id),
                           ("member.identity_change_approved", admin.id), ("member.identity_change_rejected", admin.id)]
        updated = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "member.updated")
                                     .order_by(AuditEntry.at, AuditEntry.id)).all()
        assert [(u.details["fields"], u.actor_id) for u in updated] == [(["address"], manager.id),
                                                                        (["name"], admin.id)]

    # HQ's own change applies at once.
    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    assert client.post(url, data=profile_form(page, PHONE, name="总部改名", id_doc_number="110101199003070022")
                       ).status_code == 302
    member = member_row(tenant_a, member_id)
    assert (member.name, member.id_doc_number) == ("总部改名", "110101199003070022")


def test_without_the_programs_rule_a_manager_changes_the_name_at_once(client, tenant_a):
    member_id, _card = add(tenant_a, "原名", PHONE)
    manager = make_staff(tenant_a, "store_manager")
    sign_in(client, tenant_a, manager)
    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    assert "总部审核" not in page
    assert client.post(f"/t/tenant-a/members/{member_id}/profile",
                       data=profile_form(page, PHONE, name="立即改名", id_doc_number="e1234567")).status_code == 302
    member = member_row(tenant_a, member_id)
    assert (member.name, member.id_doc_number) == ("立即改名", "E1234567")
    with tenant_context(tenant_a):
        assert db.session.query(IdentityChangeRequest).count() == 0


def test_the_requester_never_decides_and_ten_approvers_at_once_apply_it_once(app, app_ctx, tenant_a):
    member_id, _card = add(tenant_a, "原名", "13800000053")
    manager = make_staff(tenant_a, "store_manager")
    admins = [make_staff(tenant_a, "chain_admin") for _ in range(10)]
    with tenant_context(tenant_a):
        change = request_identity_change(db.session.get(Member, (tenant_a.id, member_id)), "name", "并发名字",
                                         actor_id=manager.id).id
        db.session.commit()
        with pytest.raises(ServiceError) as refused:
            decide_identity_change(change_id=change, approve=True, actor_id=manager.id)
        assert "不能自己批准" in str(refused.value.fields["decision"])
        admin_ids = [a.id for a in admins]
    results = race(app, tenant_a, 10, lambda i: decide_identity_change(change_id=change, approve=True,
                                                                       actor_id=admin_ids[i]))
    assert results.count("applied") == 1 and all(isinstance(r, ServiceError) for r in results if r != "applied")
    assert member_row(tenant_a, member_id).name == "并发名字"
    with tenant_context(tenant_a):
        assert db.session.query(AuditEntry).filter_by(action="member.identity_change_approved").count() == 1


def test_a_waiting_change_cannot_overwrite_what_hq_changed_since_it_was_asked(app_ctx, tenant_a):
    member_id, _card = add(tenant_a, "原名", "13800000054")
    manager, admin = make_staff(tenant_a, "store_manager"), make_staff(tenant_a, "chain_admin")
    with tenant_context(tenant_a):
        member = db.session.get(Member, (tenant_a.id, member_id))
        change = request_identity_change(member, "name", "门店改名", actor_id=manager.id).id
        db.session.commit()
        member.name = "总部改名"  # HQ changed it directly meanwhile
        db.session.commit()
        with pytest.raises(ServiceError) as refused:
            decide_identity_change(change_id=change, approve=True, actor_id=admin.id)
        assert "decision" in refused.value.fields
        db.session.expire_all()
        assert db.session.get(Member, (tenant_a.id, member_id)).name == "总部改名"
        assert db.session.get(IdentityChangeRequest, (tenant_a.id, change)).status == "pending"
        assert decide_identity_change(change_id=change, approve=False, actor_id=admin.id) == "rejected"


# --- tier history, referrer, linked card -----------------------------------------------------------------


def test_the_member_page_lists_the_tier_history_in_words_with_the_referrer_and_the_linked_card(client, tenant_a):
    referrer, _c = add(tenant_a, "推荐人", "13800000061")
    member_id, _c = add(tenant_a, "被推荐", "13800000062", referrer_id=referrer)
    partner, _c = add(tenant_a, "伴侣", "13800000063")
    elsewhere, _c = add(tenant_a, "别店推荐人", "13800000064", store="second")
    other, _c = add(tenant_a, "别店推荐的", "13800000065", referrer_id=elsewhere)
    with tenant_context(tenant_a):
        member = db.session.get(Member, (tenant_a.id, member_id))
        day = dt.date(2026, 3, 1)
        couple = TierAccount(kind="couple", tier_code="gold", since=day, period_start=day, period_end=None,
                             program_version=1)
        db.session.add(couple)
        db.session.flush()
        old_account = member.tier_account_id
        db.session.add_all([
            TierChangeRow(tier_account_id=old_account, member_id=member_id, changed_on=dt.date(2026, 1, 5),
                          action="upgrade", from_tier="regular", to_tier="silver", period_start=dt.date(2026, 1, 5),
                          period_end=None, reason_code="reached_cumulative_spend",
                          reason_params={"tier": "silver", "have": 123_400, "required": 100_000, "window": "year"},
                          program_version=1),
            TierChangeRow(tier_account_id=couple.id, member_id=None, changed_on=dt.date(2026, 3, 1),
                          action="upgrade", from_tier="silver", to_tier="gold", period_start=day, period_end=None,
                          reason_code="hq_grant", reason_params={"tier": "gold"}, program_version=2)])
        member.tier_account_id = couple.id
        db.session.get(Member, (tenant_a.id, partner)).tier_account_id = couple.id
        db.session.commit()
    manager = make_staff(tenant_a, "store_manager")
    sign_in(client, tenant_a, manager)
    page = client.get(f"/t/tenant-a/members/{member_id}").get_data(as_text=True)
    history = page[page.index('id="tier-history"'):]
    assert history.index("2026年3月1日") < history.index("2026年1月5日")  # the latest first
    assert "银卡 → 金卡" in history and "由总部授予" in history
    assert "普通会员 → 银卡" in history and "已达 ¥1,234.00（需要 ¥1,000.00）" in history
    links = page[page.index('id="member-links"'):]
    assert f'href="/t/tenant-a/members/{referrer}"' in links and "推荐人" in links
    assert "情侣卡" in links and f'href="/t/tenant-a/members/{partner}"' in links
    assert page.count('class="tier-status"') == 1  # the "what is needed" explanation is still there
    # A referrer enrolled in a store the reader cannot see: named, not linked.
    page = client.get(f"/t/tenant-a/members/{other}").get_data(as_text=True)
    links = page[page.index('id="member-links"'):]
    assert "别店推荐人" in links and f"/members/{elsewhere}" not in links
    assert client.get(f"/t/tenant-a/members/{elsewhere}").status_code == 404
