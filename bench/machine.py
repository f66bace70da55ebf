"""What the figures were measured on: the machine, the load on it, the PostgreSQL settings, versions."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import psycopg

from bench.bulk import libpq_url

PG_SETTINGS = ("server_version", "shared_buffers", "effective_cache_size", "work_mem", "maintenance_work_mem",
               "max_connections", "fsync", "synchronous_commit", "wal_level", "max_wal_size", "random_page_cost",
               "jit", "max_parallel_workers_per_gather", "max_worker_processes")


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else platform.processor()


def _memory_gib() -> float:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^MemTotal:\s*(\d+) kB", text, re.M)
    return round(int(match.group(1)) / 1024 / 1024, 1) if match else 0.0


def _version(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "missing"
    result = subprocess.run(command, capture_output=True, text=True)
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else "?"


def describe(owner_url: str) -> dict:
    import gunicorn
    import sqlalchemy

    with psycopg.connect(libpq_url(owner_url)) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in PG_SETTINGS}
    return {
        "nproc": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "gunicorn": gunicorn.__version__,
        "wrk": _version(["wrk", "-v"]),
        "postgresql": settings,
    }
