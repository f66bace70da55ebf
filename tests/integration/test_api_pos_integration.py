"""What a POS integrator found missing or broken in the API: sign-up top-ups and fees, the figures a
till shows, stores of another tenant, odd input that must be a 4xx, and the program's defaults."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from saas.extensions import db
from tenants.models import Card, Member, PurchaseReturn, Redemption, Store, StoredValueEntry, TopUp
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tests.factories import make_tenant

pytestmark = pytest.mark.tenant_clock

_keys = itertools.count()


class Pos:
    """A POS calling the API with its tenant's key."""

    def __init__(self, client, tenant):
        self.client = client
        self.tenant = tenant
        with tenant_context(tenant):
            self.token = create_api_key("Front POS", created_by=None).token
            self.stores = [s.id for s in db.session.scalars(select(Store).order_by(Store.code))]
            db.session.commit()

    def headers(self, **extra):
        return {"Authorization": f"Bearer {self.token}", "Idempotency-Key": f"k-{next(_keys)}", **extra}

    def get(self, path, **extra):
        return self.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {self.token}", **extra})

    def post(self, path, body, **extra):
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers(**extra))


@pytest.fixture
def pos(app_ctx, client):
    return Pos(client, make_tenant("pos-shop", vertical="clothing", program_from=dt.date(2025, 1, 1)))


@pytest.fixture
def hotel(app_ctx, client):
    """Hotel preset: a ¥38 card fee waived by a ¥500 top-up; ¥1000 → rooms at 8折."""
    return Pos(client, make_tenant("pos-hotel", vertical="hotel", program_from=dt.date(2025, 1, 1)))


@pytest.fixture
def other_store(app_ctx):
    other = make_tenant("pos-other", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(other):
        return db.session.scalars(select(Store.id)).first()


def enrol(pos, phone="13800138000", **extra) -> dict:
    response = pos.post("/members", {"name": "王芳", "phone": phone, **extra})
    assert response.status_code == 201, response.json
    return response.json


def count(tenant, model) -> int:
    with tenant_context(tenant):
        return db.session.scalar(select(func.count()).select_from(model))


# --- 500s that must be a 4xx with a message ---------------------------------------------------------------


def test_a_program_version_beyond_the_column_range_is_a_plain_404(pos):
    for version in ("3000000000", "99999999999999999999"):
        response = pos.get(f"/program/versions/{version}")
        assert response.status_code == 404, response.json
        assert response.json["error"]["code"] == "not_found" and response.json["error"]["message"]
    page = pos.get("/program/versions?cursor=3000000000")
    assert page.status_code == 200 and [v["version"] for v in page.json["items"]] == [1]


def test_a_member_id_beyond_the_column_range_is_a_plain_404(pos):
    response = pos.get("/members/99999999999999999999")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_enrolling_in_another_tenants_store_is_refused_on_the_field(pos, other_store):
    response = pos.post("/members", {"name": "王芳", "phone": "13800138000", "store_id": str(other_store)},
                        **{"Accept-Language": "en"})
    assert response.status_code == 422, response.json
    assert response.json["error"]["fields"] == {"store_id": "Unknown store."}
    assert count(pos.tenant, Member) == 0


@pytest.mark.parametrize("kind", [{}, [], 5, None, True])
def test_a_tender_kind_that_is_not_text_is_a_422_on_its_field(pos, kind):
    mid = enrol(pos)["id"]
    response = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 100}],
                                       "tenders": [{"kind": kind}]}, **{"Accept-Language": "en"})
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_failed"
    assert response.json["error"]["fields"] == {"tenders.0.kind": "Must be text."}


# --- stores: of this tenant only ----------------------------------------------------------------------------


def _bought(pos, mid) -> str:
    bought = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 15000}]})
    assert bought.status_code == 201, bought.json
    return bought.json["id"]


