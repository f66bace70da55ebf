"""Legacy member import (SPEC §3): upload a CSV or XLSX file, map its columns, check it in a dry run that
reports every problem (row, field, reason), then commit the valid members with their opening balances.

The dry run (`check_member_import`) and the commit (`commit_member_import`) are jobs on the default queue;
the pages poll the import row for their progress. Both may be delivered more than once (RQ: at least once):

* the dry run writes no member; a newer run of it takes over (`attempt`) and starts from the beginning;
* the commit writes batches of members with SQLAlchemy Core INSERTs (one executemany per table and batch,
  which psycopg pipelines) and moves `committed_through` (a file row number) in the same transaction as each
  batch, under a lock on the import row, so a job killed half way and run again goes on after the last
  committed batch and never writes a member twice.

Per member the commit writes what enrolment and the ledgers keep, in the same shapes: the member (source
"import"); a tier account whose current tier is the imported one, its period starting on the import day (a
tier change "imported" records it; a higher tier that the imported spend reaches is granted at the member's
next activity), or without a tier the base tier with the imported spend evaluated at once; the virtual card,
and the physical card if given; opening points as a lot + entry (available at once, expiring per the program
from the import day); opening stored value as a lot + entry (principal and bonus); the cumulative spend as a
tier activity on the import day, so lifetime-spend tiers keep counting it. The member's materialised balances
equal the sums of these entries, and every entry carries the program version.

Core INSERTs bypass the ORM's before_flush stamping, so every row gets the current tenant's id here; the
transaction's `app.tenant_id` (row-level security) refuses anything else.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rq import Retry
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from saas.audit import audit
from saas.billing.entitlements import LIMIT_MESSAGES, PlanLimitReached, check_limit
from saas.billing.plans import plan_named
from saas.extensions import db
from saas.ids import new_id
from saas.jobs import enqueue, tenant_job
from saas.models import utcnow
from saas.phones import last4
from saas.text import clean_name
from tenants.domain import points as dpoints
from tenants.domain import stored_value as dsv
from tenants.domain.cards import issue_card
from tenants.domain.consent import ALL as ALL_CHANNELS
from tenants.domain.dates import add_months
from tenants.domain.program import Program
from tenants.domain.tiers import MemberTierState, TierActivity, evaluate_tier, initial_tier_state
from tenants.imports_models import (
    CHECK_FAILED,
    CHECKED,
    CHECKING,
    COMMIT_FAILED,
    COMMITTED,
    COMMITTING,
    EXPIRED,
    UPLOADED,
    MemberImport,
    MemberImportIssues,
)
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
from tenants.scoping import current_tenant_id
from tenants.services.bulk import fresh_plans
from tenants.services.consent import import_events
from tenants.services.errors import MESSAGES as SERVICE_MESSAGES
from tenants.services.errors import ServiceError
from tenants.services.import_files import (
    FIELDS,
    MAX_ROWS,
    CellError,
    FileProblem,
    cell_text,
    data_rows,
    open_table,
    parse_card_number,
    parse_consent,
    parse_date,
    parse_gender,
    parse_points,
    parse_yuan,
    suggest_mapping,
)
from tenants.services.members import new_card_number, normalize_email, normalize_phone
from tenants.services.programs_in_force import require_program

log = logging.getLogger(__name__)

CHECK_BATCH = 2000
COMMIT_BATCH = 1000
PREVIEW_ROWS = 5
# RQ delivers again a job whose worker died (after its heartbeat expires, at the worker's next maintenance, see
# worker.py) or that failed outside its own handling (the database gone while it recorded a failure). Both jobs
# are safe to run again: a dry run starts over, a commit goes on after its last committed batch.
JOB_RETRY = (3, [10, 60, 300])
CHECK_TIMEOUT = 2 * 3600  # seconds: RQ's default of 3 minutes would kill a large file
COMMIT_TIMEOUT = 8 * 3600
STALE_AFTER = dt.timedelta(minutes=10)  # a running job that has not moved for this long may be started again
SOURCE = "import"
CHECK, COMMIT = "check", "commit"  # phases of the problems found

FIELD_LABELS = {
    "name": _l("Name"),
    "phone": _l("Mobile number"),
    "email": _l("E-mail"),
    "birthday": _l("Birthday"),
    "gender": _l("Gender"),
    "card_number": _l("Physical card number"),
    "joined_on": _l("Joined on"),
    "tier": _l("Tier"),
    "points": _l("Points balance"),
    "stored_value": _l("Stored value: principal (¥)"),
    "stored_value_bonus": _l("Stored value: bonus (¥)"),
    "cumulative_spend": _l("Cumulative spend (¥)"),
    "last_purchase_on": _l("Last purchase"),
    "notes": _l("Notes"),
    "marketing_consent": _l("Marketing consent"),
    "contact": _l("Mobile number or e-mail"),
}

ISSUE_MESSAGES = {
    "contact_required": _l("A mobile number or an e-mail is required."),
    "invalid_phone": _l("Enter a valid mobile number."),
    "invalid_email": _l("Enter a valid e-mail address."),
    "invalid_date": _l("Not a date: write it like 2024-03-05, 2024/3/5 or 20240305."),
    "future_date": _l("This date is in the future."),
    "invalid_amount": _l("Not an amount in yuan such as 128 or 128.50."),
    "too_many_decimals": _l("An amount in yuan has at most 2 decimals."),
    "negative": _l("Must not be negative."),
    "invalid_points": _l("Points must be a whole number."),
    "unknown_tier": _l("Unknown tier “%(value)s”: use a tier code or name of your program."),
    "unknown_gender": _l("Unknown gender “%(value)s”: use 男/女, M/F or male/female."),
    "invalid_consent": _l("“%(value)s” is neither yes nor no."),
    "invalid_card": _l("Not a card number: 4 to 40 letters or digits."),
    "too_long": _l("Too long: at most %(max)s characters."),
    "stored_value_disabled": _l("Your program does not offer stored value."),
    "duplicate_in_file": _l("Also on row %(row)s: only the first one is imported."),
    "phone_taken": _l("A member with this phone number already exists."),
    "email_taken": _l("A member with this e-mail already exists."),
    "card_taken": _l("This card number is already in use."),
}
DUPLICATE_CODES = frozenset({"duplicate_in_file", "phone_taken", "email_taken", "card_taken"})

REFUSALS = {
    "no_file": _l("Choose a CSV or Excel (.xlsx) file to upload."),
    "empty": _l("The file is empty."),
    "wrong_type": _l("Upload a CSV (.csv) or Excel (.xlsx) file."),
    "too_large": _l("The file is larger than %(max)s MB. Split it into several files."),
    "undecodable": _l("The file could not be read as text. Save it as CSV (UTF-8 or GB18030) or as .xlsx."),
    "unreadable": _l("The file could not be read. Check that it is a valid CSV or .xlsx file."),
    "no_header": _l("The first row must name the columns."),
    "no_rows": _l("The file has a header row but no members."),
    "too_many_columns": _l("The file has more than %(max)s columns."),
    "too_many_rows": _l("The file has more than %(max)s rows. Split it into several files."),
    "contact_column": _l("Choose the column with the mobile number or the one with the e-mail: every member "
                         "needs one of them."),
    "field_twice": _l("“%(field)s” is chosen for more than one column."),
    "not_now": _l("This import cannot do that now."),
    "nothing_valid": _l("No row is valid: there is nothing to import."),
    "unexpected": _l("The import stopped unexpectedly. Start it again: nothing is imported twice."),
}

STATUS_LABELS = {
    UPLOADED: _l("Columns to map"),
    CHECKING: _l("Checking"),
    CHECKED: _l("Checked"),
    CHECK_FAILED: _l("Check failed"),
    COMMITTING: _l("Importing"),
    COMMITTED: _l("Imported"),
    COMMIT_FAILED: _l("Import stopped"),
    EXPIRED: _l("File removed: upload it again"),
}


class ImportRefused(Exception):
    """A request about an import that is refused as it is; nothing was changed."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def message(self) -> str:
        return _message(REFUSALS, self.code, self.params)


