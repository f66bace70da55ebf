"""Tier accounts, evaluation "as of" a date, explanations, linked cards.

Evaluation of a member as of a business date follows SPEC §19.1's same-day order: tier period
end first, then points expiry, then pending releases; the day's operations come after (callers
run `evaluate_member` before applying an operation).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from saas.audit import audit
from saas.extensions import db
from tenants.domain import points as dpoints
from tenants.domain import stored_value as dsv
from tenants.domain.explain import explain_tier
from tenants.domain.program import Program
from tenants.domain.tiers import RETURN, MemberTierState, TierActivity, evaluate_tier, initial_tier_state
from tenants.models import Member, PointsLot, ProgramVersion, TierAccount, TierActivityRow, TierChangeRow
from tenants.services import ledger
from tenants.services.errors import ServiceError
from tenants.services.programs_in_force import require_program

ONE_DAY = dt.timedelta(days=1)


def new_account(program: Program, version: int, joined_on: dt.date) -> TierAccount:
    state = initial_tier_state(program, joined_on)
    account = TierAccount(kind="single", program_version=version, tier_code=state.tier_code, since=state.since,
                          period_start=state.period_start)
    db.session.add(account)
    return account


def state_of(account: TierAccount) -> MemberTierState:
    return MemberTierState(
        tier_code=account.tier_code, since=account.since, period_start=account.period_start,
        period_end=account.period_end, periods_below=account.periods_below,
        tier_counter_after=account.tier_counter_after, counter_after=account.counter_after,
        evaluated_through=account.evaluated_through, tier_counter_after_at=account.tier_counter_after_at,
        counter_after_at=account.counter_after_at,
    )


def _save_state(account: TierAccount, state: MemberTierState) -> None:
    for field in dataclasses.fields(MemberTierState):
        setattr(account, field.name, getattr(state, field.name))


def account_activities(account_id: int) -> list[TierActivity]:
    """What counts for an account's tier: the activities of every member linked to it."""
    members = select(Member.id).where(Member.tier_account_id == account_id)
    rows = db.session.scalars(
        select(TierActivityRow).where(TierActivityRow.member_id.in_(members))
        .order_by(TierActivityRow.counts_on, TierActivityRow.id)
    )
    return [TierActivity(kind=r.kind, counts_on=r.counts_on, spend_fen=r.spend_fen, points=r.points,
                         amount_fen=r.amount_fen, tier_code=r.tier_code, ref=r.ref, at=r.occurred_at,
                         belongs_on=r.belongs_on, of_ref=returned_purchase_ref(r.kind, r.ref)) for r in rows]


def returned_purchase_ref(kind: str, ref: str) -> str:
    """A return's activity names its purchase: "return:<id>" belongs to "purchase:<id>"."""
    return "purchase:" + ref.removeprefix("return:") if kind == RETURN and ref.startswith("return:") else ""


def add_activity(member: Member, account: TierAccount, activity: TierActivity) -> None:
    """Record something that counts for tiers. A late one (offline sync) rewinds the evaluation so
    the days it touches are replayed."""
    db.session.add(TierActivityRow(member_id=member.id, kind=activity.kind, counts_on=activity.counts_on,
                                   spend_fen=activity.spend_fen, points=activity.points,
                                   amount_fen=activity.amount_fen, tier_code=activity.tier_code,
                                   ref=activity.ref[:60], occurred_at=activity.at, belongs_on=activity.belongs_on))
    if account.evaluated_through is not None and activity.counts_on <= account.evaluated_through:
        account.evaluated_through = max(activity.counts_on - ONE_DAY, account.since - ONE_DAY)


def evaluate_account(account: TierAccount, as_of: dt.date, member_id: int | None = None,
                     extra: list[TierActivity] | None = None) -> list[TierChangeRow]:
    """Bring the account's tier up to `as_of`; persist the new state and each change with its reason."""
    version, program = require_program(as_of)
    return _evaluate_account(account, as_of, member_id, extra, version, program)


def _nothing_to_replay(account: TierAccount, as_of: dt.date, extra: list[TierActivity] | None) -> bool:
    """Already evaluated through `as_of` and no period ends by then: `evaluate_tier` would replay no
    day (it starts after `evaluated_through`) and close no period, so the state would not change.
    (A purchase whose spend counts after its return window leaves the account so.)"""
    return (not extra and account.evaluated_through is not None and account.evaluated_through >= as_of
            and (account.period_end is None or account.period_end > as_of))


