"""Staff sign in and out of one tenant; sessions are server-side, rotated, and end at logout."""

from saas.extensions import db
from saas.models import AuditEntry, StaffSession
from tenants.scoping import tenant_context
from tests.conftest import csrf_from, login
from tests.factories import make_staff


def test_a_clerk_signs_in_and_lands_on_the_dashboard(client, tenant_a):
    clerk = make_staff(tenant_a, "clerk")
    response = login(client, tenant_a, clerk.email, follow=True)
    assert response.status_code == 200
    assert clerk.name in response.get_data(as_text=True)
    assert response.request.path == "/t/tenant-a/"


def test_a_wrong_password_is_refused_with_the_same_message_as_an_unknown_email(client, tenant_a):
    clerk = make_staff(tenant_a, "clerk")
    wrong = login(client, tenant_a, clerk.email, password="not-the-password-1")
    unknown = login(client, tenant_a, "nobody@tenant-a.example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert "邮箱或密码不正确" in wrong.get_data(as_text=True)
    assert "邮箱或密码不正确" in unknown.get_data(as_text=True)
    assert client.get("/t/tenant-a/").status_code == 302


def test_pages_need_a_sign_in_and_return_to_the_page_after_it(client, tenant_a):
    response = client.get("/t/tenant-a/staff?q=x")
    assert response.status_code == 302
    assert "/t/tenant-a/login?next=" in response.headers["Location"]
    owner_email = "owner@tenant-a.example.com"
    page = client.get(response.headers["Location"])
    done = client.post(response.headers["Location"], data={
        "email": owner_email, "password": "Counter-2026-pass", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.headers["Location"] == "/t/tenant-a/staff?q=x"


def test_an_offsite_next_parameter_is_ignored(client, tenant_a):
    page = client.get("/t/tenant-a/login")
    done = client.post("/t/tenant-a/login?next=https://evil.example.com/", data={
        "email": "owner@tenant-a.example.com", "password": "Counter-2026-pass",
        "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.headers["Location"] == "/t/tenant-a/"


def test_signing_in_rotates_the_session_and_logout_really_ends_it(client, tenant_a):
    clerk = make_staff(tenant_a, "clerk")
    client.get("/t/tenant-a/login")
    before = client.get_cookie("session").value
    assert login(client, tenant_a, clerk.email).status_code == 302
    signed_in = client.get_cookie("session").value
    assert signed_in != before

    page = client.get("/t/tenant-a/")
    assert page.status_code == 200
    client.post("/t/tenant-a/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert client.get("/t/tenant-a/").status_code == 302

    # A copy of the signed-in cookie is worthless after logout: the server-side session is revoked.
    client.set_cookie("session", signed_in)
    assert client.get("/t/tenant-a/").status_code == 302
    with tenant_context(tenant_a):
        rows = db.session.query(StaffSession).filter_by(user_id=clerk.id).all()
        assert len(rows) == 1 and rows[0].revoked_at is not None
        actions = {a.action for a in db.session.query(AuditEntry)}
        assert {"staff.login", "staff.logout"} <= actions


def test_a_session_of_tenant_a_is_anonymous_under_tenant_b(client, tenant_a, tenant_b):
    clerk = make_staff(tenant_a, "clerk")
    login(client, tenant_a, clerk.email)
    assert client.get("/t/tenant-a/").status_code == 200
    response = client.get("/t/tenant-b/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/t/tenant-b/login")


def test_a_deactivated_account_cannot_sign_in(client, tenant_a):
    clerk = make_staff(tenant_a, "clerk", active=False)
    assert login(client, tenant_a, clerk.email).status_code == 401


def test_repeated_failed_logins_are_rate_limited_with_a_translated_message(client, tenant_a):
    clerk = make_staff(tenant_a, "clerk")
    statuses = [login(client, tenant_a, clerk.email, password="wrong-password-9").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    blocked = login(client, tenant_a, clerk.email)  # even the right password waits now
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)


def test_an_unknown_tenant_is_not_found(client, app_ctx):
    assert client.get("/t/no-such-shop/login").status_code == 404
    assert client.get("/t/no-such-shop/").status_code == 404


def _behind_the_proxy(app, address: str):
    """A client whose requests reach the app through the TLS proxy, which forwards `address`."""
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


def test_behind_a_trusted_proxy_a_login_storm_on_one_tenant_does_not_block_another_tenant(
    proxied_app, tenant_a, tenant_b
):
    storm = _behind_the_proxy(proxied_app, "203.0.113.7")
    tries = [login(storm, tenant_a, f"guess{n}@tenant-a.example.com", password="wrong-password-9").status_code
             for n in range(11)]
    assert tries == [401] * 10 + [429]  # the storming address is throttled…
    manager = make_staff(tenant_b, "store_manager")
    elsewhere = _behind_the_proxy(proxied_app, "198.51.100.20")
    assert login(elsewhere, tenant_b, manager.email).status_code == 302  # …another user behind the proxy is not


def test_a_trusted_proxy_names_the_client_scheme_and_host_but_only_its_own_hop_is_believed(proxied_app):
    from flask import request

    @proxied_app.get("/seen-for-test")
    def seen():
        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    # The client forged the first entry; the proxy appended the address it saw.
    response = proxied_app.test_client().get("/seen-for-test", headers={
        "X-Forwarded-For": "10.9.9.9, 203.0.113.7", "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "shop.example.cn"})
    assert response.get_json() == {"addr": "203.0.113.7", "scheme": "https", "host": "shop.example.cn"}


def test_the_account_throttle_is_per_tenant_and_e_mail(proxied_app, tenant_a, tenant_b):
    email = "same.person@example.com"
    make_staff(tenant_a, "clerk", email=email)
    make_staff(tenant_b, "clerk", email=email)
    tries = [login(_behind_the_proxy(proxied_app, f"203.0.113.{n}"), tenant_a, email,
                   password="wrong-password-9").status_code for n in range(6)]
    assert tries == [401] * 5 + [429]  # tenant A's account is throttled from any address
    assert login(_behind_the_proxy(proxied_app, "198.51.100.20"), tenant_b, email).status_code == 302


def test_without_a_trusted_proxy_a_forged_forwarded_address_does_not_escape_the_throttle(client, tenant_a):
    statuses = []
    for n in range(11):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{n}"
        statuses.append(login(client, tenant_a, f"guess{n}@tenant-a.example.com", password="wrong-pass-9").status_code)
    assert statuses == [401] * 10 + [429]


def test_no_proxy_is_trusted_unless_configured():
    from saas.config import from_env

    assert from_env({})["TRUSTED_PROXIES"] == 0
    assert from_env({"TRUSTED_PROXIES": "2"})["TRUSTED_PROXIES"] == 2
    assert from_env({})["SIGNUP_RATE_LIMIT"] == "5 per hour"
    assert from_env({"SIGNUP_RATE_LIMIT": "2 per day"})["SIGNUP_RATE_LIMIT"] == "2 per day"
