"""Cookies as production sets them: Secure, HttpOnly, SameSite and the `__Host-` prefix, for the staff session,
the remember cookie and the counter tablet's device cookie. The app is built from the production environment
(HUIYUAN_ENV=production, SECRET_KEY and DATA_KEYS set), behind one TLS proxy as the README deploys it."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from saas import create_app
from saas.config import from_env
from saas.extensions import db
from saas.models import StaffUser
from tenants.models import Store
from tenants.scoping import tenant_context
from tests.conftest import IsolatedClient, csrf_from, login
from tests.factories import make_staff
from tests.integration.test_counter import PIN, give_pin

PRODUCTION_ENV = {"HUIYUAN_ENV": "production", "SECRET_KEY": "production-test-secret-0123456789",
                  "TRUSTED_PROXIES": "1"}


@pytest.fixture
def production_app(app):
    """The app as `HUIYUAN_ENV=production` configures it, on the test database and Redis."""
    config = from_env({**PRODUCTION_ENV, "DATA_KEYS": Fernet.generate_key().decode(),
                       "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
                       "MIGRATION_DATABASE_URL": os.environ["TEST_MIGRATION_DATABASE_URL"],
                       "REDIS_URL": os.environ["TEST_REDIS_URL"]})
    built = create_app(config)
    built.test_client_class = IsolatedClient
    return built


def https_client(app):
    """A browser reaching the app over HTTPS through the TLS proxy."""
    client = app.test_client()
    client.environ_base.update({"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.9",
                                "HTTP_X_FORWARDED_HOST": "shop.example.cn",
                                "HTTP_REFERER": "https://shop.example.cn/"})  # CSRF over HTTPS checks it
    return client


def attributes(header: str) -> tuple[str, dict[str, str]]:
    """A Set-Cookie header as (name, {attribute (lower case): value})."""
    first, *rest = [part.strip() for part in header.split(";")]
    name = first.split("=", 1)[0]
    return name, {k.lower(): v for k, _sep, v in (part.partition("=") for part in rest)}


def set_cookies(response) -> dict[str, dict[str, str]]:
    return dict(attributes(h) for h in response.headers.getlist("Set-Cookie"))


def assert_host_cookie(name: str, attrs: dict[str, str]) -> None:
    assert name.startswith("__Host-"), name
    assert "secure" in attrs and "httponly" in attrs, attrs
    assert attrs.get("samesite") == "Lax" and attrs.get("path") == "/", attrs
    assert "domain" not in attrs, attrs


def test_production_turns_on_secure_host_prefixed_cookies_and_development_keeps_plain_ones():
    production = from_env({**PRODUCTION_ENV, "DATA_KEYS": Fernet.generate_key().decode()})
    assert production["SESSION_COOKIE_SECURE"] and production["REMEMBER_COOKIE_SECURE"]
    assert production["SESSION_COOKIE_NAME"] == "__Host-hy_session"
    assert production["REMEMBER_COOKIE_NAME"] == "__Host-hy_remember"
    assert production["SESSION_COOKIE_HTTPONLY"] and production["REMEMBER_COOKIE_HTTPONLY"]
    assert production["SESSION_COOKIE_SAMESITE"] == production["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert production["SESSION_COOKIE_PATH"] == production["REMEMBER_COOKIE_PATH"] == "/"
    assert production.get("SESSION_COOKIE_DOMAIN") is None and production.get("REMEMBER_COOKIE_DOMAIN") is None
    development = from_env({})
    assert not development["SESSION_COOKIE_SECURE"] and development["SESSION_COOKIE_NAME"] == "session"


def test_in_production_the_staff_session_cookie_is_secure_httponly_samesite_and_host_prefixed(
        production_app, tenant_a):
    clerk = make_staff(tenant_a, "clerk")
    client = https_client(production_app)
    signed_in = login(client, tenant_a, clerk.email)
    assert signed_in.status_code == 302
    cookies = set_cookies(signed_in)
    assert list(cookies) == ["__Host-hy_session"]  # no remember cookie: sign-ins last for the session only
    assert_host_cookie("__Host-hy_session", cookies["__Host-hy_session"])
    assert "max-age" not in cookies["__Host-hy_session"] and "expires" not in cookies["__Host-hy_session"]
    page = client.get("/t/tenant-a/")
    assert page.status_code == 200 and clerk.name in page.get_data(as_text=True)

    out = client.post("/t/tenant-a/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    for name, attrs in set_cookies(out).items():
        assert_host_cookie(name, attrs)  # what logout writes back keeps the same attributes
    assert client.get("/t/tenant-a/").status_code == 302


def test_in_production_the_tablets_device_cookie_is_host_prefixed_per_tenant_and_opens_the_counter(
        production_app, tenant_a):
    manager = make_staff(tenant_a, "store_manager")
    clerk = make_staff(tenant_a, "clerk")
    give_pin(tenant_a, clerk)
    client = https_client(production_app)
    login(client, tenant_a, manager.email)
    page = client.get("/t/tenant-a/counter").get_data(as_text=True)
    with tenant_context(tenant_a):
        store_id = db.session.scalars(select(Store.id).order_by(Store.code)).first()
    done = client.post("/t/tenant-a/counter/devices",
                       data={"name": "Front desk", "store_id": store_id, "csrf_token": csrf_from(page)})
    assert done.status_code == 303
    cookies = set_cookies(done)
    device_cookie = f"__Host-hy_counter-{tenant_a.id}"
    assert device_cookie in cookies, cookies
    assert_host_cookie(device_cookie, cookies[device_cookie])
    assert int(cookies[device_cookie]["max-age"]) > 300 * 86400  # a tablet stays registered
    assert_host_cookie("__Host-hy_session", cookies["__Host-hy_session"])

    pad = client.get("/t/tenant-a/counter/pin")
    assert pad.status_code == 200 and clerk.name in pad.get_data(as_text=True)
    switched = client.post("/t/tenant-a/counter/pin", data={
        "staff_id": clerk.id, "pin": PIN, "csrf_token": csrf_from(pad.get_data(as_text=True))})
    assert switched.status_code == 303
    assert client.get("/t/tenant-a/counter").status_code == 200
    with tenant_context(tenant_a):
        assert db.session.get(StaffUser, (tenant_a.id, clerk.id)).pin_failures == 0
