"""Crashes: kill -9 of a gunicorn worker, of the gunicorn master, of the RQ worker, and PostgreSQL stopped in
immediate mode, during purchase, top-up and member-import load, on the real servers (gunicorn.conf.py + wsgi.py,
worker.py) and a PostgreSQL cluster of this test's own. The client logs every request with its idempotency key;
afterwards every acknowledged operation is there, nothing is partial, balances equal their ledgers and retries of
every request create nothing new (bench/crash.py: the same check `make soak` runs)."""

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from bench import crash
from tests.conftest import require_services

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def rig():
    """A private cluster (one this test may kill), migrated, a shop with members, gunicorn and a worker."""
    require_services()
    root = Path(tempfile.mkdtemp(prefix="huiyuan-crash-", dir="/tmp"))
    cluster = crash.Cluster(root)
    servers = None
    try:
        cluster.init()
        redis_url = os.environ["TEST_REDIS_URL"]
        shop = crash.migrate_and_seed(cluster, redis_url)
        servers = crash.Servers(cluster, redis_url, root)
        servers.start()
        client = crash.Client(servers.base, shop, crash.Tally())
        shop.members = crash.enrol(client, 12, prefix=1)
        yield cluster, servers, shop, crash.app_for(cluster, redis_url)
    finally:
        if servers is not None:
            servers.stop()
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


def test_while_postgresql_is_down_the_api_answers_503_with_a_message_quickly_and_recovers_without_a_restart(rig):
    cluster, servers, shop, _app = rig
    probe = crash.Client(servers.base, shop, crash.Tally())
    seen = crash.restart_database(cluster, down_for=2.0, probe=probe)
    assert seen.get(503, 0) >= 2 and set(seen) <= {503, "slowest_ms", "with_message", "retry_after", "html_503",
                                                   "html_with_message"}, seen
    assert seen["with_message"] == seen[503] and seen["retry_after"] == seen[503], seen
    assert seen["html_503"] == seen["html_with_message"] == seen[503], seen  # the counter's pages too
    assert seen["slowest_ms"] < 6000, seen  # never held until gunicorn's timeout
    # The same gunicorn workers, their pools' connections all dead: answered again at once.
    for _ in range(6):
        status, doc, _headers = probe.call("GET", f"/api/v1/members/{shop.members[0]}", None)
        assert status == 200, (status, doc)
    assert crash._html_probe(f"{servers.base}/t/{shop.slug}/login") == {"html_200": 1}
    assert probe.tally.server_errors == 0


def test_acknowledged_operations_survive_kill_9_of_every_process_and_retries_create_nothing_new(rig):
    cluster, servers, shop, app = rig
    tally = crash.Tally()
    client = crash.Client(servers.base, shop, tally)
    import_id = crash.start_import(app, shop, rows=2500, prefix=2)
    crash.wait_import(app, shop, import_id, ("checked",), timeout=60)

    stop = threading.Event()
    threads = crash.run_load(client, stop, threads=3)
    try:
        time.sleep(2)
        assert servers.kill_web_worker()
        time.sleep(1.5)
        crash.commit_import(app, shop, import_id)
        crash.wait_import(app, shop, import_id, ("committing",), timeout=10)
        time.sleep(0.5)
        servers.kill_worker()  # half way through the import's batches (or before its first)
        killed_at = crash.import_state(app, shop, import_id)
        crash.redeliver_imports(app, shop)
        time.sleep(1.5)
        crash.restart_database(cluster, down_for=2.0)
        time.sleep(2)
        servers.kill_web_master()
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    state = crash.finish_import(app, shop, import_id, timeout=60)
    assert state["created"] == 2500, (killed_at, state)

    verdict = crash.check(cluster.superuser_url, client, [import_id])
    assert verdict.ok, verdict.summary()
    assert verdict.acknowledged >= 50 and verdict.operations >= verdict.acknowledged, verdict.summary()
    assert tally.server_errors == 0, tally.statuses
    assert tally.hung == 0


def test_counter_forms_acknowledged_while_gunicorn_workers_are_killed_are_each_recorded_once(rig):
    """Purchases and top-ups posted through the counter's HTML forms (a tablet, a person under their PIN, each
    form with its key) while gunicorn workers are killed: every acknowledged form is there once, nothing
    partial, each form posted again answers the same (bench/crash_counter.py)."""
    from bench import crash_counter

    cluster, servers, _shop, _app = rig
    shop = crash.migrate_and_seed(cluster, os.environ["TEST_REDIS_URL"])  # a shop of its own: its own keys only
    app = crash.app_for(cluster, os.environ["TEST_REDIS_URL"])
    api = crash.Client(servers.base, shop, crash.Tally())
    shop.members = crash.enrol(api, 6, prefix=7)
    token, person = crash_counter.open_tablet(app, shop)
    tally = crash.Tally()
    counter = crash_counter.CounterClient(servers.base, shop, tally, token, person)
    counter.sign_in()
    stop = threading.Event()
    threads = counter.run(stop, threads=2)
    try:
        for _ in range(3):
            time.sleep(2)
            assert servers.kill_web_worker()
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    verdict = crash.check(cluster.superuser_url, api, counter=counter)
    assert verdict.ok, verdict.summary()
    acknowledged = [f for f in counter.forms if f.acknowledged]
    assert {f.kind for f in acknowledged} == {"counter_purchase", "counter_top_up"}, verdict.summary()
    assert len(acknowledged) >= 6 and len(acknowledged) == len(counter.forms), verdict.summary()
    assert tally.server_errors == 0, tally.statuses
    print(f"\ncounter forms under kill -9: {verdict.summary()} (statuses {dict(tally.statuses)}, "
          f"no answer {tally.no_answer})")
