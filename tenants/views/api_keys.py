"""API keys (owner only): list, create (the key is shown once), revoke. Keys let POS systems use the API."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from saas.auth import require
from saas.extensions import db
from saas.forms import place_errors
from saas.htmx import render
from tenants.services.api_keys import NAME_MAX_LENGTH, create_api_key, display_prefix, list_api_keys, revoke_api_key
from tenants.services.errors import ServiceError

bp = Blueprint("api_keys", __name__)


class ApiKeyForm(FlaskForm):
    name = StringField(_l("Key name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)])


@bp.route("/settings/api-keys", methods=["GET", "POST"])
@require("api_keys.manage")
def index():
    form = ApiKeyForm()
    if form.validate_on_submit():
        try:
            issued = create_api_key(form.name.data, created_by=current_user.id)
        except ServiceError as err:
            db.session.rollback()
            place_errors(form, err, fallback="name")
        else:
            return render("tenants/api_keys/created.html", "tenants/api_keys/created.html", issued=issued)
    status = 422 if form.errors else 200
    return render("tenants/api_keys/index.html", "tenants/api_keys/_rows.html", form=form, keys=list_api_keys(),
                  shown=display_prefix), status


@bp.post("/settings/api-keys/<int:key_id>/revoke")
@require("api_keys.manage")
def revoke(key_id: int):
    try:
        api_key = revoke_api_key(key_id, revoked_by=current_user.id)
    except ServiceError as err:
        db.session.rollback()
        if err.code == "not_found":
            abort(404)
        raise
    flash(_("The key “%(name)s” is revoked: requests with it are refused from now on.", name=api_key.name),
          "success")
    return redirect(url_for("tenant.api_keys.index"))
