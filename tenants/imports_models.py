"""Tables of the legacy member import (SPEC §3): the uploaded file with its mapping and progress, and the
problems found per row.

The file itself is kept in the database (not on a local disk) so that a worker on another machine can read
it; it is dropped (with its preview) once the import is committed. Problems are stored compactly, one row
per batch of the file, so the downloadable report can list every one of them without a table row each.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKeyConstraint, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from saas.dbtypes import UTCDateTime
from saas.extensions import db
from saas.models import JsonDoc, utcnow
from tenants.scoping import TenantOwned

# The life of an import: uploaded → checking → checked → committing → committed; a failed check or commit
# can be started again (check_failed, commit_failed).
UPLOADED = "uploaded"
CHECKING = "checking"
CHECKED = "checked"
CHECK_FAILED = "check_failed"
COMMITTING = "committing"
COMMITTED = "committed"
COMMIT_FAILED = "commit_failed"
EXPIRED = "expired"  # not imported within IMPORT_FILE_KEEP_DAYS: the file and its rows' problems are gone
RUNNING = (CHECKING, COMMITTING)


class MemberImport(TenantOwned, db.Model):
    """One uploaded file of legacy members, its column mapping, the dry run's counts and the commit's progress.

    `committed_through` is the file row number up to which the commit has written (or skipped) every row; it
    moves forward in the same transaction as each batch's members, so a commit job that is killed and run
    again starts after it and never writes a member twice.
    """

    __tablename__ = "member_imports"
    __table_args__ = (
        Index(None, "tenant_id", "created_at"),
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
    )

    filename: Mapped[str] = mapped_column(String(200))
    file_kind: Mapped[str] = mapped_column(String(10))  # csv | xlsx
    encoding: Mapped[str] = mapped_column(String(20), default="")  # utf-8-sig | gb18030 (CSV)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    headers: Mapped[list] = mapped_column(JsonDoc, default=list)
    preview: Mapped[list] = mapped_column(JsonDoc, default=list)  # the first rows as text, for the mapping form
    mapping: Mapped[dict] = mapped_column(JsonDoc, default=dict)  # column index (str) → field
    store_id: Mapped[int | None] = mapped_column(BigInteger)  # the enrolling store given to every member
    status: Mapped[str] = mapped_column(String(20), default=UPLOADED)
    attempt: Mapped[int | None] = mapped_column(BigInteger)  # the dry run now in charge (a newer one wins)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    checked_rows: Mapped[int] = mapped_column(Integer, default=0)
    valid_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_rows: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_rows: Mapped[int] = mapped_column(Integer, default=0)
    issue_count: Mapped[int] = mapped_column(Integer, default=0)
    business_date: Mapped[dt.date | None] = mapped_column(Date)  # the import day, fixed when the commit starts
    program_version: Mapped[int | None] = mapped_column(Integer)
    committed_through: Mapped[int] = mapped_column(Integer, default=0)
    commit_done_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_members: Mapped[int] = mapped_column(Integer, default=0)
    skipped_at_commit: Mapped[int] = mapped_column(Integer, default=0)
    points_opened: Mapped[int] = mapped_column(BigInteger, default=0)
    stored_value_opened_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_params: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    committed_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def running(self) -> bool:
        return self.status in RUNNING


class MemberImportIssues(TenantOwned, db.Model):
    """The problems of one batch of rows: `issues` is a list of [row, field, code, params] (translated when shown).

    phase "check": found by the dry run (those rows are skipped on commit); "commit": rows that were valid at
    the dry run but no longer were when committed (e.g. the phone was enrolled at a counter in between).
    """

    __tablename__ = "member_import_issues"
    __table_args__ = (
        Index(None, "tenant_id", "import_id", "phase", "first_row"),
        ForeignKeyConstraint(["tenant_id", "import_id"], ["member_imports.tenant_id", "member_imports.id"],
                             ondelete="CASCADE"),
    )

    import_id: Mapped[int] = mapped_column(BigInteger)
    phase: Mapped[str] = mapped_column(String(10))
    first_row: Mapped[int] = mapped_column(Integer)
    issues: Mapped[list] = mapped_column(JsonDoc, default=list)
