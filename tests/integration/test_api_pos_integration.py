"""What a POS integrator found missing or broken in the API: sign-up top-ups and fees, the figures a
till shows, stores of another tenant, odd input that must be a 4xx, and the program's defaults."""

import datetime as dt
import itertools

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from tenants.models import Member, Store
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
