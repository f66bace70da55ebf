"""Test fixtures: PostgreSQL and Redis started by `make test`, two tenants, staff of every role.

The app connects as `huiyuan_app` (no superuser, no BYPASSRLS), as production does, so row-level
security is really in force; migrations and table clean-up run as the schema owner.
"""

from __future__ import annotations

import contextvars
import os
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from saas import create_app
from saas.extensions import db, limiter
from saas.jobs import redis_connection

REQUIRED = ("TEST_DATABASE_URL", "TEST_MIGRATION_DATABASE_URL", "TEST_REDIS_URL")
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


def pytest_configure(config):
    OUTPUT.mkdir(exist_ok=True)


def require_services() -> None:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        # A failure, never a skip: without the real services these tests would prove nothing.
        pytest.fail(
            f"missing {', '.join(missing)}: run the suite with `make test`, which starts PostgreSQL and Redis "
            "(or `bash .ci/with-services.sh .venv/bin/pytest ...`).",
            pytrace=False,
        )


def app_config(**overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": os.environ["TEST_DATABASE_URL"],
        "MIGRATION_DATABASE_URI": os.environ["TEST_MIGRATION_DATABASE_URL"],
        "REDIS_URL": os.environ["TEST_REDIS_URL"],
        "RATELIMIT_STORAGE_URI": os.environ["TEST_REDIS_URL"],
        "SERVER_NAME": None,
        "SESSION_COOKIE_SECURE": False,
        "MAIL_SERVER": None,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def owner_engine():
    require_services()
    engine = create_engine(os.environ["TEST_MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs as a real one would: its own app context, session and no inherited tenant.

    (Flask reuses an app context that a test has pushed, which would share `g` and the database
    session between the test and every request it makes.)
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(owner_engine):
    from flask_migrate import downgrade, upgrade

    app = create_app(app_config())
    app.test_client_class = IsolatedClient
    with app.app_context():
        downgrade(revision="base")
        upgrade()
    return app


def _tables(owner_engine) -> list[str]:
    with owner_engine.connect() as conn:
        rows = conn.execute(text("select tablename from pg_tables where schemaname = 'public'"))
        return [r[0] for r in rows if r[0] != "alembic_version"]


@pytest.fixture(autouse=True)
def clean_state(request):
    """Every test that used the app leaves empty tables, an empty Redis and fresh rate limits."""
    yield
    if "app" not in request.fixturenames:
        return
    owner_engine = request.getfixturevalue("owner_engine")
    tables = _tables(owner_engine)
    if tables:
        with owner_engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
    app = request.getfixturevalue("app")
    redis_connection(app).flushdb()
    with app.app_context():
        limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
        db.session.remove()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def login(client, tenant, email: str, password: str | None = None, follow: bool = False):
    from tests.factories import PASSWORD

    page = client.get(f"/t/{tenant.slug}/login")
    return client.post(
        f"/t/{tenant.slug}/login",
        data={"email": email, "password": password or PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))},
        follow_redirects=follow,
    )


@pytest.fixture
def tenant_a(app_ctx):
    from tests.factories import make_tenant

    return make_tenant("tenant-a")


@pytest.fixture
def tenant_b(app_ctx):
    from tests.factories import make_tenant

    return make_tenant("tenant-b", vertical="pharmacy")


@pytest.fixture
def login_as(client, tenant_a):
    """login_as(role) signs a new staff member of tenant A in on `client` and returns them."""
    from tests.factories import make_staff

    def _login(role: str, tenant=None):
        tenant = tenant or tenant_a
        user = make_staff(tenant, role)
        response = login(client, tenant, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return _login
