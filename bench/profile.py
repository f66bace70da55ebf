"""Where a request's time goes: the SQL statements of API purchases (and counter lookups), counted and timed
with SQLAlchemy cursor events, in-process (Flask test client, no HTTP, no gunicorn)."""

from __future__ import annotations

import contextvars
import re
import secrets
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager

from flask.testing import FlaskClient
from sqlalchemy import event

from bench.settings import Urls


class _IsolatedClient(FlaskClient):
    """Each request in a fresh context, as a real one (tests/conftest.py does the same)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def _shape(statement: str) -> str:
    """One line per statement shape: whitespace folded, IN-lists and long column lists shortened."""
    text = re.sub(r"\s+", " ", statement).strip()
    text = re.sub(r"IN \(__\[POSTCOMPILE_[^\]]+\]\)", "IN (...)", text)
    text = re.sub(r"^(SELECT|INSERT INTO \S+) (\(?)([^()]{90,}?)( FROM| VALUES|\) VALUES)",
                  lambda m: f"{m.group(1)} {m.group(2)}…{m.group(4)}", text)
    return text[:220]


@contextmanager
def statement_log(engine):
    """Collect (shape, seconds) of every statement executed on `engine` inside the block."""
    log: list[tuple[str, float]] = []
    starts: dict[int, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        starts[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        log.append((_shape(statement), time.perf_counter() - starts.pop(id(cursor), time.perf_counter())))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def _aggregate(per_request: list[list[tuple[str, float]]]) -> list[dict]:
    totals: dict[str, list[float]] = defaultdict(list)
    for statements in per_request:
        for shape, seconds in statements:
            totals[shape].append(seconds)
    n = len(per_request)
    rows = [{"statement": shape, "per_request": round(len(times) / n, 2),
             "mean_ms": round(statistics.fmean(times) * 1000, 3),
             "ms_per_request": round(sum(times) * 1000 / n, 3)} for shape, times in totals.items()]
    return sorted(rows, key=lambda r: -r["ms_per_request"])


def _measure(client, engine, requests, expect: str) -> dict:
    per_request, walls = [], []
    for method, path, kwargs in requests:
        with statement_log(engine) as log:
            started = time.perf_counter()
            response = client.open(path, method=method, **kwargs)
            walls.append(time.perf_counter() - started)
        if response.status_code not in (200, 201) or expect not in response.get_data(True):
            raise RuntimeError(f"{method} {path} answered {response.status_code} without {expect!r}: "
                               f"{response.get_data(True)[:300]}")
        per_request.append(list(log))
    counts = [len(x) for x in per_request]
    sql_ms = [sum(s for _shape, s in x) * 1000 for x in per_request]
    walls_ms = sorted(w * 1000 for w in walls)
    return {
        "requests": len(requests),
        "statements_per_request": round(statistics.fmean(counts), 2),
        "statements_min_max": [min(counts), max(counts)],
        "server_ms_p50": round(walls_ms[len(walls_ms) // 2], 2),
        "server_ms_p99": round(walls_ms[min(len(walls_ms) - 1, int(0.99 * len(walls_ms)))], 2),
        "sql_ms_mean": round(statistics.fmean(sql_ms), 2),
        "python_ms_mean": round(statistics.fmean(walls_ms) - statistics.fmean(sql_ms), 2),
        "statements": _aggregate(per_request),
    }


def profile_purchases(urls: Urls, purchases: int = 200, log=print) -> dict:
    """Post `purchases` purchases and `purchases` lookups of each kind in-process, after a warm-up."""
    from bench.database import app_context
    from bench.scenarios import prepare

    prep = prepare(urls, sample=max(purchases * 2, 50))
    with app_context(urls, SECRET_KEY=prep.secret, COUNTER_IDLE_SECONDS=86_400) as app:
        app.test_client_class = _IsolatedClient
        return _measure_all(app, prep, purchases, log)


def _measure_all(app, prep, purchases: int, log) -> dict:
    from saas.extensions import db

    client = app.test_client()
    auth = {"Authorization": f"Bearer {prep.api_token}"}
    nonce = secrets.token_hex(4)

    def purchase(i: int, member_id: int):
        return ("POST", "/api/v1/purchases", {"headers": {**auth, "Idempotency-Key": f"prof-{nonce}-{i}"}, "json": {
            "member_id": str(member_id), "store_id": str(prep.store_id),
            "lines": [{"line_id": "1", "regular_fen": 25_900}]}})

    for pair in prep.counter_cookie.split("; "):
        name, _sep, value = pair.partition("=")
        client.set_cookie(name, value)
    counter = {"headers": {"HX-Request": "true"}}
    members, cards = prep.members, prep.cards
    engine = db.engine
    _measure(client, engine, [purchase(i, members[-1 - i][0]) for i in range(10)], "points_earned")  # warm-up
    result = {"purchase": _measure(client, engine, [purchase(100 + i, members[i][0]) for i in range(purchases)],
                                   "points_earned")}
    for name, q in (("counter_phone", lambda i: members[i][1]), ("counter_last4", lambda i: members[i][2]),
                    ("counter_card", lambda i: cards[i % len(cards)])):
        result[name] = _measure(client, engine, [("GET", f"/t/{prep.slug}/counter?q={q(i)}", counter)
                                                 for i in range(purchases)], "member-row")
    api = {"headers": auth}
    for name, query in (("api_phone", lambda i: f"phone={members[i][1]}"),
                        ("api_card", lambda i: f"card={cards[i % len(cards)]}")):
        result[name] = _measure(client, engine, [("GET", f"/api/v1/members?{query(i)}", api)
                                                 for i in range(purchases)], '"id"')
    for name, figures in result.items():
        log(f"{name}: {figures['statements_per_request']} statements, server p50 {figures['server_ms_p50']} ms, "
            f"p99 {figures['server_ms_p99']} ms, SQL {figures['sql_ms_mean']} ms + Python "
            f"{figures['python_ms_mean']} ms per request")
        for row in figures["statements"]:
            log(f"  {row['per_request']:>5} x {row['mean_ms']:>7.3f} ms = {row['ms_per_request']:>7.3f} ms  "
                f"{row['statement']}")
    return result
