"""Tenant-owned tables of the loyalty product."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from saas.crypto import Sealed
from saas.dbtypes import UTCDateTime
from saas.extensions import db
from saas.models import JsonDoc, utcnow
from tenants.scoping import TenantOwned


class Region(TenantOwned, db.Model):
    __tablename__ = "regions"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(80))


class Store(TenantOwned, db.Model):
    """A store (门店); in a mall, an alliance merchant (联盟商户) with its own rates."""

    __tablename__ = "stores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(["tenant_id", "region_id"], ["regions.tenant_id", "regions.id"]),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    region_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20), default="store")  # store | merchant
    floor: Mapped[str] = mapped_column(String(20), default="")
    opened_on: Mapped[dt.date | None] = mapped_column(Date)  # gift cards activate within N days of it (§3)
    # A merchant's rates and whether it honours the card are program rules (versioned), keyed by code.
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ProgramVersion(TenantOwned, db.Model):
    """One version of a tenant's loyalty program: validated rules, effective from a business date."""

    __tablename__ = "program_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    rules: Mapped[dict] = mapped_column(JsonDoc)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(BigInteger)


def _fk(columns: list[str], table: str, targets: list[str] | None = None) -> ForeignKeyConstraint:
    """A tenant-leading composite foreign key: (tenant_id, col...) → table(tenant_id, id...)."""
    targets = targets or ["id"]
    return ForeignKeyConstraint(["tenant_id", *columns], [f"{table}.tenant_id", *(f"{table}.{t}" for t in targets)])


class TierAccount(TenantOwned, db.Model):
    """Who shares a tier: one member, or a linked couple/family card (情侣卡/家庭卡).

    Holds the persisted `MemberTierState` of the domain; activities of every member linked to
    the account count toward it.
    """

    __tablename__ = "tier_accounts"

    kind: Mapped[str] = mapped_column(String(20), default="single")  # single | couple | family
    tier_code: Mapped[str] = mapped_column(String(40))
    since: Mapped[dt.date] = mapped_column(Date)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    periods_below: Mapped[int] = mapped_column(Integer, default=0)
    tier_counter_after: Mapped[dt.date | None] = mapped_column(Date)
    counter_after: Mapped[dt.date | None] = mapped_column(Date)
    evaluated_through: Mapped[dt.date | None] = mapped_column(Date)
    program_version: Mapped[int] = mapped_column(Integer)
    # On the counter day, what happened after this instant still counts (§19.16); None: the whole day is out.
    tier_counter_after_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    counter_after_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Member(TenantOwned, db.Model):
    """A member (会员) with the balances materialised from the ledgers (never edited on their own)."""

    __tablename__ = "members"
    __table_args__ = (
        # One member per phone number (and per e-mail) per tenant.
        Index("uq_members_tenant_id_phone", "tenant_id", "phone", unique=True),
        Index("uq_members_tenant_id_email", "tenant_id", "email", unique=True),
        Index("ix_members_tenant_id_phone_last4", "tenant_id", "phone_last4"),
        Index("ix_members_tenant_id_name", "tenant_id", "name"),
        # Every evaluation of a tier account loads its members' activities through this (bench/RESULTS.md §1).
        Index("ix_members_tenant_id_tier_account_id", "tenant_id", "tier_account_id"),
        _fk(["tier_account_id"], "tier_accounts"),
        _fk(["enrolled_store_id"], "stores"),
        _fk(["referrer_id"], "members"),
        CheckConstraint("points_balance >= 0", name="points_balance_not_negative"),
        CheckConstraint("stored_value_fen >= 0", name="stored_value_not_negative"),
    )

    name: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_last4: Mapped[str | None] = mapped_column(String(4))
    email: Mapped[str | None] = mapped_column(String(254))
    gender: Mapped[str | None] = mapped_column(String(10))
    birthday: Mapped[dt.date | None] = mapped_column(Date)  # the day celebrated (may differ from the ID)
    id_birthday: Mapped[dt.date | None] = mapped_column(Date)
    id_doc_type: Mapped[str | None] = mapped_column(String(20))
    id_doc_number: Mapped[str | None] = mapped_column(Sealed())  # encrypted at rest (saas/crypto.py)
    real_name_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(200), default="")
    profile: Mapped[dict] = mapped_column(JsonDoc, default=dict)  # size, occupation, income band, style...
    notes: Mapped[str] = mapped_column(String(2000), default="")
    tags: Mapped[list] = mapped_column(JsonDoc, default=list)
    source: Mapped[str] = mapped_column(String(20), default="counter")  # counter|online|import|group|api
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)  # = consent_channels != 0
    # The channels the member agrees to (bits of tenants/domain/consent.py), materialised from consent_events.
    consent_channels: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | closed
    joined_on: Mapped[dt.date] = mapped_column(Date)
    enrolled_store_id: Mapped[int | None] = mapped_column(BigInteger)
    enrolled_by: Mapped[int | None] = mapped_column(BigInteger)  # staff (经办人)
    responsible_staff_id: Mapped[int | None] = mapped_column(BigInteger)  # 责任人
    referrer_id: Mapped[int | None] = mapped_column(BigInteger)
    tier_account_id: Mapped[int] = mapped_column(BigInteger)
    first_purchase_on: Mapped[dt.date | None] = mapped_column(Date)
    last_purchase_on: Mapped[dt.date | None] = mapped_column(Date)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    points_balance: Mapped[int] = mapped_column(BigInteger, default=0)  # = sum of points entries
    stored_value_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # = sum of stored-value entries
    # Category price rates unlocked by top-ups (hotel: rooms at 8折), e.g. {"rooms": 8000}.
    unlocked_price_bp: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Card(TenantOwned, db.Model):
    """A member card number: physical (printed, optional PIN) or the always-present virtual one (QR)."""

    __tablename__ = "cards"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index(None, "tenant_id", "member_id"),
        _fk(["member_id"], "members"),
        _fk(["replaced_by_id"], "cards"),
        _fk(["store_id"], "stores"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10), default="virtual")  # virtual | physical
    card_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="active")
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    blocked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    replaced_by_id: Mapped[int | None] = mapped_column(BigInteger)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    sold_by: Mapped[int | None] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)


