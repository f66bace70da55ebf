"""Tier measures after returns and on the upgrade day, through the services (SPEC §19.14–§19.18)."""

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from saas.extensions import db
from tenants.models import Member, TierAccount, TierActivityRow, TierChangeRow
from tenants.presets import load_preset
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member
from tenants.services.programs import post_program_version
from tenants.services.purchases import LineIn, TenderIn, record_purchase, record_return
from tenants.services.stored_value import top_up
from tenants.services.tiers import evaluate_member
from tests.factories import make_tenant

SH = ZoneInfo("Asia/Shanghai")
SINCE = dt.date(2025, 1, 1)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SH)


def program(**tiers_and_earning) -> dict:
    """The clothing preset, with its silver/gold rules replaced as given."""
    rules = copy.deepcopy(load_preset("clothing"))
    by_code = {t["code"]: t for t in rules["tiers"]}
    for code, changes in tiers_and_earning.get("tiers", {}).items():
        by_code[code].update(changes)
    rules["earning"].update(tiers_and_earning.get("earning", {}))
    return rules


@pytest.fixture
def shop(app_ctx):
    tenant = make_tenant("measures-shop", vertical="clothing", program_from=SINCE)
    with tenant_context(tenant):
        yield tenant


def configure(**changes) -> None:
    post_program_version(program(**changes), SINCE, "test rules")


def enrol(on: dt.date, phone: str = "13800001111") -> Member:
    member = enroll_member(business_at=at(on), name="林", phone=phone, pin="2468")
    db.session.commit()
    return member


def buy(member, fen: int, on: dt.date, hour: int = 12, **kw) -> dict:
    result = record_purchase(member_id=member.id, lines=[LineIn("1", fen, **kw)], tenders=kw.pop("tenders", []),
                             business_at=at(on, hour))
    db.session.commit()
    return result


def give_back(purchase: dict, quantity: int, on: dt.date) -> dict:
    result = record_return(purchase_id=int(purchase["id"]), member_id=None, lines={"1": quantity},
                           business_at=at(on))
    db.session.commit()
    return result


def tier_on(member, day: dt.date) -> str:
    evaluate_member(db.session.get(Member, (member.tenant_id, member.id)), day)
    db.session.commit()
    fresh = db.session.get(Member, (member.tenant_id, member.id))
    return db.session.get(TierAccount, (fresh.tenant_id, fresh.tier_account_id)).tier_code


def test_a_return_in_january_of_a_december_purchase_does_not_lower_this_years_measure(shop):
    configure(tiers={"silver": {"reach": [{"kind": "cumulative", "window": "calendar_year", "min": 100000}]},
                     "gold": {"reach": [{"kind": "cumulative", "window": "calendar_year", "min": 900000}]}})
    member = enrol(dt.date(2026, 12, 1))
    december = buy(member, 80000, dt.date(2026, 12, 10))  # counts on 17 December
    buy(member, 60000, dt.date(2027, 1, 2))  # counts on 9 January
    give_back(december, 1, dt.date(2027, 1, 5))
    buy(member, 40000, dt.date(2027, 1, 6))  # counts on 13 January: ¥1000 in 2027
    assert tier_on(member, dt.date(2027, 1, 12)) == "regular"
    assert tier_on(member, dt.date(2027, 1, 13)) == "silver"
    row = db.session.scalar(select(TierActivityRow).where(TierActivityRow.kind == "return"))
    assert row.belongs_on == dt.date(2026, 12, 17) and row.counts_on == dt.date(2027, 1, 5)


def test_the_spend_a_partial_return_reverses_is_what_it_refunds_for_goods_to_the_fen(shop):
    member = enrol(dt.date(2026, 3, 1))
    sale = buy(member, 10000, dt.date(2026, 3, 2), quantity=3)
    reversed_ = []
    for _ in range(3):
        back = give_back(sale, 1, dt.date(2026, 3, 3))
        assert back["spend_reversed_fen"] == back["refund_fen"]
        reversed_.append(back["spend_reversed_fen"])
    assert reversed_ == [3333, 3333, 3334] and sum(reversed_) == sale["spend_fen"]
    spends = db.session.scalars(select(TierActivityRow.spend_fen)).all()
    assert sum(spends) == 0


