"""What-if runs: replay the tenant's last twelve months under the draft (or a version) in a job on `reports`.

`start_run` stores the rules as they are now with the run (a later edit of the draft does not change a run
under way), commits, then queues `run_what_if` (without Redis it runs now, in this process). The job streams
the tier accounts in id order, `BATCH` at a time: it loads one batch's window (members, tier activities,
purchases, returns, lots), replays each account with `tenants.domain.what_if.replay_account`, and adds the
batch's totals to the run in one transaction with the cursor and the progress, under a lock on the run row.
Memory stays bounded by one batch; a job delivered again (RQ: at least once) or killed half way and started
again goes on after the last committed batch: nothing is counted twice. A newer delivery takes over from an
older one still running (`attempt`), which stops at its next batch without writing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rq import Retry
from rq.timeouts import JobTimeoutException
from sqlalchemy import func, select

from saas.extensions import db
from saas.ids import new_id
from saas.jobs import enqueue, tenant_job
from saas.models import utcnow
from tenants.domain import what_if as dwhat_if
from tenants.domain.program import Program
from tenants.domain.purchase import PurchaseLine, Tender
from tenants.domain.tiers import TierActivity
from tenants.models import (
    Member,
    PointsLot,
    Purchase,
    PurchaseReturn,
    Store,
    TierAccount,
    TierActivityRow,
    TierChangeRow,
)
from tenants.programs import business_today
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError
from tenants.services.programs import current_program_version, program_version
from tenants.services.tiers import returned_purchase_ref
from tenants.what_if_models import DONE, FAILED, QUEUED, RUNNING, WhatIfRun

log = logging.getLogger(__name__)

BATCH = 500  # tier accounts per transaction (and at most this many accounts' windows in memory)
JOB_TIMEOUT = 12 * 3600  # a timed-out delivery is retried and goes on after its cursor
JOB_RETRY = (3, [10, 60, 300])
STALE_AFTER = dt.timedelta(minutes=10)  # a running job that has not moved for this long may be started again

STATUS_LABELS = {QUEUED: _l("Queued"), RUNNING: _l("Running"), DONE: _l("Done"), FAILED: _l("Failed")}

# The figure the result page quotes (bench/RESULTS.md, "What-if"): one run over a tenant of this size.
BENCH_MEMBERS = 100_000
BENCH_SECONDS: int | None = 967  # bench/results/medium-what-if.json (2 shared cores, load average 8)


class Superseded(Exception):
    """A newer delivery of the job runs the same run: this one stops without writing."""


def _rules_to_replay(*, version: int | None, draft) -> tuple[dict, str, int | None]:
    if version is not None:
        row = program_version(version)
        if row is None:
            raise ServiceError("validation_failed", fields={"version": _("There is no version %(n)s.", n=version)})
        return row.rules, "version", version
    if draft is None:
        raise ServiceError("no_draft")
    try:
        Program.model_validate(draft.rules)
    except ValueError as err:
        raise ServiceError("draft_invalid") from err
    return draft.rules, "draft", None


def create_run(*, actor_id: int | None, draft=None, version: int | None = None) -> WhatIfRun:
    """A what-if of the draft (or of version `version`) over the last twelve months, not committed yet: the
    caller commits (with its idempotency key), then `queue_run`."""
    rules, source, number = _rules_to_replay(version=version, draft=draft)
    base = current_program_version()
    if base is None:
        raise ServiceError("no_program", on=business_today().isoformat())
    run = WhatIfRun(id=new_id(), rules=rules, source=source, version=number, base_version=base.version,
                    today=business_today(), status=QUEUED, total=db.session.scalar(
                        select(func.count()).select_from(TierAccount)) or 0,
                    result=dwhat_if.empty_totals(), requested_by=actor_id, updated_at=utcnow())
    db.session.add(run)
    db.session.flush()
    return run


def start_run(*, actor_id: int | None, draft=None, version: int | None = None) -> WhatIfRun:
    """Create a run, commit and queue it (the CLI, the benches and tests)."""
    run = create_run(actor_id=actor_id, draft=draft, version=version)
    db.session.commit()
    queue_run(run.id)
    return run


def queue_run(run_id: int) -> None:
    enqueue("reports", run_what_if, current_tenant_id(), run_id, job_timeout=JOB_TIMEOUT,
            retry=Retry(max=JOB_RETRY[0], interval=JOB_RETRY[1]))


def is_stale(run: WhatIfRun, now: dt.datetime | None = None) -> bool:
    """A run whose job has not reported for a while (its worker died): it may be started again."""
    return run.running and run.updated_at is not None and (now or utcnow()) - run.updated_at > STALE_AFTER


def resume_run(run: WhatIfRun) -> None:
    """Queue a stalled or failed run again: it goes on after its last committed batch. Commits."""
    if not (is_stale(run) or run.status == FAILED):
        raise ServiceError("not_now")
    run.status, run.error_code, run.updated_at = QUEUED, None, utcnow()
    db.session.commit()
    queue_run(run.id)


def recent_runs(limit: int = 10) -> list[WhatIfRun]:
    return list(db.session.scalars(select(WhatIfRun).order_by(WhatIfRun.requested_at.desc(), WhatIfRun.id.desc())
                                   .limit(limit)))


def _lock(run_id: int) -> WhatIfRun | None:
    return db.session.execute(select(WhatIfRun).where(WhatIfRun.id == run_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()


@tenant_job
def run_what_if(tenant_id: int, run_id: int) -> None:
    """Job (reports queue): replay every tier account after the run's cursor; resumable, never counts twice."""
    attempt = new_id()
    run = _lock(run_id)
    if run is None or run.status in (DONE, FAILED):
        db.session.commit()
        return
    run.status, run.attempt, run.updated_at = RUNNING, attempt, utcnow()
    run.started_at = run.started_at or utcnow()
    db.session.commit()
    began = time.monotonic()
    try:
        _replay(run_id, attempt)
    except Superseded:
        db.session.rollback()
    except JobTimeoutException:
        db.session.rollback()
        raise  # RQ delivers it again (retries): the next delivery goes on after the cursor
    except Exception:
        log.exception("what-if run %s failed", run_id)
        db.session.rollback()
        run = _lock(run_id)
        if run is not None and run.attempt == attempt:
            run.status, run.error_code, run.updated_at = FAILED, "unexpected", utcnow()
        db.session.commit()
    else:
        run = _lock(run_id)
        if run is not None and run.attempt == attempt and run.status == RUNNING:
            run.status, run.finished_at, run.updated_at = DONE, utcnow(), utcnow()
            run.seconds = (run.seconds or 0) + round(time.monotonic() - began)
        db.session.commit()


