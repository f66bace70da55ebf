"""Huiyuan (会员): the platform around the loyalty product. `create_app()` builds the web app."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.routing import IntegerConverter

from saas import config as config_module


class _IdConverter(IntegerConverter):
    def __init__(self, map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, tenancy, blueprints, error handlers. No work at import."""
    app = Flask(
        __name__,
        instance_path=str(config_module.INSTANCE),
        template_folder=str(config_module.ROOT / "templates"),
        static_folder=str(config_module.ROOT / "static"),
    )
    # Every <int:…> in a URL is a database id: beyond a 63-bit integer it names nothing, so it is a 404 at
    # routing instead of an overflow error in the database.
    app.url_map.converters["int"] = _IdConverter
    app.config.update(config_module.from_env())
    if config:
        app.config.update(config)
    if app.config.get("TRUSTED_PROXIES", 0) > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin at every start

    from saas import extensions as ext

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A database that does not answer (restarting, unreachable) fails a connection attempt after a few
        # seconds, answered 503 (saas/security.py), instead of holding the request until gunicorn kills it.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"connect_timeout": 5, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        config_module.INSTANCE.mkdir(parents=True, exist_ok=True)
    ext.db.init_app(app)
    from saas import embedded

    embedded.init_app(app, ext.db)
    ext.migrate.init_app(app, ext.db, directory=str(config_module.ROOT / "migrations"), render_as_batch=True)
    ext.csrf.init_app(app)
    ext.htmx.init_app(app)
    ext.limiter.init_app(app)

    from saas import i18n

    i18n.init_app(app)

    import saas.models  # noqa: F401  (register tables)
    import tenants.message_models  # noqa: F401
    import tenants.models  # noqa: F401
    import tenants.profile_models  # noqa: F401
    from tenants import scoping

    scoping.install(ext.db)

    from saas import auth, jobs, security, web
    from tenants import resolve
    from tenants.views import register as register_tenant_views

    jobs.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    resolve.init_app(app)
    app.register_blueprint(web.bp)
    register_tenant_views(app)

    from tenants import api

    api.init_app(app)

    from saas import billing

    billing.init_app(app)  # after the tenant views and the API: its read-only check attaches to them

    from tenants import cli as loyalty_cli
    from tenants.demo import cli as demo_cli

    loyalty_cli.init_app(app)
    demo_cli.init_app(app)
    return app
