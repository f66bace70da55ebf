"""The settings page: the owner or a chain admin changes the business name, language, time zone, currency,
back-dating and phone region; bad input is refused on its field and nothing changes; the change is audited."""

import datetime as dt
import re

from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry, Tenant
from saas.settings import tenant_setting
from tenants.scoping import tenant_context
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD, make_staff
from tests.integration.test_counter import enrol


def form_values(html: str) -> dict:
    values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html))
    for name, body in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', html, flags=re.S):
        selected = re.search(r'<option selected value="([^"]*)"', body)  # as WTForms writes it
        values[name] = selected.group(1) if selected else ""
    return values


def reload(tenant) -> Tenant:
    db.session.expire_all()
    return db.session.get(Tenant, tenant.id)


def test_the_owner_changes_the_settings_and_the_pages_follow(client, tenant_a):
    owner = make_staff(tenant_a, "owner")
    assert login(client, tenant_a, owner.email, PASSWORD).status_code == 302
    page = client.get("/t/tenant-a/settings").get_data(as_text=True)
    assert "http://localhost/t/tenant-a/login" in page and "data-copy" in page  # the address to give staff
    values = form_values(page)
    assert values["timezone"] == "Asia/Shanghai" and values["backdate_days"] == "7" and values["currency"] == "CNY"
    saved = client.post("/t/tenant-a/settings", data={**values, "name": "  新名字\u202e 服饰 ", "locale": "en",
                                                      "timezone": "Asia/Hong_Kong", "currency": "HKD",
                                                      "backdate_days": "30", "phone_region": "HK"})
    assert saved.status_code == 302
    tenant = reload(tenant_a)
    assert (tenant.name, tenant.locale, tenant.timezone) == ("新名字 服饰", "en", "Asia/Hong_Kong")
    assert tenant.currency == "HKD"
    assert tenant_setting(tenant, "backdate_days") == 30 and tenant_setting(tenant, "phone_region") == "HK"
    with tenant_context(tenant_a):
        entry = db.session.scalars(select(AuditEntry).filter_by(action="tenant.settings_changed")).one()
        assert entry.actor_id == owner.id
        assert entry.details["changes"]["timezone"] == ["Asia/Shanghai", "Asia/Hong_Kong"]
    # The pages follow: the business name in the header, HK$ amounts, a Hong Kong number without its code.
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_from(page), "next": "/t/tenant-a/"})
    home = client.get("/t/tenant-a/").get_data(as_text=True)
    assert "新名字 服饰" in home
    member = enrol(tenant_a, phone="+85291234567")
    with tenant_context(tenant_a):
        from tenants.services.members import normalize_phone
        assert normalize_phone("9123 4567") == "+85291234567"
    again = client.post("/t/tenant-a/settings", data={**form_values(client.get("/t/tenant-a/settings").get_data(
        as_text=True)), "csrf_token": csrf_from(page)})
    assert again.status_code == 302  # saved with nothing changed: no second audit entry
    with tenant_context(tenant_a):
        assert db.session.query(AuditEntry).filter_by(action="tenant.settings_changed").count() == 1
    assert member.id


def test_bad_settings_are_refused_on_their_field_with_the_input_kept_and_nothing_changed(client, tenant_a):
    owner = make_staff(tenant_a, "chain_admin")
    assert login(client, tenant_a, owner.email, PASSWORD).status_code == 302
    values = form_values(client.get("/t/tenant-a/settings").get_data(as_text=True))
    before = reload(tenant_a)
    snapshot = (before.name, before.timezone, dict(before.settings or {}))
    for bad, message in (({"backdate_days": "9999"}, "0 到 90"), ({"backdate_days": "-1"}, "0 到 90"),
                         ({"backdate_days": "1e3"}, "0 到 90"), ({"timezone": "Mars/Olympus"}, "不是有效的选项"),
                         ({"currency": "XBT"}, "不是有效的选项"), ({"phone_region": "ZZ"}, "不是有效的选项"),
                         ({"name": "\u200b \u202e"}, "请输入商家名称"), ({"name": "长" * 121}, "121")):
        response = client.post("/t/tenant-a/settings", data={**values, "name": "保留的输入", **bad})
        body = response.get_data(as_text=True)
        assert response.status_code == 422, bad
        assert message in body or (message == "121" and "最多 120 个字符" in body), (bad, body[-3000:])
        assert "保留的输入" in body or "name" in bad  # the rest of the input is kept
        tenant = reload(tenant_a)
        assert (tenant.name, tenant.timezone, dict(tenant.settings or {})) == snapshot, bad
    assert client.post("/t/tenant-a/settings", data=values | {"csrf_token": "forged"}).status_code == 400


def test_the_currency_stays_once_money_is_recorded(client, tenant_a):
    from tenants.services.purchases import LineIn, record_purchase

    member = enrol(tenant_a)
    with tenant_context(tenant_a):
        record_purchase(member_id=member.id, lines=[LineIn("1", 1000)], tenders=[],
                        business_at=dt.datetime.now(dt.UTC))
        db.session.commit()
    owner = make_staff(tenant_a, "owner")
    assert login(client, tenant_a, owner.email, PASSWORD).status_code == 302
    page = client.get("/t/tenant-a/settings").get_data(as_text=True)
    refused = client.post("/t/tenant-a/settings", data={**form_values(page), "currency": "USD"})
    assert refused.status_code == 422 and "不能再更改" in refused.get_data(as_text=True)
    assert reload(tenant_a).currency == "CNY"


def test_only_the_owner_and_chain_admins_change_settings(client, tenant_a):
    for role in ("regional_supervisor", "store_manager", "vip_specialist", "clerk"):
        user = make_staff(tenant_a, role)
        assert login(client, tenant_a, user.email, PASSWORD).status_code == 302
        assert client.get("/t/tenant-a/settings").status_code == 403, role
        assert client.post("/t/tenant-a/settings", data={"name": "x"}).status_code in (400, 403), role
        client.post("/t/tenant-a/logout")
        with client.session_transaction() as session:
            session.clear()
    assert reload(tenant_a).name != "x"
