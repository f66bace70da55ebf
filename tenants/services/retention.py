"""How long data kept only as a means stays (SPEC §18 "safe", personal-data rights).

* Idempotency keys keep a request's first answer (often with the member's phone) so a retry replays it.
  They are deleted after IDEMPOTENCY_KEEP_HOURS (at least 24 h, default 8 days), and never before the
  tenant's backdate window has passed plus a day: a POS syncing an offline sale may retry it until then,
  and a retry after the key is gone would record the sale again.
* An uploaded legacy member file not imported within IMPORT_FILE_KEEP_DAYS (default 7) is dropped with its
  preview and the problems found in its rows; the import shows as expired. Imported files are dropped at
  once by the commit.

`purge_expired` runs daily (saas/cron.py) across tenants, one commit per tenant, each inside the tenant's
context (row-level security holds for the maintenance job too).
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import delete, select, update

from saas.extensions import db
from saas.models import Tenant
from saas.settings import tenant_setting
from tenants.imports_models import EXPIRED, RUNNING, MemberImport, MemberImportIssues
from tenants.models import IdempotencyKey
from tenants.scoping import tenant_context

log = logging.getLogger(__name__)


def idempotency_cutoff(tenant: Tenant, now: dt.datetime) -> dt.datetime:
    """Keys created before this instant may go."""
    hours = current_app.config["IDEMPOTENCY_KEEP_HOURS"]
    floor = (tenant_setting(tenant, "backdate_days") + 1) * 24
    return now - dt.timedelta(hours=max(hours, floor))


def purge_tenant(tenant: Tenant, now: dt.datetime) -> dict:
    """Delete the tenant's expired idempotency keys and expire its stale import files. The caller commits."""
    keys = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < idempotency_cutoff(tenant, now)))
    cutoff = now - dt.timedelta(days=current_app.config["IMPORT_FILE_KEEP_DAYS"])
    stale = list(db.session.scalars(select(MemberImport.id).where(
        MemberImport.updated_at < cutoff, MemberImport.status.not_in((*RUNNING, EXPIRED)),
        MemberImport.content.is_not(None))))
    if stale:
        db.session.execute(delete(MemberImportIssues).where(MemberImportIssues.import_id.in_(stale)))
        db.session.execute(update(MemberImport).where(MemberImport.id.in_(stale)).values(
            content=None, preview=[], status=EXPIRED, updated_at=now))
    return {"idempotency_keys": keys.rowcount or 0, "import_files": len(stale)}


def purge_expired(now: dt.datetime | None = None) -> dict:
    """Every tenant's expired data (see the module docstring); returns the totals."""
    now = now or dt.datetime.now(dt.UTC)
    totals = {"idempotency_keys": 0, "import_files": 0}
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.id)).all():
        with tenant_context(tenant):
            done = purge_tenant(tenant, now)
            db.session.commit()
        for key, value in done.items():
            totals[key] += value
    log.info("retention purge: %s", totals)
    return totals
