"""SPEC §3 legacy import: a chain admin uploads a CSV (UTF-8 or GB18030) or XLSX of members, matches its columns,
reads the dry run's report (row, field, reason), and commits; the members arrive with their cards, tier, points
and stored value, their balances equal to their ledgers, and the counter finds them."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re

import openpyxl
import pytest
from flask_babel import force_locale
from rq import SimpleWorker
from sqlalchemy import func, select, text

from saas.billing.plans import PLANS
from saas.extensions import db
from saas.jobs import get_queue, redis_connection
from saas.models import AuditEntry
from tenants.domain.consent import ALL as ALL_CHANNELS
from tenants.imports_models import MemberImport, MemberImportIssues
from tenants.models import (
    Card,
    Member,
    PointsEntry,
    PointsLot,
    StoredValueEntry,
    StoredValueLot,
    TierAccount,
    TierActivityRow,
    TierChangeRow,
)
from tenants.profile_models import ConsentEvent
from tenants.programs import business_today
from tenants.scoping import tenant_context
from tenants.services import imports as import_service
from tenants.services.members import enroll_member, find_by_card, find_by_phone, search_members
from tenants.services.tiers import evaluate_member, explain_member
from tests.conftest import csrf_from
from tests.integration.billing_support import set_subscription, states, switch_billing_on

pytestmark = pytest.mark.tenant_clock  # dates matter here: run either side of the UTC date change

HEADERS_ZH = ["姓名", "手机号", "邮箱", "生日", "性别", "会员卡号", "入会日期", "会员等级", "积分", "储值余额",
              "赠送余额", "累计消费", "最后消费日期", "备注", "营销同意"]

# Row numbers as in the file: the header is row 1.
ROWS_ZH = [
    # 2: valid, gold
    ["张三", "13800000001", "Zhang@Example.com", "1990-05-01", "男", "CARD-0001", "2020/3/5", "金卡", "1,200",
     "300.50", "50", "5200", "20240101", "老客户", "是"],
    # 3: valid, no tier
    ["李四", "138 0000 0002", "", "1985/12/31", "女", "", "20190101", "", "0", "", "", "1500", "", "", "否"],
    # 4: not a phone number
    ["王五", "12345", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    # 5: the phone of row 2
    ["赵六", "+86 138-0000-0001", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    # 6: the phone of a member enrolled before
    ["钱七", "13900000000", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    # 7: a tier the program does not have
    ["孙八", "13800000008", "", "", "", "", "", "黑卡", "", "", "", "", "", "", ""],
    # 8: a negative balance
    ["周九", "13800000009", "", "", "", "", "", "", "", "-5", "", "", "", "", ""],
    # 9: not a date
    ["吴十", "13800000010", "", "1990-13-45", "", "", "", "", "", "", "", "", "", "", ""],
    # 10: neither phone nor e-mail
    ["郑十一", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    # 11: valid, e-mail only
    ["冯十二", "", "feng@example.com", "", "F", "", "", "silver", "10", "", "", "", "", "", ""],
]


def csv_bytes(headers, rows, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def english(client):
    page = client.get("/")
    client.post("/lang", data={"lang": "en", "next": "/", "csrf_token": csrf_from(page.get_data(as_text=True))})


def upload(client, tenant, filename: str, data: bytes, store_id: str = ""):
    page = client.get(f"/t/{tenant.slug}/members/import")
    assert page.status_code == 200
    return client.post(f"/t/{tenant.slug}/members/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "store_id": store_id,
        "file": (io.BytesIO(data), filename)})


def import_row(tenant, import_id: int | None = None) -> MemberImport:
    db.session.rollback()
    with tenant_context(tenant):
        query = select(MemberImport).order_by(MemberImport.created_at.desc())
        if import_id is not None:
            query = query.where(MemberImport.id == import_id)
        return db.session.scalars(query.execution_options(populate_existing=True)).first()


def imported_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.search(r"/members/import/(\d+)/mapping$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def check(client, tenant, import_id: int, columns: dict[int, str] | None = None, store_id: str = ""):
    """Post the mapping (the suggested one, changed by `columns`) and start the dry run."""
    page = client.get(f"/t/{tenant.slug}/members/import/{import_id}/mapping")
    assert page.status_code == 200
    imp = import_row(tenant, import_id)
    mapping = {int(k): v for k, v in imp.mapping.items()}
    mapping.update(columns or {})
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "store_id": store_id}
    for index in range(len(imp.headers)):
        data[f"column-{index}"] = mapping.get(index) or ""
    return client.post(f"/t/{tenant.slug}/members/import/{import_id}/mapping", data=data)


def run_jobs(app) -> None:
    """What the worker does: the jobs queued in Redis (the tests run with REDIS_URL, as production)."""
    SimpleWorker([get_queue("default", app)], connection=redis_connection(app)).work(burst=True)
    db.session.rollback()


def commit(client, tenant, import_id: int):
    page = client.get(f"/t/{tenant.slug}/members/import/{import_id}")
    return client.post(f"/t/{tenant.slug}/members/import/{import_id}/commit",
                       data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def member_count(tenant) -> int:
    db.session.rollback()
    with tenant_context(tenant):
        return db.session.scalar(select(func.count()).select_from(Member))


LEDGER_SQL = """
SELECT m.id,
       m.points_balance, coalesce((SELECT sum(points) FROM points_entries e WHERE e.member_id = m.id), 0),
       coalesce((SELECT sum(points) FROM points_lots l WHERE l.member_id = m.id), 0),
       m.stored_value_fen,
       coalesce((SELECT sum(principal_fen + bonus_fen) FROM stored_value_entries e WHERE e.member_id = m.id), 0),
       coalesce((SELECT sum(principal_fen + bonus_fen) FROM stored_value_lots l WHERE l.member_id = m.id), 0),
       EXISTS (SELECT 1 FROM tier_accounts a WHERE a.id = m.tier_account_id),
       m.visits, (SELECT count(*) FROM purchases p WHERE p.member_id = m.id)
