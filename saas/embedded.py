"""The embedded default's database: SQLite, shared by the web server's threads (and the demo's background seeding).

SQLite has one writer at a time. With the driver's own transaction handling, a transaction that has read
(a savepoint for a preview, a "lock" that SQLite ignores) and then writes is refused at once ("database is
locked") when another writer is busy, instead of waiting: two taps on "Confirm purchase" gave a 500. So the
app's transactions start with BEGIN IMMEDIATE: they wait their turn for the write lock (up to
BUSY_TIMEOUT_MS) and run one after the other, as PostgreSQL's row locks order them. WAL lets the readers
outside a transaction (and the migration tool) carry on meanwhile.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 30_000


def serialise_transactions(engine: Engine) -> None:
    """Make every transaction on this SQLite engine take the write lock when it begins."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # the driver emits no BEGIN of its own; "begin" below does
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_app(app, db) -> None:
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                serialise_transactions(engine)
