"""What if the draft had been in force: replay a tier account's last twelve months under other rules.

Pure: the service loads each tier account's window (purchases, returns, top-ups, fees and grants as the tier
engine sees them) and calls ``replay_account``; ``merge`` adds one account's outcome to a run's totals. The
rules themselves are never re-implemented here: purchases are priced by ``purchase.price_purchase``, tiers
evaluated by ``tiers.evaluate_tier`` and points expiry dated by ``points.lot_expiry``.

What the replay assumes (shown on the result page as well):

* **The window** is the twelve months up to today: (today − 12 months, today]. Nothing older is replayed.
* **The start**: each account starts from the tier it held at the start of the window, with the period it
  was in (the last recorded tier change on or before that day; none: the base tier, for life). A tier the
  draft does not have any more becomes the draft's base tier, for life.
* **Purchases** are priced again line by line as the purchase service prices them, with the draft's rules
  and the tier the account holds under the draft that day (its multiplier and discounts): the same lines
  (regular and charged prices, category, special offer), the same vouchers and points paid, the same store,
  the member's birthday and unlocked rates as they are today. Their points and goods money count for tiers
  on their release day under the draft (``pending_days``). A purchase the draft would refuse (points paid
  under a rule it no longer has, a store that no longer honours the card) keeps its recorded points and
  spend, and is counted as "kept as recorded".
* **Returns** take back the same goods money as they did, and the same share of the purchase's points.
* **Top-ups, fees, HQ and campaign grants, unlocks** happened as they did (the draft's reach rules judge them).
* **Redemptions, manual adjustments and bonus points** happened as they did.
* **Expiry**: points that really expired stay expired; points earned in the window that the draft's expiry
  rule would have expired by today (and the real rule did not) are taken out of what is outstanding.
* **Liability**: the points outstanding now (the members' balances) and under the draft (the same balances
  plus what the draft would have issued more or less, net of returns, less what it would have expired),
  never below zero per member, in points and in money at each program's points-payment rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from fractions import Fraction

from tenants.domain.dates import add_months
from tenants.domain.errors import DomainError
from tenants.domain.money import round_half_up
from tenants.domain.points import lot_expiry
from tenants.domain.program import Program
from tenants.domain.purchase import MemberState, PurchaseLine, Tender, price_purchase
from tenants.domain.tiers import PURCHASE, RETURN, MemberTierState, TierActivity, evaluate_tier

WINDOW_MONTHS = 12
SAMPLE_SIZE = 20
ONE_DAY = timedelta(days=1)


def window_start(today: date) -> date:
    """The exclusive start of the replayed window: what belongs after it and on or before today counts."""
    return add_months(today, -WINDOW_MONTHS)


@dataclass(frozen=True)
class StartTier:
    """The tier an account held at the start of the window, with the period it was in."""

    tier_code: str
    since: date
    period_start: date
    period_end: date | None = None


@dataclass(frozen=True)
class ReplayPurchase:
    """A purchase of the window as recorded, with what pricing needs to price it again.

    ``points_earned``: the points it really earned; ``points_taken_back``: what its returns really took back;
    ``lot_left``: points of its lot still outstanding today; ``lot_expires_on``: its real expiry.
    """

    ref: str
    member_id: int
    business_date: date
    at: datetime | None
    lines: tuple[PurchaseLine, ...]
    tenders: tuple[Tender, ...]
    store_code: str | None
    points_earned: int
    spend_fen: int
    pending_until: date
    points_taken_back: int = 0
    lot_left: int = 0
    lot_expires_on: date | None = None
    first_purchase: bool = False


@dataclass(frozen=True)
class ReplayMember:
    member_id: int
    points_balance: int
    birthday: date | None = None
    unlocked_price_bp: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplayAccount:
    """One tier account's window: its members, its tier now, where it started, and what counted for it.

    ``activities``: everything but the window's purchases that counts for the tier (returns, top-ups, fees,
    grants, unlocks, purchases older than the window released in it) as the tier engine records them.
    """

    account_id: int
    linked: bool
    tier_now: str
    start: StartTier | None
    members: tuple[ReplayMember, ...]
    activities: tuple[TierActivity, ...]
    purchases: tuple[ReplayPurchase, ...]


@dataclass(frozen=True)
class AccountOutcome:
    account_id: int
    member_ids: tuple[int, ...]
    tier_now: str
    tier_draft: str
    move: int  # +1 up, -1 down, 0 same (by the draft's tier order; a tier it lacks counts as its base)
    purchases: int
    kept_as_recorded: int
    points_actual: int
    points_draft: int
    liability_now: int
    liability_draft: int


def start_state(program: Program, account: ReplayAccount, start: date) -> MemberTierState:
    """The replay's first state: the account's tier at the start of the window (see the module docstring)."""
    known = {tier.code for tier in program.tiers}
    began = account.start
    if began is None or began.tier_code not in known:
        return MemberTierState(tier_code=program.base_tier.code, since=start, period_start=start,
                               tier_counter_after=start, evaluated_through=start)
    return MemberTierState(tier_code=began.tier_code, since=began.since, period_start=began.period_start,
                           period_end=began.period_end, tier_counter_after=start, evaluated_through=start)


def _priced(program: Program, tier_code: str, member: ReplayMember | None, purchase: ReplayPurchase):
    """Price the purchase again under ``program`` with the tier held before it; None when refused."""
    state = MemberState(tier_code=tier_code, birthday=member.birthday if member else None,
                        unlocked_category_price_bp=dict(member.unlocked_price_bp) if member else {},
                        first_purchase=purchase.first_purchase)
    goods_only = [t for t in purchase.tenders if t.kind in ("voucher", "points")]
    excluded = [t for t in purchase.tenders if t.kind in program.earning.excluded_tenders]
    try:
        result = price_purchase(program, state, purchase.lines, goods_only, purchase.business_date,
                                purchase.store_code)
        if excluded and result.amount_due_fen:
            # The same excluded tenders (gift cards...) as far as they pay what is now due, the rest money.
            paid = min(sum(t.amount_fen for t in excluded), result.amount_due_fen)
            money = [Tender(excluded[0].kind, paid)]
            if result.amount_due_fen > paid:
                money.append(Tender("cash", result.amount_due_fen - paid))
            result = price_purchase(program, state, purchase.lines, goods_only + money, purchase.business_date,
                                    purchase.store_code)
    except DomainError:
        return None
    return result


def _scaled(points: int, draft: int, actual: int) -> int:
    """``points`` of a return, taken back in the same share of the purchase's points under the draft."""
    if actual == 0:
        return 0
    return round_half_up(Fraction(points * draft, actual))


