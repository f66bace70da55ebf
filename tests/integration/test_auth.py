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