FROM members m
"""


def assert_ledgers_match_balances(tenant) -> int:
    """bench/checks.py's invariants: balances = Σ entries = Σ lots, a tier account, visits = purchases."""
    db.session.rollback()
    with tenant_context(tenant):
        rows = db.session.execute(text(LEDGER_SQL)).all()
    for row in rows:
        assert row[1] == row[2] == row[3], f"points of member {row[0]}: {row[1:4]}"
        assert row[4] == row[5] == row[6], f"stored value of member {row[0]}: {row[4:7]}"
        assert row[7], f"member {row[0]} has no tier account"
        assert row[8] == row[9]
    return len(rows)


@pytest.fixture
def admin(client, tenant_a, login_as):
    user = login_as("chain_admin")
    english(client)
    return user


@pytest.fixture
def existing_member(tenant_a):
    with tenant_context(tenant_a):
        member = enroll_member(business_at=dt.datetime.now(dt.UTC), name="老会员", phone="13900000000")
        db.session.commit()
        return member.id


# --- the whole flow ------------------------------------------------------------------------------------


def test_a_chain_admin_imports_a_gb18030_csv_with_chinese_headers_after_a_dry_run_that_writes_nothing(
        app, client, tenant_a, admin, existing_member):
    response = upload(client, tenant_a, "会员.csv", csv_bytes(HEADERS_ZH, ROWS_ZH, "gb18030"))
    import_id = imported_id(response)
    imp = import_row(tenant_a, import_id)
    assert (imp.file_kind, imp.encoding, imp.status) == ("csv", "gb18030", "uploaded")
    assert imp.headers[0] == "姓名"

    # The mapping form: one select per column, the suggestion preselected, a preview of the first rows.
    html = client.get(f"/t/tenant-a/members/import/{import_id}/mapping").get_data(as_text=True)
    assert '<option value="phone" selected>' in html and '<option value="stored_value_bonus" selected>' in html
    assert "13800000001" in html and "老客户" in html
    assert html.count('name="column-') == len(HEADERS_ZH)

    assert check(client, tenant_a, import_id).status_code == 302
    assert import_row(tenant_a, import_id).status == "checking"
    # The page polls itself while the job waits for a worker.
    running = client.get(f"/t/tenant-a/members/import/{import_id}").get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' in running and "Checking the file" in running
    run_jobs(app)

    imp = import_row(tenant_a, import_id)
    assert imp.status == "checked"
    assert (imp.total_rows, imp.valid_rows, imp.error_rows, imp.duplicate_rows) == (10, 3, 7, 2)
    assert member_count(tenant_a) == 1  # the dry run wrote no member

    fragment = client.get(f"/t/tenant-a/members/import/{import_id}", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert 'id="import-status"' in html and "<html" not in html
    assert "hx-trigger" not in html  # done: it stops polling
    assert "Import the valid members (3)" in html
    assert "Rows with errors are skipped when you import: 7 of them." in html
    assert "/errors.csv" in html

    report = client.get(f"/t/tenant-a/members/import/{import_id}/errors.csv", buffered=True)  # it streams
    assert report.status_code == 200 and report.mimetype == "text/csv"
    body = report.get_data(as_text=True)
    assert body.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert lines[0] == ["Row", "Field", "Reason"]
    problems = {(int(r[0]), r[1]): r[2] for r in lines[1:]}
    assert problems == {
        (4, "Mobile number"): "Enter a valid mobile number.",
        (5, "Mobile number"): "Also on row 2: only the first one is imported.",
        (6, "Mobile number"): "A member with this phone number already exists.",
        (7, "Tier"): "Unknown tier “黑卡”: use a tier code or name of your program.",
        (8, "Stored value: principal (¥)"): "Must not be negative.",
        (9, "Birthday"): "Not a date: write it like 2024-03-05, 2024/3/5 or 20240305.",
        (10, "Mobile number or e-mail"): "A mobile number or an e-mail is required.",
    }

    response = commit(client, tenant_a, import_id)
    assert response.status_code == 302
    assert import_row(tenant_a, import_id).status == "committing"
    run_jobs(app)

    imp = import_row(tenant_a, import_id)
    assert imp.status == "committed"
    assert (imp.created_members, imp.skipped_at_commit, imp.points_opened, imp.stored_value_opened_fen) == \
        (3, 0, 1210, 35050)
    with tenant_context(tenant_a):  # the file's personal data is not kept once imported
        assert db.session.scalar(select(MemberImport.content).where(MemberImport.id == import_id)) is None
    assert imp.preview == []
    html = client.get(f"/t/tenant-a/members/import/{import_id}").get_data(as_text=True)
    assert "The members are imported" in html and "350.50" in html and "1,210" in html
    assert member_count(tenant_a) == 4
    assert assert_ledgers_match_balances(tenant_a) == 4

    with tenant_context(tenant_a):
        zhang = db.session.scalars(select(Member).where(Member.phone == "+8613800000001")).one()
        assert (zhang.name, zhang.email, zhang.gender, zhang.birthday) == \
            ("张三", "zhang@example.com", "male", dt.date(1990, 5, 1))
        assert (zhang.source, zhang.joined_on, zhang.last_purchase_on, zhang.notes, zhang.marketing_consent) == \
            ("import", dt.date(2020, 3, 5), dt.date(2024, 1, 1), "老客户", True)
        # The file's one yes to offers: every channel, each an event of the import (what messaging reads).
        assert zhang.consent_channels == ALL_CHANNELS
        assert sorted((e.channel, e.granted, e.source) for e in db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.member_id == zhang.id))) == [
            ("email", True, "import"), ("phone", True, "import"), ("sms", True, "import"), ("wechat", True, "import")]
        assert (zhang.points_balance, zhang.stored_value_fen, zhang.visits) == (1200, 35050, 0)
        cards = db.session.scalars(select(Card).where(Card.member_id == zhang.id).order_by(Card.kind)).all()
        assert [c.kind for c in cards] == ["physical", "virtual"]
        assert cards[0].number == "CARD-0001" and len(cards[1].number) == 12
        assert all(c.status == "active" and c.issued_on == business_today() for c in cards)
        account = db.session.get(TierAccount, (tenant_a.id, zhang.tier_account_id))
        assert (account.tier_code, account.since, account.evaluated_through) == ("gold", business_today(),
                                                                                 business_today())
        change = db.session.scalars(select(TierChangeRow).where(TierChangeRow.member_id == zhang.id)).one()
        assert (change.action, change.from_tier, change.to_tier, change.reason_code) == \
            ("imported", "regular", "gold", "imported")
        assert change.reason_params["row"] == 2 and change.program_version == 1
        lot = db.session.scalars(select(PointsLot).where(PointsLot.member_id == zhang.id)).one()
        assert (lot.points, lot.source, lot.available_on, lot.released) == (1200, "import", business_today(), True)
        assert lot.expires_on == dt.date(business_today().year + 2, 1, 1)  # clothing: end of next year
        entry = db.session.scalars(select(PointsEntry).where(PointsEntry.member_id == zhang.id)).one()
        assert (entry.kind, entry.reason, entry.ref, entry.program_version) == \
            ("import", "import", f"import:{import_id}:2", 1)
        sv_entry = db.session.scalars(select(StoredValueEntry).where(StoredValueEntry.member_id == zhang.id)).one()
        assert (sv_entry.principal_fen, sv_entry.bonus_fen, sv_entry.kind, sv_entry.program_version) == \
            (30050, 5000, "import", 1)
        sv_lot = db.session.scalars(select(StoredValueLot).where(StoredValueLot.member_id == zhang.id)).one()
        assert (sv_lot.principal_fen, sv_lot.bonus_fen, sv_lot.topped_up_on) == (30050, 5000, business_today())
        activity = db.session.scalars(select(TierActivityRow).where(TierActivityRow.member_id == zhang.id)).one()
        assert (activity.kind, activity.spend_fen, activity.counts_on) == ("import", 520_000, business_today())
        # The counter's evaluation finds nothing left to do, and explains the tier from the imported spend.
        assert not any(evaluate_member(zhang, business_today()).values())
        assert explain_member(zhang, business_today())["tier"] == "gold"

        # No tier given: the base tier, then the imported lifetime spend (¥1,500 ≥ silver's ¥1,000) counts at once.
        li = db.session.scalars(select(Member).where(Member.phone == "+8613800000002")).one()
        assert (li.joined_on, li.gender, li.points_balance, li.stored_value_fen) == \
            (dt.date(2019, 1, 1), "female", 0, 0)
        account = db.session.get(TierAccount, (tenant_a.id, li.tier_account_id))
        assert account.tier_code == "silver"
        change = db.session.scalars(select(TierChangeRow).where(TierChangeRow.member_id == li.id)).one()
        assert (change.action, change.reason_code) == ("upgrade", "reached_cumulative_spend")
        assert db.session.scalar(select(func.count()).select_from(Card).where(Card.member_id == li.id)) == 1

        feng = db.session.scalars(select(Member).where(Member.email == "feng@example.com")).one()
        assert feng.phone is None and feng.joined_on == business_today()
        assert db.session.get(TierAccount, (tenant_a.id, feng.tier_account_id)).tier_code == "silver"

        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "members.import")).one()
        assert audit.actor_id == admin.id and audit.target == f"member_import:{import_id}"
        assert audit.details["valid_rows"] == 3

    # The past imports list shows it.
    html = client.get("/t/tenant-a/members/import").get_data(as_text=True)
    assert "会员.csv" in html and "Imported" in html


