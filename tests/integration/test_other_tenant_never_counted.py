"""SPEC §2 "no request, job, report or export may ever see another tenant's rows": searches, counts, reports,
jobs, API paging and the audit log of tenant A, with tenant B holding look-alike data — the same member name,
the same phone (and others with the same last four digits), the same physical card number, the same tag, and
more members, purchases and audit rows than A. Run with both walls, with row-level security alone (ORM guard
off) and with the guard alone (row-level security off): each of them must keep B out by itself.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from saas.extensions import db
from saas.models import AuditEntry, StaffUser
from tenants.models import Member, PointsEntry, ProgramVersion
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tenants.services.evaluation import evaluate_tenant, members_due
from tenants.services.members import enroll_member, update_member
from tenants.services.purchases import LineIn, record_purchase
from tenants.services.segments_report import segment_report
from tests.conftest import csrf_from
from tests.factories import make_staff
from tests.integration.isolation_support import Fingerprint, changed, orm_guard_off, row_level_security_off
from tests.integration.test_counter import open_counter
from tests.integration.test_member_import import (
    HEADERS_ZH,
    check,
    commit,
    csv_bytes,
    import_row,
    imported_id,
    run_jobs,
    upload,
)

NAME, PHONE, CARD, TAG = "王芳", "13812345678", "6200001234", "常客"
B_PHONES = [PHONE, "13900005678", "13700005678"]  # B's: A's phone, and two more ending in 5678
B_OWNER = "Bowner-Zed"


def evaluation_day() -> dt.date:
    """A day 40 days on (the purchases' points released) that is every member's birthday: all of them due."""
    day = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=40)
    return day + dt.timedelta(days=1) if (day.month, day.day) == (2, 29) else day


def enrol(tenant, phone: str, card: str | None, spend_fen: int) -> int:
    with tenant_context(tenant):
        owner = db.session.query(StaffUser).filter_by(role="owner").one()
        now = dt.datetime.now(ZoneInfo(tenant.timezone))
        birthday = evaluation_day().replace(year=1990)
        member = enroll_member(business_at=now, name=NAME, phone=phone, physical_card_number=card, birthday=birthday)
        update_member(member, {"tags": TAG}, actor_id=owner.id)  # audited, in the member's tenant
        db.session.commit()
        record_purchase(member_id=member.id, lines=[LineIn("1", spend_fen)], tenders=[], business_at=now)
        db.session.commit()
        return member.id


@pytest.fixture
def twins(tenant_a, tenant_b):
    with tenant_context(tenant_b):
        db.session.query(StaffUser).filter_by(role="owner").one().name = B_OWNER
        db.session.commit()
    a = [enrol(tenant_a, PHONE, CARD, 10_000)]
    b = [enrol(tenant_b, phone, CARD if i == 0 else None, 30_000) for i, phone in enumerate(B_PHONES)]
    return a, b


@pytest.fixture(params=["both walls", "row-level security alone", "ORM guard alone"])
def walls(request, owner_engine):
    if request.param == "row-level security alone":
        with orm_guard_off():
            yield request.param
    elif request.param == "ORM guard alone":
        with row_level_security_off(owner_engine):
            yield request.param
    else:
        yield request.param


def member_links(html: str, prefix: str) -> set[int]:
    return {int(m) for m in re.findall(rf'/t/tenant-a/{prefix}/(\d+)', html)}


def a_figures(owner_engine, tenant_id: int) -> dict:
    """What A's dashboard must show, read by the schema owner with the tenant named explicitly."""
    with owner_engine.connect() as conn:
        conn.execute(text("select set_config('app.tenant_id', :t, false)"), {"t": str(tenant_id)})
        row = conn.execute(text(
            "select count(*), coalesce(sum(points_balance), 0), coalesce(sum(stored_value_fen), 0) "
            "from members where tenant_id = :t and status = 'active'"), {"t": tenant_id}).one()
        spend = conn.execute(text("select coalesce(sum(spend_fen), 0) from purchases where tenant_id = :t"),
                             {"t": tenant_id}).scalar()
    return {"members": row[0], "points": row[1], "stored_value": row[2], "spend": spend}


def test_searches_counts_reports_jobs_paging_and_the_audit_log_of_a_never_include_b(
        app, client, tenant_a, tenant_b, twins, walls, owner_engine, login_as):
    a_ids, b_ids = twins
    fingerprint = Fingerprint(owner_engine)
    b_before = fingerprint.take()
    login_as("owner")

    # The member list's search, by the last four digits, the name, the tag and the full phone.
    page = client.get("/t/tenant-a/members")
    token = csrf_from(page.get_data(as_text=True))
    for q in ("5678", NAME, TAG, PHONE):
        found = client.post("/t/tenant-a/members", data={"q": q, "csrf_token": token})
        assert found.status_code == 200
        assert member_links(found.get_data(as_text=True), "members") == set(a_ids), (walls, q)

    # The counter's search: last four, name, full phone (A's member exactly), the card number B also issued.
    counter = app.test_client()
    open_counter(counter, tenant_a, make_staff(tenant_a, "clerk"))
    for q in ("5678", NAME):
        found = counter.get(f"/t/tenant-a/counter?q={q}", headers={"HX-Request": "true"})
        assert member_links(found.get_data(as_text=True), "counter/members") == set(a_ids), (walls, q)
    for q in (PHONE, CARD):
        exact = counter.get(f"/t/tenant-a/counter?q={q}")
        assert exact.status_code == 303 and exact.headers["Location"].endswith(f"/counter/members/{a_ids[0]}")

    # The dashboard's counts: A's members, points, stored value and member sales, nothing of B's.
    expected = a_figures(owner_engine, tenant_a.id)
    shown = re.findall(r'class="stat-value" title="([^"]+)"', client.get("/t/tenant-a/").get_data(as_text=True))
    digits = [int(re.sub(r"\D", "", value)) for value in shown]
    assert digits == [expected["members"], expected["spend"], expected["points"], expected["stored_value"]], shown

    # The segments report (ABC, RFM, lifecycle).
    with tenant_context(tenant_a):
        today = dt.datetime.now(ZoneInfo(tenant_a.timezone)).date()
        report = segment_report(today)
        db.session.rollback()
    assert report.members == len(a_ids) == sum(c.members for c in report.abc)
    assert sum(c.spend_fen for c in report.abc) == expected["spend"]

    # The daily evaluation job, for A, on the day the purchases' points are released: A's member only.
    release_day = evaluation_day().isoformat()
    stats = evaluate_tenant(tenant_a.id, release_day)
    assert stats["members"] == len(a_ids), stats
    with tenant_context(tenant_b):
        assert members_due(dt.date.fromisoformat(release_day)) == sorted(b_ids)  # still due: untouched
        db.session.rollback()

    # A member import for A of B's phones and names: nothing of B counts as a duplicate, B's rows stay.
    rows = [[NAME, phone] + [""] * (len(HEADERS_ZH) - 2) for phone in B_PHONES[1:]]
    import_id = imported_id(upload(client, tenant_a, "b-lookalikes.csv", csv_bytes(HEADERS_ZH, rows)))
    check(client, tenant_a, import_id)
    run_jobs(app)
    checked = import_row(tenant_a, import_id)
    assert (checked.status, checked.valid_rows, checked.duplicate_rows) == ("checked", 2, 0), checked.status
    commit(client, tenant_a, import_id)
    run_jobs(app)
    done = import_row(tenant_a, import_id)
    assert (done.status, done.created_members, done.skipped_at_commit) == ("committed", 2, 0)

    # API paging: A's key, with cursors taken from B's ids, pages through A's rows only.
    with tenant_context(tenant_a):
        key = create_api_key("A's POS", created_by=None).token
        a_entries = {str(i) for i in db.session.scalars(
            db.select(PointsEntry.id).where(PointsEntry.member_id == a_ids[0]))}
        a_versions = {v for v in db.session.scalars(db.select(ProgramVersion.version))}
    with tenant_context(tenant_b):
        b_entries = [str(i) for i in db.session.scalars(db.select(PointsEntry.id))]
        b_top_version = max(db.session.scalars(db.select(ProgramVersion.version)))
        db.session.rollback()
    bearer = {"Authorization": f"Bearer {key}"}
    for cursor in [*b_entries, str(max(int(e) for e in b_entries) + 1)]:
        page = client.get(f"/api/v1/members/{a_ids[0]}/ledger?cursor={cursor}&limit=100", headers=bearer)
        assert page.status_code == 200, page.json
        assert {item["id"] for item in page.json["items"]} <= a_entries, (walls, cursor)
    for member_id in b_ids:
        assert client.get(f"/api/v1/members/{member_id}/ledger", headers=bearer).status_code == 404
    versions = client.get(f"/api/v1/program/versions?cursor={b_top_version + 1}&limit=100", headers=bearer)
    assert {v["version"] for v in versions.json["items"]} <= a_versions

    # The audit log page: A's own rows, none of B's (B's owner changed B's members).
    audit_page = client.get("/t/tenant-a/audit").get_data(as_text=True)
    assert f"member={a_ids[0]}" in audit_page  # A's member, tagged by A's owner
    assert B_OWNER not in audit_page and not any(str(m) in audit_page for m in b_ids)
    with tenant_context(tenant_b):
        assert db.session.query(AuditEntry).filter(AuditEntry.target.in_([f"member:{m}" for m in b_ids])).count() \
            == len(b_ids)
        db.session.rollback()

    # Nothing of B was written by any of it; and A's member count is what A did.
    assert not changed(b_before, fingerprint.take(), tenant_b.id), walls
    fingerprint.close()
    with tenant_context(tenant_a):
        assert db.session.query(Member).count() == len(a_ids) + 2
        db.session.rollback()
