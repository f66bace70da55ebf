"""Request → tenant: the `/t/<slug>/` URL prefix names the tenant; an unknown slug is a 404."""

from __future__ import annotations

from flask import abort, g
from sqlalchemy import select

from saas.extensions import db
from saas.models import Tenant
from tenants.scoping import current_tenant_or_none, tenant_context


def tenant_by_slug(slug: str) -> Tenant | None:
    return db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()


def init_app(app) -> None:
    @app.url_value_preprocessor
    def enter_tenant(endpoint, values):
        if not values or "slug" not in values:
            return
        tenant = tenant_by_slug(values.pop("slug"))
        if tenant is None:
            abort(404)
        g.tenant = tenant
        g._tenant_scope = tenant_context(tenant)
        g._tenant_scope.__enter__()

    @app.teardown_request
    def leave_tenant(exc):
        scope = g.pop("_tenant_scope", None)
        if scope is not None:
            scope.__exit__(None, None, None)

    @app.url_defaults
    def add_tenant_slug(endpoint, values):
        if "slug" in values or not app.url_map.is_endpoint_expecting(endpoint, "slug"):
            return
        tenant = current_tenant_or_none()
        if tenant is not None:
            values["slug"] = tenant.slug
