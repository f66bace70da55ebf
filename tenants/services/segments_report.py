"""ABC classes, the RFM pyramid and lifecycle stages of every member of the current tenant (SPEC §10, §13).

One SQL statement aggregates the purchases per member (spend and visits in the ABC and RFM periods) next to
the member's own materialised figures (join date, last purchase, lifetime visits, points), compares each member
with the bars the pure rules of ``tenants.domain.segments`` give for the day, and counts. Neither purchases nor
members come to Python one by one; tests/integration/test_segments_report.py checks the counts against the
domain's per-member functions.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import BigInteger, String, and_, case, cast, func, select, text

from saas.extensions import db
from tenants.domain.dates import add_months
from tenants.domain.program import Program
from tenants.domain.segments import (
    CLASSES,
    AbcClassSummary,
    abc_cuts,
    lifecycle_bars,
    rfm_bars,
    rfm_layer,
)
from tenants.models import Member, Purchase
from tenants.services.programs_in_force import require_program

# Hashing a million members' purchases needs more than the default work_mem, or it spills to disk in batches.
REPORT_WORK_MEM = "256MB"
STAGES = ("new", "active", "dormant", "lost")


@dataclass(frozen=True)
class SegmentReport:
    """Members per class; ``member_ids`` only when asked for (audiences), else empty."""

    as_of: dt.date
    members: int
    abc: tuple[AbcClassSummary, ...]
    rfm_layers: dict[int, int]  # 1 (core) … 4 (at risk) → members
    rfm_codes: dict[str, int]  # "R1F0M1" → members
    lifecycle: dict[str, int]  # new | active | dormant | lost → members
    familiar: int  # 熟客: at least the familiar number of visits
    timings: dict[str, float] = field(default_factory=dict)  # sql_s, rules_s: where the time goes


def _per_member(as_of: dt.date, abc_after: dt.date, rfm_after: dt.date):
    net = Purchase.spend_fen - Purchase.returned_spend_fen
    in_abc = Purchase.business_date > abc_after
    in_rfm = Purchase.business_date > rfm_after
    per_member = (
        select(Purchase.member_id.label("member_id"),
               cast(func.sum(net).filter(in_abc), BigInteger).label("abc_spend"),  # sum(bigint) is numeric
               func.count().filter(in_rfm).label("rfm_visits"),
               cast(func.sum(net).filter(in_rfm), BigInteger).label("rfm_spend"))
        .where(Purchase.business_date > min(abc_after, rfm_after), Purchase.business_date <= as_of)
        .group_by(Purchase.member_id)
        .subquery()
    )
    return (
        select(Member.id, Member.joined_on, Member.last_purchase_on, Member.visits, Member.points_balance,
               func.coalesce(per_member.c.abc_spend, 0).label("abc_spend"),
               func.coalesce(per_member.c.rfm_visits, 0).label("rfm_visits"),
               func.coalesce(per_member.c.rfm_spend, 0).label("rfm_spend"))
        .outerjoin(per_member, per_member.c.member_id == Member.id)
        .where(*_ranked_members(as_of))
    )


def _ranked_members(as_of: dt.date) -> tuple:
    """Who the report classifies: active members who had joined by ``as_of``."""
    return Member.status == "active", Member.joined_on <= as_of


def segment_report(as_of: dt.date, program: Program | None = None) -> SegmentReport:
    """Classify every active member of the current tenant as of ``as_of`` (the program in force then).

    ABC ranks spend net of returns in the last ``abc.period_months`` (or points bands, by the program's
    mode); RFM uses the last purchase, and visits and spend in the last ``rfm.period_months``; lifecycle
    uses the join date, the last purchase and lifetime visits. Periods are (as_of − N months, as_of].

    The domain turns the rules into plain bars and cuts (``rfm_bars``, ``lifecycle_bars``, ``abc_cuts``, the
    same ones its per-member functions use); PostgreSQL compares every member with them and returns the
    counts: no member row comes to Python (a million of them cost ~13 s to fetch and classify here).
    """
    if program is None:
        _version, program = require_program(as_of)
    rules = program.segments
    started = time.perf_counter()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))  # this transaction only
    members = _per_member(as_of, add_months(as_of, -rules.abc.period_months),
                          add_months(as_of, -rules.rfm.period_months)).subquery()
    # ABC's cuts need the number of members first: counted on members alone, not through the purchases' aggregation.
    n = db.session.scalar(select(func.count()).select_from(Member).where(*_ranked_members(as_of)))
    rfm, life = rfm_bars(as_of, rules.rfm), lifecycle_bars(as_of, rules.lifecycle)
    m = members.c
    if rules.abc.mode == "points_bands":
        cls = case((m.points_balance >= rules.abc.a_min_points, "A"),
                   (m.points_balance >= rules.abc.b_min_points, "B"), else_="C")
        ranked = members
    else:  # rank by spend, ties by member id as text (tenants.domain.segments.abc_by_spend)
        cut_a, cut_ab = abc_cuts(n, rules.abc)
        ranked = select(members, func.row_number().over(
            order_by=(m.abc_spend.desc(), cast(m.id, String))).label("rank")).subquery()
        cls = case((ranked.c.rank <= cut_a, "A"), (ranked.c.rank <= cut_ab, "B"), else_="C")
    r = ranked.c
    last = func.coalesce(r.last_purchase_on, r.joined_on)
    rfm_combo = (_flag(and_(r.last_purchase_on.is_not(None), r.last_purchase_on >= rfm.recent_since)) * 4
                 + _flag(r.rfm_visits >= rfm.frequent_visits) * 2 + _flag(r.rfm_spend >= rfm.monetary_fen))
    stage = case((r.joined_on > life.new_after, "new"), (last <= life.lost_on_or_before, "lost"),
                 (last <= life.dormant_on_or_before, "dormant"), else_="active")
    classified = select(cls.label("cls"), r.abc_spend.label("spend"), rfm_combo.label("rfm"), stage.label("stage"),
                        _flag(r.visits >= life.familiar_visits).label("familiar")).subquery()
    c = classified.c
    columns = [func.coalesce(func.sum(c.spend), 0), func.coalesce(func.sum(c.familiar), 0)]
    columns += [func.count().filter(c.cls == k) for k in CLASSES]
    columns += [func.coalesce(func.sum(c.spend).filter(c.cls == k), 0) for k in CLASSES]
    columns += [func.count().filter(c.rfm == combo) for combo in range(8)]
    columns += [func.count().filter(c.stage == name) for name in STAGES]
    row = list(db.session.execute(select(*columns).select_from(classified)).one())
    total, familiar = int(row[0]), int(row[1])
    counts, spends = row[2:5], row[5:8]
    combos, stages = row[8:16], row[16:20]
    abc = tuple(AbcClassSummary(cls=k, members=counts[i], spend_fen=int(spends[i]),
                                member_share=Fraction(counts[i], n) if n else Fraction(0),
                                spend_share=Fraction(int(spends[i]), total) if total else Fraction(0))
                for i, k in enumerate(CLASSES))
    layers: Counter[int] = Counter()
    codes: dict[str, int] = {}
    for combo, count in enumerate(combos):
        if count:
            recent, frequent, high = bool(combo & 4), bool(combo & 2), bool(combo & 1)
            layers[rfm_layer(recent, frequent, high)[0]] += count
            codes[f"R{int(recent)}F{int(frequent)}M{int(high)}"] = count
    return SegmentReport(
        as_of=as_of,
        members=n,
        abc=abc,
        rfm_layers={layer: layers.get(layer, 0) for layer in (1, 2, 3, 4)},
        rfm_codes=dict(sorted(codes.items())),
        lifecycle=dict(zip(STAGES, stages, strict=True)),
        familiar=familiar,
        timings={"sql_s": round(time.perf_counter() - started, 3), "rules_s": 0.0},
    )


def _flag(condition):
    """1 or 0, alike on PostgreSQL and SQLite."""
    return case((condition, 1), else_=0)
