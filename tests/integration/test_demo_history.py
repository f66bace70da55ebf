"""The demo's year of history (`make run`): deterministic, posted through the services, ledgers that add up.

A small history (a few dozen members per tenant) as of a fixed day keeps these tests fast; `make run`
seeds 2000 members per tenant with the same code.
"""

import datetime as dt
import re

from sqlalchemy import func, select, text

from saas.extensions import db
from saas.models import StaffUser, Tenant
from saas.permissions import Role
from tenants.demo.seed import DEMO_TENANTS, seed_demo
from tenants.domain.dates import add_months
from tenants.models import (
    Member,
    PointsEntry,
    PointsLot,
    ProgramVersion,
    Purchase,
    PurchaseReturn,
    Redemption,
    Store,
    StoredValueEntry,
    StoredValueLot,
    TierAccount,
    TopUp,
)
from tenants.scoping import tenant_context
from tests.conftest import _tables

TODAY = dt.date(2026, 3, 16)
SMALL = 25
BASE_TIER = {"pharmacy": "regular", "clothing": "regular", "hotel": "member", "mall": "regular"}


def demo_tenants() -> list[Tenant]:
    return db.session.scalars(select(Tenant).order_by(Tenant.slug)).all()


def per_member(column, model) -> dict[int, int]:
    rows = db.session.execute(select(model.member_id, func.sum(column)).group_by(model.member_id))
    return {member_id: int(total) for member_id, total in rows}


def aggregates() -> dict:
    """What the history amounts to, per tenant, in terms that do not depend on generated ids."""
    result = {}
    for tenant in demo_tenants():
        with tenant_context(tenant):
            scalar = db.session.scalar
            tiers = db.session.execute(select(TierAccount.tier_code, func.count()).join(
                Member, Member.tier_account_id == TierAccount.id).group_by(TierAccount.tier_code)).all()
            entries = db.session.execute(select(PointsEntry.kind, func.count(), func.sum(PointsEntry.points),
                                                func.sum(PointsEntry.moved)).group_by(PointsEntry.kind)).all()
            result[tenant.slug] = {
                "members": sorted(db.session.execute(select(Member.phone, Member.name, Member.birthday,
                                                            Member.marketing_consent, Member.points_balance,
                                                            Member.stored_value_fen, Member.visits)).all()),
                "purchases": db.session.execute(select(func.count(), func.sum(Purchase.goods_fen),
                                                       func.sum(Purchase.amount_due_fen),
                                                       func.sum(Purchase.points_earned),
                                                       func.sum(Purchase.points_used))).one(),
                "returns": db.session.execute(select(func.count(), func.sum(PurchaseReturn.refund_fen),
                                                     func.sum(PurchaseReturn.points_taken_back))).one(),
                "top_ups": db.session.execute(select(func.count(), func.sum(TopUp.amount_fen),
                                                     func.sum(TopUp.bonus_fen))).one(),
                "redemptions": sorted(db.session.execute(select(Redemption.kind, Redemption.points)).all()),
                "points_entries": sorted(tuple(r) for r in entries),
                "stored_value": scalar(select(func.sum(StoredValueEntry.principal_fen + StoredValueEntry.bonus_fen))),
                "tiers": sorted(tuple(r) for r in tiers),
                "pending": scalar(select(func.sum(PointsLot.points)).where(PointsLot.available_on > TODAY)),
            }
    return result


def wipe(owner_engine) -> None:
    db.session.commit()
    db.session.close()
    with owner_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(_tables(owner_engine))} CASCADE"))


