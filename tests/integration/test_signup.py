"""A new business signs up: tenant, owner, first store and preset program in one step."""

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import StaffUser, Tenant
from tenants.models import ProgramVersion, Store
from tenants.scoping import tenant_context
from tests.conftest import csrf_from

GOOD = {
    "business_name": "康宁大药房",
    "slug": "kangning",
    "vertical": "pharmacy",
    "owner_name": "王建国",
    "email": "wang@kangning.example.com",
    "password": "Pharmacy-2026!",
    "language": "zh_CN",
}


def post_signup(client, **changes):
    page = client.get("/signup")
    data = {**GOOD, **changes, "csrf_token": csrf_from(page.get_data(as_text=True))}
    return client.post("/signup", data={k: v for k, v in data.items() if v is not None})


def test_the_home_page_explains_the_product_and_leads_to_signup(client, app_ctx):
    page = client.get("/").get_data(as_text=True)
    assert "会员" in page and 'href="/signup"' in page


def test_signing_up_creates_the_tenant_owner_store_and_program_and_signs_the_owner_in(client, app_ctx):
    response = post_signup(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/t/kangning/"
    dashboard = client.get("/t/kangning/")
    assert dashboard.status_code == 200
    assert "王建国" in dashboard.get_data(as_text=True)

    tenant = db.session.execute(select(Tenant).where(Tenant.slug == "kangning")).scalar_one()
    assert (tenant.vertical, tenant.locale, tenant.currency, tenant.timezone) == ("pharmacy", "zh_CN", "CNY",
                                                                                   "Asia/Shanghai")
    with tenant_context(tenant):
        owner = db.session.execute(select(StaffUser)).scalar_one()
        assert (owner.role, owner.email) == ("owner", "wang@kangning.example.com")
        assert owner.password_hash.startswith("$argon2id$")
        store = db.session.execute(select(Store)).scalar_one()
        assert "康宁大药房" in store.name and owner.store_id == store.id
        program = db.session.execute(select(ProgramVersion)).scalar_one()
        assert program.version == 1 and program.note == "preset:pharmacy"
        from tenants.presets import load_preset

        assert program.rules == load_preset("pharmacy")


def test_an_english_signup_gets_an_english_tenant_and_pages(client, app_ctx):
    post_signup(client, slug="greenleaf", email="amy@greenleaf.example.com", business_name="Greenleaf",
                owner_name="Amy", language="en", vertical="clothing")
    page = client.get("/t/greenleaf/").get_data(as_text=True)
    assert "Welcome, Amy" in page
    assert db.session.execute(select(Tenant.locale).where(Tenant.slug == "greenleaf")).scalar_one() == "en"


def test_a_slug_is_made_from_the_name_when_left_empty(client, app_ctx):
    response = post_signup(client, slug="", business_name="Sunny Days Boutique", email="s@sunny.example.com")
    assert response.headers["Location"] == "/t/sunny-days-boutique/"


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"business_name": ""}, "该字段是必填字段"),
        ({"email": "not-an-email"}, "邮箱"),
        ({"password": "short1"}, "至少使用 10 个字符"),
        ({"password": "abcdefghijk"}, "字母与数字或符号"),
        ({"slug": "Bad Slug!"}, "小写字母"),
        ({"vertical": "casino"}, "不是有效的选择"),
    ],
)
def test_invalid_signups_show_translated_inline_errors_keep_the_input_and_change_nothing(
    client, app_ctx, changes, field_message
):
    response = post_signup(client, **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_message in html
    assert "请更正下面标出的字段" in html
    if "business_name" not in changes:
        assert 'value="康宁大药房"' in html
    assert 'value="wang@kangning.example.com"' in html or "email" in changes
    assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0


def test_a_taken_email_or_address_is_refused_inline(client, app_ctx):
    assert post_signup(client).status_code == 302
    client.get("/t/kangning/")  # still signed in as the first owner: a second sign-up is a new session
    other = client.application.test_client()
    taken_slug = post_signup(other, email="li@other.example.com")
    assert taken_slug.status_code == 422
    assert "该网址已被占用" in taken_slug.get_data(as_text=True)
    taken_email = post_signup(other, slug="another", email="WANG@kangning.example.com")
    assert taken_email.status_code == 422
    assert "该邮箱已注册" in taken_email.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Tenant)) == 1


def test_the_signup_form_in_english_speaks_english(client, app_ctx):
    page = client.get("/signup")
    client.post("/lang", data={"lang": "en", "next": "/signup", "csrf_token": csrf_from(page.get_data(as_text=True))})
    response = post_signup(client, password="short1")
    html = response.get_data(as_text=True)
    assert "Use at least 10 characters." in html
    assert "Business name" in html


def _signup_number(client, n: int, **changes):
    return post_signup(client, business_name=f"Shop {n}", slug=f"shop-number-{n}", email=f"owner{n}@shop.example.com",
                       **changes)


def test_sign_ups_from_one_address_are_rate_limited_with_a_translated_page_and_nothing_created(app, app_ctx):
    assert post_signup(app.test_client(), password="short").status_code == 422  # a refused try does not count
    created = [_signup_number(app.test_client(), n).status_code for n in range(5)]
    assert created == [302] * 5
    blocked = _signup_number(app.test_client(), 5)
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Tenant)) == 5
    assert db.session.scalar(select(func.count()).where(Tenant.slug == "shop-number-5")) == 0


def test_behind_a_trusted_proxy_the_sign_up_limit_is_per_client_address(proxied_app, app_ctx):
    def client_at(address):
        client = proxied_app.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return client

    assert [_signup_number(client_at("203.0.113.7"), n).status_code for n in range(6)] == [302] * 5 + [429]
    assert _signup_number(client_at("198.51.100.20"), 6).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Tenant)) == 6
