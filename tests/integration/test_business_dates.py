"""Business dates are the tenant's dates (SPEC §19.1), whatever zone the caller's time carries.

Each test runs at 23:30 and at 00:30 in Shanghai (the `tenant_clock` marker): at 00:30 the UTC date is
still yesterday, which is when a service that took `business_at.date()` of a UTC time dated the
transaction a day early (before the program's first version: `no_program`).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from saas.extensions import db
from tenants.models import Card, PointsEntry, ProgramVersion, StoredValueEntry
from tenants.scoping import tenant_context
from tenants.services import cards as card_service
from tenants.services import points as points_service
from tenants.services import stored_value as sv_service
from tenants.services.business_time import in_tenant_zone
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, record_purchase, record_return
from tests.factories import make_tenant

pytestmark = pytest.mark.tenant_clock
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def shop(app_ctx, tenant_clock):
    """A clothing tenant signed up just now: its program's first version is in force from today, Shanghai."""
    tenant = make_tenant("dates-shop", vertical="clothing")
    with tenant_context(tenant):
        yield tenant


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_the_clock_is_where_the_marker_says(tenant_clock):
    now = dt.datetime.now(SH)
    assert now.time().replace(second=0, microsecond=0) in (dt.time(23, 30), dt.time(23, 31), dt.time(0, 30),
                                                           dt.time(0, 31))
    assert (now - tenant_clock) < dt.timedelta(minutes=2)


def business_date(at: dt.datetime) -> dt.date:
    return in_tenant_zone(at).date()


def test_a_utc_time_is_dated_on_the_tenants_calendar(shop, tenant_clock):
    late_evening_utc = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)  # 00:30 on 2 March in Shanghai
    assert business_date(late_evening_utc) == dt.date(2026, 3, 2)
    assert business_date(dt.datetime(2026, 3, 1, 15, 30, tzinfo=dt.UTC)) == dt.date(2026, 3, 1)
    assert business_date(dt.datetime(2026, 3, 2, 0, 30)) == dt.date(2026, 3, 2)  # naive = the tenant's wall clock
    assert in_tenant_zone(late_evening_utc).utcoffset() == dt.timedelta(hours=8)


def test_every_service_given_a_utc_time_dates_the_transaction_today_in_shanghai(shop, tenant_clock):
    today = tenant_clock.date()
    assert db.session.query(ProgramVersion).one().effective_from == today
    member = enroll_member(business_at=utc_now(), name="夜班", phone="13800001234")
    db.session.commit()
    assert member.joined_on == today
    sale = record_purchase(member_id=member.id, lines=[LineIn("1", 30000)], tenders=[], business_at=utc_now())
    db.session.commit()
    assert sale["business_date"] == today.isoformat()
    record_return(purchase_id=int(sale["id"]), member_id=member.id, lines={"1": 1}, business_at=utc_now())
    sv_service.top_up(member_id=member.id, amount_fen=50000, business_at=utc_now())
    sv_service.pay(member_id=member.id, amount_fen=100, business_at=utc_now(), pin_verified=True)
    points_service.adjust_points(member_id=member.id, delta=500, reason="welcome", business_at=utc_now())
    db.session.commit()
    dates = {entry.business_date for entry in db.session.query(PointsEntry)}
    dates |= {entry.business_date for entry in db.session.query(StoredValueEntry)}
    assert dates == {today}


def test_a_card_lost_just_after_midnight_cannot_be_replaced_the_same_day(shop, tenant_clock):
    member = enroll_member(business_at=utc_now(), name="挂失", phone="13800005678")
    db.session.commit()
    card = db.session.query(Card).filter_by(member_id=member.id).one()
    card_service.report_lost(card, utc_now())
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        card_service.replace_lost_card(card, tenant_clock.date())
    assert refused.value.code == "replacement_too_early"