def replay_account(program: Program, account: ReplayAccount, today: date) -> AccountOutcome:
    """The tier the account would hold today and the points its purchases would have earned under
    ``program`` (the draft), replayed over the window ending ``today`` (see the module docstring)."""
    start = window_start(today)
    state = start_state(program, account, start)
    members = {m.member_id: m for m in account.members}
    in_window = {p.ref for p in account.purchases}
    returns_of: dict[str, list[TierActivity]] = {}
    acts: list[TierActivity] = []
    for act in account.activities:
        if act.kind == PURCHASE and act.ref in in_window:
            continue  # priced again below
        if act.kind == RETURN and act.of_ref in in_window:
            returns_of.setdefault(act.of_ref, []).append(act)
            continue
        if act.counts_on > start:
            acts.append(act)

    kept = points_draft = points_actual = 0
    delta: dict[int, int] = {}
    expired: dict[int, int] = {}
    ordered = sorted(account.purchases, key=lambda p: (p.business_date, p.at.timestamp() if p.at else 0.0, p.ref))
    for purchase in ordered:
        state = evaluate_tier(program, state, acts, purchase.business_date, linked=account.linked).state
        result = _priced(program, state.tier_code, members.get(purchase.member_id), purchase)
        if result is None:
            kept += 1
            points, spend, counts_on = purchase.points_earned, purchase.spend_fen, purchase.pending_until
        else:
            points, spend, counts_on = result.points_earned, result.spend_fen, result.pending_until
        points_actual += purchase.points_earned
        points_draft += points
        new = [TierActivity(PURCHASE, counts_on, spend_fen=spend, points=points, amount_fen=spend,
                            ref=purchase.ref, at=purchase.at)] if spend or points else []
        taken_back = 0
        for ret in returns_of.get(purchase.ref, []):
            scaled = _scaled(ret.points, points, purchase.points_earned) if purchase.points_earned else 0
            taken_back += -scaled
            new.append(replace(ret, points=scaled, counts_on=max(ret.counts_on, counts_on),
                               belongs_on=counts_on if ret.belongs_on is not None else None))
        acts.extend(new)
        earliest = min((a.counts_on for a in new), default=None)
        if earliest is not None and state.evaluated_through is not None and earliest <= state.evaluated_through:
            state = replace(state, evaluated_through=max(earliest - ONE_DAY, state.since - ONE_DAY))
        net_actual = purchase.points_earned - purchase.points_taken_back
        net_draft = max(points - taken_back, 0)
        delta[purchase.member_id] = delta.get(purchase.member_id, 0) + net_draft - net_actual
        ends = lot_expiry(program.expiry, purchase.business_date, program.redemption.window)
        real_end = purchase.lot_expires_on
        if ends is not None and ends <= today and (real_end is None or real_end > today):
            left = max(purchase.lot_left + net_draft - net_actual, 0)
            expired[purchase.member_id] = expired.get(purchase.member_id, 0) + left
    final = evaluate_tier(program, state, acts, today, linked=account.linked).state

    liability_now = sum(m.points_balance for m in account.members)
    liability_draft = sum(max(m.points_balance + delta.get(m.member_id, 0) - expired.get(m.member_id, 0), 0)
                          for m in account.members)
    return AccountOutcome(
        account_id=account.account_id, member_ids=tuple(m.member_id for m in account.members),
        tier_now=account.tier_now, tier_draft=final.tier_code, move=_move(program, account.tier_now, final.tier_code),
        purchases=len(ordered), kept_as_recorded=kept, points_actual=points_actual, points_draft=points_draft,
        liability_now=liability_now, liability_draft=liability_draft,
    )


