"""Marketing consent per channel (营销同意): record a change, read the current consent and its history.

The one writer of `Member.consent_channels` (the bit set of tenants/domain/consent.py) and of
`Member.marketing_consent` (= agrees on at least one channel, which the member list, the API and the import
keep reading). Each change is one append-only event per channel that changed, under the member's row lock so
two people changing the same member at once cannot lose one change; audited. The caller commits.
"""

from __future__ import annotations

import datetime as dt

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import select

from saas.audit import audit
from saas.extensions import db
from saas.models import utcnow
from tenants.domain import consent as dconsent
from tenants.models import Member
from tenants.profile_models import ConsentEvent
from tenants.services import ledger
from tenants.services.errors import ServiceError

HISTORY_ROWS = 50


def enrolment_source(member_source: str) -> str:
    """Where the consent of an enrolment came from, by the member's source (counter, api, import, online...)."""
    return member_source if member_source in dconsent.SOURCES else "counter"


def request_source(default: str = "back_office") -> str:
    """A change made through the API names the API; otherwise `default`."""
    return "api" if has_request_context() and getattr(g, "api_key", None) is not None else default


def record_enrolment_consent(member: Member, granted: bool, *, staff_id: int | None) -> None:
    """A new member's yes to offers (the counter, the API and the import ask one question): every channel."""
    bits = dconsent.ALL if granted else 0
    member.consent_channels, member.marketing_consent = bits, bool(bits)
    at = utcnow()
    for change in dconsent.changes_to(0, bits):
        db.session.add(ConsentEvent(member_id=member.id, channel=change.channel, granted=True,
                                    source=enrolment_source(member.source), staff_id=staff_id, at=at))


def import_events(tenant_id: int, member_id: int, granted: bool, at: dt.datetime, new_id) -> list[dict]:
    """The consent events of an imported member, as rows for a bulk insert (every channel when they agreed)."""
    if not granted:
        return []
    return [{"tenant_id": tenant_id, "id": new_id(), "member_id": member_id, "channel": c.channel, "granted": True,
             "source": "import", "staff_id": None, "at": at} for c in dconsent.changes_to(0, dconsent.ALL)]


def set_consent(member_id: int, channels, *, source: str, staff_id: int | None) -> list[ConsentEvent]:
    """Make the member agree on exactly `channels` (an iterable of channel codes): one event per channel that
    changes, the member's bit set and yes/no updated, one audit row naming what was granted and withdrawn.
    Nothing changes: no event, no audit. Unknown channel or source: ServiceError validation_failed."""
    if source not in dconsent.SOURCES:
        raise ServiceError("validation_failed", fields={"consent": _("Not a valid choice.")})
    try:
        wanted = dconsent.bits_of(channels)
    except ValueError as err:
        raise ServiceError("validation_failed", fields={"consent": _("Not a valid choice.")}) from err
    member = ledger.lock_member(member_id)
    changes = dconsent.changes_to(member.consent_channels, wanted)
    if not changes:
        return []
    at = utcnow()
    events = [ConsentEvent(member_id=member.id, channel=c.channel, granted=c.granted, source=source,
                           staff_id=staff_id, at=at) for c in changes]
    db.session.add_all(events)
    member.consent_channels, member.marketing_consent = wanted, wanted != 0
    audit("member.consent_changed", f"member:{member.id}", actor_id=staff_id, source=source,
          granted=[c.channel for c in changes if c.granted], withdrawn=[c.channel for c in changes if not c.granted])
    return events


def set_general_consent(member: Member, agrees: bool, *, source: str, staff_id: int | None) -> None:
    """The one yes/no of the API and older forms: no → withdrawn on every channel; yes → every channel, unless
    the member already agrees on some (a yes sent again keeps their choice of channels)."""
    if agrees and member.consent_channels:
        return
    set_consent(member.id, dconsent.CHANNELS if agrees else (), source=source, staff_id=staff_id)


def current_consent(member: Member) -> dict[str, bool]:
    """Channel → agrees, in the pages' order."""
    return {c: dconsent.may_send(member.consent_channels, c) for c in dconsent.CHANNELS}


def may_send(member: Member, channel: str) -> bool:
    """May a marketing message go to this member on `channel` (what messaging asks)."""
    return dconsent.may_send(member.consent_channels, channel)


def consent_history(member_id: int, limit: int = HISTORY_ROWS) -> list[ConsentEvent]:
    """The member's consent events, the latest first."""
    return list(db.session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == member_id)
                                   .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc()).limit(limit)))
