"""The program editor publishes the draft: a new version from a chosen day; purchases before it keep the old rules."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from werkzeug.datastructures import MultiDict

from saas.extensions import db
from tenants.models import ProgramDraft, ProgramVersion
from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tenants.services.purchases import LineIn, record_purchase
from tests.conftest import csrf_from
from tests.integration.program_editor_support import input_id, post_data, read_form

BASE = "/t/tenant-a/program"


def today_of(tenant) -> dt.date:
    return dt.datetime.now(ZoneInfo(tenant.timezone)).date()


def double_the_base_rate(client):
    form = read_form(client.get(f"{BASE}/earning").get_data(as_text=True))
    points = int(form.values["earning.base.points"][0])
    form.values["earning.base.points"] = [str(points * 2)]
    assert client.post(f"{BASE}/earning", data=MultiDict(post_data(form))).status_code == 302
    return points


def publish(client, day: dt.date, note: str = "双倍积分"):
    page = client.get(f"{BASE}/publish").get_data(as_text=True)
    return client.post(f"{BASE}/publish", data={"csrf_token": csrf_from(page), "effective_from": day.isoformat(),
                                                "note": note})


def earned(tenant, member_id: int, at: dt.datetime) -> int:
    with tenant_context(tenant):
        result = record_purchase(member_id=member_id, lines=[LineIn("1", 10_000)], tenders=[], business_at=at)
        db.session.commit()
        return result["points_earned"]


@pytest.mark.tenant_clock
def test_a_purchase_before_the_effective_day_earns_by_the_old_rules_and_after_it_by_the_new(
        client, tenant_a, login_as):
    login_as("owner")
    zone = ZoneInfo(tenant_a.timezone)
    with tenant_context(tenant_a):
        before = db.session.query(ProgramVersion).count()
        member = enroll_member(business_at=dt.datetime.now(zone), name="王芳", phone="13800001234")
        db.session.commit()
    double_the_base_rate(client)
    start = today_of(tenant_a) + dt.timedelta(days=7)
    response = publish(client, start)
    assert response.status_code == 302
    with tenant_context(tenant_a):
        versions = db.session.query(ProgramVersion).order_by(ProgramVersion.version).all()
        assert len(versions) == before + 1 and versions[-1].effective_from == start
        assert versions[-1].note == "双倍积分"
        assert db.session.query(ProgramDraft).count() == 0
    old = earned(tenant_a, member.id, dt.datetime.now(zone))
    with time_machine.travel(dt.datetime.combine(start, dt.time(10, 0), tzinfo=zone), tick=True):
        new = earned(tenant_a, member.id, dt.datetime.now(zone))
    assert old > 0 and new == 2 * old


def test_publishing_refuses_a_day_before_today_on_its_field_and_keeps_the_draft(client, tenant_a, login_as):
    login_as("owner")
    double_the_base_rate(client)
    response = publish(client, today_of(tenant_a) - dt.timedelta(days=1), note="太早")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="effective_from-error"' in page and 'value="太早"' in page
    with tenant_context(tenant_a):
        assert db.session.query(ProgramDraft).count() == 1


def test_publishing_without_a_draft_says_so(client, tenant_a, login_as):
    login_as("owner")
    response = publish(client, today_of(tenant_a))
    assert response.status_code == 404
    assert "没有可发布的草稿" in response.get_data(as_text=True)


def test_the_draft_is_exported_and_a_bad_file_leaves_it_unchanged(client, tenant_a, login_as):
    import io
    import json

    login_as("owner")
    points = double_the_base_rate(client)
    exported = client.get(f"{BASE}/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    document = json.loads(exported.get_data(as_text=True))
    assert document["earning"]["base"]["points"] == points * 2
    version_one = client.get(f"{BASE}/export?version=1")
    assert json.loads(version_one.get_data(as_text=True))["earning"]["base"]["points"] == points
    assert client.get(f"{BASE}/export?version=999").status_code == 404
    token = csrf_from(client.get(BASE).get_data(as_text=True))

    def upload(content: bytes, key: str):
        return client.post(f"{BASE}/import", data={"csrf_token": token, "idem": key,
                                                   "document": (io.BytesIO(content), "program.json")},
                           content_type="multipart/form-data")

    for key, content in (("a", b"{not json"), ("b", b"[1, 2]"), ("c", b'{"hello": "world"}')):
        response = upload(content, key)
        assert response.status_code == 422, key
        assert 'class="error"' in response.get_data(as_text=True)
        with tenant_context(tenant_a):
            db.session.expire_all()
            assert db.session.query(ProgramDraft).one().rules["earning"]["base"]["points"] == points * 2
    document["earning"]["base"]["points"] = points * 3
    assert upload(json.dumps(document).encode(), "d").status_code == 302
    with tenant_context(tenant_a):
        db.session.expire_all()
        draft = db.session.query(ProgramDraft).one()
        assert draft.source == "import" and draft.rules["earning"]["base"]["points"] == points * 3
    assert client.post(f"{BASE}/discard", data={"csrf_token": token, "idem": "e"}).status_code == 302
    with tenant_context(tenant_a):
        assert db.session.query(ProgramDraft).count() == 0


def test_the_overview_counts_the_problems_of_an_imported_draft_per_part(client, tenant_a, login_as):
    import io
    import json

    login_as("owner")
    document = json.loads(client.get(f"{BASE}/export").get_data(as_text=True))
    document["earning"]["base"]["per_fen"] = 0
    token = csrf_from(client.get(BASE).get_data(as_text=True))
    assert client.post(f"{BASE}/import", data={"csrf_token": token, "idem": "x", "document": (
        io.BytesIO(json.dumps(document).encode()), "p.json")}, content_type="multipart/form-data").status_code == 302
    page = client.get(BASE).get_data(as_text=True)
    assert "badge-warn" in page
    form = read_form(client.get(f"{BASE}/earning").get_data(as_text=True))
    assert form.values["earning.base.per_fen"] == ["0"]
    response = client.post(f"{BASE}/earning", data=MultiDict(post_data(form)))
    assert response.status_code == 422
    assert read_form(response.get_data(as_text=True)).errors[input_id("earning.base.per_fen")]


def test_a_chain_admins_publish_waits_for_the_owner_when_the_tenant_asks_for_it(client, tenant_a, login_as):
    from saas.models import Tenant
    from tenants.models import ProgramPublishRequest

    with tenant_context(tenant_a):
        row = db.session.get(Tenant, tenant_a.id)
        row.settings = {**(row.settings or {}), "program_publish_needs_owner": True}
        db.session.commit()
        before = db.session.query(ProgramVersion).count()
    login_as("chain_admin")
    double_the_base_rate(client)
    response = publish(client, today_of(tenant_a))
    assert response.status_code == 200
    assert "等待店主审批" in response.get_data(as_text=True)
    with tenant_context(tenant_a):
        assert db.session.query(ProgramVersion).count() == before
        assert db.session.query(ProgramPublishRequest).filter_by(status="pending").count() == 1
