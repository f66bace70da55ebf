"""SPEC §17.10: staff of tenant A who type tenant B's ids into any URL get "not found", never a hint."""

import re

from saas.extensions import db
from saas.models import CounterDevice, StaffUser
from tenants.imports_models import MemberImport
from tenants.models import (
    ApiKey,
    Card,
    PointsAdjustmentRequest,
    ProgramPublishRequest,
    RewardStock,
    Store,
    StoredValueAdjustmentRequest,
)
from tenants.profile_models import IdentityChangeRequest
from tenants.scoping import tenant_context
from tenants.what_if_models import WhatIfRun
from tests.conftest import csrf_from
from tests.factories import make_staff
from tests.integration.isolation_support import own_one_of_everything
from tests.integration.test_counter import open_counter


def without_tokens(html: str) -> str:
    """The page minus what differs per request anyway (CSRF tokens, the path echoed in the language form)."""
    return re.sub(r'(csrf_token" value="|"X-CSRFToken": "|name="next" value=")[^"]+', "", html)


def tenant_rules(app):
    return [r for r in app.url_map.iter_rules() if "slug" in r.arguments and r.arguments - {"slug"}]


def test_every_tenant_url_with_an_id_answers_404_for_another_tenants_ids(app, client, tenant_a, tenant_b, login_as):
    b_ids = own_one_of_everything(tenant_b, "Bmark", "13999990000").ids  # one id of B per URL argument
    owner = login_as("owner")
    open_counter(client, tenant_a, owner)  # the counter's URLs are walked from a tablet with a person at it too
    token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    rules = tenant_rules(app)
    assert len(rules) >= 4
    unknown = {arg for r in rules for arg in r.arguments - {"slug"}} - set(b_ids)
    assert unknown == set(), f"add an id of tenant B for {unknown} to own_one_of_everything"
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
        assert db.session.get(Card, (tenant_b.id, int(b_ids["card_id"]))).status == "active"
        assert db.session.get(CounterDevice, (tenant_b.id, int(b_ids["device_id"]))).revoked_at is None
        assert db.session.get(MemberImport, (tenant_b.id, int(b_ids["import_id"]))).status == "uploaded"
        assert db.session.query(RewardStock).one().stock == 5
        assert db.session.get(PointsAdjustmentRequest, (tenant_b.id, int(b_ids["request_id"]))).status == "pending"
        assert db.session.get(IdentityChangeRequest, (tenant_b.id, int(b_ids["change_id"]))).status == "pending"
        publish = db.session.get(ProgramPublishRequest, (tenant_b.id, int(b_ids["publish_request_id"])))
        assert publish.status == "pending"
        assert db.session.get(WhatIfRun, (tenant_b.id, int(b_ids["run_id"]))).status == "queued"
        assert db.session.get(StoredValueAdjustmentRequest,
                              (tenant_b.id, int(b_ids["sv_request_id"]))).status == "pending"
    assert len(checked) >= len(rules)


def test_the_404_for_another_tenants_id_is_the_same_page_as_for_a_missing_id(client, tenant_a, tenant_b, login_as):
    b_ids = own_one_of_everything(tenant_b, "Bmark", "13999990000").ids  # one id of B per URL argument
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