@pytest.mark.parametrize("whose", ["another tenant's", "nobody's"])
def test_top_ups_cards_returns_and_redemptions_refuse_a_store_that_is_not_the_tenants(pos, other_store, whose):
    store = str(other_store) if whose == "another tenant's" else "4242424242"
    mid = enrol(pos)["id"]
    purchase = _bought(pos, mid)
    en = {"Accept-Language": "en"}
    refusals = [
        pos.post(f"/members/{mid}/top-ups", {"amount_fen": 100000, "store_id": store}, **en),
        pos.post(f"/members/{mid}/cards", {"number": "NO0001234", "store_id": store}, **en),
        pos.post(f"/purchases/{purchase}/returns", {"lines": {"1": 1}, "store_id": store}, **en),
        pos.post(f"/members/{mid}/redemptions", {"kind": "catalogue", "code": "tote-bag", "store_id": store}, **en),
    ]
    for response in refusals:
        assert response.status_code == 422, response.json
        assert response.json["error"]["fields"] == {"store_id": "Unknown store."}
    assert [count(pos.tenant, model) for model in (TopUp, PurchaseReturn, Redemption)] == [0, 0, 0]
    with tenant_context(pos.tenant):
        assert db.session.scalar(select(func.count()).where(Card.kind == "physical")) == 0


def test_the_tenants_own_store_is_recorded_on_top_ups_cards_and_returns(pos):
    store = str(pos.stores[1])
    mid = enrol(pos, store_id=store)["id"]
    purchase = _bought(pos, mid)
    assert pos.post(f"/members/{mid}/top-ups", {"amount_fen": 100000, "store_id": store}).status_code == 201
    assert pos.post(f"/members/{mid}/cards", {"number": "NO0001234", "store_id": store}).status_code == 201
    assert pos.post(f"/purchases/{purchase}/returns", {"lines": {"1": 1}, "store_id": store}).status_code == 201
    with tenant_context(pos.tenant):
        for model in (TopUp, PurchaseReturn):
            assert db.session.scalars(select(model.store_id)).all() == [int(store)]
        assert db.session.scalars(select(Card.store_id).where(Card.kind == "physical")).all() == [int(store)]


# --- the store keys' migration on a database that holds rows -----------------------------------------------

STORE_TABLES = ("cards", "top_ups", "purchase_returns", "redemptions")


def _revision_before_store_keys() -> str:
    from alembic.script import ScriptDirectory

    from saas.config import ROOT

    return ScriptDirectory(str(ROOT / "migrations")).get_revision("0008").down_revision


def _one_row_with_a_store_in_each_table(tenant) -> int:
    """Through the services: a card, a top-up, a return and a redemption, all at the tenant's second store."""
    from tenants.services.cards import issue_physical_card
    from tenants.services.members import enroll_member
    from tenants.services.purchases import LineIn, record_purchase, record_return
    from tenants.services.stored_value import top_up

    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))  # the tenant's business day
    with tenant_context(tenant):
        store = db.session.scalars(select(Store.id).order_by(Store.code.desc())).first()
        member = enroll_member(business_at=now, name="王芳", phone="13800138000", store_id=store)
        issue_physical_card(member.id, "NO0001234", now.date(), store_id=store)
        top_up(member_id=member.id, amount_fen=100000, business_at=now, store_id=store)
        bought = record_purchase(member_id=member.id, lines=[LineIn("1", 15000)], tenders=[], business_at=now)
        record_return(purchase_id=int(bought["id"]), member_id=None, lines={"1": 1}, business_at=now, store_id=store)
        db.session.add(Redemption(member_id=member.id, store_id=store, business_date=now.date(), kind="catalogue",
                                  code="tote-bag", points=0, program_version=1))
        db.session.commit()
        return store


def _store_ids(conn, tenant_id: int) -> dict[str, list]:
    """The store of each table's row (cards: the physical one) of the tenant."""
    return {table: conn.execute(text(f"SELECT store_id FROM {table} WHERE tenant_id = :t"
                                     + (" AND kind = 'physical'" if table == "cards" else "")),
                                {"t": tenant_id}).scalars().all()
            for table in STORE_TABLES}


