"""The loyalty services on PostgreSQL: SPEC §17 examples end to end, ledgers that always add up."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from tenants.models import Card, Member, PointsEntry, PointsLot, ProgramVersion, StoredValueEntry, StoredValueLot
from tenants.scoping import tenant_context
from tenants.services import cards as card_service
from tenants.services import points as points_service
from tenants.services import stored_value as sv_service
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member, member_json
from tenants.services.purchases import LineIn, TenderIn, record_purchase, record_return
from tenants.services.tiers import evaluate_member, explain_member
from tests.factories import make_tenant

pytestmark = pytest.mark.tenant_clock  # dates matter here: run either side of the UTC date change

SH = ZoneInfo("Asia/Shanghai")
DAY0 = dt.date(2026, 3, 2)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SH)


def yuan(y: float) -> int:
    return round(y * 100)


@pytest.fixture
def shop(app_ctx):
    """A clothing tenant (SPEC §16 template) whose program is in force since 2025."""
    tenant = make_tenant("clothing-shop", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        yield tenant


def enrol(phone="13800001111", on=DAY0, **kw) -> Member:
    member = enroll_member(business_at=at(on), name="林小姐", phone=phone, **kw)
    db.session.commit()
    return member


def buy(member, *lines, on=DAY0, tenders=(), **kw) -> dict:
    result = record_purchase(member_id=member.id, lines=list(lines), tenders=list(tenders), business_at=at(on), **kw)
    db.session.commit()
    return result


def assert_ledgers_add_up(member_id: int) -> None:
    db.session.expire_all()
    member = db.session.get(Member, (member_id and db.session.scalar(select(Member.tenant_id)), member_id))
    entries = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                                .where(PointsEntry.member_id == member_id))
    lots = db.session.scalar(select(func.coalesce(func.sum(PointsLot.points), 0))
                             .where(PointsLot.member_id == member_id))
    assert member.points_balance == entries == lots >= 0
    sv_entries = db.session.scalar(select(func.coalesce(func.sum(StoredValueEntry.principal_fen
                                                                 + StoredValueEntry.bonus_fen), 0))
                                   .where(StoredValueEntry.member_id == member_id))
    sv_lots = db.session.scalar(select(func.coalesce(func.sum(StoredValueLot.principal_fen + StoredValueLot.bonus_fen),
                                                     0)).where(StoredValueLot.member_id == member_id))
    assert member.stored_value_fen == sv_entries == sv_lots >= 0


def test_enrolment_gives_a_virtual_card_and_refuses_a_duplicate_phone(shop):
    member = enrol()
    cards = db.session.scalars(select(Card).where(Card.member_id == member.id)).all()
    assert len(cards) == 1 and cards[0].kind == "virtual" and len(cards[0].number) == 12
    with pytest.raises(ServiceError) as err:
        enroll_member(business_at=at(DAY0), name="重复", phone="+86 138-0000-1111")
    assert err.value.code == "duplicate_phone"
    db.session.rollback()
    data = member_json(member, DAY0)
    assert data["tier"]["code"] == "regular" or data["tier"]["code"]
    assert data["points"]["available"] == 0


def test_example_1_points_are_pending_then_the_member_reaches_silver(shop):
    member = enrol()
    buy(member, LineIn("old", yuan(900)), on=DAY0 - dt.timedelta(days=30))
    first = buy(member, LineIn("a", yuan(150)))
    assert first["points_earned"] == 150
    assert first["points_status"] == "pending"
    assert first["points_pending_until"] == (DAY0 + dt.timedelta(days=7)).isoformat()
    base = first["tier_before"]
    assert first["tier_after"] == base  # spend counts only after the return window
    later = DAY0 + dt.timedelta(days=7)
    member = db.session.get(Member, (shop.id, member.id))
    changes = evaluate_member(member, later)
    db.session.commit()
    assert [c["to_tier"] for c in changes["tier_changes"]] == ["silver"]
    assert changes["points_released"] == 150
    second = buy(member, LineIn("b", yuan(100)), on=later)
    assert second["tier_before"] == "silver" and second["points_earned"] == 150
    assert_ledgers_add_up(member.id)


def test_example_2_vouchers_are_spread_and_line_points_add_up(shop):
    member = enrol()
    result = buy(member,
                 LineIn("full", yuan(600)),
                 LineIn("forty-off", yuan(500), charged_fen=yuan(300)),
                 LineIn("offer", yuan(100), special=True),
                 tenders=[TenderIn("cash", yuan(950)), TenderIn("voucher", yuan(50))])
    assert result["points_earned"] == 769
    assert [line["voucher_fen"] for line in result["lines"]] == [yuan(30), yuan(15), yuan(5)]
    assert sum(line["points"] for line in result["lines"]) == 769
    assert_ledgers_add_up(member.id)


def test_example_3_points_pay_part_and_a_full_return_gives_them_back(shop):
    member = enrol()
    points_service.adjust_points(member_id=member.id, delta=3456, reason="migration from old system",
                                 business_at=at(DAY0 - dt.timedelta(days=1)))
    db.session.commit()
    result = buy(member, LineIn("coat", yuan(200)), tenders=[TenderIn("points", points=3456),
                                                              TenderIn("cash", yuan(165.44))])
    assert result["points_used"] == 3456 and result["points_value_fen"] == 3456
    assert result["amount_due_fen"] == yuan(165.44)
    assert result["points_earned"] == 165  # earned on the cash part only
    member = db.session.get(Member, (shop.id, member.id))
    assert member.points_balance == 165
    back = record_return(purchase_id=int(result["id"]), member_id=member.id, lines={"coat": 1}, business_at=at(DAY0))
    db.session.commit()
    assert back["points_given_back"] == 3456 and back["points_taken_back"] == 165
    assert back["refund_fen"] == yuan(165.44)
    db.session.expire_all()
    assert db.session.get(Member, (shop.id, member.id)).points_balance == 3456
    assert_ledgers_add_up(member.id)


def test_a_return_cannot_exceed_the_purchase_and_must_be_the_same_members(shop):
    member = enrol()
    other = enrol(phone="13900002222")
    result = buy(member, LineIn("shirts", yuan(300), quantity=3))
    record_return(purchase_id=int(result["id"]), member_id=member.id, lines={"shirts": 2}, business_at=at(DAY0))
    db.session.commit()
    with pytest.raises(ServiceError) as err:
        record_return(purchase_id=int(result["id"]), member_id=member.id, lines={"shirts": 2}, business_at=at(DAY0))
    assert err.value.code == "return_exceeds_purchase"
    db.session.rollback()
    with pytest.raises(ServiceError) as err:
        record_return(purchase_id=int(result["id"]), member_id=other.id, lines={"shirts": 1}, business_at=at(DAY0))
    assert err.value.code == "return_member_mismatch"
    db.session.rollback()
    assert_ledgers_add_up(member.id)


def test_redeeming_more_points_than_available_is_refused_and_changes_nothing(shop):
    member = enrol()
    points_service.adjust_points(member_id=member.id, delta=500, reason="welcome", business_at=at(DAY0))
    db.session.commit()
    with pytest.raises(ServiceError) as err:
        buy(member, LineIn("x", yuan(100)), tenders=[TenderIn("points", points=900), TenderIn("cash", yuan(91))])
    assert err.value.code == "insufficient_points"
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Member, (shop.id, member.id)).points_balance == 500


def test_example_6_a_lost_card_is_refused_at_once_and_the_replacement_carries_everything(shop):
    member = enrol()
    points_service.adjust_points(member_id=member.id, delta=800, reason="welcome", business_at=at(DAY0))
    db.session.commit()
    card = db.session.scalars(select(Card).where(Card.member_id == member.id)).one()
    card_service.report_lost(card, at(DAY0, 10))
    db.session.commit()
    with pytest.raises(ServiceError) as err:
        card_service.check_card(card, at(DAY0, 11))
    assert err.value.code == "card_blocked"
    new = card_service.replace_lost_card(card, DAY0 + dt.timedelta(days=3))
    db.session.commit()
    card_service.check_card(new, at(DAY0 + dt.timedelta(days=3)))
    with pytest.raises(ServiceError) as err:
        card_service.check_card(card, at(DAY0 + dt.timedelta(days=3)))
    assert err.value.code == "card_replaced"
    data = member_json(db.session.get(Member, (shop.id, member.id)), DAY0 + dt.timedelta(days=3))
    assert data["points"]["available"] == 800
    assert {c["number"]: c["status"] for c in data["cards"]} == {card.number: "replaced", new.number: "active"}


def test_explanations_say_what_is_missing_for_the_next_tier(shop):
    member = enrol()
    buy(member, LineIn("a", yuan(400)), on=DAY0 - dt.timedelta(days=20))
    explanation = explain_member(db.session.get(Member, (shop.id, member.id)), DAY0)
    silver = next(n for n in explanation["upgrades"] if n["tier_code"] == "silver")
    assert silver["missing"] == yuan(600)
    assert explanation["next_tier"] == "silver"


def test_a_wrong_pin_is_counted_even_though_the_payment_is_refused_and_locks_after_five(shop):
    member = enrol(pin="246810")
    for _ in range(4):
        with pytest.raises(ServiceError) as err:
            card_service.verify_pin(member.id, "000000")
        assert err.value.code == "pin_invalid"
    with pytest.raises(ServiceError) as err:
        card_service.verify_pin(member.id, "000000")
    assert err.value.code == "pin_locked"
    with pytest.raises(ServiceError) as err:
        card_service.verify_pin(member.id, "246810")  # even the right PIN now
    assert err.value.code == "pin_locked"


def test_program_versions_are_recorded_on_every_entry(shop):
    member = enrol()
    buy(member, LineIn("a", yuan(100)))
    versions = set(db.session.scalars(select(PointsEntry.program_version).where(PointsEntry.member_id == member.id)))
    assert versions == {db.session.scalar(select(func.max(ProgramVersion.version)))}


@pytest.fixture
def hotel(app_ctx):
    tenant = make_tenant("hotel", vertical="hotel", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        yield tenant


def test_example_5_hotel_top_ups_rooms_discount_and_a_free_night(hotel):
    member = enroll_member(business_at=at(DAY0), name="周先生", phone="13700003333", top_up_fen=yuan(500),
                           real_name_verified=True, id_doc_type="id_card", id_doc_number="330102199001011234")
    db.session.commit()
    small = sv_service.top_up(member_id=member.id, amount_fen=yuan(500), business_at=at(DAY0))
    db.session.commit()
    assert small["card_fee_fen"] == 0
    big = sv_service.top_up(member_id=member.id, amount_fen=yuan(1000), business_at=at(DAY0))
    db.session.commit()
    assert big["unlocked_price_bp"] == {"rooms": 8000}
    stay = buy(member, LineIn("room", yuan(5000), category="rooms"), on=DAY0 + dt.timedelta(days=1))
    assert stay["lines"][0]["price_bp"] == 8000
    assert stay["discount_fen"] == yuan(1000)
    # ¥5000 of rooms over the year at 1 point per ¥100 → 50 points, one free night.
    member = db.session.get(Member, (hotel.id, member.id))
    points_service.adjust_points(member_id=member.id, delta=50 - stay["points_earned"], reason="test top-up to 50",
                                 business_at=at(DAY0 + dt.timedelta(days=2)))
    db.session.commit()
    night = points_service.redeem(member_id=member.id, kind="nights", nights=1,
                                  business_at=at(DAY0 + dt.timedelta(days=2)))
    db.session.commit()
    assert night["points"] == 50 and night["quantity"] == 1
    assert_ledgers_add_up(member.id)
