"""Crash harness: the real servers (a private PostgreSQL cluster that may be killed, gunicorn from
gunicorn.conf.py + wsgi.py, the RQ worker of worker.py), an API client that logs every request it sends
with its idempotency key, the faults (kill -9 of a gunicorn worker, of the master, of the RQ worker;
PostgreSQL stopped in immediate mode and started again) and THE check after a crash:

* every acknowledged operation (a 2xx answer received) is present, with the id it was answered with;
* nothing is partial: each operation's row exists with its idempotency key and vice versa, every member
  import is committed in full (killed half way, it is resumed from its last committed batch);
* balances equal ledger sums (points and stored value, per member: entries and lots);
* retries of every request sent (acknowledged or not) with the same key create nothing new: an
  acknowledged one replays its first answer, byte for byte.

Used by tests/integration/test_crashes.py (CI, a small size) and by `make soak` (bench/soak.py: mixed
load with random faults for SOAK_MINUTES).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PGBIN = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]) \
    if Path("/usr/lib/postgresql").exists() else None
REQUEST_TIMEOUT = 30  # seconds; no answer takes this long unless the app hangs (counted as `hung`)
HUNG_AFTER = 15
SLOW_AFTER = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return []
    return [int(p) for p in out.split()]


def _kill9(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    if proc is None:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill9(proc.pid)
        proc.wait()


# --- a PostgreSQL cluster of our own ---------------------------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL cluster in `root` on `port`, with fsync on (durability is what is tested),
    and the two roles of production: huiyuan_owner (schema) and huiyuan_app (no BYPASSRLS)."""

    def __init__(self, root: Path, port: int | None = None):
        self.root = root
        self.port = port or free_port()
        self.data = root / "pg" / "data"
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, role: str, database: str = "huiyuan") -> str:
        return f"postgresql+psycopg://{role}@127.0.0.1:{self.port}/{database}"

    @property
    def app_url(self) -> str:
        return self.url("huiyuan_app")

    @property
    def owner_url(self) -> str:
        return self.url("huiyuan_owner")

    @property
    def superuser_url(self) -> str:
        return self.url("postgres")

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_pg, *args], capture_output=True, text=True, check=check)

    def init(self) -> None:
        (self.root / "pg").mkdir(parents=True, exist_ok=True)
        if self.as_pg:
            shutil.chown(self.root / "pg", "postgres", "postgres")
            os.chmod(self.root, 0o755)
        self._pg(str(PGBIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8")
        self.start()
        admin = create_engine(self.url("postgres", "postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE ROLE huiyuan_owner LOGIN"))
            conn.execute(text("CREATE ROLE huiyuan_app LOGIN NOSUPERUSER NOBYPASSRLS"))
            conn.execute(text("CREATE DATABASE huiyuan OWNER huiyuan_owner"))
        admin.dispose()
        owner = create_engine(self.owner_url)
        with owner.begin() as conn:
            conn.execute(text("GRANT USAGE ON SCHEMA public TO huiyuan_app"))
            conn.execute(text("ALTER DEFAULT PRIVILEGES FOR ROLE huiyuan_owner IN SCHEMA public "
                              "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO huiyuan_app"))
            conn.execute(text("ALTER DEFAULT PRIVILEGES FOR ROLE huiyuan_owner IN SCHEMA public "
                              "GRANT USAGE, SELECT ON SEQUENCES TO huiyuan_app"))
        owner.dispose()

    def start(self) -> None:
        self._pg(str(PGBIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "pg" / "log"), "-w", "-t", "60",
                 "-o", f"-p {self.port} -k {self.root / 'pg'} -c listen_addresses=127.0.0.1 -c max_connections=100",
                 "start")

    def stop_immediate(self) -> None:
        """`pg_ctl stop -m immediate`: every backend is killed at once, no checkpoint (a crash, replayed
        from the WAL at the next start)."""
        self._pg(str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop_immediate()
        shutil.rmtree(self.root / "pg", ignore_errors=True)


# --- the app's processes -------------------------------------------------------------------------------------


class Servers:
    """gunicorn (2 sync workers, from the repository root so gunicorn.conf.py applies) and one RQ worker."""

    def __init__(self, cluster: Cluster, redis_url: str, workdir: Path, web_workers: int = 2):
        self.cluster, self.redis_url, self.workdir = cluster, redis_url, workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.web_workers = web_workers
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.secret = secrets.token_hex(16)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "BENCH_", "SOAK_"))}
        env.update(DATABASE_URL=self.cluster.app_url, MIGRATION_DATABASE_URL=self.cluster.owner_url,
                   REDIS_URL=self.redis_url, SECRET_KEY=self.secret, HUIYUAN_ENV="development",
                   MAIL_SERVER="", STRIPE_SECRET_KEY="", PYTHONUNBUFFERED="1")
        return env

    def _log(self, name: str):
        return open(self.workdir / name, "ab")  # noqa: SIM115 - handed to the child

    def start_web(self) -> None:
        log = self._log("gunicorn.log")
        self.web = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(self.web_workers), "-k", "sync", "-b", f"127.0.0.1:{self.port}",
             "--timeout", "20", "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 120  # a worker's boot took 40 s on a 2-core machine with a load of 8
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.web.returncode} (see {self.workdir}/gunicorn.log)")
            if len(_children(self.web.pid)) >= self.web_workers:
                try:
                    with urllib.request.urlopen(self.base + "/api/v1/openapi.json", timeout=5) as response:
                        if response.status == 200:
                            return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer within 120 s")

    def start_worker(self) -> None:
        log = self._log("worker.log")
        self.worker = subprocess.Popen([str(BIN / "python"), "worker.py", "default"], cwd=ROOT, env=self.env(),
                                       stdout=log, stderr=log)
        log.close()

    def start(self) -> None:
        self.start_web()
        self.start_worker()

    def kill_web_worker(self) -> bool:
        """kill -9 one gunicorn worker; the master forks another."""
        workers = _children(self.web.pid) if self.web else []
        if not workers:
            return False
        _kill9(random.choice(workers))
        return True

    def kill_web_master(self) -> None:
        """kill -9 the master; its workers are killed with it (as a service manager ends the unit's
        processes); then gunicorn is started again on the same port."""
        workers = _children(self.web.pid)
        _kill9(self.web.pid)
        for pid in workers:
            _kill9(pid)
        _reap(self.web)
        self.start_web()

    def kill_worker(self) -> None:
        """kill -9 the RQ worker and the work horse running its job; then a new worker starts."""
        horses = _children(self.worker.pid)
        _kill9(self.worker.pid)
        for pid in horses:
            _kill9(pid)
        _reap(self.worker)
        self.start_worker()

    def stop(self) -> None:
        for proc in (self.web, self.worker):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.web, self.worker):
            _reap(proc, timeout=15)