def test_the_store_keys_migration_nulls_dangling_stores_and_keeps_good_ones_on_postgresql(app, owner_engine):
    """Rows whose store is another tenant's or nobody's (possible before the keys) lose the store, not the row."""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        keep, dangle = make_tenant("keeps-store"), make_tenant("loses-store")
        foreign = _one_row_with_a_store_in_each_table(keep)  # a good store of one tenant, foreign to the other
        _one_row_with_a_store_in_each_table(dangle)
        db.session.remove()
        downgrade(revision=_revision_before_store_keys())
    with owner_engine.begin() as conn:  # as the owner, inside the tenant (row-level security is FORCEd)
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(dangle.id)})
        for table, bad in zip(STORE_TABLES, (foreign, 4242424242, foreign, 4242424242), strict=True):
            conn.execute(text(f"UPDATE {table} SET store_id = :bad WHERE store_id IS NOT NULL"), {"bad": bad})
    with app.app_context():
        upgrade()
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(dangle.id)})
        assert _store_ids(conn, dangle.id) == {table: [None] for table in STORE_TABLES}
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(keep.id)})
        assert _store_ids(conn, keep.id) == {table: [foreign] for table in STORE_TABLES}
        forced = dict(conn.execute(text("SELECT relname, relforcerowsecurity FROM pg_class WHERE relname IN "
                                        "('cards', 'top_ups', 'purchase_returns', 'redemptions', 'stores')")).all())
        assert set(forced.values()) == {True}
    with owner_engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, false)"), {"t": str(keep.id)})
        with pytest.raises(IntegrityError):
            conn.execute(text("UPDATE top_ups SET store_id = 4242424242"))
        conn.rollback()


def test_the_store_keys_migration_runs_on_a_populated_sqlite_database(tmp_path):
    from flask_migrate import downgrade, upgrade

    from saas import create_app

    url = f"sqlite:///{tmp_path / 'populated.db'}"
    sqlite_app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URI": url, "REDIS_URL": None,
                             "TESTING": True})
    with sqlite_app.app_context():
        upgrade()
        keep, dangle = make_tenant("keeps-store"), make_tenant("loses-store")
        good = _one_row_with_a_store_in_each_table(keep)
        _one_row_with_a_store_in_each_table(dangle)
        db.session.remove()
        downgrade(revision=_revision_before_store_keys())
        with db.engine.begin() as conn:
            for table, bad in zip(STORE_TABLES, (good, 4242424242, good, 4242424242), strict=True):
                conn.execute(text(f"UPDATE {table} SET store_id = :bad WHERE tenant_id = :t AND store_id IS NOT NULL"),
                             {"bad": bad, "t": dangle.id})
        upgrade()
        with db.engine.connect() as conn:
            assert _store_ids(conn, dangle.id) == {table: [None] for table in STORE_TABLES}
            assert _store_ids(conn, keep.id) == {table: [good] for table in STORE_TABLES}
            keys = {table: [fk["referred_table"] for fk in inspect(conn).get_foreign_keys(table)]
                    for table in STORE_TABLES}
            assert all("stores" in referred for referred in keys.values()), keys
        db.session.remove()
        db.engine.dispose()


# --- the sign-up's top-up and card fee; the figures a till shows --------------------------------------------


def test_a_sign_up_top_up_is_credited_with_its_bonus_and_waives_the_card_fee(hotel):
    member = enrol(hotel, real_name_verified=True, id_doc_type="id_card", id_doc_number="110101199003070000",
                   top_up_fen=100000)
    assert (member["card_fee_fen"], member["card_fee_waived"]) == (0, True)
    assert member["top_up"]["amount_fen"] == 100000 and member["top_up"]["credited_fen"] == 100000
    assert member["top_up"]["unlocked_price_bp"] == {"rooms": 8000} and member["top_up"]["points_earned"] == 0
    assert member["stored_value"]["balance_fen"] == 100000
    with tenant_context(hotel.tenant):
        assert db.session.scalar(select(func.sum(StoredValueEntry.principal_fen))) == 100000
        assert db.session.scalar(select(TopUp.store_id)) is None


