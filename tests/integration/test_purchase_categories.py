"""A POS that sends a category the business does not list is refused, never silently priced without its
discount (the counter picks categories from the list; the API names them by code)."""

import datetime as dt

import pytest

from saas.extensions import db
from tenants.models import Purchase
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tests.factories import make_tenant


@pytest.fixture
def hotel_pos(app_ctx, client):
    tenant = make_tenant("category-hotel", vertical="hotel", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        token = create_api_key("PMS", created_by=None).token
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    member = client.post("/api/v1/members", json={"name": "Guest", "phone": "13800001234", "real_name_verified": True,
                                                  "card_fee_paid_fen": 3800},
                         headers={**headers, "Idempotency-Key": "enrol-1"})
    assert member.status_code == 201, member.json
    return tenant, headers, member.json["id"]


def test_a_category_typed_in_words_is_refused_and_the_listed_code_gets_the_room_rate(hotel_pos, client):
    tenant, headers, member_id = hotel_pos
    body = {"member_id": member_id, "lines": [{"line_id": "1", "regular_fen": 50000, "category": "客房"}]}
    refused = client.post("/api/v1/purchases", json=body, headers={**headers, "Idempotency-Key": "p-1"})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "unknown_category"
    assert "rooms" in refused.json["error"]["message"]
    with tenant_context(tenant):
        assert db.session.query(Purchase).count() == 0
    body["lines"][0]["category"] = "rooms"
    priced = client.post("/api/v1/purchases", json=body, headers={**headers, "Idempotency-Key": "p-2"})
    assert priced.status_code == 201, priced.json
    assert priced.json["lines"][0]["category"] == "rooms"
