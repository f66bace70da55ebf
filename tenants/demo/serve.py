"""`make run`: the demo served at once, its member history added in the background.

The tenants, stores, staff and programs are created first (seconds), the server starts, and the log-ins
are printed once it answers. The twelve months of member history (minutes) are then posted by a
background thread, the tenants in turn, one committed batch at a time; between batches it waits until no
request is in flight, so a page waits for one batch at most (SQLite has one writer at a time, see
saas/embedded.py). An interrupted run resumes where it stopped.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
import urllib.request

import click
from sqlalchemy import func, select
from werkzeug.serving import WSGIRequestHandler, make_server

from saas.extensions import db
from tenants.demo.cli import echo_logins, summary_line
from tenants.demo.history import HistoryStats
from tenants.demo.seed import DEMO_TENANTS, create_demo_tenants, demo_logins, seed_demo_history
from tenants.models import Member
from tenants.resolve import tenant_by_slug
from tenants.scoping import tenant_context

log = logging.getLogger(__name__)


class QuietRequestHandler(WSGIRequestHandler):
    """Answers say `Server: huiyuan`, as behind gunicorn (gunicorn.conf.py): no server software or version."""

    server_version = "huiyuan"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version


class RequestGate:
    """WSGI middleware that counts the requests in flight, so background work can wait for a quiet moment."""

    def __init__(self, app) -> None:
        self.app = app
        self._active = 0
        self._changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self._changed:
            self._active += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self._changed:
                self._active -= 1
                self._changed.notify_all()

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Until no request is in flight (at most `timeout` seconds: a slow download must not stop the work)."""
        with self._changed:
            self._changed.wait_for(lambda: self._active == 0, timeout=timeout)


class Progress:
    """The background history's progress: one line rewritten in place on a terminal, else a line per quarter."""

    def __init__(self, members: int, tenants: int, out=None) -> None:
        self.total = members * tenants
        self.done: dict[str, int] = {}
        self.stats = HistoryStats()
        self.started = time.perf_counter()
        self.out = out or sys.stdout
        self.live = self.out.isatty()
        self._quarter = 0
        self.finished = False

    def start(self) -> None:
        self._write("Adding the demo's member history in the background (first run only; the app works meanwhile).",
                    end="\n")

    def progress(self, slug: str, done: int, total: int) -> None:
        self.done[slug] = done
        count = sum(self.done.values())
        line = f"  member history: {count:,}/{self.total:,} members ({100 * count // max(self.total, 1)}%)"
        if self.live:
            self._write("\r" + line.ljust(72), end="")
        elif 4 * count // max(self.total, 1) > self._quarter:
            self._quarter = 4 * count // max(self.total, 1)
            self._write(line, end="\n")

    def summary(self, slug: str, stats: HistoryStats) -> None:
        self.stats.add(stats)
        self.stats.failed += stats.failed
        if stats.skipped_reason:
            self._write(("\n" if self.live else "") + summary_line(slug, stats), end="\n")

    def finish(self) -> None:
        self.finished = True
        s = self.stats
        line = (f"  member history ready: {s.members:,} members, {s.purchases:,} purchases, {s.returns:,} returns, "
                f"{s.top_ups:,} top-ups, {s.redemptions:,} redemptions in {time.perf_counter() - self.started:.0f}s"
                + (f"; {s.failed} skipped (see the log)" if s.failed else ""))
        self._write(("\r" if self.live else "") + line.ljust(72), end="\n")

    def _write(self, text: str, end: str) -> None:
        self.out.write(text + end)
        self.out.flush()


def members_missing(members: int) -> bool:
    for spec in DEMO_TENANTS:
        tenant = tenant_by_slug(spec.slug)
        if tenant is not None:
            with tenant_context(tenant):
                if (db.session.scalar(select(func.count(Member.id))) or 0) < members:
                    return True
    return False


def seed_in_background(app, gate: RequestGate, progress: Progress, *, members: int, today=None) -> threading.Thread:
    def work() -> None:
        with app.app_context():
            try:
                for _step in seed_demo_history(members=members, today=today, progress=progress.progress,
                                               summary=progress.summary):
                    gate.wait_until_idle()
                progress.finish()
            except Exception:
                log.exception("demo history: stopped; the next `make run` resumes it")
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name="demo-history", daemon=True)
    thread.start()
    return thread


def wait_until_serving(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:  # noqa: S310 (our own loopback URL)
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the server (also when started from a shell that ignores SIGINT in the background)."""

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def quiet_logs() -> None:
    """Warnings and errors only: no line per request, no migration chatter."""
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def run_demo(app, *, host: str, port: int, members: int, today=None) -> None:
    from flask_migrate import upgrade

    quiet_logs()
    logging.disable(logging.INFO)  # the migrations' progress lines
    try:
        upgrade()
    finally:
        logging.disable(logging.NOTSET)
    create_demo_tenants(today=today)
    logins = demo_logins()
    missing = members_missing(members)
    db.session.remove()
    gate = RequestGate(app)
    # A port in use: werkzeug says so and exits.
    server = make_server(host, port, gate, threaded=True, request_handler=QuietRequestHandler)
    serving = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    serving.start()
    url = f"http://{host}:{server.server_port}"
    wait_until_serving(url)
    echo_logins(url, logins)
    progress = Progress(members, len(DEMO_TENANTS))
    history = None
    if missing:
        progress.start()
        history = seed_in_background(app, gate, progress, members=members, today=today)
    stop_on_signals()
    try:
        while serving.is_alive():
            serving.join(0.5)
    except KeyboardInterrupt:
        unfinished = history is not None and history.is_alive()
        click.echo("\nStopped." + (" The member history resumes at the next `make run`." if unfinished else ""))
    finally:
        server.shutdown()
        server.server_close()
