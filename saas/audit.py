"""The audit log of sensitive actions: written in the caller's transaction, never edited."""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from saas.extensions import db
from saas.models import AuditEntry

# Every action written to the log, and how the audit log page names it. A test fails on an action missing here.
ACTIONS = {
    "tenant.created": _l("Account created"),
    "tenant.settings_changed": _l("Settings changed"),
    "tenant.logo_changed": _l("Logo changed"),
    "tenant.logo_removed": _l("Logo removed"),
    "staff.login": _l("Signed in"),
    "staff.login_failed": _l("Failed sign-in"),
    "staff.logout": _l("Signed out"),
    "staff.invited": _l("Staff invited"),
    "staff.invitation_accepted": _l("Invitation accepted"),
    "staff.deactivated": _l("Staff deactivated"),
    "counter.device_registered": _l("Counter tablet registered"),
    "counter.device_revoked": _l("Counter tablet revoked"),
    "counter.pin_set": _l("Counter PIN chosen"),
    "counter.pin_reset": _l("Counter PIN reset"),
    "counter.pin_locked": _l("Counter PIN locked"),
    "store.created": _l("Store added"),
    "store.updated": _l("Store changed"),
    "store.deactivated": _l("Store deactivated"),
    "store.reactivated": _l("Store reactivated"),
    "region.created": _l("Region added"),
    "region.renamed": _l("Region renamed"),
    "region.deleted": _l("Region deleted"),
    "api_key.created": _l("API key created"),
    "api_key.revoked": _l("API key revoked"),
    "program.version_posted": _l("Program version published"),
    "program.draft_started": _l("Program draft started"),
    "program.draft_discarded": _l("Program draft discarded"),
    "program.draft_saved": _l("Program draft part saved"),
    "program.publish_requested": _l("Program version sent for the owner's approval"),
    "program.publish_approved": _l("Program version approved and published"),
    "program.publish_rejected": _l("Program version rejected"),
    "program.publish_withdrawn": _l("Program version request withdrawn"),
    "members.import": _l("Members imported"),
    "member.updated": _l("Member profile changed"),
    "member.handed_over": _l("Member handed over"),
    "member.id_document_revealed": _l("ID number shown in full"),
    "member.consent_changed": _l("Consent to offers changed"),
    "message_template.saved": _l("Message template saved"),
    "member.identity_change_requested": _l("Identity change requested"),
    "member.identity_change_approved": _l("Identity change approved"),
    "member.identity_change_rejected": _l("Identity change rejected"),
    "points.adjusted": _l("Points adjusted"),
    "points.adjustment_requested": _l("Points adjustment requested"),
    "points.adjustment_approved": _l("Points adjustment approved"),
    "points.adjustment_rejected": _l("Points adjustment rejected"),
    "stored_value.adjusted": _l("Stored value adjusted"),
    "stored_value.adjustment_requested": _l("Stored-value adjustment requested"),
    "stored_value.adjustment_approved": _l("Stored-value adjustment approved"),
    "stored_value.adjustment_rejected": _l("Stored-value adjustment rejected"),
    "tier.grant": _l("Tier given"),
    "tier.linked": _l("Members linked"),
    "tier.unlinked": _l("Member unlinked"),
    "card.issued": _l("Card issued"),
    "card.pin_changed": _l("Card PIN set"),
    "card.reported_lost": _l("Card reported lost"),
    "card.replaced": _l("Card replaced"),
    "card.exchanged": _l("Card exchanged"),
    "card.closed": _l("Membership closed"),
    "billing.subscription_changed": _l("Subscription changed"),
}


def audit(action: str, target: str = "", actor_id: int | None = None, **details) -> AuditEntry:
    if actor_id is None and has_request_context() and getattr(current_user, "is_authenticated", False):
        actor_id = current_user.id
    if has_request_context() and actor_id is None and getattr(g, "api_key", None) is not None:
        details.setdefault("api_key", str(g.api_key.id))  # done through the API: which key
    entry = AuditEntry(
        action=action,
        target=target,
        actor_id=actor_id,
        details=details,
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(entry)
    return entry
