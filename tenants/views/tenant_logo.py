"""The tenant's logo: upload and removal on the settings page (owner, chain admin), and the image itself.

The image is served to everyone who opens a page of the tenant, signed in or not (the sign-in page and the
counter tablet show it too): it is the shop's public face, and an unknown tenant is a 404 like any other.
Its URL names its digest, so browsers keep it for a year and a new logo is a new URL.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from saas.auth import require
from saas.extensions import db
from saas.htmx import render
from saas.models import Tenant
from tenants.profile_models import TenantLogo
from tenants.scoping import current_tenant_id, current_tenant_or_none
from tenants.services.errors import ServiceError
from tenants.services.tenant_logo import MAX_BYTES, current_logo, remove_logo, set_logo
from tenants.services.tenant_settings import BACKDATE_MAX_DAYS, money_recorded
from tenants.views.settings import _form, sign_in_address

bp = Blueprint("logo", __name__)
YEAR = 365 * 24 * 3600


def logo_digest() -> str | None:
    """The current tenant's logo digest (None: no logo), read once per request. An error page rendered while
    the database is away (503) or after a failed statement shows the letter mark instead."""
    if "logo_digest" not in g:
        try:
            g.logo_digest = (db.session.scalar(select(TenantLogo.digest).limit(1))
                             if current_tenant_or_none() is not None else None)
        except SQLAlchemyError:
            g.logo_digest = None
    return g.logo_digest


@bp.app_context_processor
def _logo_url():
    def tenant_logo_url() -> str | None:
        if getattr(g, "tenant", None) is None:
            return None
        digest = logo_digest()
        return url_for("tenant.logo.image", v=digest[:16]) if digest else None

    return {"tenant_logo_url": tenant_logo_url}


@bp.get("/logo")
def image():
    logo = current_logo()
    if logo is None:
        abort(404)
    response = make_response(logo.data)
    response.headers["Content-Type"] = logo.content_type
    response.headers["Content-Disposition"] = "inline; filename=logo.png"
    response.headers["Cache-Control"] = (f"public, max-age={YEAR}, immutable"
                                         if request.args.get("v") == logo.digest[:16] else "no-cache")
    response.set_etag(logo.digest[:32])
    return response.make_conditional(request)


def _settings_page(logo_errors: dict, status: int):
    tenant = db.session.get(Tenant, current_tenant_id())
    return render("tenants/settings/page.html", "tenants/settings/_logo.html", form=_form(tenant),
                  sign_in=sign_in_address(), currency_locked=money_recorded(), backdate_max=BACKDATE_MAX_DAYS,
                  tenant=g.tenant, logo_errors=logo_errors), status


@bp.post("/settings/logo")
@require("settings.manage")
def upload():
    """Upload a new logo; a bad file leaves the old one and says why on the field (422)."""
    upload = request.files.get("logo")
    data = upload.stream.read(MAX_BYTES + 1) if upload else b""
    try:
        set_logo(data, actor_id=current_user.id)
    except ServiceError as err:
        db.session.rollback()
        return _settings_page(err.fields, 422)
    db.session.commit()
    flash(_("Logo saved."), "success")
    return redirect(url_for("tenant.settings.page"))


@bp.post("/settings/logo/remove")
@require("settings.manage")
def remove():
    removed = remove_logo(actor_id=current_user.id)
    db.session.commit()
    flash(_("Logo removed.") if removed else _("Nothing changed."), "success" if removed else "info")
    return redirect(url_for("tenant.settings.page"))
