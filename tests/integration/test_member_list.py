"""The back office's member list: search, filters, sorting and paging within the person's store scope."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from saas.extensions import db
from tenants.models import Card, Member, Store, TierAccount
from tenants.programs import business_today
from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.tenant_clock  # stages and join dates count in the tenant's days
SH = ZoneInfo("Asia/Shanghai")


def names(html: str) -> list[str]:
    return re.findall(r'<tr class="listed-member">\s*<td><a [^>]*><strong>([^<]*)</strong>', html)


def add(tenant, name, phone, store="first", joined_days_ago=0, bought_days_ago=None, **fields):
    with tenant_context(tenant):
        stores = db.session.scalars(select(Store).order_by(Store.code)).all()
        member = enroll_member(business_at=dt.datetime.now(SH), name=name, phone=phone,
                               store_id=(stores[0] if store == "first" else stores[1]).id)
        today = business_today()
        member.joined_on = today - dt.timedelta(days=joined_days_ago)
        member.last_purchase_on = None if bought_days_ago is None else today - dt.timedelta(days=bought_days_ago)
        tier = fields.pop("tier", None)
        for key, value in fields.items():
            setattr(member, key, value)
        if tier:
            db.session.get(TierAccount, (tenant.id, member.tier_account_id)).tier_code = tier
        db.session.commit()
        card = db.session.scalars(select(Card).where(Card.member_id == member.id)).first()
        return member.id, card.number


@pytest.fixture
def shop(app_ctx, tenant_a):
    add(tenant_a, "新会员", "13800000001", joined_days_ago=3, bought_days_ago=3, tags=["新客"])
    add(tenant_a, "活跃金卡", "13800000002", joined_days_ago=200, bought_days_ago=10, tier="gold",
        marketing_consent=True, birthday=dt.date(1990, 5, 20))
    add(tenant_a, "沉睡", "13800000003", joined_days_ago=400, bought_days_ago=120, tags=["VIP", "老客"])
    add(tenant_a, "流失", "13800000004", joined_days_ago=500, bought_days_ago=300, birthday=dt.date(1985, 5, 1))
    add(tenant_a, "二店会员", "13800000005", store="second", joined_days_ago=40, bought_days_ago=5)
    return tenant_a


def post(client, page_html: str, **fields):
    response = client.post("/t/tenant-a/members", data={"csrf_token": csrf_from(page_html), **fields},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_search_and_every_filter_select_the_right_members(client, shop):
    owner = make_staff(shop, "chain_admin")
    assert login(client, shop, owner.email, PASSWORD).status_code == 302
    page = client.get("/t/tenant-a/members").get_data(as_text=True)
    assert sorted(names(page)) == sorted(["新会员", "活跃金卡", "沉睡", "流失", "二店会员"])
    assert names(post(client, page, q="138 0000 0003")) == ["沉睡"]  # a full phone, however spelled
    assert names(post(client, page, q="0004")) == ["流失"]  # the last 4 digits
    assert names(post(client, page, q="老客")) == ["沉睡"]  # a tag
    assert names(post(client, page, q="VIP")) == ["沉睡"]
    assert names(post(client, page, q="金卡")) == ["活跃金卡"]  # part of a name
    assert names(post(client, page, tier="gold")) == ["活跃金卡"]
    assert names(post(client, page, stage="new")) == ["新会员"]
    assert names(post(client, page, stage="dormant")) == ["沉睡"]
    assert names(post(client, page, stage="lost")) == ["流失"]
    assert sorted(names(post(client, page, stage="active"))) == ["二店会员", "活跃金卡"]
    assert sorted(names(post(client, page, month="5"))) == ["活跃金卡", "流失"]
    assert names(post(client, page, consent="yes")) == ["活跃金卡"]
    with tenant_context(shop):
        today = business_today()
    joined = post(client, page, joined_from=(today - dt.timedelta(days=250)).isoformat(),
                  joined_to=(today - dt.timedelta(days=30)).isoformat())
    assert sorted(names(joined)) == ["二店会员", "活跃金卡"]
    assert names(post(client, page, sort="last_purchase"))[:2] == ["新会员", "二店会员"]
    # The phone searched for never stands in a URL: the search is a POST.
    assert "13800000003" not in client.get("/t/tenant-a/members").request.url


def test_bad_filters_say_so_on_their_field_with_the_input_kept(client, shop, tenant_b):
    owner = make_staff(shop, "owner")
    assert login(client, shop, owner.email, PASSWORD).status_code == 302
    page = client.get("/t/tenant-a/members").get_data(as_text=True)
    with tenant_context(tenant_b):
        b_store = db.session.scalars(select(Store)).first().id
    for bad in ({"store": str(b_store)}, {"tier": "mithril"}, {"stage": "zombie"}, {"month": "13"},
                {"joined_from": "2026-02-30"}, {"sort": "drop table"}):
        body = client.post("/t/tenant-a/members", data={"csrf_token": csrf_from(page), "q": "保留", **bad}
                           ).get_data(as_text=True)
        assert "请更正筛选条件" in body and not names(body), bad
        assert 'value="保留"' in body, bad
    backwards = post(client, page, joined_from="2026-05-01", joined_to="2026-04-01")
    assert "结束日期早于开始日期" in client.post("/t/tenant-a/members", data={
        "csrf_token": csrf_from(page), "joined_from": "2026-05-01", "joined_to": "2026-04-01"}).get_data(as_text=True)
    assert not names(backwards)


def test_a_store_manager_sees_only_their_stores_members_and_a_clerk_none(client, shop, tenant_b):
    add(tenant_b, "乙租户会员", "13900000001")
    manager = make_staff(shop, "store_manager")  # of the first store
    assert login(client, shop, manager.email, PASSWORD).status_code == 302
    page = client.get("/t/tenant-a/members").get_data(as_text=True)
    assert "二店会员" not in page and "乙租户会员" not in page and len(names(page)) == 4
    assert "138 0000 0001" in page or "138 0000 0001" in page.replace("\u00a0", " ")  # full phone for a manager
    with tenant_context(shop):
        second = db.session.scalars(select(Store).order_by(Store.code)).all()[1].id
    refused = client.post("/t/tenant-a/members", data={"csrf_token": csrf_from(page), "store": str(second)})
    assert "二店会员" not in refused.get_data(as_text=True)
    assert "二店会员" not in post(client, page, q="13800000005")  # not even by an exact phone
    for role in ("clerk", "vip_specialist"):
        client.post("/t/tenant-a/logout", data={"csrf_token": csrf_from(page)})
        user = make_staff(shop, role)
        assert login(client, shop, user.email, PASSWORD).status_code == 302
        assert client.get("/t/tenant-a/members").status_code == 403, role


def test_thirty_members_page_by_twenty_five_with_the_filters_kept(client, app_ctx, tenant_a):
    for i in range(30):
        add(tenant_a, f"会员{i:02d}", f"1370000{i:04d}", joined_days_ago=i, tags=["批量"] if i % 2 else [])
    owner = make_staff(tenant_a, "owner")
    assert login(client, tenant_a, owner.email, PASSWORD).status_code == 302
    page = client.get("/t/tenant-a/members").get_data(as_text=True)
    assert len(names(page)) == 25 and names(page)[0] == "会员00" and "共 30" not in page
    second = post(client, page, page="2")
    assert names(second) == [f"会员{i}" for i in range(25, 30)]
    tagged = post(client, page, q="批量", page="1")
    assert len(names(tagged)) == 15 and "hx-include=\"#member-filters\"" not in tagged  # one page: no pager


def test_the_member_page_shows_the_ledgers_in_words_within_the_scope_and_reveals_the_id_number_audited(
        client, shop, tenant_b):
    from saas.models import AuditEntry
    from tenants.services.points import adjust_points
    from tenants.services.stored_value import top_up

    number = "110101199003071234"
    mine, _card = add(shop, "证件会员", "13800000009", id_doc_type="id_card", id_doc_number=number)
    other_store, _ = add(shop, "二店的人", "13800000010", store="second")
    theirs, _ = add(tenant_b, "乙租户会员", "13900000002")
    with tenant_context(shop):
        adjust_points(member_id=mine, delta=120, reason="开业补偿", business_at=dt.datetime.now(SH))
        top_up(member_id=mine, amount_fen=50000, business_at=dt.datetime.now(SH))
        db.session.commit()
    manager = make_staff(shop, "store_manager")
    assert login(client, shop, manager.email, PASSWORD).status_code == 302
    page = client.get(f"/t/tenant-a/members/{mine}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "证件会员" in body
    assert "已调整" in body and "开业补偿" in body and "+120" in body and "储值" in body and "¥500.00" in body
    assert number not in body and "11**************34" in body and "显示号码" in body
    assert client.get(f"/t/tenant-a/members/{other_store}").status_code == 404  # another store's member
    assert client.get(f"/t/tenant-a/members/{theirs}").status_code == 404  # another tenant's member
    shown = client.post(f"/t/tenant-a/members/{mine}/id-document", data={"csrf_token": csrf_from(body)},
                        headers={"HX-Request": "true"})
    assert shown.status_code == 200 and number in shown.get_data(as_text=True)
    with tenant_context(shop):
        assert db.session.query(AuditEntry).filter_by(action="member.id_document_revealed",
                                                      target=f"member:{mine}", actor_id=manager.id).count() == 1
    assert client.post(f"/t/tenant-a/members/{other_store}/id-document",
                       data={"csrf_token": csrf_from(body)}).status_code == 404
    client.post("/t/tenant-a/logout", data={"csrf_token": csrf_from(body)})
    supervisor = make_staff(shop, "regional_supervisor")  # sees the member, masked number, may not reveal it
    assert login(client, shop, supervisor.email, PASSWORD).status_code == 302
    body = client.get(f"/t/tenant-a/members/{mine}").get_data(as_text=True)
    assert "11**************34" in body and "显示号码" not in body
    assert client.post(f"/t/tenant-a/members/{mine}/id-document",
                       data={"csrf_token": csrf_from(body)}).status_code == 403


def test_a_manager_hands_a_member_over_and_keeps_notes_and_tags_audited(client, shop, tenant_b):
    from saas.models import AuditEntry

    mine, _ = add(shop, "交接会员", "13800000011")
    manager = make_staff(shop, "store_manager")
    vip = make_staff(shop, "vip_specialist")
    with tenant_context(shop):
        second = db.session.scalars(select(Store).order_by(Store.code)).all()[1]
    elsewhere = make_staff(shop, "vip_specialist", store=second)
    b_person = make_staff(tenant_b, "vip_specialist")
    assert login(client, shop, manager.email, PASSWORD).status_code == 302
    body = client.get(f"/t/tenant-a/members/{mine}").get_data(as_text=True)
    token = csrf_from(body)
    assert vip.name in body and elsewhere.name not in body  # only people of the manager's stores are offered
    for stranger in (elsewhere.id, b_person.id, 99, "x"):
        refused = client.post(f"/t/tenant-a/members/{mine}/responsible", data={"csrf_token": token,
                                                                                "staff_id": stranger})
        assert refused.status_code == 422 and "请选择一位在职员工" in refused.get_data(as_text=True), stranger
    assert client.post(f"/t/tenant-a/members/{mine}/responsible",
                       data={"csrf_token": token, "staff_id": vip.id}).status_code == 302
    saved = client.post(f"/t/tenant-a/members/{mine}/notes", data={
        "csrf_token": token, "tags": "VIP, 老客，VIP、\u202e偏好晚间", "notes": "喜欢蓝色\r\n\r\n\r\n晚上来电\u200b"})
    assert saved.status_code == 302
    with tenant_context(shop):
        member = db.session.get(Member, (shop.id, mine))
        assert member.responsible_staff_id == vip.id
        assert member.tags == ["VIP", "老客", "偏好晚间"] and member.notes == "喜欢蓝色\n\n晚上来电"
        handed = db.session.scalars(select(AuditEntry).filter_by(action="member.handed_over")).one()
        assert handed.details == {"from_staff": None, "to_staff": str(vip.id)} and handed.actor_id == manager.id
    too_long = client.post(f"/t/tenant-a/members/{mine}/notes", data={"csrf_token": token, "tags": "保留",
                                                                       "notes": "长" * 2001})
    assert too_long.status_code == 422 and "最多 2000 个字符" in too_long.get_data(as_text=True)
    assert 'value="保留"' in too_long.get_data(as_text=True)
    with tenant_context(shop):
        db.session.expire_all()
        assert db.session.get(Member, (shop.id, mine)).tags == ["VIP", "老客", "偏好晚间"]  # nothing changed
    page = client.get(f"/t/tenant-a/audit?member={mine}")
    assert page.status_code == 403  # a store manager does not read the audit log


def test_a_manager_edits_the_profile_with_the_phone_checked_and_the_change_audited(client, shop):
    from saas.models import AuditEntry

    mine, _ = add(shop, "改资料", "13800000031")
    add(shop, "占号的人", "13800000032")
    manager = make_staff(shop, "store_manager")
    assert login(client, shop, manager.email, PASSWORD).status_code == 302
    body = client.get(f"/t/tenant-a/members/{mine}").get_data(as_text=True)
    token = csrf_from(body)
    form = {"csrf_token": token, "name": "改好的名字", "phone": "13800000031", "email": "new@example.com",
            "birthday": "1992-02-29", "gender": "female", "address": "南京路 1 号"}
    for bad, field_message in (({"phone": "13800000032"}, "已有会员使用该手机号码"),
                               ({"birthday": "2999-01-01"}, "1900"),
                               ({"birthday": "02/29/1992"}, "必须是日期"), ({"gender": "robot"}, "不是有效的选项"),
                               ({"name": " \u200b"}, "请输入会员姓名"), ({"phone": "12345"}, "手机")):
        refused = client.post(f"/t/tenant-a/members/{mine}/profile", data={**form, **bad})
        text = refused.get_data(as_text=True)
        assert refused.status_code == 422 and field_message in text, (bad, text[-2000:])
        assert "new@example.com" in text  # the rest of what was typed is kept
    with tenant_context(shop):
        assert db.session.get(Member, (shop.id, mine)).name == "改资料"  # nothing changed
    assert client.post(f"/t/tenant-a/members/{mine}/profile", data=form).status_code == 302
    with tenant_context(shop):
        db.session.expire_all()
        member = db.session.get(Member, (shop.id, mine))
        assert (member.name, member.email, member.birthday, member.gender) == (
            "改好的名字", "new@example.com", dt.date(1992, 2, 29), "female")
        entry = db.session.scalars(select(AuditEntry).filter_by(action="member.updated")).one()
        assert entry.details["fields"] == ["name", "email", "gender", "birthday", "address"]