class PointsLot(TenantOwned, db.Model):
    """Points earned together (one purchase, one bonus): what is left, when usable, when they expire."""

    __tablename__ = "points_lots"
    __table_args__ = (
        Index(None, "tenant_id", "member_id", "expires_on"),
        _fk(["member_id"], "members"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger)  # left in the lot
    earned: Mapped[int] = mapped_column(BigInteger)  # as first credited
    earned_on: Mapped[dt.date] = mapped_column(Date)
    available_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    released: Mapped[bool] = mapped_column(Boolean, default=False)  # a release entry was written
    purchase_id: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20), default="purchase")  # purchase|adjust|bonus|referral


class PointsEntry(TenantOwned, db.Model):
    """One points movement (append-only). The member's balance is the sum of `points`."""

    __tablename__ = "points_entries"
    __table_args__ = (
        Index(None, "tenant_id", "member_id", "id"),
        _fk(["member_id"], "members"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(30))
    points: Mapped[int] = mapped_column(BigInteger)  # signed change of the balance
    moved: Mapped[int] = mapped_column(BigInteger, default=0)  # release: pending → available
    business_date: Mapped[dt.date] = mapped_column(Date)
    ref: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    program_version: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoredValueLot(TenantOwned, db.Model):
    """One top-up's money: principal paid and bonus given, what is left of each, and its expiry."""

    __tablename__ = "stored_value_lots"
    __table_args__ = (
        Index(None, "tenant_id", "member_id"),
        _fk(["member_id"], "members"),
        CheckConstraint("principal_fen >= 0 AND bonus_fen >= 0", name="stored_value_lot_not_negative"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    principal_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)
    topped_up_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)


class StoredValueEntry(TenantOwned, db.Model):
    """One stored-value movement (append-only). The balance is the sum of principal + bonus."""

    __tablename__ = "stored_value_entries"
    __table_args__ = (
        Index(None, "tenant_id", "member_id", "id"),
        _fk(["member_id"], "members"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(30))
    principal_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)
    business_date: Mapped[dt.date] = mapped_column(Date)
    ref: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    program_version: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Purchase(TenantOwned, db.Model):
    """A recorded purchase with its priced lines (as computed then) and what returns took back so far."""

    __tablename__ = "purchases"
    __table_args__ = (
        Index(None, "tenant_id", "member_id", "business_date"),
        Index(None, "tenant_id", "business_date"),
        _fk(["member_id"], "members"),
        _fk(["store_id"], "stores"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    device: Mapped[str] = mapped_column(String(60), default="")
    receipt_no: Mapped[str] = mapped_column(String(60), default="")
    business_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    business_date: Mapped[dt.date] = mapped_column(Date)
    goods_fen: Mapped[int] = mapped_column(BigInteger)
    voucher_fen: Mapped[int] = mapped_column(BigInteger)
    points_used: Mapped[int] = mapped_column(BigInteger)
    points_value_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger)
    amount_due_fen: Mapped[int] = mapped_column(BigInteger)
    stored_value_paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger)
    spend_fen: Mapped[int] = mapped_column(BigInteger)
    pending_until: Mapped[dt.date] = mapped_column(Date)
    tier_before: Mapped[str] = mapped_column(String(40))
    tier_after: Mapped[str] = mapped_column(String(40))
    program_version: Mapped[int] = mapped_column(Integer)
    lines: Mapped[list] = mapped_column(JsonDoc)  # priced lines (see services.purchases)
    tenders: Mapped[list] = mapped_column(JsonDoc)
    earn_lot_id: Mapped[int | None] = mapped_column(BigInteger)
    points_used_lots: Mapped[list] = mapped_column(JsonDoc, default=list)  # [[lot_id, points], ...]
    returned: Mapped[dict] = mapped_column(JsonDoc, default=dict)  # line id → quantity returned so far
    returned_spend_fen: Mapped[int] = mapped_column(BigInteger, default=0)

    def returned_of(self, line_id: str) -> int:
        """How many of line `line_id` were returned so far."""
        return int((self.returned or {}).get(line_id, 0))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PurchaseReturn(TenantOwned, db.Model):
    __tablename__ = "purchase_returns"
    __table_args__ = (
        Index(None, "tenant_id", "purchase_id"),
        _fk(["purchase_id"], "purchases"),
        _fk(["member_id"], "members"),
        _fk(["store_id"], "stores"),
    )

    purchase_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    business_date: Mapped[dt.date] = mapped_column(Date)
    lines: Mapped[dict] = mapped_column(JsonDoc)  # line id → quantity returned this time
    gross_returned_fen: Mapped[int] = mapped_column(BigInteger)
    refund_fen: Mapped[int] = mapped_column(BigInteger)
    points_given_back: Mapped[int] = mapped_column(BigInteger)
    points_taken_back: Mapped[int] = mapped_column(BigInteger)
    shortfall_points: Mapped[int] = mapped_column(BigInteger)
    deducted_fen: Mapped[int] = mapped_column(BigInteger)
    written_off_fen: Mapped[int] = mapped_column(BigInteger)
    spend_reversed_fen: Mapped[int] = mapped_column(BigInteger)
    program_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TopUp(TenantOwned, db.Model):
    __tablename__ = "top_ups"
    __table_args__ = (
        Index(None, "tenant_id", "member_id"),
        _fk(["member_id"], "members"),
        _fk(["store_id"], "stores"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    business_date: Mapped[dt.date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)
    card_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    card_fee_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    unlock_tier: Mapped[str | None] = mapped_column(String(40))
    lot_id: Mapped[int] = mapped_column(BigInteger)
    program_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Redemption(TenantOwned, db.Model):
    __tablename__ = "redemptions"
    __table_args__ = (
        Index(None, "tenant_id", "member_id"),
        _fk(["member_id"], "members"),
        _fk(["store_id"], "stores"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    business_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))  # catalogue | threshold | stepped | nights
    code: Mapped[str] = mapped_column(String(40), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[int] = mapped_column(BigInteger)
    value_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    gift: Mapped[str] = mapped_column(String(200), default="")
    program_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RewardStock(TenantOwned, db.Model):
    """Stock of a reward catalogue item (the catalogue itself is program rules)."""

    __tablename__ = "reward_stock"
    __table_args__ = (
        UniqueConstraint("tenant_id", "item_code"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )

    item_code: Mapped[str] = mapped_column(String(40))
    stock: Mapped[int] = mapped_column(Integer, default=0)


class TierActivityRow(TenantOwned, db.Model):
    """What counts for tiers, on the day it counts (purchases on their release day)."""

    __tablename__ = "tier_activities"
    __table_args__ = (
        Index(None, "tenant_id", "member_id", "counts_on"),
        _fk(["member_id"], "members"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    counts_on: Mapped[dt.date] = mapped_column(Date)
    spend_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    tier_code: Mapped[str | None] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(60), default="")
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # orders a day's events
    belongs_on: Mapped[dt.date | None] = mapped_column(Date)  # a return: its purchase's release day (§19.14)


class TierChangeRow(TenantOwned, db.Model):
    """A tier change with its reason (code + params, translated when shown) and the rule version."""

    __tablename__ = "tier_changes"
    __table_args__ = (
        Index(None, "tenant_id", "tier_account_id", "changed_on"),
        _fk(["tier_account_id"], "tier_accounts"),
    )

    tier_account_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    changed_on: Mapped[dt.date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(20))
    from_tier: Mapped[str] = mapped_column(String(40))
    to_tier: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_params: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    program_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdempotencyKey(TenantOwned, db.Model):
    """The first result of a mutating request, replayed for retries with the same key and body."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    key: Mapped[str] = mapped_column(String(100))
    operation: Mapped[str] = mapped_column(String(40))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict | None] = mapped_column(JsonDoc)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(TenantOwned, db.Model):
    """A per-tenant key for the JSON API. Only a hash of the secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "prefix"),)

    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(24))  # shown in lists; identifies the key
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RewardStockMovement(TenantOwned, db.Model):
    """One change of a reward item's stock (append-only). `RewardStock.stock` is the sum of `change`.

    Kinds: received (+N delivered), counted (a stock count: the difference to the stock then),
    redeemed (−quantity of a redemption), returned (+quantity of a reversed redemption).
    """

    __tablename__ = "reward_stock_movements"
    __table_args__ = (
        Index(None, "tenant_id", "item_code", "id"),
        ForeignKeyConstraint(["tenant_id", "item_code"], ["reward_stock.tenant_id", "reward_stock.item_code"]),
        _fk(["redemption_id"], "redemptions"),
    )

    item_code: Mapped[str] = mapped_column(String(40))
    change: Mapped[int] = mapped_column(Integer)  # signed change of the stock
    stock_after: Mapped[int] = mapped_column(Integer)  # the stock once this movement was applied
    kind: Mapped[str] = mapped_column(String(20))  # received | counted | redeemed | returned
    note: Mapped[str] = mapped_column(String(200), default="")  # what was delivered; why a count differs
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    business_date: Mapped[dt.date] = mapped_column(Date)
    redemption_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PointsAdjustmentRequest(TenantOwned, db.Model):
    """A manual points adjustment above the tenant's threshold, waiting for a second person (四眼原则).

    Status: pending → applied (approved: the adjustment is posted, `approved_by` on its ledger entry) or
    rejected. One decision per request: the status moves from pending by a conditional update.
    """

    __tablename__ = "points_adjustment_requests"
    __table_args__ = (
        Index(None, "tenant_id", "status", "requested_at"),
        _fk(["member_id"], "members"),
        _fk(["requested_by"], "staff_users"),
        _fk(["decided_by"], "staff_users"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    delta: Mapped[int] = mapped_column(BigInteger)  # signed points
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | applied | rejected
    requested_by: Mapped[int] = mapped_column(BigInteger)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(String(200), default="")


class ProgramDraft(TenantOwned, db.Model):
    """The program being edited in the back office (one per tenant): rules as JSON, not yet a version.

    A draft may be incomplete or invalid while it is edited; publishing validates it with the same service
    as the API and the CLI (`post_program_version`). `based_on_version` is the version it started from
    (None: a preset or an imported document).
    """

    __tablename__ = "program_drafts"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        _fk(["updated_by"], "staff_users"),
    )

    rules: Mapped[dict] = mapped_column(JsonDoc)
    based_on_version: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="version")  # version | preset | import
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)


class ProgramPublishRequest(TenantOwned, db.Model):
    """A version waiting for the owner's approval before it is published (when the tenant asks for it).

    Status: pending → published (approved: posted as version `version`) | rejected | withdrawn. The status
    leaves pending by a conditional update, so two decisions at once cannot both publish it.
    """

    __tablename__ = "program_publish_requests"
    __table_args__ = (
        Index(None, "tenant_id", "status", "requested_at"),
        _fk(["requested_by"], "staff_users"),
        _fk(["decided_by"], "staff_users"),
    )

    rules: Mapped[dict] = mapped_column(JsonDoc)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    based_on_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    requested_by: Mapped[int] = mapped_column(BigInteger)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int | None] = mapped_column(Integer)  # the version it became, once published
