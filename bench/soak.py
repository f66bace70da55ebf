"""`make soak`: mixed load with faults for SOAK_MINUTES (default 5), then THE crash check (bench/crash.py).

Load: purchases, top-ups, stored-value payments, points spent, returns (3 API clients) and a legacy member
import every ~40 s. Faults, one every 5-15 s at random: kill -9 of a gunicorn worker, of the gunicorn master
(restarted), of the RQ worker (restarted; its import job queued again, as RQ redelivers an abandoned job),
PostgreSQL stopped in immediate mode for 1-4 s. It starts its own PostgreSQL cluster and Redis (free loopback
ports, removed at the end) and prints:

    operations, faults, lost (0), duplicates (0), drift (0), 5xx (0)

and exits 1 if any of the last four (or partial rows, or a retry answered 5xx) is not 0.

    SOAK_MINUTES=3 make soak          # or: .venv/bin/python -m bench.soak --minutes 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench import crash

FAULTS = ("web_worker", "web_master", "rq_worker", "postgres")


class Redis:
    def __init__(self, root: Path):
        self.root, self.port = root, crash.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                        "no", "--daemonize", "yes", "--dir", str(self.root), "--pidfile", str(self.root / "redis.pid"),
                        "--logfile", str(self.root / "redis.log")], check=True)
        for _ in range(50):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        pid_file = self.root / "redis.pid"
        if pid_file.exists():
            crash._kill9(int(pid_file.read_text().strip()))


def run(minutes: float, seed: int = 7, log=print) -> dict:
    rng = random.Random(seed)
    root = Path(tempfile.mkdtemp(prefix="huiyuan-soak-", dir="/tmp"))
    redis, cluster = Redis(root), crash.Cluster(root)
    servers = None
    faults: Counter = Counter()
    try:
        redis.start()
        cluster.init()
        shop = crash.migrate_and_seed(cluster, redis.url)
        servers = crash.Servers(cluster, redis.url, root)
        servers.start()
        tally = crash.Tally()
        client = crash.Client(servers.base, shop, tally)
        shop.members = crash.enrol(client, 40, prefix=1)
        app = crash.app_for(cluster, redis.url)
        log(f"soak: {minutes} min of load and faults on {servers.base} (logs in {root})")

        stop = threading.Event()
        imports: list[int] = []
        import_errors: list[str] = []

        def import_loop() -> None:
            prefix = 10
            while not stop.is_set():
                prefix += 1
                try:
                    import_id = _retrying(lambda p=prefix: crash.start_import(app, shop, rows=1500, prefix=p), stop)
                    if import_id is None:
                        return
                    imports.append(import_id)
                    crash.wait_import(app, shop, import_id, ("checked",), timeout=300, redeliver_every=20)
                    _retrying(lambda i=import_id: crash.commit_import(app, shop, i), stop)
                    crash.finish_import(app, shop, import_id, timeout=600)
                except Exception as err:  # noqa: BLE001 - reported, and the check finds the import unfinished
                    import_errors.append(f"{err.__class__.__name__}: {err}")
                stop.wait(40)

        threads = crash.run_load(client, stop, threads=3, seed=seed, mix=crash.SOAK_MIX, pause=0.02)
        importer = threading.Thread(target=import_loop, daemon=True)
        importer.start()
        ends = time.monotonic() + minutes * 60
        while time.monotonic() < ends:
            time.sleep(rng.uniform(5, 15))
            if time.monotonic() >= ends:
                break
            fault = rng.choice(FAULTS)
            try:
                if fault == "web_worker":
                    servers.kill_web_worker()
                elif fault == "web_master":
                    servers.kill_web_master()
                elif fault == "rq_worker":
                    servers.kill_worker()
                    _retrying(lambda: crash.redeliver_imports(app, shop), stop)
                else:
                    crash.restart_database(cluster, down_for=rng.uniform(1, 4))
                faults[fault] += 1
            except Exception as err:  # noqa: BLE001 - a fault that could not be made is reported, not fatal
                log(f"soak: fault {fault} failed: {err}")
                faults[f"{fault}_failed"] += 1
            log(f"soak: {time.strftime('%H:%M:%S')} {fault}: {sum(faults.values())} faults, {len(tally.sent)} "
                f"operations so far")
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        importer.join(timeout=900)
        for import_id in imports:
            try:
                crash.finish_import(app, shop, import_id, timeout=300)
            except AssertionError as err:
                import_errors.append(str(err))
        during_load = Counter(tally.statuses)  # the check's retries add theirs to the tally
        verdict = crash.check(cluster.superuser_url, client, imports)
        summary = verdict.summary()
        result = {
            "minutes": minutes, "operations": verdict.operations, "acknowledged": verdict.acknowledged,
            "imports": len(imports), "imported_members": _imported(cluster, shop),
            "faults": sum(v for k, v in faults.items() if not k.endswith("_failed")), "by_fault": dict(faults),
            "lost": summary["lost"], "duplicates": summary["duplicates"], "drift": summary["drift"],
            "5xx": sum(n for s, n in during_load.items() if s >= 500 and s != 503) + summary["retry_errors"],
            "partial": summary["partial"], "retry_errors": summary["retry_errors"],
            "unavailable_503": during_load.get(503, 0), "no_answer": tally.no_answer, "hung": tally.hung,
            "slow": tally.slow[:20],
            "refused_4xx": sum(n for s, n in during_load.items() if 400 <= s < 500),
            "import_errors": import_errors[:5], "examples": summary["examples"],
        }
        return result
    finally:
        if servers is not None:
            servers.stop()
        cluster.destroy()
        redis.stop()
        if not os.environ.get("SOAK_KEEP"):
            shutil.rmtree(root, ignore_errors=True)


def _retrying(work, stop: threading.Event, tries: int = 60):
    for _ in range(tries):
        try:
            return work()
        except Exception:  # noqa: BLE001 - the database is restarting: try again in a moment
            if stop.is_set():
                return None
            time.sleep(1)
    return work()


def _imported(cluster: crash.Cluster, shop: crash.Shop) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(cluster.superuser_url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM members WHERE tenant_id = :t AND source = 'import'"),
                         {"t": shop.tenant_id}).scalar()
    engine.dispose()
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES") or 5))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED") or 7))
    args = parser.parse_args(argv)
    result = run(args.minutes, args.seed)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"operations {result['operations']} (acknowledged {result['acknowledged']}), faults {result['faults']}, "
          f"lost {result['lost']}, duplicates {result['duplicates']}, drift {result['drift']}, 5xx {result['5xx']}")
    bad = [k for k in ("lost", "duplicates", "drift", "5xx", "partial", "retry_errors") if result[k]]
    if result["import_errors"]:
        bad.append("import_errors")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