def test_the_counter_finds_an_imported_member_by_phone_and_by_card(app, client, tenant_a, admin):
    rows = [["王芳", "13811112222", "", "", "", "8800-1234", "", "", "", "", "", "", "", "", ""]]
    import_id = imported_id(upload(client, tenant_a, "members.csv", csv_bytes(HEADERS_ZH, rows)))
    check(client, tenant_a, import_id)
    run_jobs(app)
    commit(client, tenant_a, import_id)
    run_jobs(app)
    with tenant_context(tenant_a):
        found = search_members("13811112222")
        assert [m.name for m in found] == ["王芳"]
        assert [m.name for m in search_members("2222")] == ["王芳"]
        assert find_by_phone("138 1111 2222").name == "王芳"
        member, card = find_by_card("8800-1234")
        assert member.name == "王芳" and card.kind == "physical"
        virtual = db.session.scalars(select(Card).where(Card.member_id == member.id, Card.kind == "virtual")).one()
        assert [m.id for m in search_members(virtual.number)] == [member.id]


# --- files --------------------------------------------------------------------------------------------


def test_a_utf8_csv_with_a_bom_and_english_headers_is_read_and_its_columns_suggested(app, client, tenant_a,
                                                                                      admin):
    headers = ["Name", "Mobile", "E-mail", "Date of birth", "Sex", "Card No.", "Joined", "Tier", "Points",
               "Balance (yuan)", "Bonus balance", "Total spend", "Last purchase", "Remarks", "Marketing consent",
               "Shoe size"]
    rows = [["Li Na", "13822223333", "li@example.com", "2001-02-03", "female", "", "2023-01-01", "Gold", "15",
             "0.5", "", "", "", "", "yes", "38"]]
    data = csv_bytes(headers, rows)
    assert data.startswith(b"\xef\xbb\xbf")
    import_id = imported_id(upload(client, tenant_a, "legacy.CSV", data))
    imp = import_row(tenant_a, import_id)
    assert imp.encoding == "utf-8-sig" and imp.headers[0] == "Name"  # the BOM is not part of the header
    assert import_service.column_mapping(imp) == [
        "name", "phone", "email", "birthday", "gender", "card_number", "joined_on", "tier", "points",
        "stored_value", "stored_value_bonus", "cumulative_spend", "last_purchase_on", "notes", "marketing_consent",
        None]
    check(client, tenant_a, import_id)
    run_jobs(app)
    commit(client, tenant_a, import_id)
    run_jobs(app)
    with tenant_context(tenant_a):
        member = db.session.scalars(select(Member).where(Member.phone == "+8613822223333")).one()
        assert (member.name, member.birthday, member.stored_value_fen, member.marketing_consent) == \
            ("Li Na", dt.date(2001, 2, 3), 50, True)
        assert db.session.get(TierAccount, (tenant_a.id, member.tier_account_id)).tier_code == "gold"
        assert "38" not in (member.notes or "")