def test_stored_value_refunds_over_partial_returns_add_up_to_what_was_paid_from_the_balance(shop):
    member = enrol(dt.date(2026, 3, 1))
    top_up(member_id=member.id, amount_fen=5000, business_at=at(dt.date(2026, 3, 1)))
    db.session.commit()
    sale = record_purchase(member_id=member.id, lines=[LineIn("1", 10000, quantity=3)], pin_verified=True,
                           tenders=[TenderIn("cash", 5000), TenderIn("stored_value", 5000)],
                           business_at=at(dt.date(2026, 3, 2)))
    db.session.commit()
    parts = [give_back(sale, 1, dt.date(2026, 3, 3))["refund_by_tender"] for _ in range(3)]
    assert [p["stored_value"] for p in parts] == [1666, 1667, 1667]
    assert sum(p["cash"] for p in parts) == 5000
    assert db.session.get(Member, (shop.id, member.id)).stored_value_fen == 5000


def test_a_purchase_returned_in_full_before_its_window_ends_never_upgrades_the_member(shop):
    configure(tiers={"gold": {"reach": [{"kind": "single_purchase", "min_fen": 150000}]}})
    member = enrol(dt.date(2026, 3, 1))
    sale = buy(member, 200000, dt.date(2026, 3, 2))
    give_back(sale, 1, dt.date(2026, 3, 4))  # before it counts on 9 March
    assert tier_on(member, dt.date(2026, 3, 31)) == "regular"
    other = enrol(dt.date(2026, 3, 1), phone="13900002222")
    kept = buy(other, 200000, dt.date(2026, 3, 2))
    assert tier_on(other, dt.date(2026, 3, 9)) == "gold"
    give_back(kept, 1, dt.date(2026, 3, 20))  # after: the tier stays (§19.8)
    assert tier_on(other, dt.date(2026, 3, 31)) == "gold"


def test_spend_after_the_upgrading_purchase_that_day_counts_toward_keeping_the_new_tier(shop):
    configure(tiers={"silver": {"reach": [{"kind": "cumulative", "window": "lifetime", "min": 70000}],
                                "validity_months": 12, "keep": {"min": 80000}},
                     "gold": {"reach": [{"kind": "cumulative", "window": "lifetime", "min": 9000000}]}})
    member = enrol(dt.date(2026, 3, 1))
    buy(member, 70000, dt.date(2026, 3, 2), hour=10)  # the upgrade, when it counts on 9 March
    buy(member, 20000, dt.date(2026, 3, 2), hour=16)  # the same afternoon: counts for silver's year
    assert tier_on(member, dt.date(2026, 3, 9)) == "silver"
    buy(member, 60000, dt.date(2026, 9, 1))
    assert tier_on(member, dt.date(2027, 3, 9)) == "silver"
    renewal = db.session.scalar(select(TierChangeRow).where(TierChangeRow.action == "renew"))
    assert renewal.reason_params["have"] == 80000


def test_the_first_purchase_as_a_member_earns_nothing_even_days_after_joining(shop):
    configure(earning={"first_purchase_earns": False})
    member = enrol(dt.date(2026, 3, 1))
    first = buy(member, 30000, dt.date(2026, 3, 5))
    assert first["points_earned"] == 0 and first["spend_fen"] == 30000
    assert buy(member, 30000, dt.date(2026, 3, 6))["points_earned"] == 300


def test_a_purchase_short_of_both_stored_value_and_points_is_refused_for_the_stored_value_first(shop):
    member = enrol(dt.date(2026, 3, 1))
    with pytest.raises(ServiceError) as refused:
        record_purchase(member_id=member.id, lines=[LineIn("1", 30000)], pin_verified=True,
                        tenders=[TenderIn("points", points=100), TenderIn("stored_value", 29900)],
                        business_at=at(dt.date(2026, 3, 2)))
    assert refused.value.code == "insufficient_balance"


def test_the_api_shows_the_tier_in_force_today_before_the_daily_evaluation_and_on_a_date(shop, client):
    configure(tiers={"silver": {"reach": [{"kind": "cumulative", "window": "lifetime", "min": 70000}],
                                "validity_months": 12, "keep": {"min": 80000}}})
    token = create_api_key("POS", created_by=None).token
    db.session.commit()
    joined = dt.date.today() - dt.timedelta(days=400)
    member = enroll_member(business_at=at(joined), name="林", phone="13800001111")
    db.session.commit()
    buy(member, 70000, joined)
    assert tier_on(member, joined + dt.timedelta(days=7)) == "silver"  # a year, then nothing kept it
    headers = {"Authorization": f"Bearer {token}"}
    today = client.get(f"/api/v1/members/{member.id}", headers=headers)
    assert today.status_code == 200 and today.json["tier"]["code"] == "regular"
    back_then = client.get(f"/api/v1/members/{member.id}?on={(joined + dt.timedelta(days=8)).isoformat()}",
                           headers=headers)
    assert back_then.status_code == 200 and back_then.json["tier"]["code"] == "silver"
    bad = client.get(f"/api/v1/members/{member.id}?on=yesterday", headers=headers)
    assert bad.status_code == 422
