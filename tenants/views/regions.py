"""Regions (chain administrators): the list with each region's stores and staff, adding, renaming, and
deleting a region that nothing belongs to. Regional supervisors see the stores of their region."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from saas.auth import require
from saas.extensions import db
from saas.forms import place_errors
from saas.htmx import render
from tenants.models import Region
from tenants.services.errors import ServiceError
from tenants.services.regions import NAME_MAX_LENGTH, create_region, delete_region, region_usage, rename_region

bp = Blueprint("regions", __name__)


class RegionForm(FlaskForm):
    """The service checks the name (and says why in our words); the form carries the input and CSRF."""

    name = StringField(_l("Region name"), render_kw={"maxlength": NAME_MAX_LENGTH, "autocomplete": "off"})


def _region_or_404(region_id: int) -> Region:
    region = db.session.get(Region, (current_user.tenant_id, region_id))
    if region is None:
        abort(404)
    return region


def _index(form: RegionForm, status: int = 200):
    regions = list(db.session.scalars(select(Region).order_by(Region.name)))
    return render("tenants/regions/index.html", "tenants/regions/_rows.html", form=form, region=None, regions=regions,
                  usage=region_usage()), status


@bp.get("/regions")
@require("stores.manage")
def index():
    return _index(RegionForm())


@bp.post("/regions")
@require("stores.manage")
def create():
    form = RegionForm()
    if form.validate_on_submit():
        try:
            region = create_region(form.name.data, actor_id=current_user.id)
        except ServiceError as err:
            db.session.rollback()
            place_errors(form, err, fallback="name")
        else:
            flash(_("Region “%(name)s” added. Choose it for its stores, then invite its supervisor.",
                    name=region.name), "success")
            return redirect(url_for("tenant.regions.index"))
    return _index(form, 422)


@bp.route("/regions/<int:region_id>/edit", methods=["GET", "POST"])
@require("stores.manage")
def edit(region_id: int):
    region = _region_or_404(region_id)
    form = RegionForm(obj=region)
    if form.validate_on_submit():
        try:
            rename_region(region, form.name.data, actor_id=current_user.id)
        except ServiceError as err:
            db.session.rollback()
            place_errors(form, err, fallback="name")
        else:
            flash(_("Region “%(name)s” saved.", name=region.name), "success")
            return redirect(url_for("tenant.regions.index"))
    status = 422 if form.errors else 200
    return render("tenants/regions/edit.html", "tenants/regions/_form.html", form=form, region=region), status


@bp.post("/regions/<int:region_id>/delete")
@require("stores.manage")
def delete(region_id: int):
    """(CSRF is checked for every POST by the app's CSRFProtect.)"""
    region = _region_or_404(region_id)
    name = region.name
    try:
        delete_region(region, actor_id=current_user.id)
    except ServiceError as err:
        db.session.rollback()
        for message in err.fields.values() or [err.message]:
            flash(message, "error")
    else:
        flash(_("Region “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("tenant.regions.index"))