# --- the tenant under load -------------------------------------------------------------------------------------


@dataclass
class Shop:
    tenant_id: int
    slug: str
    token: str
    store_id: int
    members: list[int] = field(default_factory=list)


def migrate_and_seed(cluster: Cluster, redis_url: str) -> Shop:
    """Migrate the private database as the owner, sign a clothing shop up, issue its API key (committed
    before the load; the members are enrolled through the API by `enrol`)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from saas import create_app
    from saas.extensions import db
    from saas.signup import create_tenant
    from tenants.models import Store
    from tenants.scoping import tenant_context
    from tenants.services.api_keys import create_api_key

    app = create_app({"SQLALCHEMY_DATABASE_URI": cluster.app_url, "MIGRATION_DATABASE_URI": cluster.owner_url,
                      "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url, "SECRET_KEY": "crash-harness",
                      "STRIPE_SECRET_KEY": None, "MAIL_SERVER": None, "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        upgrade()
        slug = f"crash-{secrets.token_hex(3)}"
        result = create_tenant(business_name="Crash shop", slug=slug, vertical="clothing", owner_name="Owner",
                               email=f"owner@{slug}.example.com", password="Crash-2026-huiyuan", language="en")
        db.session.commit()
        tenant = result.tenant
        with tenant_context(tenant):
            token = create_api_key("Crash POS", created_by=None).token
            store_id = db.session.scalars(select(Store.id)).first()
            db.session.commit()
        shop = Shop(tenant.id, slug, token, store_id)
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return shop


def app_for(cluster: Cluster, redis_url: str):
    from saas import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": cluster.app_url, "MIGRATION_DATABASE_URI": cluster.owner_url,
                       "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url, "SECRET_KEY": "crash-harness",
                       "STRIPE_SECRET_KEY": None, "MAIL_SERVER": None, "SESSION_COOKIE_SECURE": False})


# --- the client: every request logged with its key --------------------------------------------------------------


@dataclass
class Sent:
    """One logical request (one idempotency key) and what became of it."""

    key: str
    kind: str
    path: str
    body: dict
    attempts: int = 0
    status: int | None = None  # the last status received (None: no answer)
    answer: dict | None = None  # the first 2xx answer
    acknowledged: bool = False
    answers: list[int] = field(default_factory=list)


@dataclass
class Tally:
    sent: list[Sent] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    no_answer: int = 0
    hung: int = 0
    slow: list[str] = field(default_factory=list)  # requests that took over SLOW_AFTER seconds: what and when
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server_errors(self) -> int:
        """5xx that are not the 503 "briefly unavailable" the app answers while its database is down."""
        return sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)


class Client:
    def __init__(self, base: str, shop: Shop, tally: Tally):
        self.base, self.shop, self.tally = base, shop, tally

    def call(self, method: str, path: str, body: dict | None, key: str | None = None) -> tuple[int | None, dict, dict]:
        headers = {"Authorization": f"Bearer {self.shop.token}", "Accept-Language": "en"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                status, raw, replies = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as err:
            status, raw, replies = err.code, err.read(), dict(err.headers)
        except (OSError, http_client_errors()) as err:
            self._timed(started, method, path, err.__class__.__name__)
            with self.tally.lock:
                self.tally.no_answer += 1
            return None, {}, {}
        self._timed(started, method, path, status)
        with self.tally.lock:
            self.tally.statuses[status] += 1
        try:
            doc = json.loads(raw or b"{}")
        except ValueError:
            doc = {"raw": raw[:200].decode(errors="replace")}
        return status, doc, replies

    def _timed(self, started: float, method: str, path: str, outcome) -> None:
        took = time.monotonic() - started
        if took > SLOW_AFTER:
            with self.tally.lock:
                self.tally.hung += took > HUNG_AFTER
                self.tally.slow.append(f"{time.strftime('%H:%M:%S')} {method} {path} → {outcome} in {took:.1f} s")

    def send(self, sent: Sent) -> Sent:
        status, doc, replies = self.call("POST", sent.path, sent.body, sent.key)
        sent.attempts += 1
        sent.status = status
        sent.answers.append(status or 0)
        if status is not None and 200 <= status < 300 and sent.answer is None:
            sent.answer = doc
            sent.acknowledged = True
        return sent

    def post(self, kind: str, path: str, body: dict) -> Sent:
        sent = Sent(key=f"{kind}-{secrets.token_hex(8)}", kind=kind, path=path, body=body)
        with self.tally.lock:
            self.tally.sent.append(sent)
        return self.send(sent)


def http_client_errors():
    import http.client

    return http.client.HTTPException


def enrol(client: Client, n: int, prefix: int) -> list[int]:
    """Enrol n members through the API (retried until each is acknowledged)."""
    ids = []
    for i in range(n):
        phone = f"139{prefix:02d}{i:06d}"
        sent = Sent(key=f"enrol-{phone}", kind="enrol", path="/api/v1/members",
                    body={"name": f"Member {i}", "phone": phone})
        with client.tally.lock:
            client.tally.sent.append(sent)
        for _ in range(50):
            client.send(sent)
            if sent.acknowledged:
                break
            time.sleep(0.2)
        ids.append(int(sent.answer["id"]))
    return ids


# The operations of the load: (kind, weight). Purchases and top-ups always succeed; payments, point spends
# and returns may be refused (422: balance too low, already returned) — never a 5xx.
CI_MIX = (("purchase", 6), ("top_up", 4))
SOAK_MIX = (("purchase", 5), ("top_up", 3), ("payment", 2), ("spend_points", 1), ("return", 1))


def one_operation(client: Client, rng: random.Random, mix=CI_MIX) -> Sent:
    kinds, weights = zip(*mix, strict=True)
    kind = rng.choices(kinds, weights)[0]
    member = rng.choice(client.shop.members)
    if kind == "purchase":
        amount = rng.randrange(1_000, 80_000)
        return client.post(kind, "/api/v1/purchases", {
            "member_id": str(member), "store_id": str(client.shop.store_id),
            "lines": [{"line_id": "1", "regular_fen": amount}, {"line_id": "2", "regular_fen": 990, "quantity": 1}]})
    if kind == "top_up":
        return client.post(kind, f"/api/v1/members/{member}/top-ups",
                           {"amount_fen": rng.choice((10_000, 20_000, 50_000)), "store_id": str(client.shop.store_id)})
    if kind == "payment":
        return client.post(kind, f"/api/v1/members/{member}/stored-value/payments",
                           {"amount_fen": rng.randrange(100, 30_000), "member_confirmed": True, "reference": "soak"})
    if kind == "spend_points":
        return client.post(kind, f"/api/v1/members/{member}/points-adjustments",
                           {"delta": -rng.randrange(1, 50), "reason": "soak: points spent"})
    with client.tally.lock:
        bought = [s for s in client.tally.sent if s.kind == "purchase" and s.acknowledged]
    if not bought:
        return one_operation(client, rng, (("purchase", 1),))
    purchase = rng.choice(bought)
    return client.post(kind, f"/api/v1/purchases/{purchase.answer['id']}/returns", {"lines": {"2": 1}})


def run_load(client: Client, stop: threading.Event, threads: int = 3, seed: int = 11, mix=CI_MIX,
             pause: float = 0.0) -> list[threading.Thread]:
    def loop(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        while not stop.is_set():
            sent = one_operation(client, rng, mix)
            if sent.status is None or sent.status == 503:
                time.sleep(0.2)  # the server is restarting: as a till would, wait a moment
            elif pause:
                time.sleep(pause)

    workers = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    return workers


# --- member imports ------------------------------------------------------------------------------------------


def import_file(rows: int, prefix: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "手机号", "积分", "储值余额", "累计消费"])
    for i in range(rows):
        writer.writerow([f"导入{i}", f"137{prefix:02d}{i:06d}", i % 500, f"{(i % 70) * 10}.50", i % 9000])
    return buffer.getvalue().encode("utf-8-sig")


def start_import(app, shop: Shop, rows: int, prefix: int) -> int:
    """Upload a legacy member file and queue its dry run (on the RQ worker). Returns the import's id."""
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.scoping import tenant_context
    from tenants.services import imports

    with app.app_context():
        tenant = db.session.get(Tenant, shop.tenant_id)
        with tenant_context(tenant):
            imp = imports.create_import("legacy.csv", import_file(rows, prefix), max_bytes=50 * 1024 * 1024,
                                        store_id=shop.store_id)
            db.session.commit()
            imports.start_check(imp, imports.column_mapping(imp), shop.store_id)
            import_id = imp.id
        db.session.remove()
    return import_id


