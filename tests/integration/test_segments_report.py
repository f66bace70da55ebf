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

pytestmark = pytest.mark.postgres

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
