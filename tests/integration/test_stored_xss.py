"""Stored XSS and htmx attribute injection: script, markup, htmx attributes, template syntax and javascript: URLs
typed into every free-text field (a member's name, notes, address and tags, store, region, staff and tablet
names, a reward's name in the program) come back escaped on every page and fragment that shows them, for the
back office and at the counter, and unchanged in the API's JSON."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from saas.extensions import db
from saas.models import CounterDevice, StaffUser
from tenants.counter import register_device
from tenants.models import ProgramVersion, Region, Store
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tenants.services.members import enroll_member, update_member
from tenants.services.programs import post_program_version
from tenants.services.reward_stock import receive as receive_reward_stock
from tests.integration.fuzz_figures import write_figures
from tests.integration.test_counter import open_counter

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror=window.__xss=2>'
HTMX = '" hx-get="/evil" hx-trigger="load'
TEMPLATE = "{{7*7}}"
JS_URL = "javascript:window.__xss=3"
# What must never stand in a page as markup (it would be an element, an attribute or a link).
RAW = ["<script>window.__xss", "<img src=x", 'hx-get="/evil"', 'href="javascript:', "src=\"javascript:"]
MEMBER_NAME = (IMG + SCRIPT)[:80]


def plant(tenant) -> dict[str, str]:
    """Every free-text field of the tenant filled with an injection; the ids of what holds them."""
    with tenant_context(tenant):
        owner = db.session.scalars(select(StaffUser).where(StaffUser.role == "owner")).one()
        store = db.session.scalars(select(Store).order_by(Store.code)).first()
        member = enroll_member(business_at=dt.datetime.now(ZoneInfo("Asia/Shanghai")), name=MEMBER_NAME,
                               phone="13800138000", email="x@example.com")
        update_member(member, {"notes": SCRIPT + HTMX + TEMPLATE, "address": IMG + JS_URL,
                               "tags": [SCRIPT, HTMX]})
        for row in db.session.scalars(select(Store)):
            row.name = (IMG + TEMPLATE)[:120]
        for row in db.session.scalars(select(Region)):
            row.name = (HTMX + SCRIPT)[:80]
        owner.name = (SCRIPT + HTMX)[:80]
        device, _token = register_device(manager=owner, store_id=store.id, name=(IMG + HTMX)[:80])
        program = db.session.scalars(select(ProgramVersion)).one()
        rules = {**program.rules, "redemption": {**program.rules["redemption"], "catalogue": [
            *program.rules["redemption"].get("catalogue", []),
            {"code": "xss-gift", "name": {"en": SCRIPT + IMG, "zh_CN": HTMX + JS_URL}, "points": 1}]}}
        post_program_version(rules, program.effective_from, note=SCRIPT + IMG)
        receive_reward_stock("xss-gift", 5, note=IMG + HTMX)
        token = create_api_key(SCRIPT + HTMX, created_by=owner.id).token
        db.session.commit()
        return {"member_id": str(member.id), "store_id": str(store.id), "region_id": str(db.session.scalars(
            select(Region.id)).first()), "device_id": str(device.id), "staff_id": str(owner.id),
            "item_code": "xss-gift", "token": token}


def pages(app, ids: dict[str, str]):
    for rule in app.url_map.iter_rules():
        wanted = rule.arguments - {"slug"}
        if "GET" not in rule.methods or "slug" not in rule.arguments or not wanted <= set(ids):
            continue
        path = rule.rule.replace("<slug>", "tenant-a")
        for name in wanted:
            path = path.replace(f"<int:{name}>", ids[name]).replace(f"<{name}>", ids[name])
        yield path


def test_injections_in_every_free_text_field_are_escaped_on_every_page(app, client, login_as, tenant_a):
    ids = plant(tenant_a)
    owner = login_as("owner")
    with tenant_context(tenant_a):
        db.session.get(StaffUser, (tenant_a.id, owner.id)).name = (SCRIPT + HTMX)[:80]
        db.session.commit()
    open_counter(client, tenant_a, owner)
    with tenant_context(tenant_a):
        ids["device_id"] = str(db.session.scalars(select(CounterDevice.id)).first())
    seen, failures = 0, []
    shown_escaped = set()
    for path in pages(app, ids):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(path, headers=headers, buffered=True)
            assert response.status_code < 500, (path, response.status_code)
            if "html" not in response.content_type and "csv" not in response.content_type:
                continue
            seen += 1
            body = response.get_data(as_text=True)
            failures += [(path, headers, raw) for raw in RAW if raw in body]
            if "&lt;script&gt;window.__xss" in body or "&#34;&gt;&lt;img src=x" in body:
                shown_escaped.add(path.split("?")[0])
    assert failures == [], failures
    assert seen > 20
    member_page = f"/t/tenant-a/counter/members/{ids['member_id']}"
    assert member_page in shown_escaped, sorted(shown_escaped)
    assert any(p.startswith("/t/tenant-a/stores") for p in shown_escaped), sorted(shown_escaped)
    assert TEMPLATE in client.get(member_page).get_data(as_text=True)  # shown as typed, never evaluated
    write_figures("xss", f"Stored XSS: {seen} page and fragment answers checked (back office and counter), "
                         f"{len(shown_escaped)} showing an injection escaped, raw markup found 0")


def test_the_api_returns_injections_as_plain_json_strings(app, client, tenant_a):
    ids = plant(tenant_a)
    response = client.get(f"/api/v1/members/{ids['member_id']}", headers={"Authorization": f"Bearer {ids['token']}"})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json["name"] == MEMBER_NAME
