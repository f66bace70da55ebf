"""Scenario 6: the program editor's what-if (tenants/services/what_if.py) over the big tenant.

A draft with the second tier's first cumulative bar lowered by 30 % is replayed over the last twelve months:
the job (`run_what_if`, run in this process as a worker would) streams every tier account in batches, loads its
window and prices every purchase of it again. Baseline in the same run: one pass over the same rows in SQL
(tier accounts, members, the window's purchases and tier activities: counts and sums), i.e. reading what the
job reads without replaying anything.
"""

from __future__ import annotations

import copy
import time

from bench.settings import Urls


def lowered_draft_rules(rules: dict) -> dict:
    """The rules with the first cumulative reach rule of the second tier 30 % lower (a what-if worth asking)."""
    draft = copy.deepcopy(rules)
    if len(draft["tiers"]) > 1:
        for rule in draft["tiers"][1].get("reach", []):
            if rule.get("kind") == "cumulative":
                rule["min"] = max(1, rule["min"] * 7 // 10)
                break
    return draft


def what_if(urls: Urls, slug: str, *, log) -> dict:
    from sqlalchemy import func, select

    from bench.database import app_context
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.domain.what_if import window_start
    from tenants.models import Member, Purchase, TierAccount, TierActivityRow
    from tenants.programs import business_today
    from tenants.scoping import tenant_context
    from tenants.services.programs import current_program_version
    from tenants.services.what_if import BATCH, create_run, run_what_if
    from tenants.what_if_models import WhatIfRun

    with app_context(urls) as app:
        app.config["REDIS_URL"] = None  # the job runs here, in this process, as a worker would
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        with tenant_context(tenant):
            today = business_today()
            start = window_start(today)

            def baseline():
                return (db.session.execute(select(func.count(), func.count(TierAccount.tier_code))).one(),
                        db.session.execute(select(func.count(), func.sum(Member.points_balance))).one(),
                        db.session.execute(select(func.count(), func.sum(Purchase.points_earned))
                                           .where(Purchase.business_date > start)).one(),
                        db.session.execute(select(func.count(), func.sum(TierActivityRow.spend_fen))
                                           .where(TierActivityRow.counts_on > start)).one())

            baseline()  # warm the cache: both sides read from memory
            db.session.commit()
            began = time.perf_counter()
            counted = baseline()
            db.session.commit()
            baseline_s = time.perf_counter() - began

            version = current_program_version()

            class Draft:
                rules = lowered_draft_rules(version.rules)

            run = create_run(actor_id=None, draft=Draft)
            db.session.commit()
            began = time.perf_counter()
            run_what_if(tenant.id, run.id)
            product_s = time.perf_counter() - began
            db.session.expire_all()
            run = db.session.get(WhatIfRun, (tenant.id, run.id))
            result = dict(run.result)
            status, done, total = run.status, run.done, run.total
            db.session.commit()
    log(f"  what-if {product_s:.1f} s ({status}, {done:,} of {total:,} accounts), baseline {baseline_s:.2f} s")
    return {
        "what": "what-if of a draft (second tier's bar 30 % lower) over the last 12 months of every tier account: "
                "the reports job streams the accounts in batches, prices each purchase again, replays the tiers",
        "status": status, "accounts": done, "total": total, "batch": BATCH,
        "members": result.get("members"), "purchases": result.get("purchases"),
        "up": result.get("up"), "down": result.get("down"),
        "points_actual": result.get("points_actual"), "points_draft": result.get("points_draft"),
        "seconds": round(product_s, 2),
        "members_per_s": round(result.get("members", 0) / product_s, 1) if product_s else None,
        "baseline": {"what": "one pass in SQL over the rows the job reads (accounts, members, the window's "
                             "purchases and tier activities: counts and sums)",
                     "seconds": round(baseline_s, 3), "rows": [list(map(_plain, r)) for r in counted]},
        "ratio_to_reading": round(product_s / baseline_s, 1) if baseline_s else None,
    }


def _plain(value):
    return int(value) if value is not None else None