def test_an_xlsx_built_with_openpyxl_with_date_and_number_cells_is_imported(app, client, tenant_a, admin):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["会员姓名", "手机", "生日", "入会时间", "积分余额", "储值", "等级"])
    sheet.append(["陈静", 13833334444, dt.datetime(1992, 7, 8), dt.datetime(2021, 6, 1, 10, 30), 88, 120.5, "gold"])
    sheet.append(["刘洋", "13833335555", "1993/1/2", 20220315, 0, None, "白金"])
    sheet.append([None, None, None, None, None, None, None])  # blank rows are not members
    sheet.append(["黄磊", 13833336666, "not a date", None, 1.5, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    import_id = imported_id(upload(client, tenant_a, "会员.xlsx", buffer.getvalue()))
    imp = import_row(tenant_a, import_id)
    assert imp.file_kind == "xlsx"
    assert import_service.column_mapping(imp) == ["name", "phone", "birthday", "joined_on", "points",
                                                  "stored_value", "tier"]
    check(client, tenant_a, import_id)
    run_jobs(app)
    imp = import_row(tenant_a, import_id)
    assert (imp.total_rows, imp.valid_rows) == (3, 2)
    with tenant_context(tenant_a), force_locale("en"):
        assert import_service.first_issues(import_id) == [
            {"row": 5, "field": "Birthday", "reason": "Not a date: write it like 2024-03-05, 2024/3/5 or 20240305."},
            {"row": 5, "field": "Points balance", "reason": "Points must be a whole number."},
        ]
    commit(client, tenant_a, import_id)
    run_jobs(app)
    with tenant_context(tenant_a):
        chen = db.session.scalars(select(Member).where(Member.phone == "+8613833334444")).one()
        assert (chen.birthday, chen.joined_on, chen.points_balance, chen.stored_value_fen) == \
            (dt.date(1992, 7, 8), dt.date(2021, 6, 1), 88, 12050)
        liu = db.session.scalars(select(Member).where(Member.phone == "+8613833335555")).one()
        assert (liu.birthday, liu.joined_on) == (dt.date(1993, 1, 2), dt.date(2022, 3, 15))
        assert db.session.get(TierAccount, (tenant_a.id, liu.tier_account_id)).tier_code == "platinum"
    assert assert_ledgers_match_balances(tenant_a) == 2


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("members.csv", b"", "The file is empty."),
    ("members.pdf", b"%PDF-1.4", "Upload a CSV (.csv) or Excel (.xlsx) file."),
    ("members.csv", b"\x81\x20\xff\xfe\x00\x01", "The file could not be read as text."),
    ("members.xlsx", b"name,phone\n", "The file could not be read."),
    ("members.csv", "姓名,手机号\n".encode(), "The file has a header row but no members."),
])
def test_a_bad_file_gets_a_clear_message_and_changes_nothing(client, tenant_a, admin, filename, data, message):
    response = upload(client, tenant_a, filename, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert import_row(tenant_a) is None


def test_no_file_and_a_file_over_the_size_limit_are_refused(app, client, tenant_a, admin, monkeypatch):
    page = client.get("/t/tenant-a/members/import")
    response = client.post("/t/tenant-a/members/import", content_type="multipart/form-data",
                           data={"csrf_token": csrf_from(page.get_data(as_text=True)), "store_id": ""})
    assert response.status_code == 422
    assert "Choose a CSV or Excel (.xlsx) file to upload." in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2 * 1024 * 1024)
    big = csv_bytes(["姓名", "手机号"], [["x" * 60, f"138{i:08d}"] for i in range(40_000)])
    assert len(big) > 2 * 1024 * 1024
    response = upload(client, tenant_a, "big.csv", big)
    assert response.status_code == 422
    assert "The file is larger than 2 MB." in response.get_data(as_text=True)
    assert import_row(tenant_a) is None


