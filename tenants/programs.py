"""The tenant's loyalty program as in force on a business date (validated, cached per version)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select

from saas.extensions import db
from tenants.domain.program import Program
from tenants.models import ProgramVersion
from tenants.scoping import current_tenant


def business_today() -> dt.date:
    """Today in the current tenant's time zone."""
    return dt.datetime.now(ZoneInfo(current_tenant().timezone)).date()


def version_in_force(on: dt.date | None = None) -> ProgramVersion | None:
    on = on or business_today()
    return db.session.scalars(
        select(ProgramVersion)
        .where(ProgramVersion.effective_from <= on)
        .order_by(ProgramVersion.effective_from.desc(), ProgramVersion.version.desc())
        .limit(1)
    ).first()


@lru_cache(maxsize=512)
def _validated(tenant_id: int, version_id: int, version: int) -> Program:
    row = db.session.get(ProgramVersion, (tenant_id, version_id))
    return Program.model_validate(row.rules)


def program_in_force(on: dt.date | None = None) -> tuple[ProgramVersion, Program] | None:
    row = version_in_force(on)
    if row is None:
        return None
    return row, _validated(row.tenant_id, row.id, row.version)
