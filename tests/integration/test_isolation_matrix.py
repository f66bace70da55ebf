"""SPEC §17.10 / §18 "safe": the isolation matrix.

Tenants A and B each own one object of every type. Every role of A (with its own counter tablet open), a
counter tablet with only a clerk at it, and A's API key call every URL rule and method of the app with B's
ids in the path, in the query string, in form fields and as htmx values: the answer is 404 or 403 (a path
naming B's object) or at least no 5xx, none of B's names, phones, e-mails or card numbers in the body, and
no write (the superuser's fingerprint of every table, past row-level security): never to B's rows, and to
A's rows only when the request was accepted (a refusal writes nothing but, possibly, A's audit rows).

The matrix runs three times on PostgreSQL: both walls up, the ORM guard off (row-level security alone) and
row-level security off (the guard alone); and once on SQLite (the guard alone, as `make run` serves).
The requests are generated from `app.url_map`: a rule with an argument the suite has no id for, or a rule
no case visits, fails `test_every_url_rule_is_visited_by_the_matrix` with its name. Inside tenant A, roles
and store scopes (`saas.permissions`, `tenants.access`) are the table of test_role_scope_table.py.

`pytest -s tests/integration/test_isolation_matrix.py` prints one summary line per run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from saas.extensions import db, limiter
from saas.models import Tenant
from saas.permissions import Role
from tenants import scoping
from tenants.api import operation_for
from tenants.counter import register_device
from tenants.models import ProgramVersion, Region, Store
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tenants.services.programs import post_program_version
from tenants.views.counter_session import COOKIE
from tests.conftest import csrf_from, login
from tests.factories import make_staff
from tests.integration.isolation_support import (
    Fingerprint,
    Owned,
    SqliteFingerprint,
    changed,
    orm_guard_off,
    own_one_of_everything,
    row_level_security_off,
)
from tests.integration.test_counter import PIN, give_pin, switch_to

# Routes with no tenant in them: nothing of a tenant to leak, so the matrix does not visit them.
TENANTLESS = {
    "static": "vendored files",
    "web.home": "the product's landing page",
    "web.healthz": "liveness probe, no data",
    "web.switch_language": "stores the language in the session cookie only",
    "web.signup": "creates a new tenant (tests/integration/test_signup.py)",
    "billing_webhooks.receive": "Stripe's signed events, matched to tenants by Stripe ids (test_billing_stripe.py)",
    "api_v1.openapi_document": "the public API description",
}

# What the query string, the form and the htmx values carry: B's value for every field name the views read
# an id, code, phone or number from (request.args / request.form / WTForms fields).
FORM_FIELDS = {
    "member_id": "member_id", "store_id": "store_id", "region_id": "region_id", "card_id": "card_id",
    "staff_id": "staff_id", "purchase_id": "purchase_id", "purchase": "purchase_id", "import_id": "import_id",
    "device_id": "device_id", "key_id": "key_id", "item_code": "item_code", "code": "item_code",
    "number": "number", "card": "number", "card_number": "number", "new_number": "number", "token": "token",
    "version": "version", "q": "phone", "phone": "phone", "request_id": "request_id", "change_id": "change_id",
    "actor": "staff_id", "member": "member_id", "store": "store_id", "run_id": "run_id",
    "publish_request_id": "publish_request_id", "a": "version", "b": "version", "sv_request_id": "sv_request_id",
}
API_FIELDS = {"member_id": int, "member_ids": list, "store_id": int, "purchase_id": int, "card": str,
              "card_number": str, "new_number": str, "phone": str, "item_code": str, "code": str, "version": int}
SESSION_ENDING = {"tenant.auth.logout", "tenant.counter.lock"}


def tenant_web_rule(rule) -> bool:
    return "slug" in rule.arguments and rule.endpoint not in TENANTLESS


def api_rule(rule) -> bool:
    return rule.rule.startswith("/api/v1/") and rule.endpoint not in TENANTLESS


def methods_of(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Case:
    actor: str
    endpoint: str
    rule: str
    method: str
    placement: str  # path | query | form | htmx | body


def generate_cases(app, web_actors: list[str], api_actors: list[str]) -> tuple[list[Case], list[str]]:
    """Every (actor, rule, method, placement) the matrix tries, and the rules it cannot build."""
    unbuildable, cases = [], []
    known = set(FORM_FIELDS.values()) | {"slug"}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in TENANTLESS:
            continue
        if rule.arguments - known:
            unbuildable.append(f"{rule.rule} ({', '.join(sorted(rule.arguments - known))})")
            continue
        if tenant_web_rule(rule):
            actors, placements = web_actors, ("query", "form", "htmx")
        elif api_rule(rule):
            actors, placements = api_actors, ("query", "body")
        else:
            unbuildable.append(f"{rule.rule} (neither under /t/<slug>/ nor /api/v1/: add it to TENANTLESS?)")
            continue
        with_ids = bool(rule.arguments - {"slug"})
        for actor, method in itertools.product(actors, methods_of(rule)):
            for placement in (("path",) if with_ids else ()) + placements:
                cases.append(Case(actor, rule.endpoint, rule.rule, method, placement))
    return cases, unbuildable


# --- the world --------------------------------------------------------------------------------------------


@dataclass
class Actor:
    name: str
    client: object
    role: str | None
    api_token: str | None = None
    restore: object = None


@dataclass
class World:
    tenant_a: Tenant
    tenant_b: Tenant
    a: Owned
    b: Owned
    a_path_ids: dict  # A's own ids for the path when B's ids travel elsewhere (spare store and region)
    actors: dict[str, Actor] = field(default_factory=dict)


_addresses = itertools.count(10)


def web_actor(app, tenant, name: str, role: str, back_office: bool = True) -> Actor:
    """A person of `role` signed in to the back office (unless not `back_office`) with a tablet of the first
    store open under their PIN, each from their own address (so the login throttles see people, not a test)."""
    user = make_staff(tenant, role)
    client = app.test_client()
    give_pin(tenant, user, PIN)
    with tenant_context(tenant):
        owner = db.session.query(type(user)).filter_by(role="owner").order_by(type(user).id).first()
        first = db.session.query(Store).order_by(Store.code).first()
        _device, token = register_device(manager=owner, store_id=first.id, name=f"Till of {name}")
        db.session.commit()

    def restore():
        with app.app_context():  # the login throttles count sign-ins, and this person signs in again and again
            limiter.reset()
        client.environ_base["REMOTE_ADDR"] = f"10.0.{next(_addresses) % 250}.{next(_addresses) % 250}"
        if back_office:
            response = login(client, tenant, user.email)
            assert response.status_code == 302, response.status_code
        client.set_cookie(COOKIE, token, path=f"/t/{tenant.slug}/")
        assert switch_to(client, tenant, user, PIN).status_code == 303

    restore()
    return Actor(name, client, role, restore=restore)


def build_world(app, tenant_a, tenant_b) -> World:
    b = own_one_of_everything(tenant_b, "Bmark", "13987654321")
    with tenant_context(tenant_b):  # one more program version, so B's latest version number is not A's
        latest = db.session.query(ProgramVersion).order_by(ProgramVersion.version.desc()).first()
        post_program_version(latest.rules, latest.effective_from, "B again")
        b.ids["version"] = str(latest.version + 1)
    actors = {}
    for role in Role:
        actors[role.value] = web_actor(app, tenant_a, role.value, role.value)
    actors["counter"] = web_actor(app, tenant_a, "counter", "clerk", back_office=False)
    a = own_one_of_everything(tenant_a, "Amark", "13811112222")
    with tenant_context(tenant_a):
        spare_region = Region(name="A spare region")
        db.session.add(spare_region)
        db.session.flush()
        spare_store = Store(code="S900", name="A spare store", region_id=spare_region.id)
        db.session.add(spare_store)
        db.session.commit()
        assert db.session.query(ProgramVersion).count() < int(b.ids["version"])
        token = create_api_key("A's POS", created_by=None).token
        path_ids = {**a.ids, "store_id": str(spare_store.id), "region_id": str(spare_region.id)}
    api = Actor("api", app.test_client(), None, api_token=token)
    actors["api"] = api
    return World(tenant_a, tenant_b, a, b, path_ids, actors)


# --- one request ------------------------------------------------------------------------------------------

_keys = itertools.count(1)


def b_values(b: Owned) -> dict[str, str]:
    return {name: b.ids[key] for name, key in FORM_FIELDS.items()}


def api_body(b: Owned) -> dict:
    body = {}
    for name, kind in API_FIELDS.items():
        source = {"member_ids": "member_id", "card": "number", "card_number": "number", "new_number": "number",
                  "code": "item_code"}.get(name, name)
        value = b.phone if name == "phone" else b.ids[source]
        body[name] = [int(b.ids["member_id"])] * 2 if kind is list else kind(value)
    return body


def example(schema: dict, defs: dict, name: str = ""):
    """A small valid value for a JSON schema (pydantic's), so that a request passes validation and reaches
    the lookup of the object its path names."""
    if "$ref" in schema:
        return example(defs[schema["$ref"].rsplit("/", 1)[1]], defs, name)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return example(options[0], defs, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        return {k: example(v, defs, k) for k, v in schema.get("properties", {}).items() if k in required}
    if kind == "array":
        return [example(schema.get("items", {}), defs, name) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1, 100)
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return dt.date.today().isoformat()
    if schema.get("format") == "date-time":
        return dt.datetime.now(dt.UTC).isoformat()
    return "x" * max(1, schema.get("minLength", 1))


def valid_body(endpoint: str) -> dict:
    op = operation_for(endpoint)
    if op is None or op.body is None:
        return {}
    schema = op.body.model_json_schema()
    return example(schema, schema.get("$defs", {}))


def request_for(world: World, actor: Actor, case: Case, rule, csrf: str | None) -> tuple[str, dict]:
    b = world.b
    in_path = world.b.ids if case.placement == "path" else world.a_path_ids
    path = rule.build({"slug": world.tenant_a.slug, **{k: in_path[k] for k in rule.arguments - {"slug"}}})[1]
    values = b_values(b)
    if actor.api_token is not None:
        headers = {"Authorization": f"Bearer {actor.api_token}", "Idempotency-Key": f"iso-{next(_keys)}"}
        kwargs = {"headers": headers}
        if case.placement == "query":
            path += "?" + urlencode(values)
        if case.method != "GET":
            kwargs["json"] = valid_body(case.endpoint) | (api_body(b) if case.placement == "body" else {})
        return path, kwargs
    headers = {"X-CSRFToken": csrf} if csrf else {}
    data = {"csrf_token": csrf} if csrf else {}
    if case.placement == "query":
        path += "?" + urlencode(values)
    elif case.placement in ("form", "htmx"):
        if case.placement == "htmx":
            headers |= {"HX-Request": "true", "HX-Current-URL": f"http://localhost{path}",
                        "HX-Trigger": "member_id"}
            data["hx-vals"] = json.dumps({"member_id": b.ids["member_id"], "store_id": b.ids["store_id"]})
        if case.method == "GET":
            path += "?" + urlencode(values)
        else:
            data |= values
    kwargs = {"headers": headers}
    if case.method != "GET":
        kwargs["data"] = data
    return path, kwargs


def short(path: str) -> str:
    return path.split("?")[0] + ("?…" if "?" in path else "")


LOGIN_OR_COUNTER = ("/login", "/counter", "/counter/pin")


def redirected_to_sign_in(response) -> bool:
    target = response.headers.get("Location", "") or response.headers.get("HX-Redirect", "")
    return response.status_code in (301, 302, 303, 401) and any(
        target.split("?")[0].endswith(end) for end in LOGIN_OR_COUNTER)


def sent_to_login(response) -> bool:
    target = response.headers.get("Location", "") or response.headers.get("HX-Redirect", "")
    return response.status_code in (302, 303, 401) and target.split("?")[0].endswith("/login")


@dataclass
class Tally:
    label: str
    tried: int = 0
    leaks: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    writes: list = field(default_factory=list)
    wrong_status: list = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (f"isolation matrix [{self.label}]: {self.tried} requests (role, rule, method, placement), "
                f"leaks {len(self.leaks)}, 5xx {len(self.errors)}, writes {len(self.writes)}, "
                f"wrong status {len(self.wrong_status)} ({self.seconds:.0f} s)")

    def problems(self) -> list:
        return self.leaks + self.errors + self.writes + self.wrong_status


SUMMARIES: list[str] = []


# With one wall off, the owner (every permission, a tablet open), the tablet with a clerk and the API walk the
# rules: the other roles differ only in the permission checks made before any data is read, which the full
# run with both walls covers.
ONE_WALL_ACTORS = ("owner", "counter", "api")


def run_matrix(app, world: World, fingerprint: Fingerprint, label: str, actors=None) -> Tally:
    started = time.monotonic()
    rules = {(r.rule, r.endpoint): r for r in app.url_map.iter_rules()}
    web = [name for name, actor in world.actors.items()
           if actor.api_token is None and (actors is None or name in actors)]
    cases, unbuildable = generate_cases(app, web, ["api"])
    assert not unbuildable, f"give the matrix an id for: {unbuildable}"
    # Whatever ends the session (sign out, lock the tablet) comes last for each person.
    cases.sort(key=lambda c: (c.actor, c.endpoint in SESSION_ENDING))
    tally = Tally(label)
    csrf = {}
    before, gets = fingerprint.take(), []
    for case in cases:
        actor = world.actors[case.actor]
        if actor.api_token is None and actor.name not in csrf:
            csrf[actor.name] = csrf_from(actor.client.get(f"/t/{world.tenant_a.slug}/login").get_data(as_text=True))
        rule = rules[(case.rule, case.endpoint)]
        path, kwargs = request_for(world, actor, case, rule, csrf.get(actor.name))
        if case.method != "GET" and gets:  # reads are fingerprinted in runs: a read that wrote is named with its run
            now = fingerprint.take()
            wrote = changed(before, now, world.tenant_b.id) + changed(before, now, world.tenant_a.id, audit_ok=True)
            if wrote:
                tally.writes.append(f"one of the reads {gets} wrote {wrote}")
            before, gets = now, []
        response = actor.client.open(path, method=case.method, buffered=True, **kwargs)
        tally.tried += 1
        body = response.get_data(as_text=True)
        where = f"{case.actor} {case.method} {short(path)} [{case.placement}] → {response.status_code}"
        sent = path + json.dumps(kwargs.get("json") or kwargs.get("data") or {})
        if response.status_code >= 500:
            tally.errors.append(where)
        if leaked := world.b.leaks_in(body, sent):
            tally.leaks.append(f"{where}: {', '.join(leaked)}")
        if case.placement == "path":
            # The tablet with no one signed in to the back office is sent to sign in (before anything is read)
            # by the back-office pages; its own pages answer 404 like everyone's.
            ok = response.status_code in (403, 404) or (case.actor == "counter" and sent_to_login(response))
            if not ok:
                tally.wrong_status.append(where)
        if case.method == "GET":
            gets.append(where)
            continue
        after = fingerprint.take()
        if b_rows := changed(before, after, world.tenant_b.id):
            tally.writes.append(f"{where}: B's {b_rows}")
        refused = response.status_code >= 400 or (
            redirected_to_sign_in(response) and case.endpoint not in SESSION_ENDING)
        if refused and (a_rows := changed(before, after, world.tenant_a.id, audit_ok=True)
                        + changed(before, after, None)):
            tally.writes.append(f"{where}: refused but wrote {a_rows}")
        before = after
    after = fingerprint.take()
    if wrote := changed(before, after, world.tenant_b.id) + changed(before, after, world.tenant_a.id, audit_ok=True):
        tally.writes.append(f"one of the reads {gets} wrote {wrote}")
    tally.seconds = time.monotonic() - started
    SUMMARIES.append(tally.line())
    print("\n" + tally.line())
    return tally


def assert_clean(tally: Tally) -> None:
    problems = tally.problems()
    assert not problems, f"{tally.line()}\n" + "\n".join(problems[:60])


@pytest.fixture
def world(app, tenant_a, tenant_b):
    # Every person's tablet is opened here, then each person's whole run comes in turn: on a busy machine the
    # last ones would be timed out for idleness (COUNTER_IDLE_SECONDS) before their turn, which is not what
    # the matrix measures.
    idle = app.config.get("COUNTER_IDLE_SECONDS")
    app.config["COUNTER_IDLE_SECONDS"] = 3600
    yield build_world(app, tenant_a, tenant_b)
    if idle is None:
        app.config.pop("COUNTER_IDLE_SECONDS", None)
    else:
        app.config["COUNTER_IDLE_SECONDS"] = idle


@pytest.fixture
def fingerprint(owner_engine):
    fp = Fingerprint(owner_engine)
    yield fp
    fp.close()


def test_the_other_tenant_is_out_of_reach_with_both_walls(app, world, fingerprint):
    b_before = fingerprint.take()
    tally = run_matrix(app, world, fingerprint, "PostgreSQL, guard + row-level security")
    assert_clean(tally)
    assert not changed(b_before, fingerprint.take(), world.tenant_b.id)


def test_row_level_security_alone_keeps_the_other_tenant_out(app, world, fingerprint):
    with orm_guard_off():
        assert not event.contains(Session, "do_orm_execute", scoping._add_tenant_criteria)
        tally = run_matrix(app, world, fingerprint, "PostgreSQL, row-level security alone (ORM guard off)",
                           ONE_WALL_ACTORS)
    assert_clean(tally)


def test_the_orm_guard_alone_keeps_the_other_tenant_out(app, owner_engine, world, fingerprint):
    with row_level_security_off(owner_engine):
        with tenant_context(world.tenant_a):  # raw SQL now sees both tenants: only the guard is left
            db.session.rollback()
            seen = set(db.session.execute(text("select distinct tenant_id from members")).scalars())
            assert seen == {world.tenant_a.id, world.tenant_b.id}
            db.session.rollback()
        tally = run_matrix(app, world, fingerprint, "PostgreSQL, ORM guard alone (row-level security off)",
                           ONE_WALL_ACTORS)
    assert_clean(tally)


def test_on_sqlite_the_orm_guard_alone_keeps_the_other_tenant_out(sqlite_app):
    """The embedded default of `make run` has no row-level security at all: the guard alone, on SQLite."""
    from tests.factories import make_tenant

    with sqlite_app.app_context():
        tenant_a, tenant_b = make_tenant("tenant-a"), make_tenant("tenant-b", vertical="pharmacy")
        world = build_world(sqlite_app, tenant_a, tenant_b)
        fingerprint = SqliteFingerprint(db.engine)
        before = fingerprint.take()  # it sees a write to B's rows
        db.session.execute(text("update members set notes = 'seen' where tenant_id = :t"), {"t": tenant_b.id})
        db.session.commit()
        assert changed(before, fingerprint.take(), tenant_b.id) == ["members"]
        tally = run_matrix(sqlite_app, world, fingerprint, "SQLite, ORM guard alone (no row-level security)",
                           ONE_WALL_ACTORS)
        db.session.remove()
    assert_clean(tally)


def test_every_url_rule_is_visited_by_the_matrix(app):
    web = [r.value for r in Role] + ["counter"]
    cases, unbuildable = generate_cases(app, web, ["api"])
    assert not unbuildable, (f"the isolation matrix has no id of tenant B for these URL rules: {unbuildable}; "
                             "add one to own_one_of_everything and FORM_FIELDS")
    visited = {(c.rule, c.method) for c in cases}
    unvisited = [f"{m} {r.rule} ({r.endpoint})" for r in app.url_map.iter_rules() for m in methods_of(r)
                 if r.endpoint not in TENANTLESS and (r.rule, m) not in visited]
    assert not unvisited, f"no isolation case visits: {unvisited}"
    # Every role (and the tablet, and the API) tries every rule it could reach, in every placement.
    for rule in app.url_map.iter_rules():
        if tenant_web_rule(rule):
            assert {c.actor for c in cases if c.rule == rule.rule} == set(web), rule.rule
    assert not set(TENANTLESS) - {r.endpoint for r in app.url_map.iter_rules()}, "TENANTLESS names a gone route"