def test_a_sign_up_top_up_of_a_clothing_shop_gets_its_bonus(pos):
    member = enrol(pos, top_up_fen=100000, store_id=str(pos.stores[0]))
    assert member["top_up"]["bonus_fen"] == 10000 and member["stored_value"]["balance_fen"] == 110000
    assert (member["card_fee_fen"], member["card_fee_waived"]) == (0, False)  # the card has no fee
    with tenant_context(pos.tenant):
        assert db.session.scalar(select(TopUp.store_id)) == pos.stores[0]


def test_the_card_fee_a_sign_up_pays_is_reported_and_recorded_as_card_income(hotel):
    member = enrol(hotel, real_name_verified=True, card_fee_paid_fen=3800)
    assert (member["card_fee_fen"], member["card_fee_waived"], member["top_up"]) == (3800, False, None)
    with tenant_context(hotel.tenant):
        assert db.session.scalar(select(func.sum(Card.fee_fen))) == 3800


def test_a_sign_up_top_up_that_is_refused_enrols_nobody(hotel):
    refused = hotel.post("/members", {"name": "王芳", "phone": "13800138000", "real_name_verified": True,
                                      "top_up_fen": 50000, "store_id": "4242424242"})
    assert refused.status_code == 422 and refused.json["error"]["fields"] == {"store_id": "未知的门店。"}
    assert count(hotel.tenant, Member) == count(hotel.tenant, TopUp) == 0


def test_a_top_up_says_it_earns_no_points_and_gives_the_balances(pos):
    mid = enrol(pos)["id"]
    with tenant_context(pos.tenant):
        from tenants.services.points import adjust_points

        adjust_points(member_id=int(mid), delta=700, reason="goodwill", business_at=dt.datetime.now(dt.UTC))
        db.session.commit()
    topped = pos.post(f"/members/{mid}/top-ups", {"amount_fen": 100000})
    assert topped.status_code == 201
    assert topped.json["points_earned"] == 0
    assert topped.json["balances"] == {"points_balance": 700, "stored_value_fen": 110000}


def test_the_member_read_shows_the_points_shortfall_of_returns(pos):
    mid = enrol(pos)["id"]
    assert pos.get(f"/members/{mid}").json["shortfall"] == {"points": 0, "deducted_fen": 0, "written_off_fen": 0}
    with tenant_context(pos.tenant):  # bought ¥150 (150 points, available at once), used them, returned it all
        from tenants.presets import load_preset
        from tenants.services.programs import post_program_version

        rules = load_preset("clothing")
        rules["earning"]["pending_days"] = 0
        post_program_version(rules, dt.date(2025, 1, 1), "no return window")
    purchase = _bought(pos, mid)
    spent = pos.post(f"/members/{mid}/points-adjustments", {"delta": -150, "reason": "used elsewhere"})
    assert spent.status_code == 201, spent.json
    back = pos.post(f"/purchases/{purchase}/returns", {"lines": {"1": 1}})
    assert back.status_code == 201 and back.json["shortfall_points"] == 150
    read = pos.get(f"/members/{mid}").json["shortfall"]
    assert read == {"points": back.json["shortfall_points"], "deducted_fen": back.json["deducted_fen"],
                    "written_off_fen": back.json["written_off_fen"]}
    assert read["deducted_fen"] > 0  # the clothing rule: deducted from the refund


def test_the_top_tier_still_shows_its_cumulative_progress(pos):
    mid = enrol(pos)["id"]
    first = pos.get(f"/members/{mid}").json["tier"]["progress"]
    assert first == [{"measure": "spend", "window": "lifetime", "have": 0, "pending": 0, "window_end": None}]
    with tenant_context(pos.tenant):  # HQ puts the member on the top tier, then they keep buying
        from tenants.presets import load_preset
        from tenants.services.programs import post_program_version

        rules = load_preset("clothing")
        rules["earning"]["pending_days"] = 0
        post_program_version(rules, dt.date(2025, 1, 1), "no return window")
    for _ in range(2):
        _bought(pos, mid)
    big = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 3_000_000}]})
    assert big.json["tier_after"] == "diamond"
    after = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 10000}]})
    assert after.status_code == 201
    status = pos.get(f"/members/{mid}/tier").json
    assert status["next_tier"] is None and status["upgrades"] == []
    spend = 2 * 15000 + 3_000_000 + after.json["spend_fen"]
    assert status["progress"] == [{"measure": "spend", "window": "lifetime", "have": spend, "pending": 0,
                                   "window_end": None}]
    assert pos.get(f"/members/{mid}").json["tier"]["progress"] == status["progress"]


