"""Hypothesis drives random sequences of operations through the services on PostgreSQL and checks
the ledger invariants after every step: balance = sum of entries = sum of lots, never negative;
a full return restores the member's points and takes its spend back out of the tier measures."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from saas.extensions import db
from tenants.models import (
    Member,
    PointsEntry,
    PointsLot,
    Purchase,
    StoredValueEntry,
    StoredValueLot,
    TierActivityRow,
)
from tenants.scoping import tenant_context
from tenants.services import points as points_service
from tenants.services import stored_value as sv_service
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, TenderIn, record_purchase, record_return
from tenants.services.tiers import evaluate_member
from tests.factories import make_tenant

SH = ZoneInfo("Asia/Shanghai")
_slugs = itertools.count()


def sum_of(column, where):
    return db.session.scalar(select(func.coalesce(func.sum(column), 0)).where(where))


class Ledgers(RuleBasedStateMachine):
    app = None

    @initialize()
    def start(self):
        self.tenant = make_tenant(f"ledger-{next(_slugs)}", vertical="clothing", program_from=dt.date(2025, 1, 1))
        self.scope = tenant_context(self.tenant)
        self.scope.__enter__()
        self.day = dt.date(2026, 1, 5)
        member = enroll_member(business_at=self.at(), name="状态机", phone="13900000000")
        db.session.commit()
        self.member_id = member.id
        self.purchases: list[int] = []

    def teardown(self):
        if hasattr(self, "scope"):
            db.session.rollback()
            self.scope.__exit__(None, None, None)

    def at(self):
        return dt.datetime.combine(self.day, dt.time(12), tzinfo=SH)

    def member(self) -> Member:
        db.session.expire_all()
        return db.session.get(Member, (self.tenant.id, self.member_id))

    def attempt(self, work):
        try:
            result = work()
            db.session.commit()
            return result
        except ServiceError:
            db.session.rollback()
            return None

    @rule(amount=st.integers(1, 500_00), use_points=st.integers(0, 4000), lines=st.integers(1, 3))
    def buy(self, amount, use_points, lines):
        items = [LineIn(f"l{i}", amount // lines + (amount % lines if i == 0 else 0), quantity=1 + i)
                 for i in range(lines)]
        tenders = [TenderIn("points", points=use_points)] if use_points else []
        result = self.attempt(lambda: record_purchase(member_id=self.member_id, lines=items, tenders=tenders,
                                                      business_at=self.at()))
        if result:
            self.purchases.append(int(result["id"]))

    @precondition(lambda self: self.purchases)
    @rule(pick=st.integers(0, 1000), everything=st.booleans())
    def give_back(self, pick, everything):
        purchase = db.session.get(Purchase, (self.tenant.id, self.purchases[pick % len(self.purchases)]))
        left = {ln["line_id"]: ln["quantity"] - (purchase.returned or {}).get(ln["line_id"], 0)
                for ln in purchase.lines}
        if not any(left.values()):
            return
        returning = left if everything else {k: min(v, 1) for k, v in left.items() if v}
        before = self.member().points_balance
        result = self.attempt(lambda: record_return(purchase_id=purchase.id, member_id=self.member_id,
                                                    lines=returning, business_at=self.at()))
        if result and everything and not purchase.returned and not result["shortfall_points"]:
            # A full return of an untouched purchase restores exactly the points used and takes back the earned.
            assert self.member().points_balance == before + purchase.points_used - purchase.points_earned
            refs = (f"purchase:{purchase.id}", f"return:{purchase.id}")
            net = sum_of(TierActivityRow.spend_fen, TierActivityRow.ref.in_(refs))
            assert net == 0

    @rule(amount=st.sampled_from([100_00, 500_00, 1000_00, 2000_00]))
    def top_up(self, amount):
        self.attempt(lambda: sv_service.top_up(member_id=self.member_id, amount_fen=amount, business_at=self.at()))

    @rule(amount=st.integers(1, 3000_00))
    def pay(self, amount):
        self.attempt(lambda: sv_service.pay(member_id=self.member_id, amount_fen=amount, business_at=self.at(),
                                            pin_verified=True))

    @rule(delta=st.integers(-3000, 3000))
    def adjust(self, delta):
        self.attempt(lambda: points_service.adjust_points(member_id=self.member_id, delta=delta, reason="test",
                                                          business_at=self.at()))

    @rule(days=st.integers(1, 400))
    def time_passes(self, days):
        self.day += dt.timedelta(days=days)
        self.attempt(lambda: evaluate_member(db.session.get(Member, (self.tenant.id, self.member_id)), self.day))

    @invariant()
    def ledgers_add_up(self):
        if not hasattr(self, "member_id"):
            return
        member = self.member()
        entries = sum_of(PointsEntry.points, PointsEntry.member_id == self.member_id)
        lots = sum_of(PointsLot.points, PointsLot.member_id == self.member_id)
        assert member.points_balance == entries == lots >= 0
        negative_lots = db.session.scalar(select(func.count()).where(PointsLot.member_id == self.member_id,
                                                                     PointsLot.points < 0))
        assert negative_lots == 0
        sv_entries = sum_of(StoredValueEntry.principal_fen + StoredValueEntry.bonus_fen,
                            StoredValueEntry.member_id == self.member_id)
        sv_lots = sum_of(StoredValueLot.principal_fen + StoredValueLot.bonus_fen,
                         StoredValueLot.member_id == self.member_id)
        assert member.stored_value_fen == sv_entries == sv_lots >= 0


def test_ledgers_stay_consistent_under_random_operations(app_ctx):
    Ledgers.TestCase.settings = settings(max_examples=12, stateful_step_count=12, deadline=None,
                                         suppress_health_check=list(HealthCheck))
    Ledgers.TestCase().runTest()
