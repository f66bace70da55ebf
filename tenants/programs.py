"""The tenant's loyalty program as in force on a business date (validated, cached per version)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.orm import Session, defer

from saas.extensions import db
from tenants.domain.program import Program
from tenants.models import ProgramVersion
from tenants.scoping import current_tenant, current_tenant_id


def business_today() -> dt.date:
    """Today in the current tenant's time zone."""
    return dt.datetime.now(ZoneInfo(current_tenant().timezone)).date()


_IN_FORCE = "program versions in force"  # session.info: {(tenant id, date): version} of this transaction


def version_in_force(on: dt.date | None = None) -> ProgramVersion | None:
    """The version in force on `on`; read once per transaction and date (a purchase asks three times)."""
    on = on or business_today()
    session = db.session()
    found = session.info.setdefault(_IN_FORCE, {})
    key = (current_tenant_id(), on)
    if key not in found:
        found[key] = session.scalars(
            select(ProgramVersion)
            .options(defer(ProgramVersion.rules))  # the rules are parsed once per version (_validated)
            .where(ProgramVersion.effective_from <= on)
            .order_by(ProgramVersion.effective_from.desc(), ProgramVersion.version.desc())
            .limit(1)
        ).first()
    return found[key]


def forget_versions_in_force() -> None:
    """After adding a version in this transaction: the next question reads the table again."""
    db.session().info.pop(_IN_FORCE, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_versions(session, transaction) -> None:
    # Another transaction may commit a new version; a rolled-back savepoint may have held one.
    session.info.pop(_IN_FORCE, None)


@lru_cache(maxsize=512)
def _validated(tenant_id: int, version_id: int, version: int) -> Program:
    row = db.session.get(ProgramVersion, (tenant_id, version_id))
    return Program.model_validate(row.rules)


def program_in_force(on: dt.date | None = None) -> tuple[ProgramVersion, Program] | None:
    row = version_in_force(on)
    if row is None:
        return None
    return row, _validated(row.tenant_id, row.id, row.version)
