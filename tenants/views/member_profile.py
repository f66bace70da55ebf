"""The member page's profile actions: consent per channel, and HQ's decision on identity changes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from saas.auth import require
from saas.extensions import db
from saas.htmx import render
from tenants.domain.consent import CHANNELS
from tenants.profile_models import IdentityChangeRequest
from tenants.services.consent import set_consent
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.identity_changes import decide_identity_change
from tenants.views.member_profile_present import identity_approval_rows
from tenants.views.members import _approval_rows, _member_page, member_in_scope_or_404

bp = Blueprint("member_profile", __name__)


@bp.post("/members/<int:member_id>/consent")
@require("members.browse")
def consent(member_id: int):
    """营销同意: the channels the member agrees to receive offers on (every change an event, audited)."""
    member = member_in_scope_or_404(member_id)
    chosen = [c for c in CHANNELS if request.form.get(f"consent_{c}") == "1"]
    key = request.form.get("idem", "")

    def work() -> dict:
        events = set_consent(member.id, chosen, source="back_office", staff_id=current_user.id)
        return {"changed": len(events)}

    try:
        if not key or len(key) > 60:
            raise ServiceError("idempotency_key_required")
        result, _replayed = run_idempotent(f"backoffice:{key}", "member.consent", {"member": member.id,
                                                                                  "channels": chosen}, work)
    except ServiceError as err:
        db.session.rollback()
        page = _member_page(member_in_scope_or_404(member_id))
        return render("tenants/members/show.html", "tenants/members/_consent.html",
                      **{**page, "errors": {"consent": next(iter(err.fields.values()), err.message)}}), 422
    flash(_("Consent saved.") if result["changed"] else _("Nothing changed."),
          "success" if result["changed"] else "info")
    return redirect(url_for("tenant.members.show", member_id=member.id))


@bp.post("/approvals/identity/<int:change_id>")
@require("members.approve_identity")
def decide_identity(change_id: int):
    """HQ approves (the member changes) or rejects a change of name or ID number."""
    row = db.session.get(IdentityChangeRequest, (current_user.tenant_id, change_id))
    if row is None:
        abort(404)
    member_in_scope_or_404(row.member_id)
    approve = request.form.get("decision") == "approve"
    try:
        status = decide_identity_change(change_id=row.id, approve=approve, actor_id=current_user.id)
    except ServiceError as err:
        db.session.rollback()
        return render("tenants/members/approvals.html", "tenants/members/_approvals.html", rows=_approval_rows(),
                      errors={}, identity_rows=identity_approval_rows(),
                      identity_errors={change_id: next(iter(err.fields.values()), err.message)}), 422
    flash(_("Approved: the member's record is changed.") if status == "applied"
          else _("Rejected: the member's record stays as it was."), "success")
    return redirect(url_for("tenant.members.approvals"))
