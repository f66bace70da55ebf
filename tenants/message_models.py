"""The template library of member messages (短信库): one text per occasion, channel and language.

A tenant's row overrides the default text that tenants/presets/messages.json gives for the occasion; a tenant
with no row of its own for an occasion sends the default (see tenants/services/message_templates.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saas.dbtypes import UTCDateTime
from saas.extensions import db
from saas.models import JsonDoc, utcnow
from tenants.scoping import TenantOwned


class MessageTemplate(TenantOwned, db.Model):
    """The tenant's text for one occasion on one channel in one language."""

    __tablename__ = "message_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "occasion", "channel", "locale"),
        ForeignKeyConstraint(["tenant_id", "updated_by"], ["staff_users.tenant_id", "staff_users.id"]),
    )

    occasion: Mapped[str] = mapped_column(String(40))  # birthday | holiday | ... (message_templates.OCCASIONS)
    channel: Mapped[str] = mapped_column(String(20))  # sms | email (tenants/domain/consent.py CHANNELS)
    locale: Mapped[str] = mapped_column(String(10))  # zh_CN | en
    subject: Mapped[str] = mapped_column(String(200), default="")  # e-mail only
    body: Mapped[str] = mapped_column(String(4000))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Occasion options, e.g. {"days_before": 3} for a birthday, {"days_away": 90} for "we miss you".
    options: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
