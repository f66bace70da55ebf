"""Every free-text name or note that reaches the database, from a form or the API, is cleaned like a member's
name (saas/text.py clean_name): tablet names, reward stock notes, tier and reward names and the note of a
program version, reasons of points adjustments and tier grants."""

from __future__ import annotations

import copy
import datetime as dt

from sqlalchemy import select

from saas.extensions import db
from saas.models import CounterDevice
from tenants.models import PointsEntry, ProgramVersion, RewardStockMovement, Store
from tenants.scoping import tenant_context
from tests.conftest import csrf_from, login
from tests.factories import make_staff
from tests.integration.test_api_members import pos  # noqa: F401  (the POS fixture)
from tests.integration.test_api_programs import current_rules, key_a, post, today_of  # noqa: F401
from tests.integration.test_odd_input import CLEAN, SNEAKY
from tests.integration.test_reward_stock import manager, receive_via_page, shop  # noqa: F401


def test_a_tablet_named_in_the_form_is_stored_without_invisible_characters(client, tenant_a):
    manager_ = make_staff(tenant_a, "store_manager")
    login(client, tenant_a, manager_.email)
    page = client.get("/t/tenant-a/counter").get_data(as_text=True)
    with tenant_context(tenant_a):
        store_id = db.session.scalars(select(Store.id).order_by(Store.code)).first()
    done = client.post("/t/tenant-a/counter/devices",
                       data={"name": SNEAKY, "store_id": store_id, "csrf_token": csrf_from(page)})
    assert done.status_code == 303
    with tenant_context(tenant_a):
        assert db.session.scalars(select(CounterDevice.name)).one() == CLEAN


def test_a_reward_stock_note_from_the_form_is_stored_clean(client, shop, manager):  # noqa: F811
    assert receive_via_page(client, "tote-bag", "2", SNEAKY).status_code == 303
    with tenant_context(shop):
        assert db.session.scalars(select(RewardStockMovement.note)).one() == CLEAN


def test_tier_and_reward_names_and_the_note_of_a_program_posted_by_the_api_are_stored_clean(
        client, tenant_a, key_a):  # noqa: F811
    rules = copy.deepcopy(current_rules(client, key_a))
    rules["tiers"][0]["name"] = {"zh_CN": "\u202e普通\u200b会员", "en": "Base\u2066 tier\x07"}
    posted = post(client, key_a, rules, today_of(tenant_a) + dt.timedelta(days=1), "clean-names-1", note=SNEAKY)
    assert posted.status_code == 201, posted.json
    with tenant_context(tenant_a):
        row = db.session.scalars(select(ProgramVersion).order_by(ProgramVersion.version.desc())).first()
        assert row.note == CLEAN
        assert row.rules["tiers"][0]["name"] == {"zh_CN": "普通会员", "en": "Base tier"}


def test_a_points_adjustment_reason_sent_by_the_api_is_stored_clean(pos):  # noqa: F811
    member = pos.post("/members", {"name": "王芳", "phone": "13800138000"}).json
    done = pos.post(f"/members/{member['id']}/points-adjustments", {"delta": 50, "reason": SNEAKY})
    assert done.status_code == 201, done.json
    assert done.json["reason"] == CLEAN
    with tenant_context(pos.tenant):
        assert db.session.scalars(select(PointsEntry.reason).where(PointsEntry.reason != "")).all() == [CLEAN]
