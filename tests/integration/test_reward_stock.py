"""Reward stock: managers receive deliveries and count the shelf, redemptions take stock out, and the
stock is always the sum of the item's movements (SPEC §7)."""

from __future__ import annotations

import copy
import datetime as dt
import re
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from saas.extensions import db
from saas.models import AuditEntry
from tenants.models import ProgramVersion, Redemption, RewardStock, RewardStockMovement
from tenants.scoping import tenant_context
from tenants.services import points as points_service
from tenants.services import reward_stock
from tenants.services.api_keys import create_api_key
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.members import enroll_member
from tenants.services.programs import post_program_version
from tests.conftest import csrf_from, login
from tests.factories import make_staff, make_tenant
from tests.integration.test_concurrency import race
from tests.integration.test_counter import enrol, open_counter

pytestmark = pytest.mark.tenant_clock  # dates matter here: run either side of the UTC date change

SH = ZoneInfo("Asia/Shanghai")
UMBRELLA = {"code": "umbrella", "name": {"zh_CN": "晴雨伞", "en": "Umbrella"}, "points": 800, "kind": "gift"}
BASE = "/t/stock-shop/rewards/stock"


@pytest.fixture
def shop(app_ctx):
    """A clothing shop (English) whose catalogue has the tote bag (1,500 points) and an umbrella (800)."""
    tenant = make_tenant("stock-shop", vertical="clothing", language="en", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        current = db.session.scalars(select(ProgramVersion)).one()
        rules = copy.deepcopy(current.rules)
        rules["redemption"]["catalogue"].append(UMBRELLA)
        post_program_version(rules, current.effective_from, "an umbrella for points")
    return tenant


@pytest.fixture
def manager(client, shop):
    user = make_staff(shop, "store_manager")
    assert login(client, shop, user.email).status_code == 302
    return user


def stock_of(tenant, code: str) -> int:
    with tenant_context(tenant):
        return db.session.scalar(select(RewardStock.stock).where(RewardStock.item_code == code)) or 0


def moves(tenant, code: str) -> list[tuple[str, int, int]]:
    """(kind, change, stock after) of the item's movements, oldest first."""
    with tenant_context(tenant):
        return [tuple(r) for r in db.session.execute(
            select(RewardStockMovement.kind, RewardStockMovement.change, RewardStockMovement.stock_after)
            .where(RewardStockMovement.item_code == code).order_by(RewardStockMovement.id))]


def ledger_total(tenant, code: str) -> int:
    with tenant_context(tenant):
        return db.session.scalar(select(func.coalesce(func.sum(RewardStockMovement.change), 0))
                                 .where(RewardStockMovement.item_code == code))


def form_of(html: str, code: str, action: str) -> dict:
    """The idempotency key and CSRF token of one row's receive/count form, as the page rendered them."""
    form = re.search(rf'action="[^"]*/rewards/stock/{code}/{action}".*?</form>', html, re.S).group(0)
    return {"csrf_token": csrf_from(html), "idem": re.search(r'name="idem" value="([^"]+)"', form).group(1)}


def receive_via_page(client, code: str, quantity: str, note: str = "", **headers):
    page = client.get(BASE).get_data(as_text=True)
    return client.post(f"{BASE}/{code}/receive", data={**form_of(page, code, "receive"), "quantity": quantity,
                                                      "note": note}, headers=headers)


def count_via_page(client, code: str, counted: str, reason: str, **headers):
    page = client.get(BASE).get_data(as_text=True)
    return client.post(f"{BASE}/{code}/count", data={**form_of(page, code, "count"), "counted": counted,
                                                    "reason": reason}, headers=headers)


def member_with_points(tenant, points: int, phone: str = "13812345678") -> SimpleNamespace:
    member = enrol(tenant, phone=phone)
    with tenant_context(tenant):
        points_service.adjust_points(member_id=member.id, delta=points, reason="welcome",
                                     business_at=dt.datetime.now(SH))
        db.session.commit()
    return member


# --- the stock page -----------------------------------------------------------------------------------


def test_the_page_lists_every_catalogue_item_with_its_stock_items_never_received_at_zero(client, shop, manager):
    page = client.get(BASE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Brand tote bag" in html and "Umbrella" in html and "1,500 points" in html
    assert html.count('class="badge badge-muted">Out of stock') == 2
    assert 'href="/t/stock-shop/rewards/stock"' in client.get("/t/stock-shop/").get_data(as_text=True)  # nav link


def test_receiving_stock_raises_it_and_appends_a_movement(client, shop, manager):
    done = receive_via_page(client, "tote-bag", "12", "Delivery note 4711")
    assert done.status_code == 303 and done.headers["Location"].endswith("/rewards/stock#stock-tote-bag")
    assert "12 received: 12 in stock now." in client.get(done.headers["Location"]).get_data(as_text=True)
    assert stock_of(shop, "tote-bag") == 12
    assert moves(shop, "tote-bag") == [("received", 12, 12)]
    with tenant_context(shop):
        movement = db.session.scalars(select(RewardStockMovement)).one()
        assert movement.note == "Delivery note 4711" and movement.staff_id == manager.id
        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "reward_stock.received")).one()
        assert audit.actor_id == manager.id and audit.details["change"] == 12 and audit.target == "reward:tote-bag"
    assert stock_of(shop, "umbrella") == 0


