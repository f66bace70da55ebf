"""Stores (and, in malls, alliance merchants): the list a person's scope allows."""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user
from sqlalchemy import select

from saas.auth import require
from saas.extensions import db
from saas.htmx import render
from tenants.access import visible_store_ids
from tenants.models import Region, Store
from tenants.pagination import paginate, search
from tenants.programs import program_in_force


def store_rules() -> dict:
    """Per-store program rules (mall merchants: rates, whether the card is honoured), by store code."""
    current = program_in_force()
    return dict(current[1].stores) if current else {}

bp = Blueprint("stores", __name__)


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
                  rules=store_rules())


@bp.get("/stores/<int:store_id>")
@require("dashboard.view")
def show(store_id: int):
    store = db.session.get(Store, (current_user.tenant_id, store_id))
    ids = visible_store_ids(current_user)
    if store is None or (ids is not None and store.id not in ids):
        abort(404)
    region = db.session.get(Region, (store.tenant_id, store.region_id)) if store.region_id else None
    return render("tenants/stores/show.html", "tenants/stores/show.html", store=store, region=region,
                  rule=store_rules().get(store.code))