def _message(table: dict, code: str, params: dict) -> str:
    template = table.get(code)
    if template is None:
        return _("The request was refused (%(code)s).", code=code)
    try:
        return str(template) % params if params else str(template)
    except (KeyError, TypeError, ValueError):
        return str(template)


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def issue_text(code: str, params: dict | None) -> str:
    """The reason of a problem in the reader's language."""
    return _message(ISSUE_MESSAGES, code, params or {})


def failure_text(imp: MemberImport) -> str:
    """Why a dry run or a commit stopped, in the reader's language."""
    code, params = imp.error_code or "unexpected", dict(imp.error_params or {})
    if code == "plan_limit_reached":
        plan = plan_named(params.get("plan", "trial"))
        return str(LIMIT_MESSAGES["members"]) % {"plan": plan.name, "limit": f"{int(params.get('limit', 0)):,}"}
    if code in REFUSALS:
        return _message(REFUSALS, code, params)
    if code in SERVICE_MESSAGES:
        return _message(SERVICE_MESSAGES, code, params)
    return _message(REFUSALS, "unexpected", {})


def is_stale(imp: MemberImport, now: dt.datetime | None = None) -> bool:
    """A running job that has not reported progress for a while (its worker died): it may be started again."""
    if not imp.running or imp.updated_at is None:
        return False
    return (now or utcnow()) - imp.updated_at > STALE_AFTER


