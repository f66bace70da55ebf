"""Schemathesis over the whole OpenAPI document the app serves, against the real app on PostgreSQL.

Every operation of ``/api/v1/openapi.json`` is called with generated requests — valid ones and ones that
break the schema — with a valid key of a shop that has members, cards, purchases, stored value, a program
and reward stock. Path ids are drawn from that shop's real ids as well as at random, so the operations are
reached, not only their 404. Each answer must be no 5xx, a status code the document declares for the
operation, a declared content type, a body that matches the declared schema, declared headers; invalid
requests must be refused.

``FUZZ_EXAMPLES`` sets the examples per operation (CI: a few; ``make fuzz``: a few hundred).
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from saas.extensions import db
from tenants.api.programs import MAX_VERSION
from tenants.scoping import tenant_context
from tenants.services import reward_stock
from tenants.services.api_keys import create_api_key
from tests.factories import make_tenant
from tests.integration.fuzz_figures import write_figures

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection]

# The shop's real ids, filled by the fixture: the path parameters are drawn from them half of the time.
REAL: dict = {}
RESULTS = {"operations": set(), "calls": 0, "5xx": 0}


@pytest.fixture(scope="module", autouse=True)
def _figures():
    """What the run tried, for `make fuzz` to print (test-output/fuzz/api.txt)."""
    yield
    if RESULTS["calls"]:
        write_figures("api", f"API (schemathesis): {len(RESULTS['operations'])} operations, {RESULTS['calls']} "
                             f"requests ({EXAMPLES} examples per operation), 5xx {RESULTS['5xx']}, "
                             "schema violations 0 (a violation fails the test)")


@pytest.fixture
def api_shop(app):
    """A clothing shop with a program since 2025, members with cards, purchases, stored value and reward
    stock, and the key of its POS. No app context stays pushed: every request runs as a real one."""
    with app.app_context():
        tenant = make_tenant("fuzz-shop", vertical="clothing", program_from=dt.date(2025, 1, 1))
        with tenant_context(tenant):
            token = create_api_key("Fuzz POS", created_by=None).token
            reward_stock.receive("tote-bag", 50, "", None)
            db.session.commit()
        db.session.remove()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai")).isoformat()
    members, cards, purchases = [], [], []
    for n, phone in enumerate(("13800138000", "13900139000", "13700137000")):
        made = client.post("/api/v1/members", json={"name": f"会员{n}", "phone": phone},
                           headers={**auth, "Idempotency-Key": f"enrol-{n}"})
        assert made.status_code == 201, made.json
        member_id = made.json["id"]
        members.append(member_id)
        cards.extend(card["number"] for card in made.json.get("cards", []))
        sale = {"member_id": member_id, "business_at": now, "receipt_no": f"R-{n}",
                "lines": [{"line_id": "1", "regular_fen": 88800}], "tenders": [{"kind": "wechat", "amount_fen": 88800}]}
        bought = client.post("/api/v1/purchases", json=sale, headers={**auth, "Idempotency-Key": f"buy-{n}"})
        assert bought.status_code == 201, bought.json
        purchases.append(bought.json["id"])
        topped = client.post(f"/api/v1/members/{member_id}/top-ups", json={"amount_fen": 50000, "business_at": now},
                             headers={**auth, "Idempotency-Key": f"top-{n}"})
        assert topped.status_code == 201, topped.json
    REAL.clear()
    REAL.update(member_id=members, purchase_id=purchases, number=cards, version=["1"], token=token)
    return token


def served_document() -> dict:
    """The document as the app serves it (English). Read at collection from an app on an in-memory SQLite
    (the document needs no database); the test checks that the app under test serves the same."""
    from saas import create_app
    from tests.conftest import sqlite_config

    app = create_app(sqlite_config(":memory:"))
    response = app.test_client().get("/api/v1/openapi.json", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.json


DOCUMENT = served_document()
# The program document is a deep schema: schemathesis's negative mode cannot always build a broken one
# ("Cannot generate an array with 1 demanded elements", with random draws). It gets valid documents (which the
# program service still refuses for business rules); broken ones are tested in test_api_programs.py.
CONFIG = SchemathesisConfig.from_dict({"operations": [
    {"include-name": "POST /api/v1/program/versions", "generation": {"mode": "positive"}},
]})
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@schema.auth(refresh_interval=None)
class ShopKey:
    """The shop's key on every request, except where a negative case broke the Authorization header on
    purpose (schemathesis then leaves it broken, and a 401 is expected)."""

    def get(self, case, context):
        return REAL.get("token", "not-yet-issued")

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


INT_PARAMS = {"member_id": 2**63 - 1, "purchase_id": 2**63 - 1, "version": MAX_VERSION}  # name → maximum


def _valid_in_path(name: str, value) -> bool:
    """Whether a generated path value is one the document allows (a negative case's broken value is kept)."""
    if name not in INT_PARAMS:
        return isinstance(value, str)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT_PARAMS[name]


@schema.hook
def flatmap_path_parameters(ctx, path_parameters):
    """Half of the time, the shop's own ids in the path (so the operation itself runs, not only its 404);
    a value a negative case broke on purpose stays as it is."""
    if not path_parameters:
        return st.just(path_parameters)
    drawn = {name: st.one_of(st.just(value), st.sampled_from(REAL[name]))
             if REAL.get(name) and _valid_in_path(name, value) else st.just(value)
             for name, value in path_parameters.items()}
    return st.fixed_dictionaries(drawn)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("FUZZ_RANDOM"),
          suppress_health_check=list(HealthCheck))
def test_every_api_operation_answers_as_its_document_says(case, app, api_shop):
    response = case.call_and_validate(app=app, checks=CHECKS)
    RESULTS["operations"].add(case.operation.label)
    RESULTS["calls"] += 1
    RESULTS["5xx"] += response.status_code >= 500


def test_the_fuzzed_document_is_the_one_the_app_serves(client):
    assert client.get("/api/v1/openapi.json", headers={"Accept-Language": "en"}).json == DOCUMENT
