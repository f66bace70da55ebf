"""RQ delivers a member import job again when its worker dies (the crash suite kills one under load).

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
