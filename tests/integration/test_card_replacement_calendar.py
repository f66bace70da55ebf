"""A lost card is replaceable after N working days of China's published calendar (chinese-calendar)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from saas.extensions import db
from tenants.models import Card
from tenants.presets import load_preset
from tenants.scoping import tenant_context
from tenants.services import cards as card_service
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member
from tenants.services.programs import post_program_version
from tenants.services.work_calendar import work_calendar
from tests.factories import make_tenant

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def shop(app_ctx):
    tenant = make_tenant("calendar-shop", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        rules = load_preset("clothing")
        for card_type in rules["card_types"]:
            card_type["replacement_delay_working_days"] = 3
        post_program_version(rules, dt.date(2025, 1, 1), "three working days")
        yield tenant


def test_the_calendar_knows_golden_week_2026():
    calendar = work_calendar(dt.date(2026, 9, 28), dt.date(2026, 10, 12))
    assert dt.date(2026, 10, 1) in calendar.holidays and dt.date(2026, 10, 10) in calendar.workdays
    assert not calendar.is_working_day(dt.date(2026, 10, 5)) and calendar.is_working_day(dt.date(2026, 10, 12))


def test_a_card_lost_before_golden_week_is_replaceable_on_the_third_working_day_after_it(shop):
    member = enroll_member(business_at=dt.datetime(2026, 9, 20, 12, tzinfo=SH), name="黄", phone="13800007777")
    db.session.commit()
    card = db.session.query(Card).filter_by(member_id=member.id).one()
    card_service.report_lost(card, dt.datetime(2026, 9, 30, 10, tzinfo=SH))
    db.session.commit()
    # 8 and 9 October, then the adjusted working Saturday
    assert card_service.replacement_available_on(card, dt.date(2026, 9, 30)) == dt.date(2026, 10, 10)
    with pytest.raises(ServiceError) as early:
        card_service.replace_lost_card(card, dt.date(2026, 10, 9))
    assert early.value.code == "replacement_too_early"
    db.session.rollback()
    new = card_service.replace_lost_card(card, dt.date(2026, 10, 10))
    assert new.member_id == member.id and new.number != card.number
