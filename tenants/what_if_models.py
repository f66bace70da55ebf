"""The what-if runs of the program editor: the rules replayed, the job's progress and its result.

`cursor` is the last tier account id whose outcome is in `result`; it moves forward in the same transaction
as the totals of each batch, under a lock on the run row, so a job delivered twice or killed half way and run
again goes on after the last committed batch and never counts an account twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from saas.dbtypes import UTCDateTime
from saas.extensions import db
from saas.models import JsonDoc, utcnow
from tenants.scoping import TenantOwned

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"


class WhatIfRun(TenantOwned, db.Model):
    """One replay of the tenant's last twelve months under a draft (or a version) of the program."""

    __tablename__ = "what_if_runs"
    __table_args__ = (
        Index(None, "tenant_id", "requested_at"),
        ForeignKeyConstraint(["tenant_id", "requested_by"], ["staff_users.tenant_id", "staff_users.id"]),
    )

    rules: Mapped[dict] = mapped_column(JsonDoc)  # the rules replayed, as they were when it started
    source: Mapped[str] = mapped_column(String(20))  # draft | version
    version: Mapped[int | None] = mapped_column(Integer)  # the version replayed (source "version")
    base_version: Mapped[int | None] = mapped_column(Integer)  # the version in force when it started
    today: Mapped[dt.date] = mapped_column(Date)  # the window is (today − 12 months, today]
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    done: Mapped[int] = mapped_column(BigInteger, default=0)  # tier accounts replayed
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    attempt: Mapped[int | None] = mapped_column(BigInteger)  # the job delivery now running it
    result: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    error_code: Mapped[str | None] = mapped_column(String(40))
    requested_by: Mapped[int | None] = mapped_column(BigInteger)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seconds: Mapped[int | None] = mapped_column(Integer)  # from the job's start to its end

    @property
    def running(self) -> bool:
        return self.status in (QUEUED, RUNNING)