def import_state(app, shop: Shop, import_id: int) -> dict:
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.imports_models import MemberImport
    from tenants.scoping import tenant_context

    with app.app_context():
        with tenant_context(db.session.get(Tenant, shop.tenant_id)):
            imp = db.session.get(MemberImport, (shop.tenant_id, import_id))
            state = {"status": imp.status, "valid_rows": imp.valid_rows, "created": imp.created_members,
                     "committed_through": imp.committed_through, "done": imp.commit_done_rows,
                     "error": imp.error_code}
        db.session.remove()
    return state


def commit_import(app, shop: Shop, import_id: int) -> None:
    """Queue the commit of a checked import (what the "Import" button does)."""
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.imports_models import MemberImport
    from tenants.scoping import tenant_context
    from tenants.services import imports

    with app.app_context():
        with tenant_context(db.session.get(Tenant, shop.tenant_id)):
            imports.start_commit(db.session.get(MemberImport, (shop.tenant_id, import_id)), actor_id=None)
        db.session.remove()


def redeliver_imports(app, shop: Shop) -> int:
    """What RQ does for a job whose worker died (AbandonedJobError, then a retry): queue the running imports'
    jobs again. The jobs are idempotent: a dry run starts over, a commit goes on after its last batch."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.jobs import enqueue
    from saas.models import Tenant
    from tenants.imports_models import CHECKING, COMMITTING, MemberImport
    from tenants.scoping import tenant_context
    from tenants.services import imports

    jobs = {CHECKING: imports.check_member_import, COMMITTING: imports.commit_member_import}
    n = 0
    with app.app_context():
        with tenant_context(db.session.get(Tenant, shop.tenant_id)):
            for imp in db.session.scalars(select(MemberImport).where(MemberImport.status.in_(list(jobs)))):
                enqueue("default", jobs[imp.status], shop.tenant_id, imp.id, job_timeout=3600)
                n += 1
            db.session.commit()
        db.session.remove()
    return n


def wait_import(app, shop: Shop, import_id: int, statuses: tuple[str, ...], timeout: float = 120,
                redeliver_every: float = 0.0) -> dict:
    deadline = time.monotonic() + timeout
    last_redelivery = time.monotonic()
    while True:
        try:
            state = import_state(app, shop, import_id)
            if state["status"] in statuses:
                return state
        except Exception:  # noqa: BLE001 - the database may be restarting
            state = {"status": "?"}
        if time.monotonic() > deadline:
            raise AssertionError(f"import {import_id} is {state} after {timeout} s")
        if redeliver_every and time.monotonic() - last_redelivery > redeliver_every:
            last_redelivery = time.monotonic()
            redeliver_imports(app, shop)
        time.sleep(0.2)


def finish_import(app, shop: Shop, import_id: int, timeout: float = 120) -> dict:
    """Wait until an import is committed. A commit whose job died is queued again (RQ's redelivery); one that
    failed because the database went away is started again as a person would, with the Import button."""
    from tenants.imports_models import COMMIT_FAILED, COMMITTED

    deadline = time.monotonic() + timeout
    redelivered = time.monotonic()
    while True:
        try:
            state = import_state(app, shop, import_id)
            if state["status"] == COMMITTED:
                return state
            if state["status"] == COMMIT_FAILED:
                commit_import(app, shop, import_id)
            elif time.monotonic() - redelivered > 10:
                redelivered = time.monotonic()
                redeliver_imports(app, shop)
        except Exception as err:  # noqa: BLE001 - the database may be restarting
            state = {"status": f"? ({err.__class__.__name__})"}
        if time.monotonic() > deadline:
            raise AssertionError(f"import {import_id} is {state} after {timeout} s")
        time.sleep(0.3)


# --- faults --------------------------------------------------------------------------------------------------


UNAVAILABLE_TEXTS = ("briefly unavailable", "暂时不可用")


def _html_probe(url: str) -> Counter:
    """A page (the counter's log-in) while the database is down: a 503 page with the translated message."""
    seen: Counter = Counter()
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:
            seen[f"html_{response.status}"] += 1
    except urllib.error.HTTPError as err:
        body = err.read().decode(errors="replace")
        seen[f"html_{err.code}"] += 1
        seen["html_with_message"] += any(t in body for t in UNAVAILABLE_TEXTS)
    except OSError:
        seen["html_no_answer"] += 1
    return seen


def restart_database(cluster: Cluster, down_for: float, probe: Client | None = None) -> dict:
    """Stop PostgreSQL in immediate mode, keep it down `down_for` seconds (probing the app meanwhile: it
    must answer 503 with a message, quickly), then start it again. Returns what the probe saw."""
    seen: Counter = Counter()
    cluster.stop_immediate()
    until = time.monotonic() + down_for
    while time.monotonic() < until:
        if probe is not None:
            started = time.monotonic()
            status, doc, replies = probe.call("GET", f"/api/v1/members/{probe.shop.members[0]}", None)
            seen[status] += 1
            seen["slowest_ms"] = max(seen["slowest_ms"], int((time.monotonic() - started) * 1000))
            if status == 503:
                seen["with_message"] += bool(doc.get("error", {}).get("message"))
                seen["retry_after"] += "Retry-After" in replies
            seen.update(_html_probe(probe.base + f"/t/{probe.shop.slug}/login"))
        time.sleep(0.3)
    cluster.start()
    return dict(seen)


# --- THE check -----------------------------------------------------------------------------------------------

# Each operation kind: the idempotency operation, and the table holding its effect with the answer's id.
EFFECTS = {
    "purchase": ("purchase", "purchases", "id"),
    "top_up": ("member.top_up", "top_ups", "id"),
    "return": ("purchase.return", "purchase_returns", "id"),
    "payment": ("member.pay", None, None),
    "spend_points": ("member.adjust", None, None),
    "enrol": ("member.enrol", "members", None),
    # The counter's HTML forms (bench/crash_counter.py), stored under `counter:<idem>`.
    "counter_purchase": ("counter.purchase", "purchases", "id"),
    "counter_top_up": ("counter.top_up", "top_ups", "id"),
}

LEDGER_SQL = """
WITH pe AS (SELECT member_id, sum(points) AS s FROM points_entries WHERE tenant_id = :t GROUP BY member_id),
     pl AS (SELECT member_id, sum(points) AS s FROM points_lots WHERE tenant_id = :t GROUP BY member_id),
     se AS (SELECT member_id, sum(principal_fen + bonus_fen) AS s FROM stored_value_entries WHERE tenant_id = :t
            GROUP BY member_id),
     sl AS (SELECT member_id, sum(principal_fen + bonus_fen) AS s FROM stored_value_lots WHERE tenant_id = :t
            GROUP BY member_id)
SELECT m.id, m.points_balance, coalesce(pe.s, 0), coalesce(pl.s, 0),
       m.stored_value_fen, coalesce(se.s, 0), coalesce(sl.s, 0)
FROM members m
LEFT JOIN pe ON pe.member_id = m.id LEFT JOIN pl ON pl.member_id = m.id
LEFT JOIN se ON se.member_id = m.id LEFT JOIN sl ON sl.member_id = m.id
WHERE m.tenant_id = :t AND (m.points_balance <> coalesce(pe.s, 0) OR m.points_balance <> coalesce(pl.s, 0)
   OR m.stored_value_fen <> coalesce(se.s, 0) OR m.stored_value_fen <> coalesce(sl.s, 0))
"""


@dataclass
class Verdict:
    operations: int = 0  # logical requests sent (one idempotency key each)
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    retry_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.drift or self.partial or self.retry_errors)

    def summary(self) -> dict:
        return {"operations": self.operations, "acknowledged": self.acknowledged, "lost": len(self.lost),
                "duplicates": len(self.duplicates), "drift": len(self.drift), "partial": len(self.partial),
                "retry_errors": len(self.retry_errors),
                "examples": (self.lost + self.duplicates + self.drift + self.partial + self.retry_errors)[:10]}


def retry_everything(client: Client, verdict: Verdict) -> None:
    """Send every logged request again with its key, twice: an acknowledged one must replay its first answer;
    any other must now succeed or be refused (4xx) and then replay. Never a 5xx once the servers are up."""
    from concurrent.futures import ThreadPoolExecutor

    def again(s: Sent, rnd: int) -> None:
        before = s.answer
        status, doc, replies = client.call("POST", s.path, s.body, s.key)
        if status is None or status >= 500:
            verdict.retry_errors.append(f"{s.key}: retry {rnd} answered {status}")
        elif 200 <= status < 300:
            if before is None:  # never answered, or refused (a refusal keeps nothing): it happens now, once
                s.answer, s.acknowledged = doc, True
            elif doc != before:
                verdict.duplicates.append(f"{s.key}: retry {rnd} answered {doc} after {before}")
            elif replies.get("Idempotent-Replayed") != "true":
                verdict.duplicates.append(f"{s.key}: retry {rnd} was not a replay")
        elif before is not None:
            verdict.lost.append(f"{s.key}: answered 2xx, but its retry {rnd} answered {status} {doc}")

    sent = list(client.tally.sent)
    for rnd in (1, 2):
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda s, r=rnd: again(s, r), sent))


