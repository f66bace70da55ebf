"""Tenant-owned tables of the loyalty product."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

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
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
