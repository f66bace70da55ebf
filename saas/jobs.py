"""Background jobs on named RQ queues. Without REDIS_URL they run in-process (the embedded default).

Jobs take plain data (tenant id first, then ids), never ORM objects, and are idempotent: RQ delivers
at least once, so exactly-once effects come from our own database.
"""

from __future__ import annotations

import logging
from functools import wraps

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue, get_current_job

QUEUES = ("messages", "reports", "billing", "default")
# How often a worker runs RQ's maintenance: among others it finds the jobs of workers that died (their
# heartbeat expired, about 90 s after) and delivers them again when they have retries left. RQ's default is
# ten minutes; a member import killed with its worker should go on sooner.
WORKER_MAINTENANCE_SECONDS = 60
log = logging.getLogger(__name__)


def redis_connection(app=None):
    app = app or current_app
    ext = app.extensions.setdefault("huiyuan_jobs", {})
    if "redis" not in ext:
        url = app.config.get("REDIS_URL")
        if url:
            ext["redis"] = Redis.from_url(url)
        else:
            from fakeredis import FakeRedis

            ext["redis"] = FakeRedis()
    return ext["redis"]


def get_queue(name: str = "default", app=None) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    app = app or current_app
    in_process = not app.config.get("REDIS_URL")
    return Queue(name, connection=redis_connection(app), is_async=not in_process)


def enqueue(queue: str, func, *args, **kwargs):
    """Put `func(*args)` on a named queue; in embedded mode it runs now, inside this process.

    The job's description (what RQ logs at every step) is the function's name only: its arguments may
    carry a link with a secret token or an address, which must not land in the worker's log.
    """
    kwargs.setdefault("description", f"{func.__module__}.{func.__qualname__}")
    return get_queue(queue).enqueue(func, *args, **kwargs)


def tenant_job(func):
    """Run a job `func(tenant_id, *args)` inside an app context and that tenant's context."""

    @wraps(func)
    def wrapper(tenant_id: int, *args, **kwargs):
        from saas.extensions import db
        from saas.models import Tenant
        from tenants.scoping import tenant_context

        def run():
            tenant = db.session.get(Tenant, tenant_id)
            if tenant is None:
                log.warning("job %s: tenant %s is gone", func.__name__, tenant_id)
                return None
            job = get_current_job()
            log.info("job %s %s for tenant %s", func.__name__, job.id if job else "-", tenant.slug)
            try:
                with tenant_context(tenant):
                    return func(tenant_id, *args, **kwargs)
            finally:
                if current_app.extensions["huiyuan_jobs"].get("worker"):
                    db.session.remove()  # a worker's next job starts clean; inline jobs share the request's

        if has_app_context():
            return run()
        from saas import create_app

        with create_app().app_context():
            return run()

    return wrapper


def init_app(app) -> None:
    app.extensions.setdefault("huiyuan_jobs", {})
