"""Load generators: wrk (HTTP) and pgbench (the database's own ceiling), reduced to the same figures."""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy.engine import make_url

LUA = Path(__file__).resolve().parent / "lua"
PGBIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1:] or [""]


def _figures(requests: int, seconds: float, latencies_us: dict, errors: dict | None = None) -> dict:
    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "p50_ms": round(latencies_us["p50"] / 1000, 2),
        "p90_ms": round(latencies_us["p90"] / 1000, 2),
        "p99_ms": round(latencies_us["p99"] / 1000, 2),
        "max_ms": round(latencies_us["max"] / 1000, 2),
        "mean_ms": round(latencies_us["mean"] / 1000, 2),
        "errors": {k: v for k, v in (errors or {}).items() if v},
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def wrk(url: str, script: str, args: list[str], *, duration: float, connections: int = 2, threads: int = 1,
        headers: dict[str, str] | None = None) -> dict:
    """Run wrk on `url` with a script of bench/lua; the figures of its report.lua."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is missing: apt-get install -y --no-install-recommends wrk")
    command = [binary, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
               "--timeout", "10s", "-s", str(LUA / script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command += [url, "--", *args]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA)}
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no report:\n{out}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    figures = _figures(data["requests"], data["duration_us"] / 1e6, data["latency_us"], data["errors"])
    figures["generator"] = "wrk"
    return figures


def paths_load(base: str, paths_file: str, *, duration: float, connections: int = 2,
               headers: dict[str, str] | None = None) -> dict:
    """GET the paths of a file round robin: wrk with paths.lua, or (without wrk) a small Python
    generator with one keep-alive connection per thread, which is slower and only checks the harness."""
    if shutil.which("wrk"):
        return wrk(base, "paths.lua", [paths_file], duration=duration, connections=connections, headers=headers)
    with open(paths_file) as f:
        paths = [line.strip() for line in f if line.strip()]
    host, port = base.removeprefix("http://").split(":")
    latencies: list[int] = []
    errors = {"status": 0, "read": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        n = offset
        while time.perf_counter() < deadline:
            n += 1
            started = time.perf_counter()
            try:
                conn.request("GET", paths[n % len(paths)], headers=headers or {})
                response = conn.getresponse()
                response.read()
                bad = response.status >= 400
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                with lock:
                    errors["read"] += 1
                continue
            with lock:
                latencies.append(int((time.perf_counter() - started) * 1e6))
                errors["status"] += bad
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i * 7919,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    figures = _figures(len(latencies), seconds, _percentiles(latencies), errors)
    figures["generator"] = "python (wrk not installed)"
    return figures


def pgbench_init(url: str, scale: int = 10) -> None:
    """(Re)create pgbench's tables in the database of `url` (a database of its own)."""
    subprocess.run([_pgbench(), "-i", "-q", "-s", str(scale), *_conn_args(url)], check=True,
                   capture_output=True, text=True, env=_env(url))


def pgbench(url: str, *, duration: float, clients: int = 2, builtin: str = "tpcb-like") -> dict:
    """pgbench's built-in script for `duration` seconds; per-transaction latencies from its log."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "pgbench")
        result = subprocess.run(
            [_pgbench(), "-b", builtin, "-c", str(clients), "-j", str(clients), "-T", str(max(1, round(duration))),
             "-l", f"--log-prefix={prefix}", "-n", *_conn_args(url)],
            check=True, capture_output=True, text=True, env=_env(url))
        latencies = []
        for path in glob.glob(prefix + "*"):
            with open(path) as log:
                latencies += [int(line.split()[2]) for line in log if line.strip()]
    tps = next(float(line.split("=")[1].split()[0]) for line in result.stdout.splitlines()
               if line.startswith("tps ="))
    latencies.sort()
    pct = _percentiles(latencies)
    figures = _figures(len(latencies), len(latencies) / tps if tps else 0.0, pct)
    figures["rps"] = round(tps, 1)
    return figures


def _percentiles(values: list[int]) -> dict:
    if not values:
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0, "mean": 0}

    def at(q: float) -> int:
        return values[min(len(values) - 1, int(q * len(values)))]

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": values[-1], "mean": statistics.fmean(values)}


def _pgbench() -> str:
    binary = os.path.join(PGBIN[0], "pgbench") if PGBIN[0] else shutil.which("pgbench")
    if not binary or not os.path.exists(binary):
        raise SystemExit("pgbench not found (/usr/lib/postgresql/*/bin)")
    return binary


def _conn_args(url: str) -> list[str]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    return [*args, u.database or "postgres"]


def _env(url: str) -> dict[str, str]:
    password = make_url(url).password
    return {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}
