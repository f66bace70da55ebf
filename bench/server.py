"""gunicorn on loopback for the duration of a scenario: 2 sync workers (one per core), stopped by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from bench.settings import Urls

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(urls: Urls, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "BENCH_"))}
    env.update(BENCH_DATABASE_URL=urls.app, BENCH_OWNER_URL=urls.owner, BENCH_SECRET_KEY=secret)
    if urls.redis:
        env["BENCH_REDIS_URL"] = urls.redis
    return env


@contextmanager
def gunicorn(urls: Urls, secret: str, workers: int = 2, log_path: Path | None = None):
    """Yield the base URL of a gunicorn serving `bench.app:create()`."""
    port = free_port()
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed below
    binary = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(binary), "-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "--timeout", "120", "bench.app:create()"],
        cwd=ROOT, env=bench_env(urls, secret), stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode} (see {log_path})")
            try:
                with urllib.request.urlopen(base + "/bench/select1", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Warm every worker (imports, pools, compiled templates) before anything is measured.
        for _ in range(20 * workers):
            urllib.request.urlopen(base + "/bench/select1", timeout=5).read()
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