def test_with_htmx_a_receipt_answers_the_updated_row(client, shop, manager):
    done = receive_via_page(client, "umbrella", "3", **{"HX-Request": "true"})
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert html.lstrip().startswith('<tr id="stock-umbrella">') and "<html" not in html
    assert '<span class="stock-number">3</span>' in html and ">Low</span>" in html
    assert "3 received: 3 in stock now." in html
    assert form_of(html, "umbrella", "receive")["idem"]  # a fresh key for the next delivery


def test_a_count_sets_the_stock_and_records_the_difference_with_its_reason(client, shop, manager):
    receive_via_page(client, "tote-bag", "10")
    done = count_via_page(client, "tote-bag", "7", "3 bags damaged in the store room")
    assert done.status_code == 303
    assert "Counted 7: -3 against the stock on record." in client.get(BASE).get_data(as_text=True)
    assert moves(shop, "tote-bag") == [("received", 10, 10), ("counted", -3, 7)]
    with tenant_context(shop):
        counted = db.session.scalars(select(RewardStockMovement).where(RewardStockMovement.kind == "counted")).one()
        assert counted.note == "3 bags damaged in the store room"
    agreed = count_via_page(client, "tote-bag", "7", "monthly count")
    assert agreed.status_code == 303
    assert "Counted 7: the stock on record was right." in client.get(BASE).get_data(as_text=True)
    assert moves(shop, "tote-bag")[-1] == ("counted", 0, 7)  # the count is on record, the stock unchanged


def test_a_count_without_a_reason_is_refused_with_the_number_kept(client, shop, manager):
    receive_via_page(client, "tote-bag", "10")
    refused = count_via_page(client, "tote-bag", "4", "   ")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "A reason is required." in html and 'id="count-tote-bag-counted"' in html
    assert re.search(r'id="count-tote-bag-counted"[^>]*value="4"', html)
    assert stock_of(shop, "tote-bag") == 10 and len(moves(shop, "tote-bag")) == 1


@pytest.mark.parametrize("quantity", ["0", "-3", "ten", "1.5", "", "100001", "1e3"])
def test_a_bad_quantity_is_refused_with_a_message_and_writes_nothing(client, shop, manager, quantity):
    refused = receive_via_page(client, "tote-bag", quantity, "kept note")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Enter a whole number from 1 to 100,000." in html
    assert re.search(r'id="receive-tote-bag-note"[^>]*value="kept note"', html)  # the input is kept
    assert moves(shop, "tote-bag") == [] and stock_of(shop, "tote-bag") == 0