def test_a_body_far_over_the_import_limit_is_refused_before_it_is_read(app, client, tenant_a, admin, monkeypatch):
    """MAX_CONTENT_LENGTH follows IMPORT_MAX_BYTES (saas/config.py): a huge upload is a translated 413."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    big = csv_bytes(["姓名", "手机号"], [["x" * 60, f"138{i:08d}"] for i in range(40_000)])
    response = upload(client, tenant_a, "big.csv", big)
    assert response.status_code == 413
    assert "The upload is too large." in response.get_data(as_text=True)
    assert import_row(tenant_a) is None


def test_the_request_limit_follows_the_import_limit():
    from saas.config import from_env

    config = from_env({"IMPORT_MAX_BYTES": str(10 * 1024 * 1024)})
    assert config["MAX_CONTENT_LENGTH"] > config["IMPORT_MAX_BYTES"] == 10 * 1024 * 1024


def test_a_mapping_without_the_phone_or_the_email_or_with_a_field_twice_is_refused(app, client, tenant_a, admin):
    import_id = imported_id(upload(client, tenant_a, "m.csv", csv_bytes(HEADERS_ZH, ROWS_ZH[:2])))
    response = check(client, tenant_a, import_id, {1: "", 2: ""})
    assert response.status_code == 422
    assert "every member needs one of them" in response.get_data(as_text=True)
    response = check(client, tenant_a, import_id, {0: "phone"})
    assert response.status_code == 422
    assert "“Mobile number” is chosen for more than one column." in response.get_data(as_text=True)
    imp = import_row(tenant_a, import_id)
    assert imp.status == "uploaded" and imp.mapping["1"] == "phone"
    assert get_queue("default", app).count == 0


def test_duplicate_emails_and_cards_in_the_file_and_against_existing_cards_are_reported(app, client, tenant_a,
                                                                                         admin, existing_member):
    with tenant_context(tenant_a):
        taken = db.session.scalars(select(Card.number).where(Card.member_id == existing_member)).one()
    rows = [
        ["A", "13700000001", "same@example.com", "", "", "C-100", "", "", "", "", "", "", "", "", ""],
        ["B", "13700000002", "SAME@example.com", "", "", "C-100", "", "", "", "", "", "", "", "", ""],
        ["C", "13700000003", "", "", "", taken, "", "", "", "", "", "", "", "", ""],
        ["D", "13700000004", "", "", "x", "", "2999-01-01", "", "", "1.234", "", "", "", "", "maybe"],
    ]
    import_id = imported_id(upload(client, tenant_a, "dups.csv", csv_bytes(HEADERS_ZH, rows)))
    check(client, tenant_a, import_id)
    run_jobs(app)
    imp = import_row(tenant_a, import_id)
    assert (imp.valid_rows, imp.error_rows, imp.duplicate_rows) == (1, 3, 2)
    with tenant_context(tenant_a), force_locale("en"):
        shown = {(i["row"], i["field"]): i["reason"] for i in import_service.first_issues(import_id)}
    assert shown == {
        (3, "E-mail"): "Also on row 2: only the first one is imported.",
        (3, "Physical card number"): "Also on row 2: only the first one is imported.",
        (4, "Physical card number"): "This card number is already in use.",
        (5, "Gender"): "Unknown gender “x”: use 男/女, M/F or male/female.",
        (5, "Joined on"): "This date is in the future.",
        (5, "Stored value: principal (¥)"): "An amount in yuan has at most 2 decimals.",
        (5, "Marketing consent"): "“maybe” is neither yes nor no.",
    }


# --- commit: idempotent, resumable, limited -------------------------------------------------------


def checked_import(app, client, tenant, rows) -> int:
    import_id = imported_id(upload(client, tenant, "batch.csv", csv_bytes(HEADERS_ZH, rows)))
    check(client, tenant, import_id)
    run_jobs(app)
    assert import_row(tenant, import_id).status == "checked"
    return import_id


def many_rows(n: int) -> list[list[str]]:
    return [[f"会员{i}", f"137{i:08d}", "", "", "", "", "", "", str(i), "1.00", "", "", "", "", ""]
            for i in range(1, n + 1)]


class Killed(BaseException):
    """The worker process dies (SIGKILL, out of memory): no handler of the job runs."""


def test_a_commit_job_killed_and_delivered_again_goes_on_without_duplicates(app, client, tenant_a, admin,
                                                                            monkeypatch):
    import_id = checked_import(app, client, tenant_a, many_rows(5))
    monkeypatch.setattr(import_service, "COMMIT_BATCH", 2)
    real_write = import_service._Writer.write
    calls = {"n": 0}

    def killed_on_the_second_batch(self, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed
        return real_write(self, rows)

    monkeypatch.setattr(import_service._Writer, "write", killed_on_the_second_batch)
    commit(client, tenant_a, import_id)
    with pytest.raises(Killed):
        import_service.commit_member_import(tenant_a.id, import_id)
    db.session.rollback()
    imp = import_row(tenant_a, import_id)
    assert (imp.status, imp.created_members, imp.committed_through) == ("committing", 2, 3)
    assert member_count(tenant_a) == 2

    # RQ delivers the job again (at least once): it goes on after row 3.
    run_jobs(app)
    imp = import_row(tenant_a, import_id)
    assert (imp.status, imp.created_members, imp.commit_done_rows) == ("committed", 5, 5)
    assert member_count(tenant_a) == 5
    # And once more, after the end: nothing more.
    import_service.commit_member_import(tenant_a.id, import_id)
    run_jobs(app)
    assert member_count(tenant_a) == 5
    with tenant_context(tenant_a):
        assert db.session.scalar(select(func.count(func.distinct(Member.phone)))) == 5
        assert db.session.scalar(select(func.count()).select_from(TierAccount)) == 5
        assert db.session.scalar(select(func.count()).select_from(Card)) == 5
    assert assert_ledgers_match_balances(tenant_a) == 5


def test_a_commit_killed_half_way_resumes_after_the_last_batch_without_duplicates(app, client, tenant_a, admin,
                                                                                  monkeypatch):
    import_id = checked_import(app, client, tenant_a, many_rows(7))
    monkeypatch.setattr(import_service, "COMMIT_BATCH", 3)
    real_write = import_service._Writer.write
    calls = {"n": 0}

    def dies_on_the_second_batch(self, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemoryError("the worker was killed")
        return real_write(self, rows)

    monkeypatch.setattr(import_service._Writer, "write", dies_on_the_second_batch)
    commit(client, tenant_a, import_id)
    run_jobs(app)
    imp = import_row(tenant_a, import_id)
    assert (imp.status, imp.created_members, imp.committed_through) == ("commit_failed", 3, 4)
    assert member_count(tenant_a) == 3
    html = client.get(f"/t/tenant-a/members/import/{import_id}").get_data(as_text=True)
    assert "Members created before it stopped: 3." in html
    assert "Try again: import the remaining valid members (4)" in html

    monkeypatch.setattr(import_service._Writer, "write", real_write)
    commit(client, tenant_a, import_id)  # "try again"
    run_jobs(app)
    imp = import_row(tenant_a, import_id)
    assert (imp.status, imp.created_members, imp.commit_done_rows) == ("committed", 7, 7)
    assert member_count(tenant_a) == 7
    with tenant_context(tenant_a):
        phones = db.session.scalars(select(Member.phone)).all()
        assert len(set(phones)) == 7
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 7
    assert assert_ledgers_match_balances(tenant_a) == 7


def test_a_phone_enrolled_at_the_counter_between_the_check_and_the_commit_is_skipped_and_reported(
        app, client, tenant_a, admin):
    import_id = checked_import(app, client, tenant_a, many_rows(3))
    with tenant_context(tenant_a):
        enroll_member(business_at=dt.datetime.now(dt.UTC), name="柜台", phone="13700000002")
        db.session.commit()
    commit(client, tenant_a, import_id)
    run_jobs(app)
    imp = import_row(tenant_a, import_id)
    assert (imp.status, imp.created_members, imp.skipped_at_commit) == ("committed", 2, 1)
    with tenant_context(tenant_a):
        chunk = db.session.scalars(select(MemberImportIssues).where(MemberImportIssues.phase == "commit")).one()
        assert chunk.issues == [[3, "phone", "phone_taken", {}]]
    html = client.get(f"/t/tenant-a/members/import/{import_id}").get_data(as_text=True)
    assert "Skipped at the import although valid at the check" in html


def limit_members(monkeypatch, key: str, members: int) -> None:
    plan = PLANS[key]
    monkeypatch.setitem(PLANS, key, dataclasses.replace(plan, limits=dataclasses.replace(plan.limits,
                                                                                          members=members)))


def test_the_member_limit_refuses_an_import_larger_than_the_plan_allows_and_nothing_is_written(
        app, client, tenant_a, admin, monkeypatch, stripe_api_base, existing_member):
    import_id = checked_import(app, client, tenant_a, many_rows(3))
    switch_billing_on(app, monkeypatch, stripe_api_base)
    set_subscription(tenant_a, **states()["active"])  # chain
    limit_members(monkeypatch, "chain", 3)  # 1 member + 3 would be 4
    response = commit(client, tenant_a, import_id)
    assert response.status_code == 402
    assert "allows 3 members" in response.get_data(as_text=True)
    assert import_row(tenant_a, import_id).status == "checked"
    assert get_queue("default", app).count == 0
    assert member_count(tenant_a) == 1

    # The limit is checked again by the job itself (the plan may change while the job waits).
    limit_members(monkeypatch, "chain", 4)
    assert commit(client, tenant_a, import_id).status_code == 302
    limit_members(monkeypatch, "chain", 2)
    run_jobs(app)
    imp = import_row(tenant_a, import_id)
    assert (imp.status, imp.error_code, imp.created_members) == ("commit_failed", "plan_limit_reached", 0)
    assert member_count(tenant_a) == 1
    html = client.get(f"/t/tenant-a/members/import/{import_id}").get_data(as_text=True)
    assert "allows 2 members" in html

    limit_members(monkeypatch, "chain", 4)
    assert commit(client, tenant_a, import_id).status_code == 302
    run_jobs(app)
    assert import_row(tenant_a, import_id).status == "committed"
    assert member_count(tenant_a) == 4


def test_nothing_valid_means_nothing_to_commit(app, client, tenant_a, admin):
    import_id = checked_import(app, client, tenant_a, [["无名", "", "", "", "", "", "", "", "", "", "", "", "", "",
                                                        ""]])
    html = client.get(f"/t/tenant-a/members/import/{import_id}").get_data(as_text=True)
    assert re.search(r'<button type="submit" class="btn btn-primary" disabled>\s*Import the valid members \(0\)', html)
    response = commit(client, tenant_a, import_id)
    assert response.status_code == 302
    assert 'flash-error">No row is valid' in client.get(response.headers["Location"]).get_data(as_text=True)
    assert import_row(tenant_a, import_id).status == "checked"


def test_the_enrolling_store_chosen_at_upload_is_given_to_every_member(app, client, tenant_a, admin):
    from tenants.models import Store

    with tenant_context(tenant_a):
        store = db.session.scalars(select(Store).where(Store.code == "S002")).one()
    import_id = imported_id(upload(client, tenant_a, "s.csv", csv_bytes(HEADERS_ZH, many_rows(2)),
                                   store_id=str(store.id)))
    check(client, tenant_a, import_id, store_id=str(store.id))
    run_jobs(app)
    commit(client, tenant_a, import_id)
    run_jobs(app)
    with tenant_context(tenant_a):
        assert set(db.session.scalars(select(Member.enrolled_store_id))) == {store.id}
        assert set(db.session.scalars(select(Card.store_id))) == {store.id}


# --- who may -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clerk", "store_manager", "vip_specialist", "regional_supervisor"])
def test_only_owners_and_chain_admins_may_import(app, client, tenant_a, login_as, role):
    owner_client = app.test_client()
    from tests.conftest import login
    from tests.factories import make_staff

    owner = make_staff(tenant_a, "owner")
    login(owner_client, tenant_a, owner.email)
    import_id = imported_id(upload(owner_client, tenant_a, "m.csv", csv_bytes(HEADERS_ZH, many_rows(1))))
    login_as(role)
    assert client.get("/t/tenant-a/members/import").status_code == 403
    for path in ("", "/mapping", "/errors.csv"):
        assert client.get(f"/t/tenant-a/members/import/{import_id}{path}").status_code == 403
    token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    assert client.post(f"/t/tenant-a/members/import/{import_id}/commit",
                       data={"csrf_token": token}).status_code == 403
    assert "/members/import" not in client.get("/t/tenant-a/").get_data(as_text=True)


def test_another_tenants_import_is_not_found_and_untouched(app, client, tenant_a, tenant_b, admin):
    from tests.conftest import login
    from tests.factories import make_staff

    b_client = app.test_client()
    b_owner = make_staff(tenant_b, "owner")
    login(b_client, tenant_b, b_owner.email)
    b_import = imported_id(upload(b_client, tenant_b, "b.csv", csv_bytes(HEADERS_ZH, many_rows(2))))
    check(b_client, tenant_b, b_import)
    run_jobs(app)

    assert "/members/import" in client.get("/t/tenant-a/").get_data(as_text=True)  # the admin's dashboard link
    token = csrf_from(client.get("/t/tenant-a/members/import").get_data(as_text=True))
    for path in ("", "/mapping", "/errors.csv"):
        assert client.get(f"/t/tenant-a/members/import/{b_import}{path}").status_code == 404
    assert client.post(f"/t/tenant-a/members/import/{b_import}/commit",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"/t/tenant-a/members/import/{b_import}/mapping",
                       data={"csrf_token": token, "column-1": "phone"}).status_code == 404
    assert "b.csv" not in client.get("/t/tenant-a/members/import").get_data(as_text=True)
    assert import_row(tenant_b, b_import).status == "checked"
    assert member_count(tenant_b) == 0
    # A job named with tenant A's id cannot reach B's import either.
    import_service.commit_member_import(tenant_a.id, b_import)
    assert import_row(tenant_b, b_import).status == "checked"


def test_without_redis_the_check_and_the_commit_run_inside_the_request(app, tenant_a):
    """The embedded default (no REDIS_URL): jobs run in-process, so the pages show the result at once."""
    from saas import create_app
    from tests.conftest import IsolatedClient, app_config, login
    from tests.factories import make_staff

    inline = create_app(app_config(REDIS_URL=None, RATELIMIT_STORAGE_URI="memory://"))
    inline.test_client_class = IsolatedClient
    try:
        client = inline.test_client()
        owner = make_staff(tenant_a, "owner")
        login(client, tenant_a, owner.email)
        english(client)
        import_id = imported_id(upload(client, tenant_a, "inline.csv", csv_bytes(HEADERS_ZH, many_rows(3))))
        response = check(client, tenant_a, import_id)
        assert response.status_code == 302
        assert "Import the valid members (3)" in client.get(response.headers["Location"]).get_data(as_text=True)
        response = commit(client, tenant_a, import_id)
        assert "The members are imported" in client.get(response.headers["Location"]).get_data(as_text=True)
        assert member_count(tenant_a) == 3
        assert get_queue("default", app).count == 0
    finally:
        with inline.app_context():
            db.engine.dispose()


def test_an_imported_name_is_stored_without_invisible_characters(app, client, tenant_a, admin):
    data = csv_bytes(["Name", "Mobile"], [["\u202eLi\u200b Na\u2069\x07", "13822224444"]])
    import_id = imported_id(upload(client, tenant_a, "legacy.csv", data))
    check(client, tenant_a, import_id)
    run_jobs(app)
    commit(client, tenant_a, import_id)
    run_jobs(app)
    with tenant_context(tenant_a):
        assert db.session.scalars(select(Member.name).where(Member.phone == "+8613822224444")).one() == "Li Na"
