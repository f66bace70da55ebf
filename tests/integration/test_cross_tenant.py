"""SPEC §17.10: staff of tenant A who type tenant B's ids into any URL get "not found", never a hint."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

from saas.extensions import db
from saas.models import CounterDevice, Invitation, StaffUser
from saas.staff import invite_staff
from tenants.counter import register_device
from tenants.imports_models import MemberImport
from tenants.models import (
    ApiKey,
    Card,
    Member,
    PointsAdjustmentRequest,
    ProgramPublishRequest,
    ProgramVersion,
    Region,
    RewardStock,
    Store,
)
from tenants.profile_models import IdentityChangeRequest
from tenants.scoping import tenant_context
from tenants.services.adjustments import request_adjustment
from tenants.services.api_keys import create_api_key
from tenants.services.identity_changes import request_identity_change
from tenants.services.imports import create_import
from tenants.services.members import enroll_member
from tenants.services.programs import post_program_version
from tenants.services.purchases import LineIn, record_purchase
from tenants.services.reward_stock import receive as receive_reward_stock
from tests.conftest import csrf_from
from tests.factories import make_staff
from tests.integration.test_counter import open_counter


def without_tokens(html: str) -> str:
    """The page minus what differs per request anyway (CSRF tokens, the path echoed in the language form)."""
    return re.sub(r'(csrf_token" value="|"X-CSRFToken": "|name="next" value=")[^"]+', "", html)


def ids_of_tenant_b(tenant_b) -> dict[str, str]:
    """One real id of tenant B for every URL argument name the app uses."""
    with tenant_context(tenant_b):
        owner = db.session.query(StaffUser).filter_by(role="owner").one()
        store = db.session.query(Store).first()
        region = db.session.query(Region).first()  # the region the factory gives every tenant
        issued = invite_staff(owner, name="B clerk", email="bclerk@example.com", role="clerk", store_id=store.id,
                              region_id=None)
        assert db.session.query(Invitation).count() == 1
        api_key = create_api_key("B's POS", created_by=owner.id).api_key
        now = dt.datetime.now(ZoneInfo(tenant_b.timezone))
        member = enroll_member(business_at=now, name="B member", phone="13999990000")
        purchase = record_purchase(member_id=member.id, lines=[LineIn("1", 1000)], tenders=[], business_at=now)
        card = db.session.query(Card).filter_by(member_id=member.id).one()
        device, _token = register_device(manager=owner, store_id=store.id, name="B till")
        member_import = create_import("b.csv", "姓名,手机号\nB,13999990001\n".encode(), max_bytes=10_000)
        db.session.commit()
        program = db.session.query(ProgramVersion).one()  # B's own reward, in stock (tenant A has none of it)
        rules = {**program.rules, "redemption": {**program.rules["redemption"], "catalogue": [
            {"code": "b-only-gift", "name": {"en": "B's gift"}, "points": 100}]}}
        post_program_version(rules, program.effective_from, "a reward of B")
        receive_reward_stock("b-only-gift", 5)
        asked = request_adjustment(member_id=member.id, delta_raw="5000", reason="B's request", actor_id=owner.id,
                                   business_at=now)
        change = request_identity_change(member, "name", "B's new name", actor_id=owner.id)
        publish = ProgramPublishRequest(rules=rules, effective_from=program.effective_from, note="B asks",
                                        requested_by=owner.id, status="pending")
        db.session.add(publish)
        db.session.commit()
        version = db.session.query(ProgramVersion).count()  # 2: tenant A has version 1 only
        return {"staff_id": str(issued.user.id), "store_id": str(store.id), "token": issued.token,
                "key_id": str(api_key.id), "member_id": str(member.id), "purchase_id": purchase["id"],
                "card_id": str(card.id), "device_id": str(device.id), "import_id": str(member_import.id),
                "item_code": "b-only-gift", "region_id": str(region.id), "request_id": str(asked["request_id"]),
                "change_id": str(change.id), "version": str(version), "publish_request_id": str(publish.id)}


def tenant_rules(app):
    return [r for r in app.url_map.iter_rules() if "slug" in r.arguments and r.arguments - {"slug"}]


def test_every_tenant_url_with_an_id_answers_404_for_another_tenants_ids(app, client, tenant_a, tenant_b, login_as):
    b_ids = ids_of_tenant_b(tenant_b)
    owner = login_as("owner")
    open_counter(client, tenant_a, owner)  # the counter's URLs are walked from a tablet with a person at it too
    token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    rules = tenant_rules(app)
    assert len(rules) >= 4
    unknown = {arg for r in rules for arg in r.arguments - {"slug"}} - set(b_ids)
    assert unknown == set(), f"add an id of tenant B for {unknown} to this test"
    checked = []
    for rule in rules:
        path = rule.build({"slug": "tenant-a", **{k: b_ids[k] for k in rule.arguments - {"slug"}}})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"
            checked.append(f"{method} {rule.rule}")
    # The other tenant's records are untouched.
    with tenant_context(tenant_b):
        db.session.expire_all()
        assert db.session.get(StaffUser, (tenant_b.id, int(b_ids["staff_id"]))).active is True
        assert db.session.get(ApiKey, (tenant_b.id, int(b_ids["key_id"]))).revoked_at is None
        publish = db.session.get(ProgramPublishRequest, (tenant_b.id, int(b_ids["publish_request_id"])))
        assert publish.status == "pending"
        assert db.session.get(Card, (tenant_b.id, int(b_ids["card_id"]))).status == "active"
        assert db.session.get(CounterDevice, (tenant_b.id, int(b_ids["device_id"]))).revoked_at is None
        assert db.session.get(MemberImport, (tenant_b.id, int(b_ids["import_id"]))).status == "uploaded"
        assert db.session.query(RewardStock).one().stock == 5
        assert db.session.get(PointsAdjustmentRequest, (tenant_b.id, int(b_ids["request_id"]))).status == "pending"
        assert db.session.get(IdentityChangeRequest, (tenant_b.id, int(b_ids["change_id"]))).status == "pending"
        assert db.session.get(Member, (tenant_b.id, int(b_ids["member_id"]))).name == "B member"
    assert len(checked) >= len(rules)


def test_the_404_for_another_tenants_id_is_the_same_page_as_for_a_missing_id(client, tenant_a, tenant_b, login_as):
    b_ids = ids_of_tenant_b(tenant_b)
    login_as("owner")
    foreign = client.get(f"/t/tenant-a/staff/{b_ids['staff_id']}")
    missing = client.get("/t/tenant-a/staff/999999999")
    assert foreign.status_code == missing.status_code == 404
    assert without_tokens(foreign.get_data(as_text=True)) == without_tokens(missing.get_data(as_text=True))


def test_a_store_manager_does_not_see_another_stores_staff(client, tenant_a, login_as):
    manager = login_as("store_manager")
    with tenant_context(tenant_a):
        other_store = db.session.query(Store).filter(Store.id != manager.store_id).first()
    elsewhere = make_staff(tenant_a, "clerk", store=other_store)
    assert client.get(f"/t/tenant-a/staff/{elsewhere.id}").status_code == 404
    assert elsewhere.email not in client.get("/t/tenant-a/staff").get_data(as_text=True)
