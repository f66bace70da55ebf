"""The template library (短信库): the text of each occasion's message, and a message filled in for one member.

A tenant's own row (tenants/message_models.py) replaces the default text of tenants/presets/messages.json for its
occasion, channel and language; without one the default is sent. `render_for_member` is what a message batch and
the template page's preview both call, so the preview shows exactly what the member would receive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from saas.audit import audit
from saas.extensions import db
from saas.i18n import format_day, format_money, format_number
from saas.models import StaffUser, utcnow
from tenants.domain import message_text
from tenants.domain.errors import DomainError
from tenants.message_models import MessageTemplate
from tenants.models import Member, Store, TierAccount
from tenants.scoping import current_tenant
from tenants.services.errors import ServiceError

# The channels a message goes out on (a phone call is a follow-up task, not a message).
MESSAGE_CHANNELS = ("sms", "email")
LOCALES = ("zh_CN", "en")


@cache
def _defaults() -> dict:
    text = resources.files("tenants.presets").joinpath("messages.json").read_text(encoding="utf-8")
    return json.loads(text)["occasions"]


def occasions() -> tuple[str, ...]:
    """Every occasion the library knows, in the pages' order."""
    return tuple(_defaults())


@dataclass(frozen=True)
class TemplateText:
    """What an occasion sends on a channel in a language: the tenant's row, or the default when it has none."""

    occasion: str
    channel: str
    locale: str
    subject: str
    body: str
    enabled: bool
    options: dict
    template_id: int | None  # None: the default text


def default_text(occasion: str, channel: str, locale: str) -> TemplateText:
    entry = _defaults()[occasion]
    text = entry[channel].get(locale) or entry[channel]["zh_CN"]
    subject, body = (text["subject"], text["body"]) if isinstance(text, dict) else ("", text)
    return TemplateText(occasion, channel, locale, subject, body, True, dict(entry.get("options") or {}), None)


def template_for(occasion: str, channel: str, locale: str) -> TemplateText:
    """The text the tenant sends for `occasion` on `channel` in `locale`."""
    _check(occasion, channel, locale)
    row = db.session.scalar(select(MessageTemplate).where(
        MessageTemplate.occasion == occasion, MessageTemplate.channel == channel, MessageTemplate.locale == locale))
    if row is None:
        return default_text(occasion, channel, locale)
    options = {**(_defaults()[occasion].get("options") or {}), **(row.options or {})}
    return TemplateText(occasion, channel, locale, row.subject, row.body, row.enabled, options, row.id)


def member_values(member: Member, *, locale: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The placeholders' values for `member`, formatted in `locale`; `extra` gives the occasion's own (festival,
    keep_amount...), already formatted."""
    from tenants.programs import program_in_force

    tenant = current_tenant()
    store = db.session.get(Store, (tenant.id, member.enrolled_store_id)) if member.enrolled_store_id else None
    staff = (db.session.get(StaffUser, (tenant.id, member.responsible_staff_id))
             if member.responsible_staff_id else None)
    account = db.session.get(TierAccount, (tenant.id, member.tier_account_id))
    tier = account.tier_code if account else ""
    found = program_in_force()
    if found and tier:
        try:
            tier = found[1].tier(tier).name.text(locale)
        except DomainError:  # a tier a later version removed reads as its code
            pass
    with force_locale(locale):
        values = {"name": member.name or "", "tenant": tenant.name, "store": store.name if store else "",
                  "staff": staff.name if staff else "", "tier": tier, "points": format_number(member.points_balance)}
    return {**values, **(extra or {})}


@dataclass(frozen=True)
class Rendered:
    """One member's message: channel, language, subject (e-mail), body signed with store and staff."""

    occasion: str
    channel: str
    locale: str
    subject: str
    body: str
    template_id: int | None


def render_for_member(member: Member, occasion: str, channel: str, *, locale: str | None = None,
                      extra: dict[str, str] | None = None, text: TemplateText | None = None) -> Rendered | None:
    """The message `member` would receive for `occasion` on `channel` (None: the tenant switched it off).
    `text` renders an unsaved text instead (the preview of the form)."""
    locale = locale if locale in LOCALES else (current_tenant().locale if current_tenant().locale in LOCALES
                                               else "zh_CN")
    text = text or template_for(occasion, channel, locale)
    if not text.enabled:
        return None
    composed = message_text.compose(text.subject, text.body, member_values(member, locale=locale, extra=extra))
    return Rendered(occasion, channel, locale, composed.subject, composed.body, text.template_id)


def sample_extra(locale: str, today) -> dict[str, str]:
    """Example values of the occasions' own placeholders, for a preview (a batch passes the real ones)."""
    with force_locale(locale):
        festival = _("Mid-Autumn Festival")
        day = format_day(today)
        return {"festival": festival, "keep_amount": format_money(31200), "keep_by": day,
                "expiring_points": format_number(500), "expire_on": day, "amount": format_money(200000),
                "event_on": day}


def validate(channel: str, subject: str, body: str) -> dict[str, str]:
    """Field → message for a text that may not be saved (empty, too long, a placeholder that does not exist)."""
    errors: dict[str, str] = {}
    limit = message_text.MAX_SMS_CHARS if channel == "sms" else message_text.MAX_BODY_CHARS
    if not (body or "").strip():
        errors["body"] = _("Write the message.")
    elif len(body) > limit:
        errors["body"] = _("At most %(count)s characters.", count=limit)
    for field, value in (("subject", subject), ("body", body)):
        unknown = message_text.unknown_placeholders(value)
        if unknown and field not in errors:
            errors[field] = _("Unknown placeholder: %(names)s.", names=", ".join(f"{{{u}}}" for u in unknown))
    if channel == "email" and not (subject or "").strip():
        errors["subject"] = _("Write the subject.")
    return errors


def save_template(occasion: str, channel: str, locale: str, *, subject: str, body: str, enabled: bool,
                  options: dict | None, staff_id: int | None) -> MessageTemplate:
    """Keep the tenant's own text for an occasion (create or replace), audited; the caller commits.
    Invalid: ServiceError validation_failed with the fields' messages, nothing written."""
    _check(occasion, channel, locale)
    subject = (subject or "").strip() if channel == "email" else ""
    errors = validate(channel, subject, body or "")
    if errors:
        raise ServiceError("validation_failed", fields=errors)
    row = db.session.scalar(select(MessageTemplate).where(
        MessageTemplate.occasion == occasion, MessageTemplate.channel == channel, MessageTemplate.locale == locale)
        .with_for_update())
    if row is None:
        row = MessageTemplate(occasion=occasion, channel=channel, locale=locale)
        db.session.add(row)
    row.subject, row.body, row.enabled = subject, body.strip(), bool(enabled)
    row.options, row.updated_by, row.updated_at = dict(options or {}), staff_id, utcnow()
    db.session.flush()
    audit("message_template.saved", f"message_template:{row.id}", actor_id=staff_id, occasion=occasion,
          channel=channel, locale=locale, enabled=row.enabled)
    return row


def _check(occasion: str, channel: str, locale: str) -> None:
    if occasion not in _defaults() or channel not in MESSAGE_CHANNELS or locale not in LOCALES:
        raise ServiceError("not_found")
