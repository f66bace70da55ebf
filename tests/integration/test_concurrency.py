"""Races against one member on PostgreSQL (SPEC §17.9, §18): no double effects, no drift."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from saas.extensions import db
from tenants.models import Member, PointsEntry, Purchase
from tenants.scoping import tenant_context
from tenants.services import points as points_service
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, TenderIn, record_purchase
from tests.factories import make_tenant

SH = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 2)
AT = dt.datetime.combine(DAY, dt.time(12), tzinfo=SH)


def race(app, tenant, n, work):
    """Run work(i) in n threads released at the same instant; return their results or errors."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        with app.app_context(), tenant_context(tenant):
            barrier.wait()
            try:
                results[i] = work(i)
            except ServiceError as err:
                results[i] = err
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def setup_member(points=0):
    tenant = make_tenant("race-shop", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        member = enroll_member(business_at=AT, name="并发", phone="13855556666")
        db.session.commit()
        if points:
            points_service.adjust_points(member_id=member.id, delta=points, reason="opening balance",
                                         business_at=AT)
            db.session.commit()
    return tenant, member.id


def test_example_9_two_tablets_posting_the_same_purchase_record_it_once(app, app_ctx):
    tenant, member_id = setup_member()
    payload = {"member": member_id, "lines": [["coat", 59_900]]}

    def post(_i):
        return run_idempotent("tablet-receipt-0042", "purchase", payload, lambda: record_purchase(
            member_id=member_id, lines=[LineIn("coat", 59_900)], tenders=[], business_at=AT))

    results = race(app, tenant, 4, post)
    assert all(isinstance(r, tuple) for r in results), results
    bodies = [r[0] for r in results]
    assert all(body == bodies[0] for body in bodies)  # every tablet shows the same result
    assert sorted(r[1] for r in results) == [False, True, True, True]  # one effect, three replays
    with tenant_context(tenant):
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 1
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 1
        assert db.session.get(Member, (tenant.id, member_id)).points_balance == 599


def test_different_requests_spending_the_whole_balance_at_once_let_exactly_one_through(app, app_ctx):
    tenant, member_id = setup_member(points=3000)

    def spend(i):
        return run_idempotent(f"drain-{i}", "purchase", {"i": i}, lambda: record_purchase(
            member_id=member_id, lines=[LineIn("bag", 3_000)],
            tenders=[TenderIn("points", points=3000)], business_at=AT))

    results = race(app, tenant, 5, spend)
    ok = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(ok) == 1 and len(refused) == 4, results
    assert {e.code for e in refused} == {"insufficient_points"}
    assert "0 available" in refused[0].message or "可用 0" in refused[0].message
    db.session.expire_all()
    with tenant_context(tenant):
        member = db.session.get(Member, (tenant.id, member_id))
        total = db.session.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.member_id == member_id))
        assert member.points_balance == total == 0  # ¥30 paid in full by 3000 points: nothing earned
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 1


def test_the_same_key_with_a_different_body_is_refused(app, app_ctx):
    tenant, member_id = setup_member()
    with tenant_context(tenant):
        run_idempotent("k-1", "purchase", {"amount": 100}, lambda: record_purchase(
            member_id=member_id, lines=[LineIn("a", 10_000)], tenders=[], business_at=AT))
        try:
            run_idempotent("k-1", "purchase", {"amount": 200}, lambda: record_purchase(
                member_id=member_id, lines=[LineIn("a", 20_000)], tenders=[], business_at=AT))
        except ServiceError as err:
            assert err.code == "idempotency_key_reused"
        else:
            raise AssertionError("a reused key with another body must be refused")
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 1


def test_two_hundred_payments_at_once_against_a_balance_that_affords_37_let_exactly_37_through(app, app_ctx):
    from tenants.models import StoredValueEntry, StoredValueLot
    from tenants.services import stored_value as sv_service

    tenant, member_id = setup_member()
    with tenant_context(tenant):
        sv_service.top_up(member_id=member_id, amount_fen=37_000, business_at=AT)
        db.session.commit()
        assert db.session.get(Member, (tenant.id, member_id)).stored_value_fen == 37_000

    def pay(i):
        return run_idempotent(f"pay-{i}", "sv.pay", {"i": i}, lambda: sv_service.pay(
            member_id=member_id, amount_fen=1_000, business_at=AT, pin_verified=True))

    results = race(app, tenant, 200, pay)
    ok = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(ok) == 37 and len(refused) == 163, [r for r in results if not isinstance(r, tuple | ServiceError)]
    assert {e.code for e in refused} == {"insufficient_balance"}
    db.session.expire_all()
    with tenant_context(tenant):
        member = db.session.get(Member, (tenant.id, member_id))
        entries = db.session.scalar(select(func.sum(StoredValueEntry.principal_fen + StoredValueEntry.bonus_fen))
                                    .where(StoredValueEntry.member_id == member_id))
        lots = db.session.scalar(select(func.sum(StoredValueLot.principal_fen + StoredValueLot.bonus_fen))
                                 .where(StoredValueLot.member_id == member_id))
        assert member.stored_value_fen == entries == lots == 0


def test_one_key_sent_twenty_times_at_once_has_one_effect_and_twenty_identical_answers(app, app_ctx):
    tenant, member_id = setup_member()
    payload = {"member": member_id, "lines": [["scarf", 12_800]]}

    def post(_i):
        return run_idempotent("till-3-receipt-7", "purchase", payload, lambda: record_purchase(
            member_id=member_id, lines=[LineIn("scarf", 12_800)], tenders=[], business_at=AT))

    results = race(app, tenant, 20, post)
    assert all(isinstance(r, tuple) for r in results), results
    assert all(r[0] == results[0][0] for r in results)  # the same answer (JSONB keeps no key order)
    assert sorted(r[1] for r in results) == [False] + [True] * 19
    with tenant_context(tenant):
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 1
        assert db.session.get(Member, (tenant.id, member_id)).points_balance == 128