def _evaluate_account(account: TierAccount, as_of: dt.date, member_id: int | None,
                      extra: list[TierActivity] | None, version: ProgramVersion,
                      program: Program) -> list[TierChangeRow]:
    if _nothing_to_replay(account, as_of, extra):
        return []
    activities = account_activities(account.id) + list(extra or [])
    decision = evaluate_tier(program, state_of(account), activities, as_of, linked=account.kind != "single")
    _save_state(account, decision.state)
    rows = []
    for change in decision.changes:
        row = TierChangeRow(
            tier_account_id=account.id, member_id=member_id, changed_on=change.on, action=change.action,
            from_tier=change.from_tier, to_tier=change.to_tier, period_start=change.period_start,
            period_end=change.period_end, reason_code=change.reason.code,
            reason_params=_plain(change.reason.params),
            program_version=version.version,
        )
        db.session.add(row)
        rows.append(row)
    if decision.changes:
        account.program_version = version.version
    return rows


def tier_in_force(account: TierAccount, as_of: dt.date) -> MemberTierState:
    """The account's tier as of `as_of`, worked out without saving (a period that ended yesterday is
    closed even when the daily evaluation has not run yet)."""
    if _nothing_to_replay(account, as_of, None):
        return state_of(account)
    _version, program = require_program(as_of)
    return evaluate_tier(program, state_of(account), account_activities(account.id), as_of,
                         linked=account.kind != "single").state


@dataclasses.dataclass
class UpToDate:
    """A member brought up to a date: what changed, and the rows the caller's operation goes on with
    (the identity map holds rows weakly, so a second `get` after this returns would read them again)."""

    changes: dict
    account: TierAccount
    points_lots: dict[str, PointsLot]  # the lots that hold points, by id: what `ledger.load_points_lots` reads


def evaluate_member(member: Member, as_of: dt.date) -> dict:
    """Tier period ends, points expiry, pending releases and stored-value expiry up to `as_of`.

    The member must be locked by the caller (`ledger.lock_member`). Returns what changed.
    """
    return bring_up_to_date(member, as_of).changes


def lock_account(member: Member) -> TierAccount:
    """The member's tier account, locked for this transaction; the member must be locked first.

    Linked members share one account: two partners' purchases at once each hold their own member lock,
    so without this lock both would evaluate the same account from the same state and both record its
    upgrade (or one would write back a state that misses the other's). Always member first, then
    account: link and unlink lock the members (by id) before their accounts, so no cycle can form."""
    return db.session.get(TierAccount, (member.tenant_id, member.tier_account_id), with_for_update=True,
                          populate_existing=True)


def bring_up_to_date(member: Member, as_of: dt.date) -> UpToDate:
    """`evaluate_member`, keeping the member's tier account and points lots for the operation that follows.
    The member must be locked (`ledger.lock_member`); the account is locked here (`lock_account`)."""
    account = lock_account(member)
    version, program = require_program(as_of)  # once for the tier and the ledgers (one read per call)
    changes = _evaluate_account(account, as_of, member.id, None, version, program)
    # One read for both steps: the lots that still hold points (expiry) and the lots still pending
    # as of `as_of` (releases; a fully returned one holds 0 points but is marked released too).
    held = db.session.scalars(
        select(PointsLot).where(PointsLot.member_id == member.id,
                                or_(PointsLot.points > 0,
                                    and_(PointsLot.released.is_(False), PointsLot.available_on <= as_of)))
        .order_by(PointsLot.id)
    ).all()
    rows = {str(row.id): row for row in held if row.points > 0}
    lots = ledger.domain_lots(rows)
    expired = dpoints.expire_points(lots, as_of, ref="expiry")
    if expired.entries:
        ledger.apply_points(member, rows, expired.lots, expired.entries, version=version.version,
                            reason="expired")
    released = 0
    for row in held:
        if row.released or row.available_on > as_of:
            continue
        entries = dpoints.release_pending([ledger._lot_to_domain(row)], row.available_on)
        row.released = True
        if entries:
            ledger.apply_points(member, rows, [], entries, version=version.version)
            released += sum(e.moved for e in entries)
    # The balance is the sum of the lots, none negative: a zero balance means no lot to expire.
    sv_expired = dsv.StoredValueMovement(lots=(), entries=())
    if member.stored_value_fen:
        sv_rows = ledger.load_sv_lots(member.id)
        sv_expired = dsv.expire_stored_value(ledger.sv_domain_lots(sv_rows), as_of, ref="expiry")
        if sv_expired.entries:
            ledger.apply_stored_value(member, sv_rows, sv_expired, version=version.version, reason="expired")
    return UpToDate(changes={
        "tier_changes": [change_json(c) for c in changes],
        "points_expired": -sum(e.points for e in expired.entries),
        "points_released": released,
        "stored_value_expired_fen": -sum(e.amount_fen for e in sv_expired.entries),
    }, account=account, points_lots={key: row for key, row in rows.items() if row.points > 0})