def test_a_bad_quantity_with_htmx_answers_the_row_with_the_message(client, shop, manager):
    refused = receive_via_page(client, "tote-bag", "-1", **{"HX-Request": "true"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and html.lstrip().startswith('<tr id="stock-tote-bag">')
    assert "Enter a whole number from 1 to 100,000." in html and 'aria-invalid="true"' in html
    assert moves(shop, "tote-bag") == []


@pytest.mark.parametrize("quantity", [0, -1, 100_001, 2.5, "3", True, None])
def test_the_service_takes_whole_numbers_in_range_only(shop, quantity):
    with tenant_context(shop), pytest.raises(ServiceError) as err:
        reward_stock.receive("tote-bag", quantity, "", None)
    assert err.value.code == "validation_failed" and "quantity" in err.value.fields
    db.session.rollback()
    assert moves(shop, "tote-bag") == []


def test_the_stock_never_passes_its_ceiling(shop):
    with tenant_context(shop):
        reward_stock.count("tote-bag", reward_stock.MAX_STOCK, "big count", None)
        with pytest.raises(ServiceError) as err:
            reward_stock.receive("tote-bag", 1, "", None)
        db.session.rollback()
    assert err.value.fields["quantity"] and stock_of(shop, "tote-bag") == reward_stock.MAX_STOCK


def test_the_same_form_sent_twice_records_one_movement(client, shop, manager):
    page = client.get(BASE).get_data(as_text=True)
    data = {**form_of(page, "tote-bag", "receive"), "quantity": "5", "note": ""}
    first = client.post(f"{BASE}/tote-bag/receive", data=data, headers={"HX-Request": "true"})
    again = client.post(f"{BASE}/tote-bag/receive", data=data, headers={"HX-Request": "true"})
    assert first.status_code == again.status_code == 200
    assert "5 received: 5 in stock now." in again.get_data(as_text=True)  # the first answer, replayed
    assert moves(shop, "tote-bag") == [("received", 5, 5)] and stock_of(shop, "tote-bag") == 5
    other = client.post(f"{BASE}/tote-bag/receive", data={**data, "quantity": "6"})
    assert other.status_code == 422 and "already used for another request" in other.get_data(as_text=True)
    assert moves(shop, "tote-bag") == [("received", 5, 5)]


def test_the_same_idempotency_key_twice_runs_the_receipt_once(shop):
    payload = {"item": "umbrella", "quantity": 4}
    with tenant_context(shop):
        for _ in range(2):
            run_idempotent("delivery-88", "rewards.receive", payload,
                           lambda: reward_stock.receive("umbrella", 4, "", None, commit=False))
    assert moves(shop, "umbrella") == [("received", 4, 4)]


def test_a_form_without_its_key_changes_nothing(client, shop, manager):
    page = client.get(BASE).get_data(as_text=True)
    refused = client.post(f"{BASE}/tote-bag/receive", data={"csrf_token": csrf_from(page), "quantity": "5"})
    assert refused.status_code == 422 and moves(shop, "tote-bag") == []


# --- items that are not in the catalogue ------------------------------------------------------------


def test_an_unknown_item_is_not_found(client, shop, manager):
    page = client.get(BASE).get_data(as_text=True)
    data = {**form_of(page, "tote-bag", "receive"), "quantity": "5"}
    assert client.get(f"{BASE}/yacht").status_code == 404
    assert client.post(f"{BASE}/yacht/receive", data=data).status_code == 404
    assert client.post(f"{BASE}/yacht/count", data={**data, "counted": "1", "reason": "x"}).status_code == 404
    assert client.get(f"{BASE}/{'x' * 300}").status_code == 404
    with tenant_context(shop), pytest.raises(ServiceError) as err:
        reward_stock.receive("yacht", 5, "", None)
    assert err.value.code == "unknown_reward" and err.value.message in {"Unknown reward.", "未知的礼品。"}
    db.session.rollback()
    with tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(RewardStock)) == 0


def test_another_tenants_catalogue_item_is_not_found_here(client, shop, manager):
    other = make_tenant("stock-other", vertical="pharmacy")
    with tenant_context(other):
        current = db.session.scalars(select(ProgramVersion)).one()
        rules = copy.deepcopy(current.rules)
        rules["redemption"]["catalogue"] = [{"code": "vitamin-box", "name": {"zh_CN": "维生素礼盒"}, "points": 900}]
        post_program_version(rules, current.effective_from, "vitamins")
        reward_stock.receive("vitamin-box", 9, "", None)
    page = client.get(BASE).get_data(as_text=True)
    assert "vitamin-box" not in page
    assert client.get(f"{BASE}/vitamin-box").status_code == 404
    data = {**form_of(page, "tote-bag", "receive"), "quantity": "5"}
    assert client.post(f"{BASE}/vitamin-box/receive", data=data).status_code == 404
    assert stock_of(other, "vitamin-box") == 9 and moves(other, "vitamin-box") == [("received", 9, 9)]


def test_a_program_without_a_catalogue_shows_an_empty_state(client, app_ctx):
    pharmacy = make_tenant("stock-pharmacy", vertical="pharmacy", language="en")
    owner = make_staff(pharmacy, "owner")
    login(client, pharmacy, owner.email)
    page = client.get("/t/stock-pharmacy/rewards/stock")
    assert page.status_code == 200 and "The program in force has no reward catalogue." in page.get_data(as_text=True)


# --- who may ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clerk", "vip_specialist", "regional_supervisor"])
def test_people_who_do_not_manage_stock_are_refused(client, shop, role):
    user = make_staff(shop, role)
    login(client, shop, user.email)
    token = csrf_from(client.get("/t/stock-shop/").get_data(as_text=True))
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}/tote-bag").status_code == 403
    refused = client.post(f"{BASE}/tote-bag/receive", data={"csrf_token": token, "idem": "k", "quantity": "5"})
    assert refused.status_code == 403
    assert 'href="/t/stock-shop/rewards/stock"' not in client.get("/t/stock-shop/").get_data(as_text=True)
    assert moves(shop, "tote-bag") == []


