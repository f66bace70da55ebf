"""What the member page shows of the profile: consent per channel and its history, the tier history in words,
the referrer and the linked couple/family card, identity changes waiting for HQ."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from saas.crypto import mask_id_number
from saas.extensions import db
from saas.i18n import format_money
from saas.i18n import format_number as number
from saas.models import StaffUser
from saas.permissions import can
from tenants.access import visible_store_ids
from tenants.domain.consent import CHANNELS
from tenants.models import Member, TierAccount, TierChangeRow
from tenants.profile_models import IdentityChangeRequest
from tenants.services.consent import consent_history, current_consent
from tenants.services.identity_changes import approval_required, pending_changes
from tenants.views.counter_present import change_text, last_day
from tenants.views.counter_session import tier_label

CHANNEL_LABELS = {"sms": _l("SMS"), "wechat": _l("WeChat"), "email": _l("E-mail"), "phone": _l("Phone call")}
CONSENT_BY_CHANNEL = {"sms": _l("Agrees to offers by SMS"), "wechat": _l("Agrees to offers on WeChat"),
                      "email": _l("Agrees to offers by e-mail"), "phone": _l("Agrees to offers by phone call")}
SOURCE_LABELS = {"counter": _l("Counter"), "back_office": _l("Back office"), "import": _l("Import"),
                 "api": _l("API"), "online": _l("Online")}
LINK_KINDS = {"couple": _l("Couple card"), "family": _l("Family card")}
TIER_HISTORY_ROWS = 30
assert set(CHANNEL_LABELS) == set(CHANNELS) == set(CONSENT_BY_CHANNEL)


def tier_reason_text(row: TierChangeRow, program) -> str:
    """Why the tier changed, in words (what reached it, what was missing to keep it)."""
    code, p = row.reason_code, row.reason_params or {}
    tier = tier_label(program, p.get("tier") or row.to_tier)
    if code in ("reached_cumulative_spend", "reached_cumulative_points"):
        have = format_money(p.get("have")) if code.endswith("spend") else _("%(points)s points",
                                                                           points=number(p.get("have")))
        bar = format_money(p.get("required")) if code.endswith("spend") else _("%(points)s points",
                                                                              points=number(p.get("required")))
        return _("Reached %(have)s (needed %(required)s).", have=have, required=bar)
    if code == "reached_single_purchase":
        return _("A single purchase of %(amount)s (needed %(required)s).", amount=format_money(p.get("amount_fen")),
                 required=format_money(p.get("required")))
    if code == "reached_single_top_up":
        return _("A single top-up of %(amount)s (needed %(required)s).", amount=format_money(p.get("amount_fen")),
                 required=format_money(p.get("required")))
    if code == "paid_tier_fee":
        return _("Paid the fee of %(amount)s.", amount=format_money(p.get("fee_fen")))
    if code == "hq_grant":
        return _("Granted by head office.")
    if code == "campaign_grant":
        return _("Granted in a campaign until %(date)s.", date=last_day(p.get("until")))
    if code == "unlocked_by_top_up":
        return _("Unlocked by a top-up.")
    measure = p.get("measure")
    amount = (lambda v: _("%(points)s points", points=number(v))) if measure == "points" else format_money
    if code == "keep_met":
        return _("Reached %(have)s of the %(required)s needed to keep %(tier)s.", have=amount(p.get("have") or 0),
                 required=amount(p.get("required") or 0), tier=tier_label(program, p.get("tier")))
    if code == "kept_below_threshold":
        return _("Below the %(required)s needed (%(have)s) for period %(n)s of %(allowed)s allowed.",
                 required=amount(p.get("required") or 0), have=amount(p.get("have") or 0),
                 n=p.get("periods_below"), allowed=p.get("periods_allowed"))
    if code == "keep_not_met":
        return _("Only %(have)s of the %(required)s needed to keep %(tier)s.", have=amount(p.get("have") or 0),
                 required=amount(p.get("required") or 0), tier=tier_label(program, p.get("tier")))
    if code == "validity_ended":
        return _("The tier's validity ended.")
    if code == "imported":
        return _("Imported from the previous system.")
    return tier or code


def tier_history(member: Member, program) -> list[dict]:
    """Every tier change of the member's tier account (and of their earlier ones), the latest first."""
    rows = db.session.scalars(select(TierChangeRow).where(or_(
        TierChangeRow.tier_account_id == member.tier_account_id, TierChangeRow.member_id == member.id))
        .order_by(TierChangeRow.changed_on.desc(), TierChangeRow.created_at.desc(), TierChangeRow.id.desc())
        .limit(TIER_HISTORY_ROWS))
    history = []
    for row in rows:
        change = {"action": row.action, "from_tier": row.from_tier, "to_tier": row.to_tier,
                  "period_end": row.period_end.isoformat() if row.period_end else None}
        what = (_("Imported at %(tier)s.", tier=tier_label(program, row.to_tier)) if row.action == "imported"
                else change_text(change, program))
        history.append({"on": row.changed_on, "from": tier_label(program, row.from_tier),
                        "to": tier_label(program, row.to_tier), "what": what,
                        "reason": tier_reason_text(row, program), "version": row.program_version})
    return history


