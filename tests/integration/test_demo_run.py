"""`make run` (`flask demo run`): the embedded default serves at once, prints the log-ins once it answers,
tenant by tenant with the owner first, and adds the member history in the background, without a line per
request."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tenants.demo.seed import DEMO_TENANTS

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 6


def read_until(process, marker: str, lines: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the command ended before {marker!r}:\n" + "".join(lines))
        lines.append(line)
        if marker in line:
            return
    raise AssertionError(f"no {marker!r} within {timeout}s:\n" + "".join(lines))


def test_make_run_serves_at_once_lists_the_logins_owner_first_and_seeds_the_history_in_the_background(tmp_path):
    database = tmp_path / "huiyuan.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MIGRATION_DATABASE_URL",
                                                                     "REDIS_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{database}", FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "flask", "demo", "run", "--port", "0", "--members",
                                str(MEMBERS), "--today", "2026-03-16"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        read_until(process, "member history in the background", lines)
        printed = "".join(lines)
        url = re.search(r"Huiyuan is ready at (http://127\.0\.0\.1:\d+)/", printed).group(1)

        # The log-ins come once the server answers, grouped by tenant, each tenant's owner first.
        blocks = re.findall(rf"\n  {re.escape(url)}/t/([\w-]+)/login\n((?:    .*\n)+)", printed)
        assert [slug for slug, _rows in blocks] == [t.slug for t in DEMO_TENANTS]
        for slug, rows in blocks:
            roles = [row.split()[0] for row in rows.splitlines()]
            assert roles[0] == "owner" and roles.count("owner") == 1, (slug, roles)
            assert roles == sorted(roles, key=["owner", "chain_admin", "regional_supervisor", "store_manager",
                                               "vip_specialist", "clerk"].index)
        with urllib.request.urlopen(f"{url}/t/demo-hotel/login", timeout=10) as page:
            assert page.status == 200 and "云栖酒店" in page.read().decode()
            assert page.headers.get_all("Server") == ["huiyuan"]  # no server software or version, as in production
        assert "INFO" not in printed and "alembic" not in printed

        # The history arrives in the background; requests leave no line in the output.
        read_until(process, "member history ready", lines)
        with urllib.request.urlopen(f"{url}/t/demo-mall/login", timeout=10) as page:
            assert page.status == 200
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        lines.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "Stopped." in output
    assert "GET /" not in output and "HTTP/1.1" not in output
    assert f"member history ready: {MEMBERS * len(DEMO_TENANTS)} members" in output
    with sqlite3.connect(database) as conn:
        per_tenant = dict(conn.execute("select t.slug, count(m.id) from tenants t left join members m "
                                       "on m.tenant_id = t.id group by t.slug").fetchall())
    assert per_tenant == {t.slug: MEMBERS for t in DEMO_TENANTS}