def change_json(row: TierChangeRow) -> dict:
    return {
        "on": row.changed_on.isoformat(), "action": row.action, "from_tier": row.from_tier, "to_tier": row.to_tier,
        "period_start": row.period_start.isoformat(),
        "period_end": row.period_end.isoformat() if row.period_end else None,
        "reason": {"code": row.reason_code, "params": row.reason_params}, "program_version": row.program_version,
    }


def explain_member(member: Member, as_of: dt.date) -> dict:
    """What the member needs to reach the next tier and to keep the current one (without saving)."""
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    _version, program = require_program(as_of)
    explanation = explain_tier(program, state_of(account), account_activities(account.id), as_of,
                               linked=account.kind != "single")

    def need(n) -> dict:
        data = {k: (v.isoformat() if isinstance(v, dt.date) else v)
                for k, v in dataclasses.asdict(n).items() if k != "reason"}
        data["reason"] = {"code": n.reason.code, "params": _plain(n.reason.params)}
        return data

    return {
        "tier": explanation.tier_code,
        "period_end": explanation.period_end.isoformat() if explanation.period_end else None,
        "next_tier": explanation.next_tier,
        "upgrades": [need(n) for n in explanation.upgrades],
        "keep": need(explanation.keep) if explanation.keep else None,
        "reasons": [{"code": r.code, "params": _plain(r.params)} for r in explanation.reasons],
        "progress": [_plain(dataclasses.asdict(p)) for p in explanation.progress],
    }


def tier_progress(member: Member, as_of: dt.date) -> list[dict]:
    """The member's cumulative measures so far (``explain_tier``'s progress), top tier included; [] when no
    program is in force on ``as_of`` (a member is still shown then)."""
    from tenants.programs import program_in_force

    found = program_in_force(as_of)
    if found is None:
        return []
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    explanation = explain_tier(found[1], state_of(account), account_activities(account.id), as_of,
                               linked=account.kind != "single")
    return [_plain(dataclasses.asdict(p)) for p in explanation.progress]


def _plain(params) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in dict(params).items()}


def link_members(member_ids: list[int], kind: str, as_of: dt.date, actor_id: int | None = None) -> TierAccount:
    """Link two or more members into one couple/family tier account (their own, higher thresholds).

    The new account starts on the best tier any of them holds; their old accounts stay as history.
    """
    if kind not in ("couple", "family") or len(set(member_ids)) < 2:
        raise ServiceError("validation_failed", fields={"member_ids": _("Link two or more members.")})
    version, program = require_program(as_of)
    members = [ledger.lock_member(mid) for mid in sorted(set(member_ids))]
    if program.linked_cards is None or kind not in program.linked_cards.kinds:
        raise ServiceError("validation_failed",
                           fields={"kind": _("The program does not offer linked cards of this kind.")})
    if len(members) > program.linked_cards.max_members:
        raise ServiceError("validation_failed", fields={"member_ids": _("Too many members for one linked card.")})
    accounts = [lock_account(m) for m in members]
    if any(a.kind != "single" for a in accounts):
        raise ServiceError("validation_failed", fields={"member_ids": _("A member is already linked.")})
    best = max(accounts, key=lambda a: program.tier_index(a.tier_code))
    account = TierAccount(kind=kind, program_version=version.version, tier_code=best.tier_code, since=as_of,
                          period_start=as_of, period_end=best.period_end, evaluated_through=as_of - ONE_DAY)
    db.session.add(account)
    db.session.flush()
    for member in members:
        member.tier_account_id = account.id
    for member in members:  # one entry per member, so each member's history shows it
        audit("tier.linked", f"member:{member.id}", actor_id=actor_id, kind=kind, account=str(account.id),
              with_members=[str(m.id) for m in members if m.id != member.id])
    return account


def unlink_member(member: Member, as_of: dt.date, actor_id: int | None = None) -> TierAccount:
    """Take a member out of a linked account onto a single account at the base tier."""
    member = ledger.lock_member(member.id)  # as every change of the member's account: member, then account
    account = lock_account(member)
    if account.kind == "single":
        raise ServiceError("validation_failed", fields={"member_id": _("This member is not linked.")})
    version, program = require_program(as_of)
    single = new_account(program, version.version, as_of)
    db.session.flush()
    member.tier_account_id = single.id
    audit("tier.unlinked", f"member:{member.id}", actor_id=actor_id, from_account=str(account.id))
    return single
