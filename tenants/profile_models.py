"""Tenant-owned tables of the member profile and the tenant's look: consent events, identity changes waiting
for HQ, the logo."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saas.crypto import Sealed
from saas.dbtypes import UTCDateTime
from saas.extensions import db
from saas.models import utcnow
from tenants.models import _fk
from tenants.scoping import TenantOwned


class ConsentEvent(TenantOwned, db.Model):
    """One change of a member's marketing consent on one channel (append-only).

    `Member.consent_channels` is the bit set these events leave (tenants/domain/consent.py), written in the same
    transaction by tenants/services/consent.py only.
    """

    __tablename__ = "consent_events"
    __table_args__ = (
        Index(None, "tenant_id", "member_id", "at"),
        _fk(["member_id"], "members"),
        _fk(["staff_id"], "staff_users"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(20))  # sms | wechat | email | phone
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(20))  # counter | back_office | import | api | enrolment
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdentityChangeRequest(TenantOwned, db.Model):
    """A change of the member's name or ID number waiting for HQ (变更审核), when the program requires it.

    Both values are sealed at rest like the member's ID number. Status: pending → applied (approved: the member
    changed, audited) or rejected; one decision per request, by a conditional update.
    """

    __tablename__ = "identity_change_requests"
    __table_args__ = (
        Index(None, "tenant_id", "status", "requested_at"),
        _fk(["member_id"], "members"),
        _fk(["requested_by"], "staff_users"),
        _fk(["decided_by"], "staff_users"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    field: Mapped[str] = mapped_column(String(20))  # name | id_doc_number
    old_value: Mapped[str | None] = mapped_column(Sealed())
    new_value: Mapped[str | None] = mapped_column(Sealed())
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | applied | rejected
    requested_by: Mapped[int] = mapped_column(BigInteger)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TenantLogo(TenantOwned, db.Model):
    """The tenant's logo, re-encoded from the upload (one per tenant); `digest` names the version in its URL."""

    __tablename__ = "tenant_logos"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    digest: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
