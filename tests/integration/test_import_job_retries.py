"""RQ delivers a member import job again when its worker dies (the crash suite kills one under load), and a real
worker killed with -9 half way through a commit has its job taken up by RQ's own abandoned-job handling.

Apart from tests/integration/test_crashes.py: that module's servers run an RQ worker on the shared test Redis for
the whole module, which would take this job off the queue before it is looked at.
"""

from bench import crash


def test_a_member_import_job_is_delivered_again_when_its_worker_dies(app, app_ctx):
    """RQ retries an abandoned job only if it has retries left: both import jobs have them, and the worker looks
    for abandoned jobs every minute (not every ten), so an import killed with its worker goes on by itself."""
    from saas.extensions import db
    from saas.jobs import WORKER_MAINTENANCE_SECONDS, get_queue
    from tenants.scoping import tenant_context
    from tenants.services import imports
    from tests.factories import make_tenant

    tenant = make_tenant("crash-import")
    with tenant_context(tenant):
        imp = imports.create_import("legacy.csv", crash.import_file(3, prefix=3), max_bytes=1 << 20)
        db.session.commit()
        imports.start_check(imp, imports.column_mapping(imp), None)
    (job,) = get_queue("default").get_jobs()
    assert job.func_name == "tenants.services.imports.check_member_import"
    assert job.retries_left == 3 and job.retry_intervals == [10, 60, 300]
    assert WORKER_MAINTENANCE_SECONDS <= 60


ROWS = 2100  # three commit batches (1,000 each): the worker is killed after the first and before the last


def _real_worker(workdir):
    """`python worker.py default` on this run's database and Redis, as production starts it."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    env.update(DATABASE_URL=os.environ["TEST_DATABASE_URL"], MIGRATION_DATABASE_URL=os.environ[
        "TEST_MIGRATION_DATABASE_URL"], REDIS_URL=os.environ["TEST_REDIS_URL"], SECRET_KEY="test-secret-key",
        HUIYUAN_ENV="development", MAIL_SERVER="", STRIPE_SECRET_KEY="", PYTHONUNBUFFERED="1")
    log = open(workdir / "worker.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen([str(crash.BIN / "python"), "worker.py", "default"], cwd=crash.ROOT, env=env,
                                stdout=log, stderr=log)
    finally:
        log.close()


def _state(tenant, import_id: int):
    from saas.extensions import db
    from tenants.imports_models import MemberImport
    from tenants.scoping import tenant_context

    db.session.rollback()
    with tenant_context(tenant):
        imp = db.session.get(MemberImport, (tenant.id, import_id), populate_existing=True)
        return imp.status, imp.committed_through, imp.created_members


def test_rq_itself_takes_up_an_import_whose_worker_was_killed_and_it_finishes_exactly_once(app, app_ctx, tmp_path):
    """A real worker (worker.py) is killed with -9, work horse and scheduler too, between two commit batches of an
    import. RQ's own abandoned-job handling (StartedJobRegistry.cleanup, which a worker's maintenance runs once the
    job's heartbeat has expired, about 90 s on: here called with that moment's timestamp) gives the job its
    retry; a new worker's scheduler queues it 10 s later and the worker runs it, after the last committed batch:
    every member once, every opening balance once."""
    import time

    from rq.job import JobStatus
    from rq.registry import StartedJobRegistry
    from rq.scheduler import RQScheduler
    from sqlalchemy import text

    from saas.extensions import db
    from saas.jobs import get_queue, redis_connection
    from tenants.scoping import tenant_context
    from tenants.services import imports
    from tests.factories import make_tenant
    from tests.integration.test_member_import import assert_ledgers_match_balances, run_jobs

    started = time.monotonic()
    tenant = make_tenant("rq-redelivery")
    with tenant_context(tenant):
        imp = imports.create_import("legacy.csv", crash.import_file(ROWS, prefix=4), max_bytes=1 << 24)
        db.session.commit()
        imports.start_check(imp, imports.column_mapping(imp), None)
        import_id = imp.id
    run_jobs(app)  # the dry run, in this process
    assert _state(tenant, import_id)[0] == "checked"
    with tenant_context(tenant):
        imports.start_commit(db.session.get(type(imp), (tenant.id, import_id)), actor_id=None)
    (job,) = get_queue("default").get_jobs()

    worker = _real_worker(tmp_path)
    try:
        deadline = time.monotonic() + 120
        while (state := _state(tenant, import_id))[1] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        status, through, _created = state
        assert status == "committing" and 1 <= through < ROWS, state  # killed half way, not after
        horses = crash._children(worker.pid)
        crash._kill9(worker.pid)
        for pid in horses:
            crash._kill9(pid)
        crash._reap(worker)
    finally:
        if worker.poll() is None:
            crash._kill9(worker.pid)
            crash._reap(worker)
    killed_at = _state(tenant, import_id)
    print(f"\nkilled {time.monotonic() - started:.1f} s after the start")
    assert killed_at[0] == "committing" and killed_at[1] < ROWS, killed_at

    connection = redis_connection(app)
    job.refresh()
    assert job.get_status() == JobStatus.STARTED  # abandoned: nobody runs it, and nobody says so yet
    # 91 s on, for RQ's own timers: the job's heartbeat has expired (job monitoring 30 s + 60), and so has the
    # dead worker's scheduler lock (60 s + its interval), which a worker's maintenance would then find.
    StartedJobRegistry("default", connection=connection).cleanup(timestamp=time.time() + 91)
    assert connection.ttl(RQScheduler.get_locking_key("default")) <= 61
    connection.delete(RQScheduler.get_locking_key("default"))
    job.refresh()
    assert job.get_status() in (JobStatus.SCHEDULED, JobStatus.QUEUED) and job.retries_left == 2, job.get_status()

    worker = _real_worker(tmp_path)  # its scheduler queues the retry (10 s later) and it runs it
    taken_up = time.monotonic()
    try:
        deadline = time.monotonic() + 120
        while (state := _state(tenant, import_id))[0] != "committed" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.terminate()
        crash._reap(worker, timeout=15)
    print(f"\nkilled at row {killed_at[1]}; taken up again and committed {time.monotonic() - taken_up:.1f} s later")
    assert state == ("committed", ROWS + 1, ROWS), (killed_at, state, (tmp_path / "worker.log").read_text()[-1500:])
    with tenant_context(tenant):
        db.session.rollback()
        members, phones = db.session.execute(text("select count(*), count(distinct phone) from members")).one()
        twice = db.session.execute(text(
            "select (select count(*) from (select member_id from points_entries where kind = 'import' "
            "group by member_id having count(*) > 1) p), (select count(*) from (select member_id from "
            "stored_value_entries where kind = 'import' group by member_id having count(*) > 1) s)")).one()
        db.session.rollback()
    assert (members, phones) == (ROWS, ROWS)
    assert tuple(twice) == (0, 0)
    assert assert_ledgers_match_balances(tenant) == ROWS
