"""The segment report over a tenant's members (SPEC §10, §13, §17 example 7): ABC shares of spend, the RFM
pyramid and lifecycle stages, computed by SQL aggregation and the pure domain rules."""

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from saas.extensions import db
from tenants.domain.dates import add_months
from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, record_purchase, record_return
from tenants.services.segments_report import segment_report
from tests.factories import make_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.tenant_clock]

SH = ZoneInfo("Asia/Shanghai")
TODAY = dt.datetime.now(SH).date()
LONG_AGO = add_months(TODAY, -20)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=SH)


@pytest.fixture
def shop(app_ctx):
    tenant = make_tenant("segment-shop", vertical="clothing", program_from=LONG_AGO - dt.timedelta(days=1))
    with tenant_context(tenant):
        yield tenant


def member(n: int, joined: dt.date):
    m = enroll_member(business_at=at(joined), name=f"会员{n}", phone=f"1390000{n:04d}")
    db.session.commit()
    return m


def buy(m, yuan: int, on: dt.date, line: str = "1") -> dict:
    result = record_purchase(member_id=m.id, lines=[LineIn(line, yuan * 100)], tenders=[], business_at=at(on))
    db.session.commit()
    return result


def test_ten_members_spending_10_to_100_split_2_3_5_with_a_share_of_190_over_550(shop):
    """SPEC §17 example 7, on spend in the last 12 months; older spend does not count."""
    joined = add_months(TODAY, -14)
    for n in range(1, 11):
        m = member(n, joined)
        buy(m, 10 * n, TODAY - dt.timedelta(days=n))
        buy(m, 1000, add_months(TODAY, -13))  # outside the ABC period

    report = segment_report(TODAY)

    assert report.members == 10
    a, b, c = report.abc
    assert (a.members, b.members, c.members) == (2, 3, 5)
    assert a.spend_fen == 19000 and a.spend_share == Fraction(190, 550)
    assert b.spend_share == Fraction(210, 550) and c.spend_share == Fraction(150, 550)


def test_rfm_layers_and_lifecycle_stages_follow_the_program_rules(shop):
    core = member(1, add_months(TODAY, -10))  # recent, frequent, high value → core (layer 1)
    for k in range(3):
        buy(core, 1500, TODAY - dt.timedelta(days=12 - k), line=str(k))
    dormant = member(2, add_months(TODAY, -10))  # one small purchase 4 months ago → at risk, dormant
    buy(dormant, 50, add_months(TODAY, -4))
    lost = member(3, add_months(TODAY, -11))  # nothing for 7 months → lost
    buy(lost, 80, add_months(TODAY, -7))
    member(4, TODAY - dt.timedelta(days=3))  # joined this week, never bought → new, at risk
    recent = member(6, add_months(TODAY, -2))  # one small purchase last week → general (layer 3), active
    buy(recent, 100, TODAY - dt.timedelta(days=5))
    returned = member(5, add_months(TODAY, -10))  # frequent and recent, but returns bring spend under the bar
    for k in range(3):
        bought = buy(returned, 1200, TODAY - dt.timedelta(days=22 - k), line=str(k))
        record_return(purchase_id=int(bought["id"]), member_id=None, lines={str(k): 1},
                      business_at=at(TODAY - dt.timedelta(days=1)))
        db.session.commit()

    report = segment_report(TODAY)

    assert report.members == 6
    assert report.rfm_layers == {1: 1, 2: 1, 3: 1, 4: 3}
    assert report.rfm_codes == {"R0F0M0": 3, "R1F0M0": 1, "R1F1M0": 1, "R1F1M1": 1}
    assert report.lifecycle == {"new": 1, "active": 3, "dormant": 1, "lost": 1}
    assert report.familiar == 2
    assert set(report.timings) == {"sql_s", "rules_s"}