def _in_scope(member: Member) -> bool:
    ids = visible_store_ids(current_user)
    return ids is None or member.enrolled_store_id in ids


def links(member: Member) -> dict:
    """The referrer (a link to their page when the reader may see them) and the members sharing the tier."""
    referrer = None
    if member.referrer_id:
        found = db.session.get(Member, (member.tenant_id, member.referrer_id))
        if found is not None:
            referrer = {"name": found.name or _("(no name)"),
                        "url": url_for("tenant.members.show", member_id=found.id) if _in_scope(found) else None}
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    linked = []
    if account is not None and account.kind != "single":
        others = db.session.scalars(select(Member).where(Member.tier_account_id == account.id, Member.id != member.id)
                                    .order_by(Member.name, Member.id))
        linked = [{"name": m.name or _("(no name)"),
                   "url": url_for("tenant.members.show", member_id=m.id) if _in_scope(m) else None} for m in others]
    return {"referrer": referrer, "linked": linked,
            "link_kind": LINK_KINDS.get(account.kind) if account is not None else None}


def identity_pending(member: Member) -> list[dict]:
    """Identity changes of this member waiting for HQ: the ID number masked."""
    return [{"field": r.field, "new": mask_id_number(r.new_value) if r.field == "id_doc_number" else r.new_value,
             "mine": r.requested_by == current_user.id} for r in pending_changes(member.id)]


def consent_rows(member: Member) -> list[dict]:
    events = consent_history(member.id)
    staff_ids = {e.staff_id for e in events} - {None}
    staff = ({p.id: p.name for p in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))}
             if staff_ids else {})
    return [{"at": e.at, "channel": CHANNEL_LABELS.get(e.channel, e.channel), "granted": e.granted,
             "source": SOURCE_LABELS.get(e.source, e.source), "by": staff.get(e.staff_id)} for e in events]


def profile_parts(member: Member, program) -> dict:
    """The member page's profile parts (consent, tier history, links, identity changes waiting)."""
    return {"consent": current_consent(member), "consent_history": consent_rows(member),
            "channel_labels": CHANNEL_LABELS, "tier_history": tier_history(member, program), **links(member),
            "identity_pending": identity_pending(member), "identity_needs_hq": approval_required()
            and not can(current_user.role, "members.approve_identity")}


FIELD_NAMES = {"name": _l("Name"), "id_doc_number": _l("Document number")}


def identity_approval_rows() -> list[dict]:
    """Identity changes waiting for HQ, for the Approvals page (HQ only; the ID numbers masked)."""
    if not can(current_user.role, "members.approve_identity"):
        return []
    rows = db.session.execute(
        select(IdentityChangeRequest, Member).join(Member, Member.id == IdentityChangeRequest.member_id)
        .where(IdentityChangeRequest.status == "pending")
        .order_by(IdentityChangeRequest.requested_at, IdentityChangeRequest.id).limit(200)).all()
    people = {p.id: p.name for p in db.session.scalars(
        select(StaffUser).where(StaffUser.id.in_({r.requested_by for r, _m in rows} or {0})))}

    def shown(row, value):
        return (mask_id_number(value) if row.field == "id_doc_number" else value) or "—"

    return [{"request": r, "member": m, "field": FIELD_NAMES.get(r.field, r.field), "old": shown(r, r.old_value),
             "new": shown(r, r.new_value), "requester": people.get(r.requested_by, "—")} for r, m in rows]