def can_map(imp: MemberImport) -> bool:
    return imp.status in (UPLOADED, CHECKED, CHECK_FAILED) or (imp.status == CHECKING and is_stale(imp))


def can_commit(imp: MemberImport) -> bool:
    return (imp.status in (CHECKED, COMMIT_FAILED) or (imp.status == COMMITTING and is_stale(imp))) and \
        remaining_rows(imp) > 0


def remaining_rows(imp: MemberImport) -> int:
    """Valid rows (at the dry run) that the commit has not handled yet."""
    return max(0, imp.valid_rows - imp.created_members - imp.skipped_at_commit)


# --- upload and mapping ---------------------------------------------------------------------------


def create_import(filename: str | None, data: bytes, *, max_bytes: int, store_id: int | None = None,
                  created_by: int | None = None) -> MemberImport:
    """Keep an uploaded file (in the database) with the mapping its headers suggest. The caller commits.

    ImportRefused when it is no CSV/XLSX with a header and members, or larger than `max_bytes`.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name and not data:
        raise ImportRefused("no_file")
    if len(data) > max_bytes:
        raise ImportRefused("too_large", max=max(1, max_bytes // (1024 * 1024)))
    try:
        table = open_table(name, data)
        preview = [[cell_text(value)[:100] for value in cells]
                   for _number, cells in islice(data_rows(data, table.kind, table.encoding, len(table.headers)),
                                                PREVIEW_ROWS)]
    except FileProblem as err:
        raise ImportRefused(err.code, **err.params) from err
    suggested = suggest_mapping(table.headers)
    imp = MemberImport(
        filename=name, file_kind=table.kind, encoding=table.encoding, size_bytes=len(data), content=data,
        headers=[h[:100] for h in table.headers], preview=preview,
        mapping={str(i): f for i, f in enumerate(suggested) if f}, store_id=store_id, status=UPLOADED,
        created_by=created_by, error_params={},
    )
    db.session.add(imp)
    db.session.flush()
    return imp


def column_mapping(imp: MemberImport) -> list[str | None]:
    """The field of each column (None: not imported)."""
    mapping = imp.mapping or {}
    return [mapping.get(str(i)) for i in range(len(imp.headers))]


def _reset_check(imp: MemberImport) -> None:
    db.session.execute(delete(MemberImportIssues).where(MemberImportIssues.import_id == imp.id,
                                                        MemberImportIssues.phase == CHECK))
    imp.total_rows = imp.checked_rows = imp.valid_rows = imp.error_rows = imp.duplicate_rows = imp.issue_count = 0
    imp.error_code, imp.error_params, imp.finished_at = None, {}, None
    imp.updated_at = utcnow()


def start_check(imp: MemberImport, columns: list[str | None], store_id: int | None) -> None:
    """Save the mapping (one field per column at most; the phone or the e-mail mapped) and queue the dry run.

    Commits, then enqueues (without Redis the dry run runs now, in this process).
    """
    if not can_map(imp):
        raise ImportRefused("not_now")
    chosen = [c if c in FIELDS else None for c in columns[:len(imp.headers)]]
    seen: set[str] = set()
    for name in chosen:
        if name is None:
            continue
        if name in seen:
            raise ImportRefused("field_twice", field=field_label(name))
        seen.add(name)
    if not seen & {"phone", "email"}:
        raise ImportRefused("contact_column")
    imp.mapping = {str(i): name for i, name in enumerate(chosen) if name}
    imp.store_id = store_id
    imp.status = CHECKING
    _reset_check(imp)
    db.session.commit()
    enqueue("default", check_member_import, current_tenant_id(), imp.id, job_timeout=CHECK_TIMEOUT,
            retry=Retry(max=JOB_RETRY[0], interval=JOB_RETRY[1]))


def start_commit(imp: MemberImport, actor_id: int | None) -> None:
    """Queue the commit of the rows the dry run found valid (rows with problems are skipped), after checking
    the plan's member limit. Audited. Commits, then enqueues. PlanLimitReached when over the limit."""
    if imp.valid_rows == 0 and imp.status == CHECKED:
        raise ImportRefused("nothing_valid")
    if not can_commit(imp):
        raise ImportRefused("not_now")
    check_limit("members", adding=remaining_rows(imp))
    resumed = imp.status != CHECKED
    imp.status = COMMITTING
    imp.committed_by = actor_id if imp.committed_by is None else imp.committed_by
    imp.error_code, imp.error_params, imp.finished_at = None, {}, None
    imp.updated_at = utcnow()
    audit("members.import", target=f"member_import:{imp.id}", actor_id=actor_id, filename=imp.filename,
          rows=imp.total_rows, valid_rows=imp.valid_rows, resumed=resumed)
    db.session.commit()
    enqueue("default", commit_member_import, current_tenant_id(), imp.id, job_timeout=COMMIT_TIMEOUT,
            retry=Retry(max=JOB_RETRY[0], interval=JOB_RETRY[1]))


