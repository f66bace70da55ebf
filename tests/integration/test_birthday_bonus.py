"""Birthday bonus points are credited on the birthday by the daily evaluation, once a year (SPEC §6, §19.12)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from tenants.models import Member, PointsEntry, PointsLot, TierAccount
from tenants.scoping import tenant_context
from tenants.services.evaluation import evaluate_members
from tenants.services.members import enroll_member
from tests.factories import make_tenant

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def mall(app_ctx):
    """The mall preset: gold members get 500 birthday points, regular members none."""
    tenant = make_tenant("birthday-mall", vertical="mall", program_from=dt.date(2024, 1, 1))
    with tenant_context(tenant):
        yield tenant


def member(phone: str, birthday: dt.date, tier: str = "gold") -> Member:
    person = enroll_member(business_at=dt.datetime(2026, 1, 10, 12, tzinfo=SH), name="寿星", phone=phone,
                           birthday=birthday, real_name_verified=True, id_doc_type="id_card",
                           id_doc_number=f"1101011990{phone[-8:]}")
    db.session.get(TierAccount, (person.tenant_id, person.tier_account_id)).tier_code = tier
    db.session.commit()
    return person


def points_of(person: Member) -> int:
    db.session.expire_all()
    return db.session.get(Member, (person.tenant_id, person.id)).points_balance


def test_gold_members_get_their_birthday_points_on_the_day_once_and_regular_members_none(mall):
    gold = member("13800002001", dt.date(1990, 3, 15))
    regular = member("13800002002", dt.date(1991, 3, 15), tier="regular")
    other_day = member("13800002003", dt.date(1992, 3, 16))
    stats = evaluate_members(dt.date(2026, 3, 15))
    assert stats["birthday_points"] == 500
    assert evaluate_members(dt.date(2026, 3, 15))["birthday_points"] == 0  # the job ran twice: one credit
    assert (points_of(gold), points_of(regular), points_of(other_day)) == (500, 0, 0)
    lots = db.session.scalar(select(func.sum(PointsLot.points)).where(PointsLot.member_id == gold.id))
    entries = db.session.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.member_id == gold.id))
    assert lots == entries == 500
    assert evaluate_members(dt.date(2027, 3, 15))["birthday_points"] == 500  # next year again


def test_a_29_february_birthday_is_celebrated_on_the_28th_in_other_years(mall):
    leap = member("13800002004", dt.date(1992, 2, 29))
    assert evaluate_members(dt.date(2026, 2, 28))["birthday_points"] == 500
    assert points_of(leap) == 500