def _replay(run_id: int, attempt: int) -> None:
    run = db.session.get(WhatIfRun, (current_tenant_id(), run_id))
    program = Program.model_validate(run.rules)
    today, cursor = run.today, run.cursor
    stores = dict(db.session.execute(select(Store.id, Store.code)).all())
    db.session.commit()
    while True:
        accounts = db.session.execute(
            select(TierAccount.id, TierAccount.tier_code, TierAccount.kind).where(TierAccount.id > cursor)
            .order_by(TierAccount.id).limit(BATCH)).all()
        if not accounts:
            return
        windows = load_windows(accounts, today, stores)
        outcomes = [dwhat_if.replay_account(program, window, today) for window in windows]
        db.session.rollback()  # no snapshot held between batches
        run = _lock(run_id)
        if run is None or run.attempt != attempt or run.cursor != cursor or run.status != RUNNING:
            db.session.rollback()
            raise Superseded
        run.result = dwhat_if.merge(run.result or dwhat_if.empty_totals(), outcomes)
        cursor = accounts[-1].id
        run.cursor, run.done, run.updated_at = cursor, run.done + len(accounts), utcnow()
        db.session.commit()


def load_windows(accounts, today: dt.date, stores: dict[int, str]) -> list[dwhat_if.ReplayAccount]:
    """The window of each tier account of `accounts` (rows of id, tier_code, kind): a few statements a batch."""
    start = dwhat_if.window_start(today)
    ids = [a.id for a in accounts]
    members = db.session.execute(
        select(Member.id, Member.tier_account_id, Member.points_balance, Member.birthday, Member.unlocked_price_bp,
               Member.first_purchase_on).where(Member.tier_account_id.in_(ids)).order_by(Member.id)).all()
    member_ids = [m.id for m in members]
    account_of = {m.id: m.tier_account_id for m in members}
    starts: dict[int, dwhat_if.StartTier] = {}
    for row in db.session.execute(
            select(TierChangeRow.tier_account_id, TierChangeRow.to_tier, TierChangeRow.changed_on,
                   TierChangeRow.period_start, TierChangeRow.period_end)
            .where(TierChangeRow.tier_account_id.in_(ids), TierChangeRow.changed_on <= start)
            .order_by(TierChangeRow.changed_on, TierChangeRow.id)):
        starts[row.tier_account_id] = dwhat_if.StartTier(row.to_tier, row.changed_on, row.period_start,
                                                         row.period_end)
    activities: dict[int, list[TierActivity]] = defaultdict(list)
    purchases: dict[int, list[dwhat_if.ReplayPurchase]] = defaultdict(list)
    if member_ids:
        for r in db.session.execute(
                select(TierActivityRow.member_id, TierActivityRow.kind, TierActivityRow.counts_on,
                       TierActivityRow.spend_fen, TierActivityRow.points, TierActivityRow.amount_fen,
                       TierActivityRow.tier_code, TierActivityRow.ref, TierActivityRow.occurred_at,
                       TierActivityRow.belongs_on)
                .where(TierActivityRow.member_id.in_(member_ids), TierActivityRow.counts_on > start,
                       TierActivityRow.counts_on <= today)
                .order_by(TierActivityRow.counts_on, TierActivityRow.id)):
            activities[account_of[r.member_id]].append(TierActivity(
                kind=r.kind, counts_on=r.counts_on, spend_fen=r.spend_fen, points=r.points, amount_fen=r.amount_fen,
                tier_code=r.tier_code, ref=r.ref, at=r.occurred_at, belongs_on=r.belongs_on,
                of_ref=returned_purchase_ref(r.kind, r.ref)))
        rows = db.session.execute(
            select(Purchase.id, Purchase.member_id, Purchase.business_date, Purchase.business_at, Purchase.lines,
                   Purchase.tenders, Purchase.store_id, Purchase.points_earned, Purchase.spend_fen,
                   Purchase.pending_until, Purchase.earn_lot_id)
            .where(Purchase.member_id.in_(member_ids), Purchase.business_date > start,
                   Purchase.business_date <= today)
            .order_by(Purchase.member_id, Purchase.business_at, Purchase.id)).all()
        purchase_ids = [p.id for p in rows]
        taken = dict(db.session.execute(
            select(PurchaseReturn.purchase_id, func.sum(PurchaseReturn.points_taken_back))
            .where(PurchaseReturn.member_id.in_(member_ids), PurchaseReturn.purchase_id.in_(purchase_ids))
            .group_by(PurchaseReturn.purchase_id)).all()) if purchase_ids else {}
        lot_ids = [p.earn_lot_id for p in rows if p.earn_lot_id is not None]
        lots = {r.id: r for r in db.session.execute(
            select(PointsLot.id, PointsLot.points, PointsLot.expires_on).where(PointsLot.id.in_(lot_ids)))
        } if lot_ids else {}
        first_seen: set[int] = set()
        first_on = {m.id: m.first_purchase_on for m in members}
        for p in rows:
            lot = lots.get(p.earn_lot_id)
            first = p.member_id not in first_seen and first_on.get(p.member_id) == p.business_date
            first_seen.add(p.member_id)
            purchases[account_of[p.member_id]].append(dwhat_if.ReplayPurchase(
                ref=f"purchase:{p.id}", member_id=p.member_id, business_date=p.business_date, at=p.business_at,
                lines=tuple(_line(ln) for ln in p.lines), tenders=tuple(_tender(t) for t in p.tenders),
                store_code=stores.get(p.store_id), points_earned=p.points_earned, spend_fen=p.spend_fen,
                pending_until=p.pending_until, points_taken_back=int(taken.get(p.id) or 0),
                lot_left=lot.points if lot else 0, lot_expires_on=lot.expires_on if lot else None,
                first_purchase=first))
    by_account: dict[int, list[dwhat_if.ReplayMember]] = defaultdict(list)
    for m in members:
        by_account[m.tier_account_id].append(dwhat_if.ReplayMember(
            member_id=m.id, points_balance=m.points_balance, birthday=m.birthday,
            unlocked_price_bp=dict(m.unlocked_price_bp or {})))
    return [dwhat_if.ReplayAccount(
        account_id=a.id, linked=a.kind != "single", tier_now=a.tier_code, start=starts.get(a.id),
        members=tuple(by_account.get(a.id, ())), activities=tuple(activities.get(a.id, ())),
        purchases=tuple(purchases.get(a.id, ()))) for a in accounts]