# --- reading rows ---------------------------------------------------------------------------------


@dataclass
class Row:
    number: int  # the row number in the file
    values: dict = field(default_factory=dict)
    issues: list = field(default_factory=list)  # (field, code, params)

    def add(self, name: str, code: str, **params) -> None:
        self.issues.append((name, code, params))

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def duplicate(self) -> bool:
        return any(code in DUPLICATE_CODES for _name, code, _params in self.issues)


KEYED = ("phone", "email", "card_number")  # unique per tenant: duplicates in the file are refused too
DATES = ("birthday", "joined_on", "last_purchase_on")
AMOUNTS = ("stored_value", "stored_value_bonus", "cumulative_spend")


class RowReader:
    """A row's cells as a member's values under the mapping, with every problem found (row, field, code)."""

    def __init__(self, mapping: dict, program: Program, today: dt.date):
        self.columns = sorted((int(index), name) for index, name in (mapping or {}).items() if name in FIELDS)
        self.program = program
        self.today = today
        self.tiers: dict[str, str] = {}
        for tier in program.tiers:
            for key in (tier.code, tier.name.zh_CN, tier.name.en):
                if key and key.strip():
                    self.tiers.setdefault(key.strip().lower(), tier.code)
        self.firsts: dict[str, dict[str, int]] = {name: {} for name in KEYED}

    def remember_all(self, rows: Iterable[tuple[int, list]]) -> int:
        """First pass: the first row of each phone, e-mail and card number. Returns the number of rows."""
        keyed = [(index, name) for index, name in self.columns if name in KEYED]
        total = 0
        for number, cells in rows:
            total += 1
            if total > MAX_ROWS:
                raise FileProblem("too_many_rows", max=f"{MAX_ROWS:,}")
            for index, name in keyed:
                try:
                    key = self._value(name, cells[index])
                except (CellError, ServiceError):
                    continue
                if key is not None:
                    self.firsts[name].setdefault(key, number)
        return total

    def file_cards(self) -> set[str]:
        return set(self.firsts["card_number"])

    def parse(self, number: int, cells: list) -> Row:
        row = Row(number)
        for index, name in self.columns:
            try:
                value = self._value(name, cells[index] if index < len(cells) else None)
            except CellError as err:
                row.add(name, err.code, **err.params)
                continue
            except ServiceError:  # normalize_phone / normalize_email
                row.add(name, f"invalid_{name}")
                continue
            if value is not None:
                row.values[name] = value
        contact_problem = any(name in ("phone", "email") for name, _code, _params in row.issues)
        if "phone" not in row.values and "email" not in row.values and not contact_problem:
            row.add("contact", "contact_required")
        if not self.program.stored_value.enabled and (row.values.get("stored_value")
                                                      or row.values.get("stored_value_bonus")):
            row.add("stored_value", "stored_value_disabled")
        for name in KEYED:
            key = row.values.get(name)
            if key is not None:
                first = self.firsts[name].get(key, number)
                if first != number:
                    row.add(name, "duplicate_in_file", row=first)
        return row

    def _value(self, name: str, raw):
        if name in ("name", "notes"):
            text = clean_name(cell_text(raw)) if name == "name" else cell_text(raw)
            limit = 80 if name == "name" else 2000
            if len(text) > limit:
                raise CellError("too_long", max=limit)
            return text or None
        if name == "phone":
            return normalize_phone(cell_text(raw))
        if name == "email":
            return normalize_email(cell_text(raw))
        if name in DATES:
            day = parse_date(raw)
            if day is not None and day > self.today:
                raise CellError("future_date")
            return day
        if name == "gender":
            return parse_gender(raw)
        if name == "card_number":
            return parse_card_number(raw)
        if name == "tier":
            text = cell_text(raw)
            if not text:
                return None
            code = self.tiers.get(text.lower())
            if code is None:
                raise CellError("unknown_tier", value=text[:40])
            return code
        if name == "points":
            return parse_points(raw)
        if name in AMOUNTS:
            return parse_yuan(raw)
        if name == "marketing_consent":
            return parse_consent(raw)
        return None  # pragma: no cover - FIELDS are all handled above

    @staticmethod
    def check_existing(rows: list[Row]) -> None:
        """Duplicates against the tenant's members and cards: one query per kind for the whole batch."""
        for name, column, code in (("phone", Member.phone, "phone_taken"), ("email", Member.email, "email_taken"),
                                   ("card_number", Card.number, "card_taken")):
            keys = {r.values[name] for r in rows if name in r.values}
            if not keys:
                continue
            taken = set(db.session.scalars(select(column).where(column.in_(keys))))
            for row in rows:
                if row.values.get(name) in taken:
                    row.add(name, code)


