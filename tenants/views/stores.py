"""Stores (and, in malls, alliance merchants): the list a person's scope allows; adding, editing,
deactivating and reactivating them (chain administrators)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField

from saas.auth import require
from saas.billing.entitlements import PlanLimitReached
from saas.extensions import db
from saas.forms import choices, place_errors
from saas.htmx import render
from tenants.access import visible_store_ids
from tenants.models import Region, Store
from tenants.pagination import paginate, search
from tenants.programs import program_in_force
from tenants.services.errors import ServiceError
from tenants.services.stores import (
    CODE_MAX_LENGTH,
    FLOOR_MAX_LENGTH,
    KINDS,
    NAME_MAX_LENGTH,
    create_store,
    program_versions_naming,
    set_active,
    update_store,
)


def store_rules() -> dict:
    """Per-store program rules (mall merchants: rates, whether the card is honoured), by store code."""
    current = program_in_force()
    return dict(current[1].stores) if current else {}


bp = Blueprint("stores", __name__)


class StoreForm(FlaskForm):
    """The service checks every field (and says why in our words); the form carries the input and CSRF."""

    code = StringField(_l("Code"), render_kw={"maxlength": CODE_MAX_LENGTH, "autocomplete": "off"})
    name = StringField(_l("Store name"), render_kw={"maxlength": NAME_MAX_LENGTH})
    kind = SelectField(_l("Type"), default="store", validate_choice=False)
    region_id = SelectField(_l("Region"), validate_choice=False)
    floor = StringField(_l("Floor"), render_kw={"maxlength": FLOOR_MAX_LENGTH})
    opened_on = StringField(_l("Opening day"), render_kw={"type": "date"})

    def values(self) -> dict:
        return {"code": self.code.data, "name": self.name.data, "kind": self.kind.data,
                "region_id": self.region_id.data or None, "floor": self.floor.data,
                "opened_on": self.opened_on.data or None}


def _store_form(store: Store | None = None) -> StoreForm:
    form = StoreForm(obj=store)
    form.kind.choices = choices((key, label) for key, label in KINDS.items())
    regions = db.session.scalars(select(Region).order_by(Region.name))
    form.region_id.choices = choices([("", _("—"))] + [(r.id, r.name) for r in regions])
    return form


def _visible_store_or_404(store_id: int) -> Store:
    store = db.session.get(Store, (current_user.tenant_id, store_id))
    ids = visible_store_ids(current_user)
    if store is None or (ids is not None and store.id not in ids):
        abort(404)
    return store


@bp.get("/stores")
@require("dashboard.view")
def index():
    q = request.args.get("q", "").strip()[:80]
    query = select(Store).order_by(Store.code)
    ids = visible_store_ids(current_user)
    if ids is not None:
        query = query.where(Store.id.in_(ids))
    page = paginate(search(query, q, Store.name, Store.code), request.args.get("page"))
    regions = {r.id: r for r in db.session.scalars(select(Region))}
    return render("tenants/stores/index.html", "tenants/stores/_rows.html", page=page, q=q, regions=regions,
                  rules=store_rules(), kinds=KINDS)


def _saved(form: StoreForm, save) -> Store | None:
    """The store `save()` added or changed; None when the service refused, its reasons then on the form."""
    try:
        return save()
    except PlanLimitReached:
        raise  # the app's handler shows the plan's message and the way to upgrade (402)
    except ServiceError as err:
        db.session.rollback()
        place_errors(form, err, fallback="code")
        return None


@bp.route("/stores/new", methods=["GET", "POST"])
@require("stores.manage")
def new():
    form = _store_form()
    if form.validate_on_submit() and (store := _saved(form, lambda: create_store(actor_id=current_user.id,
                                                                                 **form.values()))):
        flash(_("Store “%(name)s” added.", name=store.name), "success")
        return redirect(url_for("tenant.stores.show", store_id=store.id))
    status = 422 if form.errors else 200
    return render("tenants/stores/new.html", "tenants/stores/_form.html", form=form, store=None,
                  code_frozen=False), status


@bp.get("/stores/<int:store_id>")
@require("dashboard.view")
def show(store_id: int):
    store = _visible_store_or_404(store_id)
    region = db.session.get(Region, (store.tenant_id, store.region_id)) if store.region_id else None
    return render("tenants/stores/show.html", "tenants/stores/show.html", store=store, region=region,
                  rule=store_rules().get(store.code), kinds=KINDS)


@bp.route("/stores/<int:store_id>/edit", methods=["GET", "POST"])
@require("stores.manage")
def edit(store_id: int):
    store = _visible_store_or_404(store_id)
    form = _store_form(store)
    code_frozen = bool(program_versions_naming(store.code))
    if code_frozen:
        form.code.render_kw = {**form.code.render_kw, "readonly": True}
    if form.validate_on_submit() and _saved(form, lambda: update_store(store, form.values(),
                                                                       actor_id=current_user.id)):
        flash(_("Store “%(name)s” saved.", name=store.name), "success")
        return redirect(url_for("tenant.stores.show", store_id=store.id))
    status = 422 if form.errors else 200
    return render("tenants/stores/edit.html", "tenants/stores/_form.html", form=form, store=store,
                  code_frozen=code_frozen), status


@bp.post("/stores/<int:store_id>/active")
@require("stores.manage")
def active(store_id: int):
    """Deactivate or reactivate: `active` is "1" or "0" (what the button asks for); absent, it toggles.
    (CSRF is checked for every POST by the app's CSRFProtect.)"""
    store = _visible_store_or_404(store_id)
    wanted = request.form.get("active")
    set_active(store, (not store.active) if wanted not in ("0", "1") else wanted == "1", actor_id=current_user.id)
    if store.active:
        flash(_("Store “%(name)s” is active again.", name=store.name), "success")
    else:
        flash(_("Store “%(name)s” is deactivated. Its history stays; the counter no longer opens there.",
                name=store.name), "success")
    return redirect(url_for("tenant.stores.show", store_id=store.id))
