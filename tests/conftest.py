"""Test fixtures: PostgreSQL and Redis started by `make test`, two tenants, staff of every role.

The app connects as `huiyuan_app` (no superuser, no BYPASSRLS), as production does, so row-level
security is really in force; migrations and table clean-up run as the schema owner.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os
import re
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from saas import create_app
from saas.extensions import db, limiter
from saas.jobs import redis_connection

REQUIRED = ("TEST_DATABASE_URL", "TEST_MIGRATION_DATABASE_URL", "TEST_REDIS_URL")
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


# The tenants' default zone. Between 16:00 and 24:00 UTC its date is already tomorrow: tests marked
# `tenant_clock` run twice, with the clock travelled to 23:30 and to 00:30 there (either side of the UTC
# date change), so the suite gives the same answer at any hour of the day.
TENANT_ZONE = ZoneInfo("Asia/Shanghai")
TENANT_CLOCKS = {"sh-23h30": dt.time(23, 30), "sh-00h30": dt.time(0, 30)}


def pytest_configure(config):
    config.addinivalue_line("markers", "tenant_clock: run at 23:30 and at 00:30 in the tenants' zone (time-machine); "
                            "tenant_clock(once=True): at one of the two, fixed per test (browser flows)")
    OUTPUT.mkdir(exist_ok=True)
    if all(os.environ.get(name) for name in (*REQUIRED, "TEST_SUPERUSER_DATABASE_URL")):
        _private_database_and_redis(config)


def pytest_unconfigure(config):
    cleanup = getattr(config, "_huiyuan_cleanup", None)
    if cleanup:
        cleanup()


def _private_database_and_redis(config) -> None:
    """Give this test run its own database (and Redis db) on the shared servers, so that several runs
    (developers, helpers, CI) never drop or truncate each other's tables. Removed at the end."""
    from sqlalchemy.engine import make_url

    name = f"huiyuan_test_{os.getpid()}"
    admin = create_engine(os.environ["TEST_SUPERUSER_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER huiyuan_owner'))
    owner_url = make_url(os.environ["TEST_MIGRATION_DATABASE_URL"]).set(database=name)
    owner = create_engine(owner_url)
    with owner.begin() as conn:
        conn.execute(text("GRANT USAGE ON SCHEMA public TO huiyuan_app"))
        conn.execute(text("ALTER DEFAULT PRIVILEGES FOR ROLE huiyuan_owner IN SCHEMA public "
                          "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO huiyuan_app"))
    owner.dispose()
    os.environ["TEST_MIGRATION_DATABASE_URL"] = owner_url.render_as_string(hide_password=False)
    os.environ["TEST_DATABASE_URL"] = (make_url(os.environ["TEST_DATABASE_URL"]).set(database=name)
                                       .render_as_string(hide_password=False))

    import redis

    base = os.environ["TEST_REDIS_URL"].rsplit("/", 1)[0]
    for db_number in range(1, 16):
        client = redis.Redis.from_url(f"{base}/{db_number}")
        if client.set("huiyuan:test-run", os.getpid(), nx=True, ex=3600):
            os.environ["TEST_REDIS_URL"] = f"{base}/{db_number}"
            break
        client.close()

    def cleanup():
        redis.Redis.from_url(os.environ["TEST_REDIS_URL"]).flushdb()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    config._huiyuan_cleanup = cleanup


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("tenant_clock")
    if marker:
        clocks = list(TENANT_CLOCKS.items())
        if marker.kwargs.get("once"):  # a long browser flow: one side of the date change, the same one every run
            clocks = [clocks[zlib.crc32(metafunc.definition.nodeid.encode()) % len(clocks)]]
        metafunc.fixturenames.append("tenant_clock")
        metafunc.parametrize("tenant_clock", [t for _k, t in clocks], ids=[k for k, _t in clocks], indirect=True)


@pytest.fixture
def tenant_clock(request):
    """The test process's clock at the given wall time of today in the tenants' zone, ticking from there
    (PostgreSQL's own now() is not travelled: compare app-side times with app-side times)."""
    import time_machine

    today = dt.datetime.now(TENANT_ZONE).date()
    start = dt.datetime.combine(today, request.param, tzinfo=TENANT_ZONE)
    with time_machine.travel(start, tick=True):
        yield start


@pytest.fixture(autouse=True)
def _travel_for_tenant_clock(request):
    # Before every other function fixture (tenants are signed up on "today"), so the whole test runs there.
    if request.node.get_closest_marker("tenant_clock"):
        request.getfixturevalue("tenant_clock")
    yield


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
def stripe_api_base() -> str:
    """localstripe, started by .ci/with-services.sh: required by the billing tests only."""
    base = os.environ.get("TEST_STRIPE_API_BASE")
    if not base:
        pytest.fail("missing TEST_STRIPE_API_BASE: the billing tests need localstripe, which "
                    "`bash .ci/with-services.sh ...` starts (or start `localstripe --port N` and export it).",
                    pytrace=False)
    return base.rstrip("/")


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
        _truncate(owner_engine, tables)
    app = request.getfixturevalue("app")
    connection = redis_connection(app)
    connection.flushdb()
    connection.set("huiyuan:test-run", os.getpid(), ex=3600)  # keep this run's claim on the Redis db
    with app.app_context():
        limiter.reset()


def _truncate(owner_engine, tables: list[str]) -> None:
    """Empty the tables. A browser test may leave a request in flight on the live server (a poll, an
    idle check): if it holds a lock the truncation waits on, end the other sessions and try again."""
    from sqlalchemy.exc import OperationalError

    statement = text(f"TRUNCATE {', '.join(tables)} CASCADE")
    try:
        with owner_engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '3s'"))
            conn.execute(statement)
        return
    except OperationalError:
        pass
    admin = create_engine(os.environ["TEST_SUPERUSER_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :db AND pid <> pg_backend_pid()"),
                         {"db": owner_engine.url.database})
    finally:
        admin.dispose()
    owner_engine.dispose()
    with owner_engine.begin() as conn:
        conn.execute(statement)


@contextlib.contextmanager
def serving(app):
    """`app` served from a thread on a free loopback port; yields its base URL."""
    import logging
    import threading

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def live_server(app):
    """The app served from a thread on a free loopback port (for Chromium and for webhook senders)."""
    with serving(app) as url:
        yield url


def sqlite_config(path: Path, **overrides) -> dict:
    """What `make run` configures: a SQLite file, no Redis (jobs in-process, rate limits in memory)."""
    url = f"sqlite:///{path}"
    return {"TESTING": True, "SECRET_KEY": "embedded-test-key", "SQLALCHEMY_DATABASE_URI": url,
            "MIGRATION_DATABASE_URI": url, "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": None, "SESSION_COOKIE_SECURE": False, "MAIL_SERVER": None, **overrides}


@pytest.fixture
def sqlite_app(tmp_path):
    """The embedded default of `make run`: a fresh SQLite file migrated with the real migrations."""
    from flask_migrate import upgrade

    app = create_app(sqlite_config(tmp_path / "embedded.db"))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def proxied_app(app):
    """The app as deployed behind one TLS proxy (TRUSTED_PROXIES=1), on the same database and Redis.
    A client stands for a user behind the proxy with `client.environ_base["HTTP_X_FORWARDED_FOR"]`."""
    proxied = create_app(app_config(TRUSTED_PROXIES=1))
    proxied.test_client_class = IsolatedClient
    return proxied


@pytest.fixture
def sqlite_live_server(sqlite_app):
    with serving(sqlite_app) as url:
        yield url


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