def _line(ln: dict) -> PurchaseLine:
    # A stored line keeps its earning class, not the special flag: "special" is the special offers' class.
    return PurchaseLine(line_id=str(ln["line_id"]), regular_fen=int(ln["regular_fen"]),
                        charged_fen=int(ln["charged_fen"]), kind=ln.get("kind", "goods"),
                        category=ln.get("category") or "", special=ln.get("earn_class") == "special",
                        quantity=int(ln.get("quantity") or 1))


def _tender(t: dict) -> Tender:
    return Tender(kind=t["kind"], amount_fen=int(t.get("amount_fen") or 0), points=int(t.get("points") or 0))


def summary(run: WhatIfRun) -> dict:
    """What the result page shows: tiers in the draft's order (then any others), totals, money values."""
    result = run.result or dwhat_if.empty_totals()
    draft = Program.model_validate(run.rules)
    base_row = program_version(run.base_version) if run.base_version else None
    base = Program.model_validate(base_row.rules) if base_row is not None else draft
    codes = [t.code for t in draft.tiers]
    codes += [c for c in list(result["tiers_now"]) + list(result["tiers_draft"]) if c not in codes]
    names = {t.code: t.name.text(_locale()) for t in [*base.tiers, *draft.tiers]}
    tiers = [{"code": c, "name": names.get(c, c), "now": result["tiers_now"].get(c, 0),
              "draft": result["tiers_draft"].get(c, 0)} for c in dict.fromkeys(codes)]
    now_fen = dwhat_if.points_value_fen(base, result["liability_now"])
    draft_fen = dwhat_if.points_value_fen(draft, result["liability_draft"])
    return {"tiers": tiers, "names": names, "result": result, "liability_now_fen": now_fen,
            "liability_draft_fen": draft_fen, "liability_change_fen": draft_fen - now_fen,
            "liability_change": result["liability_draft"] - result["liability_now"],
            "points_change": result["points_draft"] - result["points_actual"],
            "window_start": dwhat_if.window_start(run.today) + dt.timedelta(days=1)}


def _locale() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return str(locale) if locale else "zh_CN"


def chart_data(run: WhatIfRun, info: dict) -> dict:
    """The chart's data (a JSON island read by static/what_if.js): members per tier, now and under the draft."""
    return {"tiers": [t["name"] for t in info["tiers"]], "now": [t["now"] for t in info["tiers"]],
            "draft": [t["draft"] for t in info["tiers"]], "labels": {"now": _("Now"), "draft": _("Under the draft")}}