def _move(program: Program, before: str, after: str) -> int:
    known = {tier.code for tier in program.tiers}
    a = program.tier_index(before) if before in known else 0
    b = program.tier_index(after)
    return (b > a) - (b < a)


def points_value_fen(program: Program, points: int) -> int:
    """What ``points`` are worth at the program's points-payment rate (``points`` points = ``fen`` fen)."""
    payment = program.redemption.payment
    return round_half_up(Fraction(points * payment.fen, payment.points))


def empty_totals() -> dict:
    """A run's totals before any account (plain JSON, stored with the run)."""
    return {"accounts": 0, "members": 0, "tiers_now": {}, "tiers_draft": {}, "up": 0, "down": 0,
            "purchases": 0, "kept_as_recorded": 0, "points_actual": 0, "points_draft": 0,
            "liability_now": 0, "liability_draft": 0, "sample_up": [], "sample_down": []}


def merge(totals: dict, outcomes: Sequence[AccountOutcome]) -> dict:
    """``totals`` with ``outcomes`` added (a new dict; counts per member, movers sampled per direction)."""
    out = {**totals, "tiers_now": dict(totals["tiers_now"]), "tiers_draft": dict(totals["tiers_draft"]),
           "sample_up": list(totals["sample_up"]), "sample_down": list(totals["sample_down"])}
    for o in outcomes:
        n = len(o.member_ids)
        out["accounts"] += 1
        out["members"] += n
        out["tiers_now"][o.tier_now] = out["tiers_now"].get(o.tier_now, 0) + n
        out["tiers_draft"][o.tier_draft] = out["tiers_draft"].get(o.tier_draft, 0) + n
        for key in ("purchases", "kept_as_recorded", "points_actual", "points_draft", "liability_now",
                    "liability_draft"):
            out[key] += getattr(o, key)
        if o.move:
            key = "up" if o.move > 0 else "down"
            out[key] += n
            sample = out[f"sample_{key}"]
            for member_id in o.member_ids:
                if len(sample) < SAMPLE_SIZE:
                    sample.append([member_id, o.tier_now, o.tier_draft])
    return out
