"""Cards on the back office's member page (store manager and up): a printed card, its PIN, loss, replacement after
the working-day delay for the fee, exchange, and closing the membership with the stored-value refund after the
identity check. Each form carries an idempotency key; refusals come back on their field with the input kept."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry
from tenants.models import Card, Member, Store, StoredValueEntry
from tenants.scoping import tenant_context
from tenants.services import back_office_cards as desk
from tenants.services.cards import verify_pin
from tenants.services.members import enroll_member
from tenants.services.stored_value import top_up
from tests.conftest import csrf_from, login
from tests.factories import make_staff, make_tenant
from tests.integration.test_concurrency import race
from tests.integration.test_counter import form_key
from tests.integration.test_member_list import add

SH = ZoneInfo("Asia/Shanghai")


def signed_in(client, tenant, role="store_manager", **kw):
    user = make_staff(tenant, role, **kw)
    with tenant_context(tenant):
        email = user.email
    with client.session_transaction() as session:
        session.clear()
    assert login(client, tenant, email).status_code == 302
    return user


def first_store(tenant) -> int:
    with tenant_context(tenant):
        return db.session.scalars(select(Store.id).order_by(Store.code)).first()


def page_of(client, tenant, member_id) -> str:
    response = client.get(f"/t/{tenant.slug}/members/{member_id}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def keyed(html: str, form_id: str | None = None, action: str | None = None) -> dict:
    """The CSRF token and the idempotency key of one form of the page (by id or by its action)."""
    if form_id:
        start = html.index(f'id="{form_id}"')
    else:
        start = html.index(f'action="{action}"')
    form = html[html.rindex("<form", 0, start):html.index("</form>", start)]
    return {"csrf_token": csrf_from(html), "idem": form_key(form)}


def cards_of(tenant, member_id) -> list[Card]:
    with tenant_context(tenant):
        db.session.expire_all()
        return list(db.session.scalars(select(Card).where(Card.member_id == member_id).order_by(Card.issued_on,
                                                                                                Card.id)))


def actions(tenant, prefix="card.") -> list[tuple[str, dict]]:
    with tenant_context(tenant):
        return [(a.action, a.details) for a in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.at, AuditEntry.id))]


def test_a_manager_issues_a_printed_card_with_a_pin_and_a_bad_or_taken_number_is_refused_on_its_field(
        client, tenant_a):
    member, virtual = add(tenant_a, "发卡会员", "13800000031")
    signed_in(client, tenant_a)
    url = f"/t/tenant-a/members/{member}/cards"
    html = page_of(client, tenant_a, member)
    assert 'id="issue-card-form"' in html and "密码（选填" in html  # clothing: stored value is paid with a PIN
    for number, message in (("12-34", "请使用字母和数字"), ("", "请输入卡面上的卡号"), (virtual, "该卡号已被使用"),
                            ("A" * 41, "请使用字母和数字")):
        refused = client.post(url, data={**keyed(html, "issue-card-form"), "number": number})
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in body, number
        assert f'value="{number}"' in body and re.search(r'<details class="card-action" id="issue-card"\s+open', body)
    mismatch = client.post(url, data={**keyed(html, "issue-card-form"), "number": "PC 0001", "pin": "1234",
                                      "pin_repeat": "1243"})
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    assert "1243" not in mismatch.get_data(as_text=True)  # a PIN is never sent back
    assert len(cards_of(tenant_a, member)) == 1

    form = {**keyed(html, "issue-card-form"), "number": "PC 0001", "pin": "1234", "pin_repeat": "1234"}
    first = client.post(url, data=form)
    assert first.status_code == 302 and first.headers["Location"].endswith("#cards")
    assert client.post(url, data=form).status_code == 302  # a double tap: one card
    cards = cards_of(tenant_a, member)
    assert [(c.number, c.kind, c.status) for c in cards] == [(virtual, "virtual", "active"),
                                                             ("PC0001", "physical", "active")]
    with tenant_context(tenant_a):
        assert verify_pin(member, "1234") is True
    ((action, details),) = actions(tenant_a)
    assert action == "card.issued" and details["number"] == "PC0001" and details["pin"] is True
    assert "1234" not in str(details)
    assert "已发卡 PC0001" in page_of(client, tenant_a, member)


def test_a_pin_is_set_and_changed_with_the_member_typing_it_twice_and_only_where_the_card_type_uses_one(
        client, tenant_a, app_ctx):
    member, _number = add(tenant_a, "密码会员", "13800000032")
    signed_in(client, tenant_a)
    html = page_of(client, tenant_a, member)
    (card,) = cards_of(tenant_a, member)
    url = f"/t/tenant-a/members/{member}/cards/{card.id}/pin"
    assert "设置密码" in html
    short = client.post(url, data={**keyed(html, action=url), "pin": "12", "pin_repeat": "12"})
    assert short.status_code == 422 and "卡密码为 4 到 8 位数字" in short.get_data(as_text=True)
    assert client.post(url, data={**keyed(html, action=url), "pin": "2468", "pin_repeat": "2468"}).status_code == 302
    html = page_of(client, tenant_a, member)
    assert "修改密码" in html and "已设密码" in html
    assert client.post(url, data={**keyed(html, action=url), "pin": "13579", "pin_repeat": "13579"}).status_code == 302
    with tenant_context(tenant_a):
        db.session.expire_all()
        assert verify_pin(member, "13579") is True
    assert [d["changed"] for a, d in actions(tenant_a) if a == "card.pin_changed"] == [False, True]

    blank = make_tenant("blank-shop", vertical="blank")  # no stored value, a card type without a PIN
    with tenant_context(blank):
        plain = enroll_member(business_at=dt.datetime.now(SH), name="无密码", phone="13800000033",
                              store_id=first_store(blank))
        db.session.commit()
        plain_id, plain_card = plain.id, db.session.scalars(select(Card.id)).one()
    signed_in(client, blank)
    html = page_of(client, blank, plain_id)
    assert "设置密码" not in html
    refused = client.post(f"/t/blank-shop/members/{plain_id}/cards/{plain_card}/pin",
                          data={"csrf_token": csrf_from(html), "idem": "k-1", "pin": "1234", "pin_repeat": "1234"})
    assert refused.status_code == 422 and "该卡类型不使用密码" in refused.get_data(as_text=True)


@pytest.fixture
def golden_week(app_ctx):
    """A clothing shop whose program is in force since 2025 (lost cards: replaced after 1 working day for ¥10)."""
    return make_tenant("golden-week", program_from=dt.date(2025, 1, 1))


def test_a_lost_card_is_replaced_after_the_working_day_delay_for_its_fee(client, golden_week):
    tenant = golden_week
    with time_machine.travel(dt.datetime(2026, 9, 30, 10, tzinfo=SH), tick=True):
        with tenant_context(tenant):
            member = enroll_member(business_at=dt.datetime.now(SH), name="补卡会员", phone="13800000034",
                                   store_id=first_store(tenant)).id
            db.session.commit()
        signed_in(client, tenant)
        (card,) = cards_of(tenant, member)
        html = page_of(client, tenant, member)
        loss = f"/t/golden-week/members/{member}/cards/{card.id}/loss"
        assert client.post(loss, data=keyed(html, action=loss)).status_code == 302
        html = page_of(client, tenant, member)
        # 1 working day after Wednesday 30 September: the National Day holidays run to 7 October
        assert "补卡可于 2026年10月8日 起办理" in html and "补卡费：¥10.00" in html
        assert "补发新卡" not in html
    replace = f"/t/golden-week/members/{member}/cards/{card.id}/replacement"
    with time_machine.travel(dt.datetime(2026, 10, 7, 15, tzinfo=SH), tick=True):
        early = client.post(replace, data={"csrf_token": csrf_from(html), "idem": "early", "new_number": "NEW01"})
        assert early.status_code == 422 and "补卡可于 2026年10月8日 起办理" in early.get_data(as_text=True)
        assert 'name="new_number"' not in early.get_data(as_text=True)  # no form before that day, only the date
    with time_machine.travel(dt.datetime(2026, 10, 8, 9, tzinfo=SH), tick=True):
        html = page_of(client, tenant, member)
        taken = client.post(replace, data={**keyed(html, action=replace), "new_number": card.number})
        assert taken.status_code == 422 and "该卡号已被使用" in taken.get_data(as_text=True)
        assert f'value="{card.number}"' in taken.get_data(as_text=True)
        done = client.post(replace, data={**keyed(html, action=replace), "new_number": "NEW 01"}, follow_redirects=True)
        assert "新卡 NEW01 已发放" in done.get_data(as_text=True) and "手续费：¥10.00" in done.get_data(as_text=True)
    old, new = cards_of(tenant, member)
    assert (old.status, old.replaced_by_id, new.number, new.status, new.fee_fen) == ("replaced", new.id, "NEW01",
                                                                                      "active", 1000)
    assert [a for a, _d in actions(tenant)] == ["card.reported_lost", "card.replaced"]
    assert all(d["source"] == "back_office" for _a, d in actions(tenant))


def test_five_replacements_at_once_give_one_new_card(app, golden_week):
    tenant = golden_week
    with tenant_context(tenant):
        member = enroll_member(business_at=dt.datetime(2026, 3, 2, 10, tzinfo=SH), name="并发补卡",
                               phone="13800000035").id
        db.session.commit()
        (card,) = cards_of(tenant, member)
        desk.report_loss(member_id=member, card_id=card.id, at=dt.datetime(2026, 3, 2, 11, tzinfo=SH), staff_id=None)
        db.session.commit()
    assert tenant.id  # loaded here: the threads must not refresh the test's own session
    results = race(app, tenant, 5, lambda i: (desk.replace(member_id=member, card_id=card.id, new_number=f"R{i}",
                                                           on=dt.date(2026, 3, 5), staff_id=None, store_id=None),
                                              db.session.commit())[0])
    assert len([r for r in results if isinstance(r, dict)]) == 1
    assert {getattr(r, "code", None) for r in results if not isinstance(r, dict)} == {"card_replaced"}
    assert [c.status for c in cards_of(tenant, member)] == ["replaced", "active"]


def test_the_same_new_number_for_two_members_at_once_goes_to_one_of_them(app, tenant_a):
    first, _ = add(tenant_a, "甲", "13800000036")
    second, _ = add(tenant_a, "乙", "13800000037")
    members = [first, second]
    assert tenant_a.id  # loaded here: the threads must not refresh the test's own session
    results = race(app, tenant_a, 2, lambda i: (desk.issue(member_id=members[i], number="SAME01", on=dt.date.today(),
                                                           staff_id=None, store_id=None), db.session.commit())[0])
    assert len([r for r in results if isinstance(r, dict)]) == 1
    (refused,) = [r for r in results if not isinstance(r, dict)]
    assert refused.fields == {"number": "该卡号已被使用。"} or "number" in refused.fields
    with tenant_context(tenant_a):
        assert db.session.scalar(select(func.count()).select_from(Card).where(Card.number == "SAME01")) == 1


def test_a_damaged_card_is_exchanged_at_once_and_a_lost_one_cannot_be(client, tenant_a):
    member, number = add(tenant_a, "换卡会员", "13800000038")
    signed_in(client, tenant_a)
    (card,) = cards_of(tenant_a, member)
    html = page_of(client, tenant_a, member)
    url = f"/t/tenant-a/members/{member}/cards/{card.id}/exchange"
    assert client.post(url, data={**keyed(html, action=url), "new_number": "EX01"}).status_code == 302
    old, new = cards_of(tenant_a, member)
    assert (old.status, new.number, new.status) == ("exchanged", "EX01", "active")
    loss = f"/t/tenant-a/members/{member}/cards/{new.id}/loss"
    assert client.post(loss, data=keyed(page_of(client, tenant_a, member), action=loss)).status_code == 302
    again = client.post(f"/t/tenant-a/members/{member}/cards/{new.id}/exchange",
                        data={"csrf_token": csrf_from(html), "idem": "x-2", "new_number": "EX02"})
    assert again.status_code == 422 and "此卡已挂失" in again.get_data(as_text=True)
    assert [a for a, _d in actions(tenant_a)] == ["card.exchanged", "card.reported_lost"]


def sv_sum(tenant, member_id) -> tuple[int, int]:
    with tenant_context(tenant):
        db.session.expire_all()
        held = db.session.get(Member, (tenant.id, member_id)).stored_value_fen
        summed = db.session.scalar(select(func.coalesce(func.sum(StoredValueEntry.principal_fen
                                                                 + StoredValueEntry.bonus_fen), 0))
                                   .where(StoredValueEntry.member_id == member_id))
        return held, summed


@pytest.fixture
def with_balance(tenant_a):
    """A member with an ID number on file, ¥1,000 topped up (+ ¥100 bonus) and a card PIN."""
    member, _ = add(tenant_a, "退卡会员", "13800000039", id_doc_type="cn_resident", id_doc_number="11010519900307123X")
    with tenant_context(tenant_a):
        top_up(member_id=member, amount_fen=100000, business_at=dt.datetime.now(SH))
        (card,) = db.session.scalars(select(Card).where(Card.member_id == member)).all()
        desk.change_pin(member_id=member, card_id=card.id, pin="8642", pin_repeat="8642", on=card.issued_on,
                        staff_id=None)
        db.session.commit()
    return member


def test_closing_shows_the_refund_first_and_needs_the_id_its_last_four_and_the_pin(client, tenant_a, with_balance):
    member = with_balance
    signed_in(client, tenant_a)
    html = page_of(client, tenant_a, member)
    preview = html[html.index('id="close-form"'):]
    assert "¥1,000.00" in preview and "¥100.00" in preview and "退卡并退还 ¥1,000.00" in preview
    url = f"/t/tenant-a/members/{member}/closure"
    for form, field, message in (({"last4": "123X", "pin": "8642"}, "id_seen", "看过会员的身份证件后"),
                                 ({"id_seen": "1", "last4": "1234", "pin": "8642"}, "last4", "不是档案中证件号的后四"),
                                 ({"id_seen": "1", "last4": "123x", "pin": "0000"}, "pin", "密码不正确")):
        refused = client.post(url, data={**keyed(html, "close-form"), **form})
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in body, field
        assert f'id="close-{field}-error"' in body and re.search(r'id="close-membership"\s+open', body)
    assert sv_sum(tenant_a, member) == (110000, 110000)
    form = {**keyed(html, "close-form"), "id_seen": "1", "last4": "123x", "pin": "8642"}
    done = client.post(url, data=form, follow_redirects=True)
    assert "会员已注销，请退还 ¥1,000.00。" in done.get_data(as_text=True)
    assert client.post(url, data=form).status_code == 302  # sent twice: closed once
    assert sv_sum(tenant_a, member) == (0, 0)
    with tenant_context(tenant_a):
        kinds = sorted((e.kind, e.principal_fen + e.bonus_fen) for e in db.session.scalars(
            select(StoredValueEntry).where(StoredValueEntry.member_id == member, StoredValueEntry.kind != "top_up",
                                           StoredValueEntry.kind != "bonus")))
        assert kinds == [("close_refund", -100000), ("forfeit", -10000)]
        assert db.session.get(Member, (tenant_a.id, member)).status == "closed"
    assert {c.status for c in cards_of(tenant_a, member)} == {"closed"}
    closed = [d for a, d in actions(tenant_a) if a == "card.closed"]
    assert len(closed) == 1 and closed[0]["refund_fen"] == 100000
    after = page_of(client, tenant_a, member)
    assert 'id="close-form"' not in after and 'id="issue-card-form"' not in after
    assert "注销退款" in after and "注销会员时退还" in after  # the ledger says what happened


def test_two_closures_at_once_refund_once(app, tenant_a, with_balance):
    member = with_balance
    assert tenant_a.id  # loaded here: the threads must not refresh the test's own session
    results = race(app, tenant_a, 2, lambda i: (desk.close(member_id=member, at=dt.datetime.now(SH), id_seen=True,
                                                           last4="123X", pin="8642", staff_id=None),
                                                db.session.commit())[0])
    assert [r["refund_fen"] for r in results if isinstance(r, dict)] == [100000]
    assert [r.code for r in results if not isinstance(r, dict)] == ["member_closed"]
    assert sv_sum(tenant_a, member) == (0, 0)


def test_clerks_and_vip_specialists_reach_no_card_action_and_another_stores_manager_gets_not_found(client, tenant_a):
    with tenant_context(tenant_a):
        second = db.session.scalars(select(Store).order_by(Store.code)).all()[1]
    member, _ = add(tenant_a, "权限会员", "13800000040")
    (card,) = cards_of(tenant_a, member)
    urls = [f"/t/tenant-a/members/{member}/cards", f"/t/tenant-a/members/{member}/cards/{card.id}/loss",
            f"/t/tenant-a/members/{member}/cards/{card.id}/pin", f"/t/tenant-a/members/{member}/closure",
            f"/t/tenant-a/members/{member}/cards/{card.id}/exchange",
            f"/t/tenant-a/members/{member}/cards/{card.id}/replacement"]
    for role, status in (("clerk", 403), ("vip_specialist", 403)):
        signed_in(client, tenant_a, role)
        token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
        for url in urls:
            assert client.post(url, data={"csrf_token": token, "idem": "k", "number": "X1"}).status_code == status, url
    signed_in(client, tenant_a, "store_manager", store=second)
    token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    for url in urls:
        assert client.post(url, data={"csrf_token": token, "idem": "k", "number": "X1"}).status_code == 404, url
    other, _ = add(tenant_a, "另一会员", "13800000041", store="second")
    wrong_member = f"/t/tenant-a/members/{other}/cards/{card.id}/loss"  # a card of someone else
    assert client.post(wrong_member, data={"csrf_token": token, "idem": "k"}).status_code == 404
    assert [c.status for c in cards_of(tenant_a, member)] == ["active"] and actions(tenant_a) == []
