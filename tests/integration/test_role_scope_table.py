"""Inside one tenant: role × action × scope (SPEC §1, §12; `saas.permissions`, `tenants.access`).

Tenant A has stores S1 and S2 in region R1 and S3 in region R2, each with a member (a card, a purchase, an
ID document number, a points adjustment waiting for approval), a clerk and a tablet of its own. The owner,
a chain administrator, the regional supervisor of R1, the store manager, the VIP specialist and the clerk
of S1 (each signed in to the back office, with a tablet of S1 open under their PIN) call every URL rule and
method under /t/<slug>/, once per store for a rule naming a store's object. The expected answer is
generated, never written down:

- the permission is the one the view declares (`require(...)` and `counter_requires(...)` set
  `.permission`); a role the permission table refuses gets 403, before any object is read;
- a back-office object of a store outside the person's scope (SCOPE_ALL: every store, SCOPE_REGION: the
  region's, otherwise their own store) is 404, the same answer as for no such object; a counter screen
  (`.at_counter`) names members, cards and purchases of every store (全国通用, SPEC §2);
- everything else is allowed: below 500 and neither 403, 404 nor sent to sign in (a form posted with
  nothing in it is refused on its fields, 4xx);
- a refusal (403/404) writes nothing (every table compared, past row-level security; the audit log of the
  tenant may grow).

A route without a declared permission that is not in NO_PERMISSION, a permission no route declares that
is not in NOT_A_ROUTE, an argument the world has no object for, or a role with no actor fails
`test_the_table_covers_every_route_permission_and_role` by name. `pytest -s` prints the figures.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest

from saas.extensions import db
from saas.models import StaffUser
from saas.permissions import PERMISSIONS, SCOPE_ALL, SCOPE_REGION, Role, can
from tenants.counter import register_device
from tenants.models import Card, Region, Store
from tenants.scoping import tenant_context
from tenants.services.adjustments import request_adjustment
from tenants.services.identity_changes import request_identity_change
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, record_purchase
from tenants.services.stored_value_adjustments import request_adjustment as request_sv_adjustment
from tests.conftest import csrf_from
from tests.factories import make_staff
from tests.integration.billing_support import switch_billing_on
from tests.integration.isolation_support import Fingerprint, changed, own_one_of_everything
from tests.integration.test_isolation_matrix import TENANTLESS, methods_of, redirected_to_sign_in, web_actor

# Routes that no permission guards, and why (the table checks them for 5xx only).
NO_PERMISSION = {
    "tenant.auth.login": "signing in",
    "tenant.auth.logout": "signing out",
    "tenant.staff.accept": "an invitation link: its token is the credential",
    "tenant.counter.home": "a browser that is no tablet yet sees the set-up page; a tablet the search (counter.use)",
    "tenant.counter.pin": "the PIN pad of a tablet",
    "tenant.counter.lock": "locks the tablet: anyone at it may",
    "tenant.billing.refused": "explains why billing refused an htmx request",
    "tenant.logo.image": "the tenant's logo: the sign-in page and a tablet not yet signed in show it",
}
# Permissions no route declares: what each guards instead, or why nothing yet (a new one must be placed).
NOT_A_ROUTE = {
    "members.view_counter": "what every counter screen shows (masked phone, tier, points): counter.use opens them",
    "members.view_full": "full records on the member pages (the profile form answers 403 without it)",
    "members.export": "no export is built yet",
    "tiers.grant": "the grant choices of the counter's tier screen (a fee needs counter.use only)",
    "care.followups": "member care is not built yet",
    "reports.store": "no report page is built yet",
    "reports.chain": "no report page is built yet (the segments report is a service)",
    "messages.templates": "messaging is not built yet",
}
# URL arguments naming an object of one store, and those naming something of the whole tenant.
STORE_ARGS = {"member_id", "staff_id", "store_id", "device_id", "purchase_id", "card_id", "request_id", "change_id",
              "sv_request_id"}
TENANT_ARGS = {"import_id", "key_id", "item_code", "token", "region_id", "version", "publish_request_id", "run_id"}
# Ends the person's session or changes what every later request sees: last, in this order.
LAST = ("tenant.stores.active", "tenant.counter.lock", "tenant.auth.logout")
ROLES = [r.value for r in Role]


@dataclass
class Chain:
    tenant: object
    stores: dict[str, int]  # S1, S2, S3 → store id
    regions: dict[str, int]  # R1, R2
    objects: dict[str, dict[str, str]]  # store label → URL argument → id
    tenant_ids: dict[str, str]
    actors: dict = field(default_factory=dict)

    def reach(self, role: str) -> set[str]:
        """The stores a role of the table may see: every store, R1's, or S1 (the person's own)."""
        if Role(role) in SCOPE_ALL:
            return {"S1", "S2", "S3"}
        if Role(role) in SCOPE_REGION:
            return {"S1", "S2"}
        return {"S1"}


def objects_of_store(tenant, store: Store, n: int) -> dict[str, str]:
    """A member (card, purchase, ID document number, a waiting adjustment and name change), a clerk and a tablet of
    `store`."""
    with tenant_context(tenant):
        owner = db.session.query(StaffUser).filter_by(role="owner").order_by(StaffUser.id).first()
        now = dt.datetime.now(ZoneInfo(tenant.timezone))
        member = enroll_member(business_at=now, name=f"Member of {store.code}", phone=f"1390000000{n}",
                               store_id=store.id, id_doc_type="id_card", id_doc_number=f"11010119900101000{n}")
        purchase = record_purchase(member_id=member.id, lines=[LineIn("1", 1000)], tenders=[], business_at=now,
                                   store_id=store.id)
        card = db.session.query(Card).filter_by(member_id=member.id).one()
        device, _token = register_device(manager=owner, store_id=store.id, name=f"Till of {store.code}")
        db.session.commit()
        asked = request_adjustment(member_id=member.id, delta_raw="5000", reason=f"for {store.code}",
                                   actor_id=owner.id, business_at=now)
        change = request_identity_change(member, "name", f"New name {store.code}", actor_id=owner.id)
        sv_asked = request_sv_adjustment(member_id=member.id, direction="credit", amount_raw="5000",
                                         reason=f"balance for {store.code}", actor_id=owner.id, business_at=now)
        db.session.commit()
        store = db.session.get(Store, (tenant.id, store.id))
    clerk = make_staff(tenant, "clerk", store=store)
    return {"member_id": str(member.id), "purchase_id": str(purchase["id"]), "card_id": str(card.id),
            "device_id": str(device.id), "staff_id": str(clerk.id), "store_id": str(store.id),
            "request_id": str(asked["request_id"]), "change_id": str(change.id),
            "sv_request_id": str(sv_asked["request_id"])}


def build_chain(app, tenant) -> Chain:
    everything = own_one_of_everything(tenant, "Amark", "13811112222")  # the tenant-wide objects
    with tenant_context(tenant):
        s1, s2 = db.session.query(Store).order_by(Store.code).all()[:2]
        r1 = s1.region_id
        assert s2.region_id == r1
        r2 = Region(name="R2")
        db.session.add(r2)
        db.session.flush()
        s3 = Store(code="S003", name="S3", region_id=r2.id)
        db.session.add(s3)
        db.session.commit()
        stores = {"S1": s1, "S2": s2, "S3": s3}
        regions = {"R1": r1, "R2": r2.id}
    objects = {label: objects_of_store(tenant, store, n) for n, (label, store) in enumerate(stores.items())}
    chain = Chain(tenant, {k: s.id for k, s in stores.items()}, regions, objects,
                  {k: everything.ids[k] for k in TENANT_ARGS} | {"region_id": str(regions["R2"])})
    for role in ROLES:  # every one of S1 (the supervisor of R1), with a tablet of S1 open under their PIN
        chain.actors[role] = web_actor(app, tenant, role, role)
    return chain


@dataclass(frozen=True)
class Case:
    role: str
    endpoint: str
    rule: str
    method: str
    store: str | None  # whose object the path names (None: no store's object)


def table_rules(app) -> list:
    return [r for r in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
            if "slug" in r.arguments and r.endpoint not in TENANTLESS]


def generate_cases(app) -> list[Case]:
    cases = []
    for rule in table_rules(app):
        stores = ("S1", "S2", "S3") if rule.arguments & STORE_ARGS else (None,)
        for role in ROLES:
            for method in methods_of(rule):
                cases += [Case(role, rule.endpoint, rule.rule, method, store) for store in stores]
    order = {endpoint: i + 1 for i, endpoint in enumerate(LAST)}
    return sorted(cases, key=lambda c: (order.get(c.endpoint, 0), c.method != "GET", c.rule, c.role, c.store or ""))


def expected(app, chain: Chain, case: Case) -> str:
    """allowed | 403 | 404 | any (no permission declared: only no 5xx), from the declarations."""
    view = app.view_functions[case.endpoint]
    permission = getattr(view, "permission", None)
    if permission is None:
        return "any"
    if not can(case.role, permission):
        return "403"
    if case.store is not None and not getattr(view, "at_counter", False) and case.store not in chain.reach(case.role):
        return "404"
    return "allowed"


def answered(response) -> str:
    if response.status_code >= 500:
        return "5xx"
    if response.status_code in (403, 404):
        return str(response.status_code)
    if redirected_to_sign_in(response) or response.status_code == 401:
        return "sent to sign in"
    return "allowed"


@dataclass
class Tally:
    tried: int = 0
    by_answer: Counter = field(default_factory=Counter)
    wrong: list = field(default_factory=list)
    writes: list = field(default_factory=list)

    def line(self, seconds: float) -> str:
        return (f"role × scope table: {self.tried} requests (6 roles, every rule and method, objects of S1, S2, S3), "
                f"allowed {self.by_answer['allowed']}, 403 {self.by_answer['403']}, 404 {self.by_answer['404']}, "
                f"5xx {self.by_answer['5xx']}, wrong {len(self.wrong)}, refusals that wrote {len(self.writes)} "
                f"({seconds:.0f} s)")


def run_table(app, chain: Chain, fingerprint) -> Tally:
    tally = Tally()
    rules = {(r.rule, r.endpoint): r for r in app.url_map.iter_rules()}
    csrf = {role: csrf_from(actor.client.get(f"/t/{chain.tenant.slug}/login").get_data(as_text=True))
            for role, actor in chain.actors.items()}
    before = fingerprint.take()
    for case in generate_cases(app):
        client = chain.actors[case.role].client
        ids = {**chain.tenant_ids, **(chain.objects[case.store] if case.store else chain.objects["S1"])}
        rule = rules[(case.rule, case.endpoint)]
        path = rule.build({"slug": chain.tenant.slug, **{k: ids[k] for k in rule.arguments - {"slug"}}})[1]
        token = csrf[case.role]
        kwargs = {"headers": {"X-CSRFToken": token}}
        if case.method != "GET":
            kwargs["data"] = {"csrf_token": token}
        response = client.open(path, method=case.method, buffered=True, **kwargs)
        tally.tried += 1
        got, want = answered(response), expected(app, chain, case)
        tally.by_answer[got] += 1
        where = (f"{case.role} {case.method} {case.rule} [{case.store or '-'}] → {response.status_code}"
                 f" (expected {want})")
        if got == "5xx" or (want != "any" and got != want):
            tally.wrong.append(where)
        if case.method != "GET":
            after = fingerprint.take()
            if got in ("403", "404") and (rows := changed(before, after, chain.tenant.id, audit_ok=True)):
                tally.writes.append(f"{where}: wrote {rows}")
            before = after
    return tally


@pytest.fixture
def chain(app, tenant_a, monkeypatch, stripe_api_base):
    switch_billing_on(app, monkeypatch, stripe_api_base)  # (otherwise its routes are absent: 404 for everyone)
    return build_chain(app, tenant_a)


def test_every_role_reaches_what_its_permissions_and_store_scope_allow_and_nothing_else(app, chain, owner_engine):
    fingerprint = Fingerprint(owner_engine)
    started = time.monotonic()
    try:
        tally = run_table(app, chain, fingerprint)
    finally:
        fingerprint.close()
    print("\n" + tally.line(time.monotonic() - started))
    assert not tally.wrong, "\n".join(tally.wrong[:80])
    assert not tally.writes, "\n".join(tally.writes[:40])
    # The table tried all three kinds of answer, for every role.
    assert tally.by_answer["allowed"] and tally.by_answer["403"] and tally.by_answer["404"]


def test_the_table_covers_every_route_permission_and_role(app):
    rules = table_rules(app)
    undeclared = [f"{r.rule} ({r.endpoint})" for r in rules
                  if getattr(app.view_functions[r.endpoint], "permission", None) is None
                  and r.endpoint not in NO_PERMISSION]
    assert not undeclared, ("these routes declare no permission: guard them with require(...) or "
                            f"counter_requires(...), or say why in NO_PERMISSION: {undeclared}")
    declared = {getattr(app.view_functions[r.endpoint], "permission", None) for r in rules}
    assert all(p in PERMISSIONS for p in declared - {None}), declared - set(PERMISSIONS)
    unused = set(PERMISSIONS) - declared - set(NOT_A_ROUTE)
    assert not unused, f"no route declares {unused}: give it a route or say where it applies in NOT_A_ROUTE"
    assert not set(NOT_A_ROUTE) & declared, "NOT_A_ROUTE names a permission a route declares"
    assert not set(NO_PERMISSION) - {r.endpoint for r in rules}, "NO_PERMISSION names a gone route"
    unknown = {a for r in rules for a in r.arguments - {"slug"}} - STORE_ARGS - TENANT_ARGS
    assert not unknown, f"the table has no object for the URL arguments {unknown}: add them to the world"
    assert {c.role for c in generate_cases(app)} == set(ROLES) == {r.value for r in Role}
    # Every store's object is tried by every role, on every rule naming one.
    for rule in rules:
        if rule.arguments & STORE_ARGS:
            stores = {(c.role, c.store) for c in generate_cases(app) if c.rule == rule.rule}
            assert stores == {(role, s) for role in ROLES for s in ("S1", "S2", "S3")}, rule.rule
