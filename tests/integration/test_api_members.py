"""Members, purchases, returns, top-ups and redemptions through the JSON API, as a POS would use them."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry
from tenants.models import Member, PointsEntry, Purchase
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tests.factories import make_tenant

pytestmark = pytest.mark.tenant_clock  # dates matter here: run either side of the UTC date change

_keys = itertools.count()


@pytest.fixture
def pos(app_ctx, client):
    """A clothing shop (program since 2025) and a POS calling the API with its key."""
    tenant = make_tenant("api-shop", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        token = create_api_key("Front POS", created_by=None).token
        db.session.commit()

    class Pos:
        def __init__(self, token):
            self.token = token
            self.tenant = tenant

        def headers(self, key=None, **extra):
            return {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key or f"k-{next(_keys)}",
                    **extra}

        def get(self, path, **extra):
            return client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {self.token}", **extra})

        def post(self, path, body, key=None, **extra):
            return client.post(f"/api/v1{path}", json=body, headers=self.headers(key, **extra))

        def patch(self, path, body, key=None):
            return client.patch(f"/api/v1{path}", json=body, headers=self.headers(key))

    return Pos(token)


def now_iso(days_ago: int = 0) -> str:
    return (dt.datetime.now(ZoneInfo("Asia/Shanghai")) - dt.timedelta(days=days_ago)).isoformat()


def enrol(pos, phone="13800138000", **extra) -> dict:
    response = pos.post("/members", {"name": "王芳", "phone": phone, **extra})
    assert response.status_code == 201, response.json
    return response.json


def test_a_pos_enrols_finds_and_updates_a_member(pos):
    member = enrol(pos, birthday="1990-05-20", marketing_consent=True)
    assert isinstance(member["id"], str) and member["tier"]["code"] == "regular"
    card = member["cards"][0]["number"]
    assert pos.get("/members?phone=138-0013-8000").json["id"] == member["id"]
    assert pos.get(f"/members?card={card}").json["id"] == member["id"]
    patched = pos.patch(f"/members/{member['id']}", {"name": "王芳芳", "notes": "prefers evening calls"})
    assert patched.status_code == 200 and patched.json["name"] == "王芳芳"
    unchanged = pos.patch(f"/members/{member['id']}", {"name": "王芳芳"})  # nothing changed: nothing logged
    assert unchanged.status_code == 200
    with tenant_context(pos.tenant):  # which fields changed, through which key; never the values
        logged = db.session.scalars(select(AuditEntry).filter_by(action="member.updated")).all()
        assert [(e.target, e.details["fields"], e.actor_id) for e in logged] == [
            (f"member:{member['id']}", ["name", "notes"], None)]
        assert logged[0].details["api_key"] and "王芳芳" not in str(logged[0].details)
    duplicate = pos.post("/members", {"name": "又一个", "phone": "13800138000"})
    assert duplicate.status_code == 409 and duplicate.json["error"]["code"] == "duplicate_phone"
    assert "已有会员使用该手机号码" in duplicate.json["error"]["message"]


def test_a_purchase_return_top_up_and_redemption_round_trip(pos):
    member = enrol(pos)
    mid = member["id"]
    preview = pos.post("/purchases/preview", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 15000}]})
    assert preview.status_code == 200 and preview.json["preview"] is True and preview.json["points_earned"] == 150
    bought = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 15000}],
                                     "tenders": [{"kind": "wechat", "amount_fen": 15000}], "receipt_no": "R-1"})
    assert bought.status_code == 201, bought.json
    assert bought.json["points_status"] == "pending" and bought.json["lines"][0]["points"] == 150
    assert pos.get(f"/purchases/{bought.json['id']}").json["points_earned"] == 150
    back = pos.post(f"/purchases/{bought.json['id']}/returns", {"lines": {"1": 1}})
    assert back.status_code == 201 and back.json["points_taken_back"] == 150 and back.json["refund_fen"] == 15000
    topped = pos.post(f"/members/{mid}/top-ups", {"amount_fen": 100000})
    assert topped.status_code == 201 and topped.json["credited_fen"] >= 100000
    adjusted = pos.post(f"/members/{mid}/points-adjustments", {"delta": 500, "reason": "goodwill"})
    assert adjusted.status_code == 201 and adjusted.json["points_balance"] == 500
    ledger = pos.get(f"/members/{mid}/ledger?limit=2")
    assert [e["kind"] for e in ledger.json["items"]] == ["adjust", "return_take_back"]
    assert ledger.json["next_cursor"]
    rest = pos.get(f"/members/{mid}/ledger?limit=10&cursor={ledger.json['next_cursor']}")
    assert [e["kind"] for e in rest.json["items"]] == ["earn"]
    tier = pos.get(f"/members/{mid}/tier")
    assert tier.status_code == 200 and tier.json["next_tier"] == "silver"
    assert tier.json["reasons"][0]["code"]


def test_a_retried_purchase_is_recorded_once_and_replays_the_answer(pos):
    mid = enrol(pos)["id"]
    body = {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 9900}]}
    first = pos.post("/purchases", body, key="till-7-receipt-88")
    again = pos.post("/purchases", body, key="till-7-receipt-88")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    other = pos.post("/purchases", {**body, "lines": [{"line_id": "1", "regular_fen": 100}]}, key="till-7-receipt-88")
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    with tenant_context(pos.tenant):
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 1


@pytest.mark.parametrize("body, status, code", [
    ({"lines": [{"line_id": "1", "regular_fen": 100}]}, 422, "validation_failed"),  # no member
    ({"member_id": "x", "lines": [{"line_id": "1", "regular_fen": 100}]}, 422, "validation_failed"),
    ({"member_id": "1", "lines": []}, 422, "validation_failed"),
    ({"member_id": "1", "lines": [{"line_id": "1", "regular_fen": -5}]}, 422, "validation_failed"),
    ({"member_id": "1", "lines": [{"line_id": "1", "regular_fen": 100}], "colour": "red"}, 422, "validation_failed"),
])
def test_malformed_purchases_get_a_clear_4xx_and_write_nothing(pos, body, status, code):
    mid = enrol(pos)["id"]
    if body.get("member_id") == "1":
        body = {**body, "member_id": mid}
    response = pos.post("/purchases", body)
    assert response.status_code == status and response.json["error"]["code"] == code
    assert response.json["error"]["message"] and response.json["error"].get("fields")
    with tenant_context(pos.tenant):
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 0
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0


def test_broken_json_and_business_rules_are_refused_in_the_callers_language(pos, client):
    mid = enrol(pos)["id"]
    broken = client.post("/api/v1/purchases", data="{not json", headers={**pos.headers(),
                                                                          "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json["error"]["code"] == "malformed_json"
    too_many = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 10000}],
                                       "tenders": [{"kind": "points", "points": 5000}]},
                        **{"Accept-Language": "en"})
    assert too_many.status_code == 422 and too_many.json["error"]["code"] == "insufficient_points"
    assert too_many.json["error"]["message"] == "Not enough points: 0 available, 5000 needed."
    old = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 100}],
                                  "business_at": now_iso(days_ago=30)})
    assert old.status_code == 422 and old.json["error"]["code"] == "business_time_too_old"
    late = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 100}],
                                   "business_at": now_iso(days_ago=2)})
    two_days_ago = (dt.datetime.now(ZoneInfo("Asia/Shanghai")) - dt.timedelta(days=2)).date().isoformat()
    assert late.status_code == 201 and late.json["business_date"] == two_days_ago  # an offline sale synced later


def test_another_tenants_key_sees_not_found_with_the_same_body_as_a_missing_member(pos, app_ctx, client):
    mid = enrol(pos)["id"]
    other = make_tenant("other-shop", vertical="pharmacy")
    with tenant_context(other):
        other_token = create_api_key("Their POS", created_by=None).token
        db.session.commit()
    auth = {"Authorization": f"Bearer {other_token}"}
    foreign = client.get(f"/api/v1/members/{mid}", headers=auth)
    missing = client.get("/api/v1/members/12345", headers=auth)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_data() == missing.get_data()
    write = client.post("/api/v1/purchases", json={"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 100}]},
                        headers={**auth, "Idempotency-Key": "x-1"})
    assert write.status_code == 404
    with tenant_context(pos.tenant):
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 0
        assert db.session.get(Member, (pos.tenant.id, int(mid))).points_balance == 0


def test_a_card_reported_lost_through_the_api_is_refused_and_replaced(pos):
    member = enrol(pos)
    number = member["cards"][0]["number"]
    lost = pos.post(f"/cards/{number}/loss", {})
    assert lost.status_code == 200 and lost.json["status"] == "lost"
    early = pos.post(f"/cards/{number}/replacement", {})
    assert early.status_code == 422 and early.json["error"]["code"] == "replacement_too_early"


def test_a_physical_card_is_issued_and_members_are_linked_into_a_couple_card(pos):
    first, second = enrol(pos)["id"], enrol(pos, phone="13900139000")["id"]
    card = pos.post(f"/members/{first}/cards", {"number": "NO0001234", "pin": "2468"})
    assert card.status_code == 201 and card.json["kind"] == "physical" and card.json["status"] == "active"
    again = pos.post(f"/members/{second}/cards", {"number": "NO0001234"})
    assert again.status_code == 422 and again.json["error"]["fields"]["number"]
    refused = pos.post("/tier-links", {"member_ids": [first, second], "kind": "couple"})
    assert refused.status_code == 422 and "kind" in refused.json["error"]["fields"]  # not offered by the preset
    with tenant_context(pos.tenant):
        from tenants.presets import load_preset
        from tenants.services.programs import post_program_version

        rules = {**load_preset("clothing"), "linked_cards": {"kinds": ["couple"], "max_members": 2}}
        post_program_version(rules, dt.date(2025, 1, 1), "couple cards")
    linked = pos.post("/tier-links", {"member_ids": [first, second], "kind": "couple"})
    assert linked.status_code == 201 and sorted(linked.json["member_ids"]) == sorted([first, second])
    assert pos.get(f"/members/{first}").json["tier"]["linked"] == "couple"
    with tenant_context(pos.tenant):  # one entry per member, each naming the other
        logged = db.session.scalars(select(AuditEntry).filter_by(action="tier.linked")).all()
        assert sorted((e.target, tuple(e.details["with_members"])) for e in logged) == sorted(
            [(f"member:{first}", (second,)), (f"member:{second}", (first,))])


def test_card_loss_exchange_and_closure_through_the_api_are_in_the_audit_log(pos):
    member = enrol(pos, phone="13900139111", pin="2468")
    number = member["cards"][0]["number"]
    exchanged = pos.post(f"/cards/{number}/exchange", {})
    assert exchanged.status_code in (200, 201), exchanged.json
    new_number = exchanged.json["number"]
    closed = pos.post(f"/cards/{new_number}/closure", {"identity_verified": True, "pin": "2468"})
    assert closed.status_code == 200, closed.json
    other = enrol(pos, phone="13900139112")
    assert pos.post(f"/cards/{other['cards'][0]['number']}/loss", {}).status_code == 200
    with tenant_context(pos.tenant):
        logged = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("card.%"))
                                    .order_by(AuditEntry.at, AuditEntry.id)).all()
        assert [e.action for e in logged] == ["card.exchanged", "card.closed", "card.reported_lost"]
        assert [e.details["member_id"] for e in logged] == [member["id"], member["id"], other["id"]]
        assert all(e.details["api_key"] for e in logged) and logged[1].details["identity_verified"] is True