@pytest.mark.parametrize("role", ["owner", "chain_admin"])
def test_head_office_manages_stock_too(client, shop, role):
    user = make_staff(shop, role)
    login(client, shop, user.email)
    assert receive_via_page(client, "umbrella", "2").status_code == 303
    assert stock_of(shop, "umbrella") == 2


# --- redemptions ------------------------------------------------------------------------------------


def counter_redeem(client, member_id: int, code: str = "tote-bag", quantity: str = "1"):
    url = f"/t/stock-shop/counter/members/{member_id}/redeem"
    page = client.get(url).get_data(as_text=True)
    key = re.search(r'name="idem" value="([^"]+)">\s*<input type="hidden" name="kind" value="catalogue">\s*'
                    rf'<input type="hidden" name="code" value="{code}">', page).group(1)
    return client.post(url, data={"csrf_token": csrf_from(page), "idem": key, "kind": "catalogue", "code": code,
                                  "quantity": quantity})


def test_a_redemption_at_the_counter_works_once_stock_is_received(app, client, shop, manager):
    member = member_with_points(shop, 5000)
    clerk = make_staff(shop, "clerk")
    tablet = app.test_client()
    open_counter(tablet, shop, clerk)
    before = counter_redeem(tablet, member.id)
    assert before.status_code == 409 and "This reward is out of stock." in before.get_data(as_text=True)

    receive_via_page(client, "tote-bag", "2")
    after = counter_redeem(tablet, member.id)
    assert after.status_code == 200, after.get_data(as_text=True)[:800]
    assert "Redeemed 1,500 points for Brand tote bag × 1." in after.get_data(as_text=True)
    assert stock_of(shop, "tote-bag") == 1
    assert moves(shop, "tote-bag") == [("received", 2, 2), ("redeemed", -1, 1)]
    with tenant_context(shop):
        redemption = db.session.scalars(select(Redemption)).one()
        movement = db.session.scalars(select(RewardStockMovement)
                                      .where(RewardStockMovement.kind == "redeemed")).one()
        assert movement.redemption_id == redemption.id and movement.staff_id == clerk.id
    history = client.get(f"{BASE}/tote-bag").get_data(as_text=True)
    assert "Redeemed" in history and clerk.name in history and "-1" in history


