"""Billing tables. Platform tables, not tenant-owned: Stripe's webhooks arrive with no tenant, and the
tenancy guard must not hide a tenant's subscription from the code that decides what the tenant may do."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saas.dbtypes import UTCDateTime
from saas.extensions import db
from saas.ids import new_id
from saas.models import utcnow


class SubscriptionStatus:
    """Stripe's subscription statuses, which our row mirrors (plus `trialing` for our own trial)."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    PAUSED = "paused"

    # A Stripe subscription in one of these states is over: another one may replace it.
    ENDED = frozenset({CANCELED, INCOMPLETE_EXPIRED})


class Subscription(db.Model):
    """One per tenant: its plan and where its payment stands, as Stripe last told us.

    Sign-up creates it `trialing` with `trial_end`; Checkout links a Stripe customer and subscription;
    webhooks keep `status`, `plan` and the dates in step with Stripe. `grace_until` is set when the
    subscription first becomes past_due (GRACE_DAYS later) and cleared when it leaves past_due.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        UniqueConstraint("stripe_customer_id"),
        UniqueConstraint("stripe_subscription_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, default=new_id)
    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"))
    plan: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255))
    trial_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    current_period_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    grace_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Stripe time (event `created`) of the newest event applied: older news never overwrites newer.
    last_event_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ProcessedStripeEvent(db.Model):
    """A Stripe event id we have handled. The unique id makes a redelivered event a no-op; the row is
    written in the same transaction as the event's effect, so a failed attempt leaves no trace."""

    __tablename__ = "processed_stripe_events"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, default=new_id)
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # Stripe's time
    tenant_id: Mapped[int | None] = mapped_column(BigInteger)  # informative, no FK (tenants may go)
    outcome: Mapped[str] = mapped_column(String(20), default="processed")  # processed | ignored | unmatched
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
