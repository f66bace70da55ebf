"""Opposing operations on linked (couple/family) members at once, through the JSON API on PostgreSQL: purchases
by one partner, returns, purchases and point adjustments by the other, and link/unlink of a second couple while
its members buy. No request fails with a 5xx (a deadlock or serialisation failure is retried or refused, never
shown), and afterwards balances equal ledger sums and every account's tier spend is its members' net spend."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from saas.extensions import db
from tenants.models import Member, PointsEntry, PointsLot, TierAccount, TierActivityRow, TierChangeRow
from tenants.presets import load_preset
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tenants.services.programs import post_program_version
from tests.factories import make_tenant

SH = ZoneInfo("Asia/Shanghai")
_keys = itertools.count()


class Api:
    def __init__(self, app, token):
        self.app, self.token = app, token

    def call(self, method, path, body=None):
        client = self.app.test_client()
        return client.open(f"/api/v1{path}", method=method, json=body if body is not None else {},
                           headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": f"race-{next(_keys)}"})


def backdated(days: int) -> str:
    return (dt.datetime.now(SH) - dt.timedelta(days=days)).isoformat()


def purchase_body(member_id: str, fen: int, line: str = "1", days_ago: int = 0) -> dict:
    body = {"member_id": member_id, "lines": [{"line_id": line, "regular_fen": fen}]}
    return {**body, "business_at": backdated(days_ago)} if days_ago else body


def test_opposing_operations_on_linked_members_at_once_never_fail_and_keep_every_total(app, app_ctx):
    tenant = make_tenant("linked-race", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        rules = {**load_preset("clothing"), "linked_cards": {"kinds": ["couple", "family"], "max_members": 4}}
        post_program_version(rules, dt.date(2025, 1, 1), "linked cards")
        token = create_api_key("POS", created_by=None).token
        db.session.commit()
    api = Api(app, token)
    ids = []
    for n in range(4):
        made = api.call("POST", "/members", {"name": f"成员{n}", "phone": f"1380013800{n}"})
        assert made.status_code == 201, made.json
        ids.append(made.json["id"])
    x, y, z, w = ids
    assert api.call("POST", "/tier-links", {"member_ids": [x, y], "kind": "couple"}).status_code == 201
    assert api.call("POST", "/tier-links", {"member_ids": [z, w], "kind": "couple"}).status_code == 201
    assert api.call("POST", f"/members/{y}/points-adjustments", {"delta": 5000, "reason": "opening"}).status_code \
        == 201
    # Synced a week late (past the 7-day return window): their spend counts for the couple's tier today, and the
    # first operation of today evaluates it. X's ¥1,200 alone reaches silver (¥1,000), whatever Y returns.
    assert api.call("POST", "/purchases", purchase_body(x, 120000, days_ago=7)).status_code == 201
    y_purchases = []
    for _ in range(6):
        bought = api.call("POST", "/purchases", purchase_body(y, 15000, "a", days_ago=7))
        assert bought.status_code == 201, bought.json
        y_purchases.append(bought.json["id"])
    with tenant_context(tenant):
        assert db.session.scalar(select(func.count()).select_from(TierChangeRow)) == 0

    work = []
    work += [("POST", "/purchases", purchase_body(x, 9000)) for _ in range(10)]
    work += [("POST", f"/purchases/{pid}/returns", {"lines": {"a": 1}}) for pid in y_purchases]
    work += [("POST", "/purchases", purchase_body(y, 7000)) for _ in range(4)]
    work += [("POST", f"/members/{y}/points-adjustments", {"delta": -100, "reason": "gift"}) for _ in range(4)]
    work += [("POST", "/purchases", purchase_body(member, 8000)) for member in (z, w, z, w, z, w)]
    work += [("LINKS", None, None)]  # one thread: unlink and relink the second couple, twice

    barrier = threading.Barrier(len(work))
    answers: list = [None] * len(work)

    def run(i):
        method, path, body = work[i]
        barrier.wait()
        if method == "LINKS":
            answers[i] = [api.call(m, p, b) for m, p, b in [
                ("DELETE", f"/members/{z}/tier-link", {}), ("DELETE", f"/members/{w}/tier-link", {}),
                ("POST", "/tier-links", {"member_ids": [z, w], "kind": "couple"}),
                ("DELETE", f"/members/{w}/tier-link", {}), ("DELETE", f"/members/{z}/tier-link", {}),
                ("POST", "/tier-links", {"member_ids": [w, z], "kind": "family"})]]
        else:
            answers[i] = [api.call(method, path, body)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    flat = [(work[i][1], r.status_code, r.get_json()) for i, rs in enumerate(answers) for r in rs]
    assert all(status < 500 for _p, status, _b in flat), [a for a in flat if a[1] >= 500]
    assert all(status in (200, 201) for _p, status, _b in flat), [a for a in flat if a[1] not in (200, 201)]

    with tenant_context(tenant):
        db.session.expire_all()
        for member in db.session.scalars(select(Member)):
            entries = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                                        .where(PointsEntry.member_id == member.id))
            lots = db.session.scalar(select(func.coalesce(func.sum(PointsLot.points), 0))
                                     .where(PointsLot.member_id == member.id))
            assert member.points_balance == entries == lots >= 0, member.name
        accounts = {m.id: m.tier_account_id for m in db.session.scalars(select(Member))}
        assert accounts[int(x)] == accounts[int(y)] and accounts[int(z)] == accounts[int(w)]
        assert db.session.get(TierAccount, (tenant.id, accounts[int(z)])).kind == "family"
        # The couple's tier spend is both partners' net spend: 1200 + 6 × 150 − 6 × 150 + 10 × 90 + 4 × 70 yuan.
        spend = db.session.scalar(select(func.coalesce(func.sum(TierActivityRow.spend_fen), 0))
                                  .where(TierActivityRow.member_id.in_([int(x), int(y)])))
        assert spend == 120000 + 10 * 9000 + 4 * 7000
        couple = db.session.get(TierAccount, (tenant.id, accounts[int(x)]))
        assert couple.tier_code == "silver"  # upgraded by the first of the racing operations, and only once
        upgrades = db.session.scalars(select(TierChangeRow.to_tier).where(
            TierChangeRow.tier_account_id == couple.id, TierChangeRow.action == "upgrade")).all()
        assert upgrades == ["silver"], upgrades
