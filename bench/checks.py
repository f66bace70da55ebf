"""After a load: checks that the generated ledgers and tiers are what the product keeps."""

from __future__ import annotations

import time

LEDGER_SQL = """
WITH pe AS (SELECT member_id, sum(points) AS s FROM points_entries GROUP BY member_id),
     pl AS (SELECT member_id, sum(points) AS s FROM points_lots GROUP BY member_id),
     se AS (SELECT member_id, sum(principal_fen + bonus_fen) AS s FROM stored_value_entries GROUP BY member_id),
     sl AS (SELECT member_id, sum(principal_fen + bonus_fen) AS s FROM stored_value_lots GROUP BY member_id)
SELECT count(*) AS members,
       count(*) FILTER (WHERE m.points_balance <> coalesce(pe.s, 0) OR m.points_balance <> coalesce(pl.s, 0)),
       count(*) FILTER (WHERE m.stored_value_fen <> coalesce(se.s, 0) OR m.stored_value_fen <> coalesce(sl.s, 0)),
       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM tier_accounts a WHERE a.id = m.tier_account_id)),
       count(*) FILTER (WHERE m.visits <> (SELECT count(*) FROM purchases p WHERE p.member_id = m.id))
FROM members m
LEFT JOIN pe ON pe.member_id = m.id LEFT JOIN pl ON pl.member_id = m.id
LEFT JOIN se ON se.member_id = m.id LEFT JOIN sl ON sl.member_id = m.id
"""


def check(urls, sample: int = 300, log=print) -> dict:
    """Per tenant, as the app role (row-level security in force): balances = sums of entries = sums of
    lots, every member has its tier account and as many visits as purchases; program v1 is in force
    before the first activity. For ``sample`` members of the big tenant and a few of each other: the
    product's own evaluation as of yesterday finds nothing to do, and a replay of the tier from the
    join date with ``tenants.domain.tiers.evaluate_tier`` gives the stored state."""
    from sqlalchemy import func, select, text

    from bench.database import app_context
    from bench.generate import BENCH_PREFIX
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.domain.tiers import evaluate_tier, initial_tier_state
    from tenants.models import Member, ProgramVersion, TierAccount, TierActivityRow
    from tenants.programs import business_today
    from tenants.scoping import tenant_context
    from tenants.services import ledger
    from tenants.services.programs_in_force import require_program
    from tenants.services.tiers import account_activities, evaluate_member, state_of

    started = time.perf_counter()
    problems: list[str] = []
    totals = {"tenants": 0, "members": 0, "sampled": 0}
    with app_context(urls):
        tenants = list(db.session.scalars(select(Tenant).where(Tenant.slug.startswith(BENCH_PREFIX))
                                          .order_by(Tenant.slug)))
        db.session.commit()
        for tenant in tenants:
            with tenant_context(tenant):
                row = db.session.execute(text(LEDGER_SQL)).one()
                totals["tenants"] += 1
                totals["members"] += row[0]
                for label, bad in zip(("points ledger", "stored-value ledger", "tier account", "visits"), row[1:],
                                      strict=True):
                    if bad:
                        problems.append(f"{tenant.slug}: {bad} members with a wrong {label}")
                first = db.session.scalar(select(func.min(TierActivityRow.counts_on)))
                effective = db.session.scalar(select(func.min(ProgramVersion.effective_from)))
                if first is not None and effective >= first:
                    problems.append(f"{tenant.slug}: program v1 starts {effective}, history {first}")
                # The day the generated history was evaluated through (the evening before its as_of; run the
                # check before the scenarios, whose purchases move some accounts on).
                yesterday = db.session.scalar(select(func.min(TierAccount.evaluated_through))) or business_today()
                n = sample if tenant.slug == "bench-large" else max(3, sample // 50)
                ids = list(db.session.scalars(select(Member.id).order_by(func.random()).limit(n)))
                db.session.commit()
                for member_id in ids:
                    member = ledger.lock_member(member_id)
                    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
                    _version, program = require_program(yesterday)
                    replay = evaluate_tier(program, initial_tier_state(program, member.joined_on),
                                           account_activities(account.id), yesterday).state
                    stored = state_of(account)
                    if replay != stored:
                        problems.append(f"{tenant.slug}: member {member_id} tier {stored} but replay {replay}")
                    changes = evaluate_member(member, yesterday)
                    if any(changes.values()):
                        problems.append(f"{tenant.slug}: member {member_id}: evaluation found {changes}")
                    db.session.rollback()
                    totals["sampled"] += 1
    result = {**totals, "problems": problems[:50], "problem_count": len(problems),
              "seconds": round(time.perf_counter() - started, 1)}
    log(f"check: {totals['members']:,} members in {totals['tenants']} tenants, {totals['sampled']} replayed, "
        f"{len(problems)} problems ({result['seconds']} s)")
    return result
