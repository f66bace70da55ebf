"""Platform tables: tenants and the staff who sign in to them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.dbtypes import UTCDateTime
from saas.extensions import db
from saas.ids import new_id
from tenants.scoping import TenantOwned

# JSON documents: JSONB on PostgreSQL, JSON text elsewhere.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Vertical(StrEnum):
    PHARMACY = "pharmacy"
    CLOTHING = "clothing"
    HOTEL = "hotel"
    MALL = "mall"
    BLANK = "blank"


class Tenant(db.Model):
    """One business. Not tenant-owned itself: it is what everything else is owned by."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, default=new_id)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    vertical: Mapped[str] = mapped_column(String(20), default=Vertical.BLANK)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    # One owner account per e-mail address across the platform, so sign-up can say "taken".
    owner_email: Mapped[str] = mapped_column(String(254), unique=True)
    # Operational settings (not loyalty rules), e.g. {"backdate_days": 7}; see saas/settings.py.
    settings: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffUser(TenantOwned, UserMixin, db.Model):
    """A person who signs in to one tenant: owner, admin, supervisor, manager, specialist, clerk."""

    __tablename__ = "staff_users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
        ForeignKeyConstraint(["tenant_id", "region_id"], ["regions.tenant_id", "regions.id"]),
    )

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(30))
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    region_id: Mapped[int | None] = mapped_column(BigInteger)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Personal 4–6 digit PIN for switching person on a shared counter tablet (argon2 hash).
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    pin_locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # Flask-Login: the id carries tenant and server-side session, so a cookie is worthless
    # under another tenant's URL and after logout.
    session_id = None  # set by the user loader; not a column

    def get_id(self) -> str:
        return f"{self.tenant_id}:{self.id}:{self.session_id or 0}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)


class StaffSession(TenantOwned, db.Model):
    """A signed-in session; logout (or deactivation) revokes it, which ends it everywhere."""

    __tablename__ = "staff_sessions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["staff_users.tenant_id", "staff_users.id"]),
        Index(None, "tenant_id", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class Invitation(TenantOwned, db.Model):
    """A one-time link that lets an invited person set a password. Only the token's hash is kept."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["staff_users.tenant_id", "staff_users.id"]),
        ForeignKeyConstraint(["tenant_id", "invited_by"], ["staff_users.tenant_id", "staff_users.id"]),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    invited_by: Mapped[int] = mapped_column(BigInteger)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(TenantOwned, db.Model):
    """Who did what sensitive thing, when. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "tenant_id", "at"),)

    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(120), default="")
    details: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")


class CounterDevice(TenantOwned, db.Model):
    """A shared counter tablet, signed in once for a store by a manager; staff then switch by PIN.

    The browser keeps the device token (only its hash is stored); revoking the device ends it.
    """

    __tablename__ = "counter_devices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
        ForeignKeyConstraint(["tenant_id", "registered_by"], ["staff_users.tenant_id", "staff_users.id"]),
    )

    store_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64))
    registered_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