# --- the program: its rule messages in the caller's language ------------------------------------------------


@pytest.mark.parametrize("language, tiers_message, abc_message", [
    ("zh-CN", "等级代码不能重复。", "A、B、C 三类的占比之和必须为 10000 bp（100%）。"),
    ("en", "Tier codes must be unique.", "The A, B and C shares must add up to 10000 bp (100%)."),
])
def test_program_rule_messages_follow_accept_language(pos, language, tiers_message, abc_message):
    rules = pos.get("/program").json["rules"]
    rules["tiers"].append(dict(rules["tiers"][-1]))
    rules["segments"] = {"abc": {"shares_bp": [2000, 3000, 4000]}}
    rules["stores"] = {"S001": {"tier_discount_price_bp": {"nobody": 9000}}}
    response = pos.post("/program/versions", {"rules": rules, "effective_from": "2025-01-01"},
                        **{"Accept-Language": language})
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert fields["rules.tiers"] == tiers_message
    assert fields["rules.segments.abc.shares_bp"] == abc_message
    rules["tiers"].pop()
    unknown = pos.post("/program/versions", {"rules": rules, "effective_from": "2025-01-01"},
                       **{"Accept-Language": language}).json["error"]["fields"]["rules.stores"]
    assert unknown == {"zh-CN": "未知的等级代码：nobody。", "en": "Unknown tier code(s): nobody."}[language]


def test_every_program_rule_the_domain_may_break_has_a_message():
    from tenants.domain.program import PROGRAM_RULE_CODES
    from tenants.services.programs import PROGRAM_RULE_MESSAGES

    assert set(PROGRAM_RULE_MESSAGES) == PROGRAM_RULE_CODES


# --- the program's defaults: one source ---------------------------------------------------------------------


def test_a_program_posted_with_only_the_required_fields_is_the_blank_preset(pos):
    from tenants.presets import load_preset

    blank = load_preset("blank")
    minimal = {"name": blank["name"], "card_types": blank["card_types"], "tiers": blank["tiers"]}
    posted = pos.post("/program/versions", {"rules": minimal, "effective_from": "2025-01-01"})
    assert posted.status_code == 201, posted.json
    mid = enrol(pos)["id"]
    bought = pos.post("/purchases", {"member_id": mid, "lines": [{"line_id": "1", "regular_fen": 15000}]}).json
    assert bought["points_status"] == "available" and bought["balances"]["points_available"] == 150  # no window
    topped = pos.post(f"/members/{mid}/top-ups", {"amount_fen": 100000})
    assert topped.status_code == 422 and topped.json["error"]["code"] == "stored_value_disabled"


def test_the_defaults_migration_writes_the_old_defaults_into_versions_that_omitted_them(app, pos):
    """Versions stored before the defaults changed keep their rules: 7 days pending, stored value on."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from saas.config import ROOT
    from tenants.models import ProgramVersion
    from tenants.presets import load_preset
    from tenants.services.programs import post_program_version

    stated = load_preset("clothing")
    omitted = load_preset("clothing")
    del omitted["earning"]["pending_days"]
    del omitted["stored_value"]
    with tenant_context(pos.tenant):
        for rules in (omitted, stated):
            post_program_version(rules, dt.date(2025, 1, 1), "before the defaults changed")
    db.session.remove()
    downgrade(revision=ScriptDirectory(str(ROOT / "migrations")).get_revision("0009").down_revision)
    upgrade()
    with tenant_context(pos.tenant):
        rules = dict(db.session.execute(select(ProgramVersion.version, ProgramVersion.rules)).all())
    assert rules[2]["earning"]["pending_days"] == 7 and rules[2]["stored_value"] == {"enabled": True}
    assert rules[3] == stated and rules[1]["earning"]["pending_days"] == 7  # the sign-up preset said so itself
