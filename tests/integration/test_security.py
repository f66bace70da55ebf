"""CSRF on every form and htmx request; security headers on pages, fragments and errors."""

import pytest

from tests.conftest import csrf_from, login
from tests.factories import make_staff


def test_a_form_post_without_the_csrf_token_is_rejected_and_changes_nothing(client, tenant_a):
    clerk = make_staff(tenant_a, "clerk")
    response = client.post("/t/tenant-a/login", data={"email": clerk.email, "password": "Counter-2026-pass"})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert client.get("/t/tenant-a/").status_code == 302


def test_an_htmx_post_needs_the_token_in_its_header(client, tenant_a, login_as):
    login_as("owner")
    page = client.get("/t/tenant-a/").get_data(as_text=True)
    token = csrf_from(page)
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page
    headers = {"HX-Request": "true"}
    assert client.post("/t/tenant-a/logout", headers=headers).status_code == 400
    assert client.get("/t/tenant-a/").status_code == 200  # still signed in
    assert client.post("/t/tenant-a/logout", headers={**headers, "X-CSRFToken": token}).status_code == 302
    assert client.get("/t/tenant-a/").status_code == 302


@pytest.mark.parametrize("path,htmx", [("/", False), ("/signup", False), ("/t/tenant-a/staff?q=o", True),
                                       ("/t/tenant-a/staff", False), ("/no-such-page", False),
                                       ("/t/tenant-a/stores?q=S", True)])
def test_security_headers_are_on_pages_fragments_and_errors(client, tenant_a, login_as, path, htmx):
    login_as("owner")
    response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == (404 if path == "/no-such-page" else 200)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    if htmx:
        assert "<html" not in response.get_data(as_text=True)  # the fragment alone


def test_pages_carry_no_inline_script(client, tenant_a, login_as):
    login_as("owner")
    for path in ("/", "/signup", "/t/tenant-a/", "/t/tenant-a/staff", "/t/tenant-a/staff/invite"):
        html = client.get(path).get_data(as_text=True)
        for chunk in html.split("<script")[1:]:
            assert chunk.lstrip().startswith("src="), path
        assert " onclick=" not in html and " onload=" not in html and "style=" not in html


def test_an_unexpected_error_is_a_translated_page_without_a_trace(app_ctx):
    from saas import create_app
    from tests.conftest import app_config

    app = create_app(app_config())

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom-for-test")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret detail" not in html and "Traceback" not in html
    assert "出了点问题" in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_passwords_are_stored_as_argon2id(tenant_a):
    from saas.extensions import db
    from saas.models import StaffUser
    from tenants.scoping import tenant_context

    with tenant_context(tenant_a):
        assert db.session.query(StaffUser).one().password_hash.startswith("$argon2id$")


def test_a_signed_in_login_page_still_works_for_switching_accounts(client, tenant_a, login_as):
    login_as("clerk")
    manager = make_staff(tenant_a, "store_manager")
    assert login(client, tenant_a, manager.email).status_code == 302
    assert manager.name in client.get("/t/tenant-a/").get_data(as_text=True)


@pytest.mark.postgres
def test_behind_gunicorn_every_answer_says_server_huiyuan_and_names_no_server_software(app):
    """The real server as deployed (gunicorn started where gunicorn.conf.py is read): one Server header, ours,
    on pages, API answers and errors; a long URL still reaches the app and gets its JSON 414."""
    import http.client
    import json

    from bench.server import gunicorn
    from bench.settings import urls_from_env

    with gunicorn(urls_from_env(), "server-header-test-secret", workers=1) as base:
        host, port = base.removeprefix("http://").split(":")
        for method, path in [("GET", "/login"), ("GET", "/static/no-such.css"), ("GET", "/api/v1/openapi.json"),
                             ("GET", "/api/v1/no-such-thing"), ("DELETE", "/api/v1/program"),
                             ("GET", "/api/v1/openapi.json?q=" + "x" * 5000)]:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request(method, path, headers={"Accept-Language": "en"})
            response = conn.getresponse()
            body = response.read()
            conn.close()
            assert response.headers.get_all("Server") == ["huiyuan"], (path[:40], response.headers.items())
            assert b"gunicorn" not in body.lower() and b"werkzeug" not in body.lower(), path[:40]
            if path.startswith("/api/v1/openapi.json?"):
                assert response.status == 414, body[:200]
                assert json.loads(body)["error"] == {"code": "uri_too_long", "message": "The address is too long."}