def test_redeeming_more_than_the_stock_is_refused_and_writes_nothing(shop):
    member = member_with_points(shop, 5000)
    with tenant_context(shop):
        reward_stock.receive("tote-bag", 1, "", None)
        with pytest.raises(ServiceError) as err:
            points_service.redeem(member_id=member.id, kind="catalogue", code="tote-bag", quantity=2,
                                  business_at=dt.datetime.now(SH))
        db.session.rollback()
        assert err.value.code == "out_of_stock"
        assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert stock_of(shop, "tote-bag") == 1 and moves(shop, "tote-bag") == [("received", 1, 1)]


def test_the_stock_is_the_sum_of_its_movements_after_receipts_counts_and_redemptions(app, client, shop, manager):
    member = member_with_points(shop, 20_000)
    receive_via_page(client, "tote-bag", "10")
    receive_via_page(client, "tote-bag", "5")
    count_via_page(client, "tote-bag", "13", "two missing")
    clerk = make_staff(shop, "clerk")
    tablet = app.test_client()
    open_counter(tablet, shop, clerk)
    assert counter_redeem(tablet, member.id, quantity="2").status_code == 200
    with tenant_context(shop):
        token = create_api_key("POS", created_by=None).token
        db.session.commit()
    by_api = client.post(f"/api/v1/members/{member.id}/redemptions",
                         json={"kind": "catalogue", "code": "tote-bag", "quantity": 3},
                         headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "pos-redeem-1"})
    assert by_api.status_code == 201, by_api.json
    receive_via_page(client, "umbrella", "4")
    assert counter_redeem(tablet, member.id, code="umbrella").status_code == 200
    assert stock_of(shop, "tote-bag") == ledger_total(shop, "tote-bag") == 8
    assert stock_of(shop, "umbrella") == ledger_total(shop, "umbrella") == 3
    assert [m[0] for m in moves(shop, "tote-bag")] == ["received", "received", "counted", "redeemed", "redeemed"]
    assert all(after == sum(m[1] for m in moves(shop, "tote-bag")[:i + 1])
               for i, (_kind, _change, after) in enumerate(moves(shop, "tote-bag")))


# --- races -----------------------------------------------------------------------------------------


def test_concurrent_first_receipts_of_an_item_both_land(app, shop):
    results = race(app, shop, 2, lambda i: reward_stock.receive("umbrella", i + 1, "", None))
    assert all(isinstance(r, dict) for r in results), results
    assert stock_of(shop, "umbrella") == ledger_total(shop, "umbrella") == 3
    assert sorted(m[2] for m in moves(shop, "umbrella")) in ([1, 3], [2, 3])


def test_concurrent_receipts_and_redemptions_never_lose_an_update(app, shop):
    members = [member_with_points(shop, 3000, phone=f"1381234567{i}") for i in range(4)]
    with tenant_context(shop):
        reward_stock.receive("tote-bag", 2, "", None)

    def work(i):
        if i < 4:
            return reward_stock.receive("tote-bag", 10, "", None)
        result = points_service.redeem(member_id=members[i - 4].id, kind="catalogue", code="tote-bag",
                                       business_at=dt.datetime.now(SH))
        db.session.commit()
        return result

    results = race(app, shop, 8, work)
    assert all(isinstance(r, dict) for r in results), results
    assert stock_of(shop, "tote-bag") == ledger_total(shop, "tote-bag") == 2 + 40 - 4


# --- history ----------------------------------------------------------------------------------------


