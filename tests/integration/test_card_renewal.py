"""Cards are renewed by the daily evaluation when their type's renewal bar was met (SPEC §4)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from saas.extensions import db
from tenants.models import Card
from tenants.presets import load_preset
from tenants.scoping import tenant_context
from tenants.services.cards import check_card
from tenants.services.errors import ServiceError
from tenants.services.evaluation import evaluate_members
from tenants.services.members import enroll_member
from tenants.services.programs import post_program_version
from tenants.services.purchases import LineIn, record_purchase

SH = ZoneInfo("Asia/Shanghai")
JOINED = dt.date(2024, 1, 5)
ENDS = dt.date(2026, 1, 5)


@pytest.fixture
def shop(app_ctx):
    from tests.factories import make_tenant

    tenant = make_tenant("renewal-shop", vertical="clothing", program_from=dt.date(2024, 1, 1))
    with tenant_context(tenant):
        rules = load_preset("clothing")
        for card_type in rules["card_types"]:
            card_type.update(validity_months=24,
                             renewal={"measure": "points_earned", "min": 2000, "extend_months": 24})
        post_program_version(rules, dt.date(2024, 1, 1), "two-year cards")
        yield tenant


def member_who_spent(phone: str, fen: int):
    member = enroll_member(business_at=dt.datetime.combine(JOINED, dt.time(12), tzinfo=SH), name="卡", phone=phone)
    record_purchase(member_id=member.id, lines=[LineIn("1", fen)], tenders=[],
                    business_at=dt.datetime(2025, 6, 1, 12, tzinfo=SH))
    db.session.commit()
    return member


def test_the_daily_evaluation_renews_cards_that_earned_enough_and_leaves_the_others_expired(shop):
    keeps = member_who_spent("13800001001", 250000)  # 2500 points in the period
    lapses = member_who_spent("13800001002", 100000)  # 1000 points
    assert evaluate_members(ENDS - dt.timedelta(days=1))["cards_renewed"] == 0
    stats = evaluate_members(ENDS)
    assert stats["cards_renewed"] == 1
    kept = db.session.query(Card).filter_by(member_id=keeps.id).one()
    lapsed = db.session.query(Card).filter_by(member_id=lapses.id).one()
    assert kept.valid_until == dt.date(2028, 1, 5) and lapsed.valid_until == ENDS
    check_card(kept, dt.datetime(2026, 1, 6, 9, tzinfo=SH))
    with pytest.raises(ServiceError) as refused:
        check_card(lapsed, dt.datetime(2026, 1, 6, 9, tzinfo=SH))
    assert refused.value.code == "card_expired"
    assert evaluate_members(ENDS + dt.timedelta(days=1))["cards_renewed"] == 0  # renewed once, not again
