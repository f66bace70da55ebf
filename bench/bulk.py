"""Bulk loading into tenant-owned tables with COPY, as the schema owner.

What works (PostgreSQL 15, checked on the bench server; see RESULTS.md):

* ``COPY ... FROM STDIN`` is refused on a table whose row-level security applies to the current role
  ("COPY FROM not supported with row-level security"), whatever ``app.tenant_id`` says: the app role can
  never COPY, and neither can the owner while RLS is FORCEd. (INSERT with ``app.tenant_id`` set works, but
  row by row.)
* The owner may ``ALTER TABLE ... NO FORCE ROW LEVEL SECURITY`` inside the loading transaction and FORCE it
  again before COMMIT: DDL is transactional and the ALTER holds an ACCESS EXCLUSIVE lock until then, so no
  other session ever sees the table unforced. That is what this module does (no superuser needed).
* A BYPASSRLS role (which only a superuser can create) may COPY as well; not used.

Each table is loaded in one transaction that also TRUNCATEs it, so COPY can FREEZE the rows (no hint-bit
writes and no anti-wraparound vacuum later) and, with ``wal_level=minimal``, skip the WAL. Foreign keys
from and to the loaded tables are dropped first and re-added at the end (one validating anti-join each
instead of a trigger per row); their definitions are read from the catalogue, so whatever the migrations
made is restored exactly. The loader therefore owns the tables it loads: it refuses a database that holds
tenants other than its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field

import psycopg
from sqlalchemy.engine import make_url


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq understands it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    definition: str
    references: str


def foreign_keys_touching(conn: psycopg.Connection, tables: Iterable[str]) -> list[ForeignKey]:
    """Foreign keys declared on, or pointing at, any of ``tables``."""
    rows = conn.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.confrelid::regclass::text
        FROM pg_constraint c
        WHERE c.contype = 'f'
          AND (c.conrelid::regclass::text = ANY(%s) OR c.confrelid::regclass::text = ANY(%s))
        ORDER BY 1, 2
        """,
        (list(tables), list(tables)),
    ).fetchall()
    return [ForeignKey(*row) for row in rows]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def text_field(value: str | None) -> str:
    """A value in COPY's text format (\\N is NULL)."""
    return "\\N" if value is None else _escape(value)


@dataclass
class TableStream:
    """Rows of one table, buffered and written to its COPY."""

    table: str
    columns: tuple[str, ...]
    copy: object = None
    rows: list[str] = field(default_factory=list)
    count: int = 0
    flush_every: int = 4000

    def add(self, line: str) -> None:
        self.rows.append(line)
        if len(self.rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.copy.write("\n".join(self.rows) + "\n")
            self.count += len(self.rows)
            self.rows.clear()


class BulkLoader:
    """Open one COPY per table (each on its own connection and transaction), stream rows, commit all.

    Usage::

        with BulkLoader(owner_url, {"members": (...columns...), ...}) as load:
            load["members"].add("...tab-separated...")
    """

    def __init__(self, owner_url: str, tables: dict[str, tuple[str, ...]], log=print):
        self.url = libpq_url(owner_url)
        self.tables = tables
        self.streams: dict[str, TableStream] = {}
        self.log = log
        self._stack = ExitStack()
        self._conns: dict[str, psycopg.Connection] = {}
        self._copies: dict[str, object] = {}
        self.foreign_keys: list[ForeignKey] = []
        self.timings: dict[str, float] = {}

    def __getitem__(self, table: str) -> TableStream:
        return self.streams[table]

    def __enter__(self) -> BulkLoader:
        started = time.perf_counter()
        with psycopg.connect(self.url) as conn:
            self.foreign_keys = foreign_keys_touching(conn, self.tables)
            for fk in self.foreign_keys:
                conn.execute(f'ALTER TABLE {fk.table} DROP CONSTRAINT "{fk.name}"')
        try:
            for table, columns in self.tables.items():
                conn = self._stack.enter_context(psycopg.connect(self.url))
                self._conns[table] = conn
                conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
                conn.execute(f"TRUNCATE {table}")
                manager = conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)")
                self._copies[table] = manager
                self.streams[table] = TableStream(table, columns, manager.__enter__())
        except BaseException:
            self._finish(failed=True)
            raise
        self.timings["prepare_s"] = time.perf_counter() - started
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._finish(failed=exc_type is not None)

    def _finish(self, failed: bool) -> None:
        started = time.perf_counter()
        try:
            if not failed:
                for stream in self.streams.values():
                    stream.flush()
            for manager in self._copies.values():
                if failed:  # abort the COPY (CopyFail); the transaction rolls back below
                    try:
                        manager.__exit__(RuntimeError, RuntimeError("bulk load aborted"), None)
                    except Exception:  # noqa: BLE001,S110 - the COPY is being abandoned anyway
                        pass
                else:
                    manager.__exit__(None, None, None)
            if not failed:
                for table, conn in self._conns.items():
                    conn.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
                    conn.commit()
        finally:
            self._stack.close()  # closing rolls back whatever did not commit (RLS stays FORCEd then)
            self.timings["commit_s"] = time.perf_counter() - started
            self._restore_foreign_keys()

    def _restore_foreign_keys(self) -> None:
        started = time.perf_counter()
        restore_foreign_keys(self.url, self.foreign_keys)
        self.timings["foreign_keys_s"] = time.perf_counter() - started

    @property
    def counts(self) -> dict[str, int]:
        return {table: stream.count for table, stream in self.streams.items()}


def restore_foreign_keys(url: str, foreign_keys: list[ForeignKey]) -> None:
    """Re-add foreign keys, validated for real. The owner's validating query is subject to FORCEd row-level
    security like any other (checked: under FORCE it sees no rows and a dangling key passes), so the tables
    involved are un-FORCEd for this one transaction."""
    with psycopg.connect(url) as conn:
        tables = sorted({fk.table for fk in foreign_keys} | {fk.references for fk in foreign_keys})
        forced = [t for t in tables if conn.execute(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = %s::regclass", (t,)).fetchone()[0]]
        for table in forced:
            conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        for fk in foreign_keys:
            conn.execute(f'ALTER TABLE {fk.table} ADD CONSTRAINT "{fk.name}" {fk.definition}')
        for table in forced:
            conn.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def revalidate_foreign_keys(owner_url: str, tables: Iterable[str]) -> float:
    """Drop and re-add (validating) the foreign keys touching `tables`; seconds taken."""
    started = time.perf_counter()
    url = libpq_url(owner_url)
    with psycopg.connect(url) as conn:
        fks = foreign_keys_touching(conn, tables)
        for fk in fks:
            conn.execute(f'ALTER TABLE {fk.table} DROP CONSTRAINT "{fk.name}"')
    restore_foreign_keys(url, fks)
    return time.perf_counter() - started


def analyze(owner_url: str) -> float:
    """VACUUM (ANALYZE) as the owner: statistics for the planner and the visibility map."""
    started = time.perf_counter()
    with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return round(time.perf_counter() - started, 1)
