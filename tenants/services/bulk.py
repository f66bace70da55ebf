"""What long bulk jobs (the legacy import) need from the database beyond plain INSERTs."""

from __future__ import annotations

from saas.extensions import db


def fresh_plans() -> None:
    """Before each batch of a long bulk job on PostgreSQL: forget this connection's cached plans.

    The foreign-key checks of every INSERT run through plans PostgreSQL caches per connection. Planned
    while a table was nearly empty (a new tenant's first import on a young database), they scan it
    sequentially, and keep doing so as the job fills it: the job slowed down quadratically (bench/RESULTS.md
    §5). Replanning once per batch costs a few milliseconds. Any role may DISCARD PLANS; ANALYZE needs the owner.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DISCARD PLANS")