def check(superuser_url: str, client: Client, import_ids: list[int] = (), retry: bool = True,
          counter=None) -> Verdict:
    """THE check after a crash (see the module's docstring). Reads as the superuser (no row-level security
    in the way), the tenant's rows only. `counter`: a crash_counter.CounterClient whose forms count too."""
    forms = list(counter.forms) if counter is not None else []
    sent_all = list(client.tally.sent) + forms
    acked = [s for s in sent_all if s.acknowledged]
    verdict = Verdict(operations=len(sent_all), acknowledged=len(acked))
    if retry:
        retry_everything(client, verdict)
        if counter is not None:
            counter.retry_everything(verdict)
    t = client.shop.tenant_id
    engine = create_engine(superuser_url)
    try:
        with engine.connect() as conn:
            keys = {row.key: (row.operation, row.response) for row in conn.execute(text(
                "SELECT key, operation, response FROM idempotency_keys WHERE tenant_id = :t"), {"t": t})}
            for s in sent_all:
                operation, table, id_field = EFFECTS[s.kind]
                stored = keys.get(s.key)
                if s.acknowledged and stored is None:
                    verdict.lost.append(f"{s.key}: acknowledged, no idempotency row")
                    continue
                if stored is not None and stored[1] is None:
                    verdict.partial.append(f"{s.key}: key kept without its answer")
                if s.acknowledged and table and id_field:
                    row_id = s.answer.get(id_field) or (stored[1] or {}).get(id_field)  # a page shows no id
                    if row_id is None:
                        verdict.lost.append(f"{s.key}: acknowledged, its answer names no {table} row")
                        continue
                    found = conn.execute(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t AND id = :id"),
                                         {"t": t, "id": int(row_id)}).scalar()
                    if found != 1:
                        verdict.lost.append(f"{s.key}: {table} {s.answer[id_field]} missing")
            sent_keys = {s.key for s in sent_all}
            for key, (operation, _response) in keys.items():
                if key not in sent_keys and not key.startswith("enrol-"):  # the set-up enrols with its own client
                    verdict.duplicates.append(f"idempotency row {key} ({operation}) that nobody sent")
            by_table: dict[str, set[str]] = {}  # the API's and the counter's keys fill the same tables
            for kind, (operation, table, _id) in EFFECTS.items():
                if table and kind != "enrol":
                    by_table.setdefault(table, set()).add(operation)
            for table, operations in by_table.items():
                rows = conn.execute(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": t}).scalar()
                with_key = sum(1 for op, _r in keys.values() if op in operations)
                if rows > with_key:
                    verdict.duplicates.append(f"{table}: {rows} rows for {with_key} keys")
                elif rows < with_key:
                    verdict.partial.append(f"{table}: {rows} rows for {with_key} keys")
            # No purchase without its ledger: points earned are a lot of that purchase; spend is a tier activity.
            for row in conn.execute(text(
                    "SELECT p.id FROM purchases p WHERE p.tenant_id = :t AND p.points_earned > 0 AND NOT EXISTS "
                    "(SELECT 1 FROM points_lots l WHERE l.tenant_id = p.tenant_id AND l.purchase_id = p.id)"),
                    {"t": t}):
                verdict.partial.append(f"purchase {row.id} without its points lot")
            for row in conn.execute(text(
                    "SELECT u.id FROM top_ups u WHERE u.tenant_id = :t AND NOT EXISTS (SELECT 1 FROM "
                    "stored_value_entries e WHERE e.tenant_id = u.tenant_id AND e.ref = 'top_up:' || u.id)"),
                    {"t": t}):
                verdict.partial.append(f"top-up {row.id} without its stored-value entry")
            for row in conn.execute(text(LEDGER_SQL), {"t": t}):
                verdict.drift.append(f"member {row[0]}: points {row[1]} entries {row[2]} lots {row[3]}; "
                                     f"stored value {row[4]} entries {row[5]} lots {row[6]}")
            counted = [0, 0, 0]
            for import_id in import_ids:
                imp = conn.execute(text(
                    "SELECT status, valid_rows, created_members, skipped_at_commit, points_opened, "
                    "stored_value_opened_fen FROM member_imports WHERE tenant_id = :t AND id = :id"),
                    {"t": t, "id": import_id}).one()
                if imp.status != "committed" or imp.created_members + imp.skipped_at_commit != imp.valid_rows \
                        or imp.skipped_at_commit:
                    verdict.partial.append(f"import {import_id}: {imp.status}, {imp.created_members} of "
                                           f"{imp.valid_rows} rows, {imp.skipped_at_commit} skipped")
                counted = [a + b for a, b in zip(counted, (imp.created_members, imp.points_opened,
                                                           imp.stored_value_opened_fen), strict=True)]
            # Imported members have no purchases, top-ups or spends in the load: their opening balances are
            # exactly what the imports counted (a batch written twice would show here).
            imported = conn.execute(text(
                "SELECT count(*), coalesce(sum(points_balance), 0), coalesce(sum(stored_value_fen), 0) FROM "
                "members WHERE tenant_id = :t AND source = 'import'"), {"t": t}).one()
            if list(imported) != counted:
                verdict.partial.append(f"imported members {tuple(imported)} but the imports counted {tuple(counted)}")
    finally:
        engine.dispose()
    return verdict