def test_another_tenants_members_never_count(shop, app_ctx):
    m = member(1, add_months(TODAY, -2))
    buy(m, 300, TODAY - dt.timedelta(days=5))
    other = make_tenant("segment-other", vertical="clothing", program_from=LONG_AGO)
    with tenant_context(other):
        stranger = enroll_member(business_at=at(TODAY - dt.timedelta(days=40)), name="别家", phone="13911112222")
        db.session.commit()
        buy(stranger, 5000, TODAY - dt.timedelta(days=2))
        assert segment_report(TODAY).members == 1
    assert segment_report(TODAY).members == 1


@pytest.mark.parametrize("mode", ["spend_rank", "points_bands"])
def test_the_counts_equal_the_domain_rules_applied_member_by_member(shop, mode):
    """The report compares members with bars in SQL; the pure per-member functions of tenants.domain.segments
    are the oracle, over a population with ties in spend, members who never bought, old and returned purchases."""
    import random

    from tenants.domain.segments import RfmFacts, abc_by_points, abc_by_spend, lifecycle, rfm_score
    from tenants.programs import program_in_force
    from tenants.services.segments_report import _per_member

    rng = random.Random(7)
    # The bars' own days are among the choices (recent: 90 days; dormant 3 and lost 6 months; new: 30 days).
    joins = [TODAY - dt.timedelta(days=d) for d in (2, 29, 30, 31, 100, 200, 400)]
    days = [TODAY - dt.timedelta(days=d) for d in (1, 10, 89, 90, 91, 130, 250, 390)]
    days += [add_months(TODAY, -3), add_months(TODAY, -6), add_months(TODAY, -3) + dt.timedelta(days=1)]
    for n, day in enumerate((add_months(TODAY, -6), add_months(TODAY, -3), TODAY - dt.timedelta(days=90)), 100):
        buy(member(n, TODAY - dt.timedelta(days=300)), 300, day)  # exactly on a bar, and nothing since
    for n in range(57):
        m = member(n, rng.choice(joins))
        for k in range(rng.choice((0, 0, 1, 2, 3, 4))):
            day = max(m.joined_on, rng.choice(days))
            bought = buy(m, rng.choice((100, 300, 1500, 3000)), day, line=str(k))  # few amounts: ties
            if rng.random() < 0.15:
                record_return(purchase_id=int(bought["id"]), member_id=None, lines={str(k): 1}, business_at=at(day))
                db.session.commit()
    _version, program = program_in_force(TODAY)
    rules = program.segments.model_copy(update={"abc": program.segments.abc.model_copy(update={
        "mode": mode, "a_min_points": 2000, "b_min_points": 500})})
    program = program.model_copy(update={"segments": rules})

    rows = db.session.execute(_per_member(TODAY, add_months(TODAY, -rules.abc.period_months),
                                          add_months(TODAY, -rules.rfm.period_months))).all()
    spends = {str(r.id): r.abc_spend for r in rows}
    if mode == "points_bands":
        abc = abc_by_points({str(r.id): r.points_balance for r in rows}, rules.abc, spends)
    else:
        abc = abc_by_spend(spends, rules.abc)
    scores = [rfm_score(RfmFacts(str(r.id), r.last_purchase_on, r.rfm_visits, r.rfm_spend), TODAY, rules.rfm)
              for r in rows]
    stages = [lifecycle(r.joined_on, r.last_purchase_on, r.visits, TODAY, rules.lifecycle) for r in rows]

    report = segment_report(TODAY, program)

    assert report.members == len(rows) == 60
    assert report.abc == abc.summary
    assert report.rfm_layers == {layer: sum(s.layer == layer for s in scores) for layer in (1, 2, 3, 4)}
    codes = {s.code for s in scores}
    assert report.rfm_codes == {code: sum(s.code == code for s in scores) for code in sorted(codes)}
    assert report.lifecycle == {k: sum(s.stage == k for s in stages) for k in ("new", "active", "dormant", "lost")}
    assert report.familiar == sum(s.familiar for s in stages)
    assert len({s.spend_fen for s in abc.summary}) > 1 and len(codes) > 2  # the population is not degenerate
