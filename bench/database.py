"""The bench database: created fresh (as the superuser, when one is given), migrated as the owner, and
an app bound to it that connects as the app role, as production does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.settings import Urls


def create_database(urls: Urls) -> None:
    """Drop and create the database named in ``urls`` (owned by the owner role), with the grants that
    README's production section gives the app role. Needs the superuser URL."""
    if not urls.superuser:
        raise SystemExit("creating the bench database needs BENCH_SUPERUSER_URL (or pass --reuse-database)")
    name = urls.database
    owner_role = make_url(urls.owner).username
    app_role = make_url(urls.app).username
    admin = create_engine(urls.superuser, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{owner_role}"'))
    admin.dispose()
    owner = create_engine(urls.owner)
    with owner.begin() as conn:
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{app_role}"'))
        conn.execute(text(f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner_role}" IN SCHEMA public '
                          f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app_role}"'))
    owner.dispose()


def make_app(urls: Urls, **overrides):
    """The product's app on the bench database (billing off: no Stripe key)."""
    from saas import create_app

    config = {
        "SECRET_KEY": overrides.pop("SECRET_KEY", "bench-secret-key"),
        "SQLALCHEMY_DATABASE_URI": urls.app,
        "MIGRATION_DATABASE_URI": urls.owner,
        "SESSION_COOKIE_SECURE": False,
        "STRIPE_SECRET_KEY": None,
        "MAIL_SERVER": None,
    }
    if urls.redis:
        config.update(REDIS_URL=urls.redis, RATELIMIT_STORAGE_URI=urls.redis)
    config.update(overrides)
    return create_app(config)


@contextmanager
def app_context(urls: Urls, **overrides) -> Iterator:
    """An app context on the bench database whose pooled connections are closed on the way out."""
    from saas.extensions import db

    app = make_app(urls, **overrides)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def migrate(app) -> None:
    """`flask db upgrade` as the owner role (MIGRATION_DATABASE_URI)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
