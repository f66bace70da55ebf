"""API authentication: the bearer key names its tenant, which is current for the rest of the request.

Order matters: row-level security hides ``api_keys`` until the tenant is set, so the tenant id is read
from the key itself, the tenant (a platform row) is loaded, its context entered, and only then is the
key looked up by prefix and its secret compared in constant time. The context is left at teardown.
"""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _

from saas.extensions import db
from saas.models import Tenant
from tenants.api import bp, operation_for
from tenants.api.schemas import ApiError
from tenants.scoping import tenant_context
from tenants.services.api_keys import find_api_key, parse_api_key, touch_api_key


def unauthorized() -> ApiError:
    # One answer for a missing, malformed, unknown or revoked key: no hint about which.
    return ApiError(401, "unauthorized", _("A valid API key is required (Authorization: Bearer <key>)."))


def bearer_token() -> str | None:
    scheme, _sep, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


@bp.before_request
def authenticate() -> None:
    op = operation_for(request.endpoint)
    if op is not None and not op.auth:
        return
    parsed = parse_api_key(bearer_token())
    if parsed is None:
        raise unauthorized()
    tenant = db.session.get(Tenant, parsed.tenant_id)
    if tenant is None:
        raise unauthorized()
    scope = tenant_context(tenant)
    scope.__enter__()
    g._api_tenant_scope = scope
    g.tenant = tenant
    api_key = find_api_key(parsed)
    if api_key is None:
        raise unauthorized()
    g.api_key = api_key
    touch_api_key(api_key)


@bp.teardown_request
def leave_tenant(exc) -> None:
    scope = g.pop("_api_tenant_scope", None)
    if scope is not None:
        scope.__exit__(None, None, None)