def test_the_history_lists_movements_newest_first_twenty_a_page(client, shop, manager):
    with tenant_context(shop):
        for n in range(1, 23):
            reward_stock.receive("umbrella", n, f"delivery {n}", manager.id)
    first = client.get(f"{BASE}/umbrella").get_data(as_text=True)
    assert "Stock history: Umbrella" in first and "delivery 22" in first and "delivery 3<" in first
    assert "delivery 2<" not in first and "Page 1 of 2" in first and "22 movements" in first
    second = client.get(f"{BASE}/umbrella?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "delivery 2<" in second and "delivery 1<" in second and "<html" not in second
    assert client.get(f"{BASE}/umbrella?page=abc").status_code == 200


def test_a_new_item_has_an_empty_history(client, shop, manager):
    page = client.get(f"{BASE}/umbrella").get_data(as_text=True)
    assert "No movements yet" in page


# --- the migration ----------------------------------------------------------------------------------


def test_the_migration_opens_the_ledger_with_the_stock_already_on_hand(app, shop, owner_engine):
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    downgrade(revision="0006")
    try:
        with owner_engine.begin() as conn:  # stock put in before the ledger existed (demo tenants)
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(shop.id)})
            conn.execute(text("INSERT INTO reward_stock (tenant_id, id, item_code, stock) "
                              "VALUES (:t, 1, 'tote-bag', 300), (:t, 2, 'umbrella', 0)"), {"t": shop.id})
    finally:
        upgrade()
    assert moves(shop, "tote-bag") == [("counted", 300, 300)] and moves(shop, "umbrella") == []
    with owner_engine.connect() as conn:
        forced = dict(conn.execute(text("SELECT relname, relforcerowsecurity FROM pg_class WHERE relname IN "
                                        "('reward_stock', 'reward_stock_movements')")).all())
    assert forced == {"reward_stock": True, "reward_stock_movements": True}


# --- the demo -------------------------------------------------------------------------------------


def test_the_demo_history_stocks_rewards_through_the_ledger(app_ctx):
    from tenants.demo.history import seed_history

    tenant = make_tenant("stock-demo", vertical="clothing", program_from=dt.date(2025, 1, 1))
    make_staff(tenant, "clerk")
    make_staff(tenant, "chain_admin")
    with tenant_context(tenant):
        stats = seed_history(vertical="clothing", members=30, today=dt.date(2026, 3, 16))
        redeemed = db.session.scalar(select(func.coalesce(func.sum(Redemption.quantity), 0))
                                     .where(Redemption.code == "tote-bag"))
    assert stats.members == 30 and stats.failed == 0, stats
    assert moves(tenant, "tote-bag")[0] == ("received", 300, 300)
    assert -sum(m[1] for m in moves(tenant, "tote-bag") if m[0] == "redeemed") == redeemed
    assert stock_of(tenant, "tote-bag") == ledger_total(tenant, "tote-bag") == 300 - redeemed


def test_the_embedded_sqlite_database_keeps_the_same_ledger(tmp_path):
    """`make run` uses SQLite: the insert-or-lock of the stock row and the redemption's RETURNING work there too."""
    from saas import create_app
    from saas.signup import create_tenant

    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URI": url, "REDIS_URL": None,
                      "TESTING": True, "SECRET_KEY": "embedded-test"})
    with app.app_context():
        db.create_all()
        tenant = create_tenant(business_name="Embedded", slug="embedded", vertical="clothing", owner_name="O",
                               email="owner@embedded.example.com", password="Embedded-2026-pw", language="zh_CN",
                               today=dt.date(2025, 1, 1)).tenant
        db.session.commit()
        with tenant_context(tenant):
            person = enroll_member(business_at=dt.datetime.now(SH), name="甲", phone="13800001111")
            db.session.commit()
            points_service.adjust_points(member_id=person.id, delta=3000, reason="welcome",
                                         business_at=dt.datetime.now(SH))
            db.session.commit()
            reward_stock.receive("tote-bag", 2, "", None)
            reward_stock.receive("tote-bag", 2, "", None)
            points_service.redeem(member_id=person.id, kind="catalogue", code="tote-bag",
                                  business_at=dt.datetime.now(SH))
            db.session.commit()
            assert db.session.scalar(select(RewardStock.stock)) == 3
            assert [tuple(r) for r in db.session.execute(select(RewardStockMovement.kind, RewardStockMovement.change,
                                                                RewardStockMovement.stock_after)
                                                         .order_by(RewardStockMovement.id))] == [
                ("received", 2, 2), ("received", 2, 4), ("redeemed", -1, 3)]
        db.session.remove()
        db.engine.dispose()
