"""Tenant screens, all under `/t/<slug>/`: one parent blueprint, one child blueprint per screen group."""

from __future__ import annotations

from flask import Blueprint


def register(app) -> None:
    from saas.auth import bp as auth_bp
    from saas.billing.views import bp as billing_bp
    from tenants.views import (
        api_keys,
        audit_log,
        counter,
        dashboard,
        imports,
        member_cards,
        member_profile,
        members,
        program_editor,
        program_versions,
        regions,
        reward_stock,
        settings,
        staff,
        stores,
        tenant_logo,
        what_if,
    )

    parent = Blueprint("tenant", __name__, url_prefix="/t/<slug>")
    parent.register_blueprint(auth_bp)
    parent.register_blueprint(dashboard.bp)
    parent.register_blueprint(staff.bp)
    parent.register_blueprint(stores.bp)
    parent.register_blueprint(regions.bp)
    parent.register_blueprint(api_keys.bp)
    parent.register_blueprint(audit_log.bp)
    parent.register_blueprint(settings.bp)
    parent.register_blueprint(members.bp)
    parent.register_blueprint(program_editor.bp)
    parent.register_blueprint(member_profile.bp)
    parent.register_blueprint(tenant_logo.bp)
    parent.register_blueprint(program_versions.bp)
    parent.register_blueprint(member_cards.bp)
    parent.register_blueprint(imports.bp)
    parent.register_blueprint(reward_stock.bp)
    parent.register_blueprint(counter.bp)
    parent.register_blueprint(what_if.bp)
    parent.register_blueprint(billing_bp)
    app.register_blueprint(parent)