def _rows(imp: MemberImport, content: bytes) -> Iterator[tuple[int, list]]:
    return data_rows(content, imp.file_kind, imp.encoding, len(imp.headers))


def _content(import_id: int) -> bytes:
    content = db.session.scalar(select(MemberImport.content).where(MemberImport.id == import_id))
    if not content:
        raise FileProblem("empty")
    return content


def _lock(import_id: int) -> MemberImport | None:
    """The import row, locked for this transaction (serialises jobs running for the same import)."""
    return db.session.execute(
        select(MemberImport).where(MemberImport.id == import_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


class _Superseded(Exception):
    """The import was started again or moved on: this run stops without writing."""


def _fail(import_id: int, status: str, code: str, params: dict, attempt: int | None = None) -> None:
    imp = _lock(import_id)
    if imp is None or (attempt is not None and imp.attempt != attempt):
        db.session.rollback()
        return
    imp.status, imp.error_code = status, code
    imp.error_params = {k: v for k, v in params.items() if isinstance(v, str | int | float | bool)}
    imp.finished_at = imp.updated_at = utcnow()
    db.session.commit()


def _issue_chunk(import_id: int, phase: str, rows: list[Row]) -> int:
    issues = [[r.number, name, code, params] for r in rows for name, code, params in r.issues]
    if issues:
        db.session.add(MemberImportIssues(import_id=import_id, phase=phase, first_row=rows[0].number,
                                          issues=issues))
    return len(issues)


# --- the dry run ----------------------------------------------------------------------------------


@tenant_job
def check_member_import(tenant_id: int, import_id: int) -> None:
    """Job (default queue): the dry run. Checks every row as the commit would and stores the problems; writes
    no member. A newer run of the same import takes over from an older one, which then stops."""
    attempt = new_id()
    imp = _lock(import_id)
    if imp is None or imp.status != CHECKING:
        db.session.commit()
        return
    imp.attempt = attempt
    _reset_check(imp)
    db.session.commit()
    try:
        _run_check(import_id, attempt)
    except _Superseded:
        db.session.rollback()
    except (FileProblem, ServiceError) as err:
        db.session.rollback()
        _fail(import_id, CHECK_FAILED, err.code, err.params, attempt)
    except Exception:
        log.exception("member import %s: the dry run failed", import_id)
        db.session.rollback()
        _fail(import_id, CHECK_FAILED, "unexpected", {}, attempt)


def _run_check(import_id: int, attempt: int) -> None:
    imp = db.session.get(MemberImport, (current_tenant_id(), import_id))
    content = _content(import_id)
    today = business_today()
    _version, program = require_program(today)
    db.session.commit()  # no transaction held open while the file is read
    reader = RowReader(imp.mapping, program, today)
    total = reader.remember_all(_rows(imp, content))
    _store_checked(import_id, attempt, [], total=total, final=False)
    batch: list[Row] = []
    for number, cells in _rows(imp, content):
        batch.append(reader.parse(number, cells))
        if len(batch) >= CHECK_BATCH:
            _store_checked(import_id, attempt, batch, final=False)
            batch = []
    _store_checked(import_id, attempt, batch, final=True)


def _store_checked(import_id: int, attempt: int, batch: list[Row], *, final: bool, total: int | None = None) -> None:
    RowReader.check_existing(batch)
    imp = _lock(import_id)
    if imp is None or imp.attempt != attempt or imp.status != CHECKING:
        db.session.rollback()
        raise _Superseded
    if total is not None:
        imp.total_rows = total
    imp.issue_count += _issue_chunk(import_id, CHECK, batch)
    imp.checked_rows += len(batch)
    imp.valid_rows += sum(1 for r in batch if r.ok)
    imp.error_rows += sum(1 for r in batch if not r.ok)
    imp.duplicate_rows += sum(1 for r in batch if r.duplicate)
    imp.updated_at = utcnow()
    if final:
        imp.status, imp.finished_at = CHECKED, utcnow()
    db.session.commit()


# --- the commit -----------------------------------------------------------------------------------


@tenant_job
def commit_member_import(tenant_id: int, import_id: int) -> None:
    """Job (default queue): write the members of the rows the dry run found valid, in batches; resumable."""
    imp = _lock(import_id)
    if imp is None or imp.status != COMMITTING:
        db.session.commit()
        return
    try:
        if imp.business_date is None:
            imp.business_date = business_today()
        version, program = require_program(imp.business_date)
        if imp.program_version is None:
            imp.program_version = version.version
        check_limit("members", adding=remaining_rows(imp))
        imp.updated_at = utcnow()
        db.session.commit()
        _run_commit(import_id, version.version, program)
    except _Superseded:
        db.session.rollback()
    except PlanLimitReached as err:
        db.session.rollback()
        _fail(import_id, COMMIT_FAILED, err.code, {"limit": err.limit, "plan": err.plan.key})
    except (FileProblem, ServiceError) as err:
        db.session.rollback()
        _fail(import_id, COMMIT_FAILED, err.code, err.params)
    except Exception:
        log.exception("member import %s: the commit failed", import_id)
        db.session.rollback()
        _fail(import_id, COMMIT_FAILED, "unexpected", {})


def _rows_with_issues(import_id: int, phase: str) -> set[int]:
    rows: set[int] = set()
    for issues in db.session.scalars(select(MemberImportIssues.issues).where(
            MemberImportIssues.import_id == import_id, MemberImportIssues.phase == phase)):
        rows.update(int(issue[0]) for issue in issues)
    return rows


def _run_commit(import_id: int, version: int, program: Program) -> None:
    imp = db.session.get(MemberImport, (current_tenant_id(), import_id))
    content = _content(import_id)
    day, store_id, through = imp.business_date, imp.store_id, imp.committed_through
    skipped = _rows_with_issues(import_id, CHECK)
    db.session.commit()
    reader = RowReader(imp.mapping, program, day)
    reader.remember_all(_rows(imp, content))
    writer = _Writer(import_id, program, version, day, store_id, reader.file_cards())
    pending: list[tuple[int, list]] = []
    for number, cells in _rows(imp, content):
        if number <= through:
            continue
        pending.append((number, cells))
        if len(pending) >= COMMIT_BATCH:
            _commit_batch(import_id, pending, reader, skipped, writer)
            pending = []
    if pending:
        _commit_batch(import_id, pending, reader, skipped, writer)
    imp = _lock(import_id)
    if imp is None or imp.status != COMMITTING:
        db.session.rollback()
        return
    imp.status, imp.finished_at, imp.updated_at = COMMITTED, utcnow(), utcnow()
    imp.content, imp.preview = None, []  # the members are in; the file (personal data) is not needed any more
    db.session.commit()
    log.info("member import %s committed: %s members", import_id, imp.created_members)


def _commit_batch(import_id: int, pending: list[tuple[int, list]], reader: RowReader, skipped: set[int],
                  writer: _Writer) -> None:
    """Write one batch and move `committed_through` past it, in one transaction under the import's lock.

    A unique key taken meanwhile (a counter enrolled the same phone) undoes the batch; it is checked again,
    and the row is skipped with its reason."""
    for _try in range(3):
        imp = _lock(import_id)
        if imp is None or imp.status != COMMITTING:
            db.session.rollback()
            raise _Superseded
        todo = [(number, cells) for number, cells in pending if number > imp.committed_through]
        if not todo:
            db.session.commit()
            return
        rows = [reader.parse(number, cells) for number, cells in todo if number not in skipped]
        RowReader.check_existing(rows)
        good = [r for r in rows if r.ok]
        bad = [r for r in rows if not r.ok]
        try:
            points, stored_value = writer.write(good)
            _issue_chunk(import_id, COMMIT, bad)
            imp.committed_through = todo[-1][0]
            imp.commit_done_rows += len(todo)
            imp.created_members += len(good)
            imp.skipped_at_commit += len(bad)
            imp.points_opened += points
            imp.stored_value_opened_fen += stored_value
            imp.updated_at = utcnow()
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()
            log.warning("member import %s: a batch met a key taken meanwhile; checking it again", import_id)
    raise RuntimeError(f"member import {import_id}: a batch kept conflicting")


def _plain(params) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in dict(params).items()}


class _Writer:
    """Builds the rows of a batch of members and inserts them with one Core INSERT (executemany) per table."""

    def __init__(self, import_id: int, program: Program, version: int, day: dt.date, store_id: int | None,
                 file_cards: set[str]):
        self.import_id, self.program, self.version, self.day = import_id, program, version, day
        self.store_id, self.file_cards = store_id, file_cards
        self.tenant_id = current_tenant_id()

    def _virtual_numbers(self, n: int) -> list[str]:
        """New virtual card numbers, unused by the tenant and by the physical cards of the file."""
        numbers: list[str] = []
        while len(numbers) < n:
            wanted = {new_card_number() for _ in range(n - len(numbers))} - self.file_cards - set(numbers)
            taken = set(db.session.scalars(select(Card.number).where(Card.number.in_(wanted)))) if wanted else set()
            numbers.extend(sorted(wanted - taken))
        return numbers[:n]

    def _tier(self, row: Row, joined_on: dt.date, activities: list[TierActivity]):
        """The account's state and the tier changes to record: the imported tier as of the import day (its
        period starting then), or without one the base tier with the imported spend evaluated."""
        program, day = self.program, self.day
        code = row.values.get("tier")
        if code is None:
            decision = evaluate_tier(program, initial_tier_state(program, joined_on), activities, day)
            return decision.state, [(c.action, c.from_tier, c.to_tier, c.period_start, c.period_end, c.reason.code,
                                     _plain(c.reason.params)) for c in decision.changes]
        tier = program.tier(code)
        period_end = add_months(day, tier.validity_months) if tier.validity_months else None
        state = MemberTierState(tier_code=code, since=day, period_start=day, period_end=period_end, periods_below=0,
                                tier_counter_after=day, counter_after=day if tier.reset_counter_on_change else None,
                                evaluated_through=day)
        params = {"tier": code, "import_id": str(self.import_id), "row": row.number}
        return state, [("imported", program.base_tier.code, code, day, period_end, "imported", params)]

    def write(self, rows: list[Row]) -> tuple[int, int]:
        """Insert the members of `rows` and everything that goes with them. Returns (points, stored value fen)."""
        if not rows:
            return 0, 0
        fresh_plans()
        program, day, version, tenant_id = self.program, self.day, self.version, self.tenant_id
        now = utcnow()
        tables: dict[type, list[dict]] = {model: [] for model in (
            TierAccount, Member, Card, PointsLot, PointsEntry, StoredValueLot, StoredValueEntry, TierActivityRow,
            TierChangeRow, ConsentEvent)}
        points_total = stored_total = 0
        for row, virtual in zip(rows, self._virtual_numbers(len(rows)), strict=True):
            v = row.values
            member_id, account_id = new_id(), new_id()
            ref = f"import:{self.import_id}:{row.number}"
            joined_on = v.get("joined_on") or day
            points = v.get("points") or 0
            principal, bonus = v.get("stored_value") or 0, v.get("stored_value_bonus") or 0
            spend = v.get("cumulative_spend") or 0
            activities = [TierActivity(SOURCE, day, spend_fen=spend, ref=ref)] if spend else []
            state, changes = self._tier(row, joined_on, activities)
            tables[TierAccount].append({
                "tenant_id": tenant_id, "id": account_id, "kind": "single", "tier_code": state.tier_code,
                "since": state.since, "period_start": state.period_start, "period_end": state.period_end,
                "periods_below": state.periods_below, "tier_counter_after": state.tier_counter_after,
                "counter_after": state.counter_after, "evaluated_through": state.evaluated_through,
                "program_version": version})
            phone = v.get("phone")
            tables[Member].append({
                "tenant_id": tenant_id, "id": member_id, "name": v.get("name") or "", "phone": phone,
                "phone_last4": last4(phone), "email": v.get("email"), "gender": v.get("gender"),
                "birthday": v.get("birthday"), "notes": v.get("notes") or "", "source": SOURCE,
                "marketing_consent": bool(v.get("marketing_consent")),
                "consent_channels": ALL_CHANNELS if v.get("marketing_consent") else 0, "status": "active",
                "joined_on": joined_on,
                "enrolled_store_id": self.store_id, "tier_account_id": account_id,
                "last_purchase_on": v.get("last_purchase_on"), "visits": 0, "points_balance": points,
                # Bought before (spend or a last purchase on file): their next purchase is not their first (§19.17).
                "first_purchase_on": (v.get("last_purchase_on") or joined_on)
                if spend or v.get("last_purchase_on") else None,
                "stored_value_fen": principal + bonus, "created_at": now})
            tables[ConsentEvent].extend(import_events(tenant_id, member_id, bool(v.get("marketing_consent")), now,
                                                      new_id))
            numbers = [("virtual", virtual)]
            if v.get("card_number"):
                numbers.append(("physical", v["card_number"]))
            for kind, number in numbers:
                card = issue_card(program, number, str(member_id), day)
                tables[Card].append({
                    "tenant_id": tenant_id, "id": new_id(), "member_id": member_id, "number": card.number,
                    "kind": kind, "card_type": card.card_type, "status": card.status, "issued_on": day,
                    "valid_until": card.valid_until, "store_id": self.store_id, "fee_fen": 0, "pin_failures": 0})
            if points:
                movement = dpoints.bonus_lot(program, str(new_id()), points, day, ref=ref)
                lot, entry = movement.lots[0], movement.entries[0]
                tables[PointsLot].append({
                    "tenant_id": tenant_id, "id": int(lot.lot_id), "member_id": member_id, "points": lot.points,
                    "earned": lot.points, "earned_on": lot.earned_on, "available_on": lot.available_on,
                    "expires_on": lot.expires_on, "released": lot.available_on <= lot.earned_on,
                    "purchase_id": None, "source": SOURCE})
                tables[PointsEntry].append({
                    "tenant_id": tenant_id, "id": new_id(), "member_id": member_id, "lot_id": int(lot.lot_id),
                    "kind": SOURCE, "points": entry.points, "moved": 0, "business_date": entry.on, "ref": ref,
                    "reason": SOURCE, "program_version": version, "created_at": now})
                points_total += points
            if principal or bonus:
                result = dsv.TopUpResult(amount_fen=principal, bonus_fen=bonus, credited_fen=principal + bonus,
                                         card_fee_fen=0, card_fee_waived=False, unlock_tier=None)
                lot = dsv.top_up_lot(program, str(new_id()), result, day, ref=ref).lots[0]
                tables[StoredValueLot].append({
                    "tenant_id": tenant_id, "id": int(lot.lot_id), "member_id": member_id,
                    "principal_fen": lot.principal_fen, "bonus_fen": lot.bonus_fen, "topped_up_on": lot.topped_up_on,
                    "expires_on": lot.expires_on})
                tables[StoredValueEntry].append({
                    "tenant_id": tenant_id, "id": new_id(), "member_id": member_id, "lot_id": int(lot.lot_id),
                    "kind": SOURCE, "principal_fen": principal, "bonus_fen": bonus, "business_date": day, "ref": ref,
                    "reason": SOURCE, "program_version": version, "created_at": now})
                stored_total += principal + bonus
            for activity in activities:
                tables[TierActivityRow].append({
                    "tenant_id": tenant_id, "id": new_id(), "member_id": member_id, "kind": activity.kind,
                    "counts_on": activity.counts_on, "spend_fen": activity.spend_fen, "points": activity.points,
                    "amount_fen": activity.amount_fen, "tier_code": activity.tier_code, "ref": activity.ref[:60]})
            for action, from_tier, to_tier, start, end, code, params in changes:
                tables[TierChangeRow].append({
                    "tenant_id": tenant_id, "id": new_id(), "tier_account_id": account_id, "member_id": member_id,
                    "changed_on": day, "action": action, "from_tier": from_tier, "to_tier": to_tier,
                    "period_start": start, "period_end": end, "reason_code": code, "reason_params": params,
                    "program_version": version, "created_at": now})
        for model, values in tables.items():  # in foreign-key order
            if values:
                # One executemany per table and batch: psycopg 3 pipelines the rows of one prepared INSERT. Multi-row
                # INSERT … VALUES pages (insertmanyvalues) were slower: psycopg rewrites long statements' placeholders.
                db.session.execute(insert(model.__table__), values)
        return points_total, stored_total


# --- the report -----------------------------------------------------------------------------------


def _issue_chunks(import_id: int) -> Iterator[list]:
    ids = list(db.session.scalars(
        select(MemberImportIssues.id).where(MemberImportIssues.import_id == import_id)
        .order_by(MemberImportIssues.phase, MemberImportIssues.first_row, MemberImportIssues.id)))
    for chunk_id in ids:
        yield db.session.scalar(select(MemberImportIssues.issues).where(MemberImportIssues.id == chunk_id))


def first_issues(import_id: int, limit: int = 50) -> list[dict]:
    """The first problems of the dry run (then of the commit), ready to show."""
    shown: list[dict] = []
    for issues in _issue_chunks(import_id):
        for number, name, code, params in issues:
            shown.append({"row": number, "field": field_label(name), "reason": issue_text(code, params)})
            if len(shown) >= limit:
                return shown
    return shown


def all_issues(import_id: int) -> Iterator[tuple[int, str, str]]:
    """Every problem as (row, field, reason), for the downloadable report; read a batch at a time."""
    for issues in _issue_chunks(import_id):
        for number, name, code, params in issues:
            yield number, field_label(name), issue_text(code, params)
