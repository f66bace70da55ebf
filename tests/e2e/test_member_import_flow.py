"""An owner brings legacy members over in Chromium: upload a CSV with Chinese headers, match the columns, watch
the check run, read the report (one bad row, one member already enrolled), import, read the outcome."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker
from sqlalchemy import func, select

from saas.extensions import db
from saas.jobs import get_queue, redis_connection
from tenants.models import Member
from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tests.factories import make_tenant

pytestmark = pytest.mark.e2e

HEADERS = ["姓名", "手机号", "生日", "会员等级", "积分", "储值余额", "累计消费", "备注"]
ROWS = [
    ["张三", "13800000001", "1990-05-01", "金卡", "1200", "300.50", "5200", "老客户"],
    ["李四", "138 0000 0002", "1985/12/31", "", "0", "", "1500", ""],
    ["王五", "12345", "", "", "", "", "", ""],
    ["钱七", "13900000000", "", "", "", "", "", ""],
]


def members_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(ROWS)
    return buffer.getvalue().encode("gb18030")


def run_worker(app) -> None:
    """The RQ worker takes the queued job (the live server runs with Redis, as production does)."""
    with app.app_context():
        SimpleWorker([get_queue("default", app)], connection=redis_connection(app)).work(burst=True)
        db.session.remove()


def test_an_owner_imports_legacy_members_from_a_csv_with_chinese_headers(page, app, shot, sign_in):
    with app.app_context():
        tenant = make_tenant("import-shop", vertical="clothing", language="en")
        with tenant_context(tenant):
            enroll_member(business_at=dt.datetime.now(dt.UTC), name="钱七", phone="13900000000")
            db.session.commit()
        db.session.remove()
    errors = sign_in("import-shop", "owner@import-shop.example.com")

    page.get_by_role("link", name="Import members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import members")
    shot(page, "upload")
    page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(
        files=[{"name": "会员.csv", "mimeType": "text/csv", "buffer": members_csv()}])
    page.get_by_role("button", name="Upload and match the columns").click()

    # The mapping: a select per column with the suggestion chosen, and the first rows of the file.
    expect(page.get_by_role("heading", level=1)).to_have_text("Match the columns")
    expect(page.get_by_label("手机号")).to_have_value("phone")
    expect(page.get_by_label("累计消费")).to_have_value("cumulative_spend")
    expect(page.locator(".import-preview tbody tr")).to_have_count(4)
    shot(page, "mapping")
    page.get_by_role("button", name="Check the file").click()

    # The check waits for the worker: the status polls itself, then shows the report.
    expect(page.locator("#import-status")).to_contain_text("Checking the file")
    shot(page, "checking")
    run_worker(app)
    expect(page.locator("#import-status")).to_contain_text("Check report", timeout=10_000)
    report = page.locator(".import-report")
    expect(report).to_contain_text("Rows4")
    expect(report).to_contain_text("Valid2")
    expect(page.locator(".import-issues tbody tr")).to_have_count(2)
    expect(page.locator(".import-issues")).to_contain_text("Enter a valid mobile number.")
    expect(page.locator(".import-issues")).to_contain_text("A member with this phone number already exists.")
    expect(page.get_by_role("link", name="Download all errors (CSV)")).to_be_visible()
    shot(page, "report")

    page.get_by_role("button", name="Import the valid members (2)").click()
    expect(page.locator("#import-status")).to_contain_text("Importing the members")
    run_worker(app)
    expect(page.locator("#import-status")).to_contain_text("The members are imported", timeout=10_000)
    outcome = page.locator(".import-outcome")
    expect(outcome).to_contain_text("Members created2")
    expect(outcome).to_contain_text("Points opened1,200")
    expect(outcome).to_contain_text("300.50")
    shot(page, "imported")

    page.get_by_role("link", name="All imports").first.click()
    expect(page.locator(".import-list tbody tr")).to_have_count(1)
    expect(page.locator(".import-list")).to_contain_text("Imported")
    shot(page, "past-imports")
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(func.count()).select_from(Member)) == 3
        db.session.remove()
    assert errors == []