def test_the_history_is_deterministic_current_and_its_ledgers_add_up(app_ctx, owner_engine):
    seed_demo(members=SMALL, today=TODAY)
    first = aggregates()
    start = add_months(TODAY, -12)
    phones: set[str] = set()
    kinds = {"returns": 0, "top_ups": 0, "redemptions": 0, "points_payments": 0}
    for tenant in demo_tenants():
        with tenant_context(tenant):
            members = db.session.scalars(select(Member)).all()
            assert len(members) == SMALL

            # Every balance is the sum of its entries and of its lots, and never negative.
            points_entries, points_lots = per_member(PointsEntry.points, PointsEntry), per_member(PointsLot.points,
                                                                                                  PointsLot)
            sv_entries = per_member(StoredValueEntry.principal_fen + StoredValueEntry.bonus_fen, StoredValueEntry)
            sv_lots = per_member(StoredValueLot.principal_fen + StoredValueLot.bonus_fen, StoredValueLot)
            for m in members:
                assert m.points_balance == points_entries.get(m.id, 0) == points_lots.get(m.id, 0) >= 0, m.name
                assert m.stored_value_fen == sv_entries.get(m.id, 0) == sv_lots.get(m.id, 0) >= 0, m.name
            assert not db.session.scalar(select(func.count()).select_from(PointsLot).where(PointsLot.points < 0))

            # Everyone was brought up to today: tiers evaluated, due points released.
            assert set(db.session.scalars(select(TierAccount.evaluated_through))) == {TODAY}
            assert not db.session.scalar(select(func.count(PointsLot.id)).where(
                PointsLot.released.is_(False), PointsLot.available_on <= TODAY))

            # Twelve months of history, under a program in force from before it started.
            assert db.session.scalar(select(func.min(ProgramVersion.effective_from))) < start
            dates = db.session.execute(select(func.min(Purchase.business_date),
                                              func.max(Purchase.business_date))).one()
            assert start <= dates[0] and dates[1] <= TODAY

            # People who look real, enrolled by a clerk or VIP specialist of their store.
            staff = {u.id: u for u in db.session.scalars(select(StaffUser))}
            for m in members:
                assert re.fullmatch(r"\+861[3-9]\d{9}", m.phone), m.phone  # E.164
                assert 2 <= len(m.name) <= 3
                assert staff[m.enrolled_by].role in (Role.CLERK, Role.VIP_SPECIALIST)
                assert staff[m.enrolled_by].store_id == m.enrolled_store_id
                assert m.responsible_staff_id == m.enrolled_by
            phones |= {m.phone for m in members}
            week = {(TODAY + dt.timedelta(days=d)).strftime("%m-%d") for d in range(7)}
            assert any(m.birthday.strftime("%m-%d") in week for m in members)
            assert 0.5 <= sum(m.marketing_consent for m in members) / len(members) <= 0.9
            assert db.session.scalar(select(func.count(Purchase.id))) > SMALL // 2

            vertical = tenant.vertical
            if vertical == "clothing":
                above = db.session.scalar(select(func.count(Member.id)).join(
                    TierAccount, TierAccount.id == Member.tier_account_id).where(TierAccount.tier_code != "regular"))
                assert above > 0
            if vertical in ("clothing", "mall"):  # a 7-day return window: recent purchases are pending
                assert db.session.scalar(select(func.sum(PointsLot.points)).where(PointsLot.available_on > TODAY))
            if vertical == "hotel":  # members join with a top-up that waives the card fee
                assert db.session.scalar(select(func.count(TopUp.id)))
            if vertical == "mall":  # the cinema does not honour the card
                cinema = db.session.scalar(select(Store.id).where(Store.code == "f6-cinema"))
                assert not db.session.scalar(select(func.count(Purchase.id)).where(Purchase.store_id == cinema))
            kinds["returns"] += db.session.scalar(select(func.count(PurchaseReturn.id)))
            kinds["top_ups"] += db.session.scalar(select(func.count(TopUp.id)))
            kinds["redemptions"] += db.session.scalar(select(func.count(Redemption.id)))
            kinds["points_payments"] += db.session.scalar(select(func.count(Purchase.id))
                                                          .where(Purchase.points_used > 0))
    assert all(kinds.values()), kinds
    assert len(phones) == SMALL * len(DEMO_TENANTS)  # unique across the demo tenants, too
    assert first["demo-clothing"]["pending"]

    wipe(owner_engine)
    seed_demo(members=SMALL, today=TODAY)
    assert aggregates() == first


def test_seeding_again_only_adds_the_missing_members_and_the_command_reports_progress(app, app_ctx):
    seed_demo(members=6, today=TODAY)
    before = aggregates()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["demo", "seed", "--members", "9", "--today", TODAY.isoformat()])
    assert out.exit_code == 0, out.output
    assert "demo-hotel: 9/9 members" in out.output
    assert "demo-hotel: 3 members," in out.output
    after = aggregates()
    for slug, data in before.items():
        assert len(after[slug]["members"]) == 9
        kept = {m[0] for m in data["members"]}
        assert kept <= {m[0] for m in after[slug]["members"]}
    again = runner.invoke(args=["demo", "seed", "--members", "9", "--today", TODAY.isoformat()])
    assert again.exit_code == 0 and "Seeding" not in again.output and "/t/demo-mall/login" in again.output
    assert aggregates() == after


def test_a_member_whose_history_fails_is_skipped_and_the_rest_of_the_batch_is_kept(app_ctx, monkeypatch):
    from tenants.demo.history import seed_history
    from tenants.demo.posting import Poster
    from tenants.services.errors import ServiceError

    seed_demo(members=0, today=TODAY)
    real_enrol = Poster.enrol

    def enrol(self, lives, plan):
        if plan.index == 2:
            raise ServiceError("validation_failed", fields={"phone": "refused for this test"})
        return real_enrol(self, lives, plan)

    monkeypatch.setattr(Poster, "enrol", enrol)
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo-clothing"))
    with tenant_context(tenant):
        stats = seed_history(vertical="clothing", members=5, today=TODAY)
        assert (stats.members, stats.failed) == (4, 1)
        assert db.session.scalar(select(func.count(Member.id))) == 4
        assert set(db.session.scalars(select(TierAccount.evaluated_through))) == {TODAY}
