"""The scenarios, each measured next to its baseline in the same run (SPEC §18), as ratios.

1. purchase — POST /api/v1/purchases under wrk (unique Idempotency-Key per request) vs pgbench TPC-B-like
   on the same server and settings, with as many clients as wrk has connections.
2. lookup — the counter's member search fragment (htmx GET /t/<slug>/counter?q=) by phone, last 4 digits
   and card; the JSON API's GET /api/v1/members?phone= / ?card= too; vs GET /bench/select1.
3. segments — ABC + RFM + lifecycle over the big tenant (tenants/services/segments_report.py) vs one
   sequential scan of the members table.
4. messaging — reported as not implemented until the feature exists.
5. import — a legacy CSV through the product's import (upload, dry run, commit) vs a raw COPY of the same
   file (bench/importing.py).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import random
import secrets
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg

from bench.generate import LARGE_SLUG
from bench.loadgen import paths_load, pgbench, pgbench_init, wrk
from bench.machine import describe
from bench.server import gunicorn
from bench.settings import TARGETS, Urls

AMOUNTS_FEN = (9_900, 19_900, 25_900, 39_900, 59_900, 129_900)


@dataclass
class Prepared:
    """What the load needs, made through the product's services in the big tenant."""

    secret: str
    slug: str
    api_token: str
    counter_cookie: str
    store_id: int
    members: list[tuple[int, str, str]]  # (id, phone, last 4)
    cards: list[str]
    workdir: Path
    notes: list[str] = field(default_factory=list)


def prepare(urls: Urls, sample: int = 5_000, slug: str = LARGE_SLUG) -> Prepared:
    """An API key, a counter tablet with a person at it (the signed session cookie the PIN pad would give),
    and a random sample of active members and their cards."""
    from sqlalchemy import func, select

    from bench.database import app_context
    from saas.extensions import db
    from saas.models import StaffUser, Tenant
    from tenants.counter import register_device
    from tenants.models import Card, Member, Store
    from tenants.scoping import tenant_context
    from tenants.services.api_keys import create_api_key
    from tenants.views.counter_session import COOKIE, SESSION_KEY

    secret = secrets.token_hex(16)
    with app_context(urls, SECRET_KEY=secret) as app:
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).one_or_none()
        if tenant is None:
            raise SystemExit(f"no tenant {slug}: run `python -m bench generate` first")
        with tenant_context(tenant):
            owner = db.session.scalars(select(StaffUser).where(StaffUser.role == "owner")).first()
            store = db.session.scalars(select(Store).order_by(Store.code)).first()
            token = create_api_key("bench run", created_by=owner.id).token
            device, device_token = register_device(manager=owner, store_id=store.id, name="bench tablet")
            db.session.commit()
            members = [tuple(r) for r in db.session.execute(
                select(Member.id, Member.phone, Member.phone_last4).where(Member.status == "active")
                .order_by(func.random()).limit(sample))]
            cards = list(db.session.scalars(select(Card.number).where(Card.status == "active")
                                            .order_by(func.random()).limit(sample)))
            db.session.commit()
        serializer = app.session_interface.get_signing_serializer(app)
        session = serializer.dumps({SESSION_KEY: {"device": device.id, "staff": owner.id, "seen": time.time()}})
        cookie = f"{COOKIE}={device_token}; {app.config['SESSION_COOKIE_NAME']}={session}"
        return Prepared(secret=secret, slug=slug, api_token=token, counter_cookie=cookie, store_id=store.id,
                        members=members, cards=cards, workdir=Path(tempfile.mkdtemp(prefix="huiyuan-bench-")))


def _get(url: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3 if a / b < 0.1 else 2) if b else None


# --- 1. purchase posting ------------------------------------------------------------------------------


def pgbench_database(urls: Urls) -> str | None:
    """A database of its own for pgbench's tables on the bench server (needs the superuser)."""
    if not urls.superuser:
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(urls.superuser, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'bench_pgbench'")).first():
            conn.execute(text("CREATE DATABASE bench_pgbench"))
    admin.dispose()
    return make_url(urls.superuser).set(database="bench_pgbench").render_as_string(hide_password=False)


def purchase(base: str, prep: Prepared, urls: Urls, *, duration: float, clients: int, rounds: int, log) -> dict:
    rows = prep.workdir / "purchases.txt"
    rng = random.Random(7)
    rows.write_text("".join(f"{m[0]} {prep.store_id} {rng.choice(AMOUNTS_FEN)}\n" for m in prep.members))
    auth = {"Authorization": f"Bearer {prep.api_token}"}
    status, body = _post(base + "/api/v1/purchases", {"member_id": str(prep.members[0][0]), "store_id": str(
        prep.store_id), "lines": [{"line_id": "1", "regular_fen": 25_900}]}, {**auth, "Idempotency-Key":
                                                                               secrets.token_hex(8)})
    if status != 201:
        raise RuntimeError(f"a purchase through the API answered {status}: {body[:300]}")
    sample = json.loads(body)
    pg_url = pgbench_database(urls)
    if pg_url:
        log("  pgbench -i -s 10 ...")
        pgbench_init(pg_url, scale=10)
    api, base_runs = [], []
    for n in range(rounds):
        if pg_url:
            base_runs.append(pgbench(pg_url, duration=duration, clients=clients))
            log(f"  round {n + 1}: pgbench TPC-B-like {base_runs[-1]['rps']} tps, p99 {base_runs[-1]['p99_ms']} ms")
        api.append(_settle(wrk(base, "purchase.lua", [str(rows), f"{secrets.token_hex(4)}r{n}"], duration=duration,
                               connections=clients, headers=auth)))
        log(f"  round {n + 1}: POST /api/v1/purchases {api[-1]['rps']} req/s, p99 {api[-1]['p99_ms']} ms, "
            f"errors {api[-1]['errors'] or 'none'}")
    return purchase_result(api, base_runs, clients, {k: sample[k] for k in ("points_earned", "tier_before",
                                                                           "tier_after", "balances")})


def purchase_result(api: list[dict], base_runs: list[dict], clients: int, sample: dict | None = None) -> dict:
    """The figures of scenario 1 from its rounds (also used to re-summarise a saved run)."""
    best = _median_run(api)
    baseline = _median_run(base_runs) if base_runs else None
    result = {
        "what": "POST /api/v1/purchases (one goods line, cash; random members of the big tenant), "
                f"gunicorn 2 sync workers, wrk -c{clients}",
        "api": best, "rounds": api,
        "baseline": {"what": f"pgbench -b tpcb-like -s 10 -c{clients} -j{clients}", **(baseline or {})},
        "baseline_rounds": base_runs,
        "sample_response": sample or {},
    }
    if baseline:
        result["ratio_to_pgbench"] = _ratio(best["rps"], baseline["rps"])
        result["met"] = {
            f"rps >= {TARGETS['purchase_rps_ratio']} x pgbench": result["ratio_to_pgbench"] >= TARGETS[
                "purchase_rps_ratio"],
            f"p99 < {TARGETS['purchase_p99_ms']} ms": best["p99_ms"] < TARGETS["purchase_p99_ms"],
        }
    else:
        result["baseline"]["skipped"] = "no superuser URL: pgbench needs a database of its own"
    return result


def _settle(previous: dict) -> dict:
    """Let requests the last load left in flight finish (wrk stops sending, the workers do not stop working),
    so that they do not queue in front of the next measurement: as long as its slowest request took."""
    time.sleep(min(10.0, previous["max_ms"] / 1000) + 0.2)
    return previous


def _median_run(runs: list[dict]) -> dict:
    """The median round by throughput; of two, the slower (never flatter the figures)."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]


# --- 2. member lookup at the counter ------------------------------------------------------------------


def lookup(base: str, prep: Prepared, *, duration: float, clients: int, rounds: int, log) -> dict:
    counter = f"/t/{prep.slug}/counter?q="
    htmx = {"Cookie": prep.counter_cookie, "HX-Request": "true", "HX-Current-URL": base + f"/t/{prep.slug}/counter"}
    api = {"Authorization": f"Bearer {prep.api_token}"}
    variants = {
        "counter_phone": ([counter + quote(m[1]) for m in prep.members], htmx),
        "counter_last4": ([counter + m[2] for m in prep.members], htmx),
        "counter_card": ([counter + c for c in prep.cards], htmx),
        "api_phone": ([f"/api/v1/members?phone={quote(m[1])}" for m in prep.members], api),
        "api_card": ([f"/api/v1/members?card={c}" for c in prep.cards], api),
    }
    # Every variant must really find members (not a PIN pad or an error that would look fast).
    for name, (paths, headers) in variants.items():
        status, body = _get(base + paths[0], headers)
        expected = "member-row" if name.startswith("counter") else '"id"'
        if status != 200 or expected not in body:
            raise RuntimeError(f"{name}: {paths[0]} answered {status} without {expected!r}: {body[:300]}")
    files = {}
    for name, (paths, _headers) in variants.items():
        files[name] = prep.workdir / f"{name}.txt"
        files[name].write_text("\n".join(paths) + "\n")
    select1 = prep.workdir / "select1.txt"
    select1.write_text("/bench/select1\n")
    runs: dict[str, list[dict]] = {name: [] for name in ("select1", *variants)}
    for n in range(rounds):
        runs["select1"].append(_settle(paths_load(base, str(select1), duration=duration, connections=clients)))
        log(f"  round {n + 1}: select1 {runs['select1'][-1]['rps']} req/s, p99 {runs['select1'][-1]['p99_ms']} ms")
        for name, (_paths, headers) in variants.items():
            runs[name].append(_settle(paths_load(base, str(files[name]), duration=duration, connections=clients,
                                                headers=headers)))
            log(f"  round {n + 1}: {name} {runs[name][-1]['rps']} req/s, p99 {runs[name][-1]['p99_ms']} ms, "
                f"errors {runs[name][-1]['errors'] or 'none'}")
    return lookup_result(runs, clients)


def lookup_result(runs: dict[str, list[dict]], clients: int) -> dict:
    """The figures of scenario 2 from its rounds (also used to re-summarise a saved run)."""
    baseline = _median_run(runs["select1"])
    result = {
        "what": "the counter's search fragment (htmx GET /t/<slug>/counter?q=, tablet cookie + PIN session) and "
                f"the JSON API's find; random members of the big tenant; gunicorn 2 sync workers, wrk -c{clients}",
        "baseline": {"what": "GET /bench/select1: one pooled `select 1` through Flask + SQLAlchemy", **baseline},
        "variants": {}, "rounds": runs,
    }
    for name in (n for n in runs if n != "select1"):
        best = _median_run(runs[name])
        ratio = _ratio(baseline["rps"], best["rps"])  # how many times slower than the baseline
        result["variants"][name] = {**best, "slower_than_select1": ratio,
                                    "p99_ratio": _ratio(best["p99_ms"], baseline["p99_ms"]),
                                    "met": ratio is not None and ratio <= TARGETS["lookup_ratio"]}
    return result


def resummarize(results: dict) -> dict:
    """Re-derive scenarios 1 and 2 of a saved run from its rounds with the current rules."""
    clients = results.get("clients", 2)
    if "lookup" in results:
        results["lookup"] = lookup_result(results["lookup"]["rounds"], clients)
    if "purchase" in results:
        p = results["purchase"]
        results["purchase"] = purchase_result(p["rounds"], p["baseline_rounds"], clients, p.get("sample_response"))
    return results


# --- 3. segmentation report ---------------------------------------------------------------------------


def segments(urls: Urls, prep_slug: str = LARGE_SLUG, *, rounds: int, log) -> dict:
    from sqlalchemy import func, select, text

    from bench.database import app_context
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.models import Member, Purchase
    from tenants.programs import business_today
    from tenants.scoping import tenant_context
    from tenants.services.segments_report import segment_report

    with app_context(urls):
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == prep_slug)).one()
        with tenant_context(tenant):
            as_of = business_today()
            scan = select(func.count(), func.sum(Member.points_balance))
            # The baseline is a sequential scan whatever the planner would prefer (a tiny table may be read
            # through an index): index paths are off for its transaction only.
            no_index = [text(f"SET LOCAL {name} = off")
                        for name in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan")]

            def scan_once():
                for statement in no_index:
                    db.session.execute(statement)
                return db.session.execute(scan).one()

            for statement in no_index:
                db.session.execute(statement)
            # What the ORM criteria make of `scan` (tenant_id = current): a sequential scan.
            plan = [r[0] for r in db.session.execute(text(
                "EXPLAIN SELECT count(*), sum(points_balance) FROM members WHERE tenant_id = :t"), {"t": tenant.id})]
            db.session.commit()

            def timed(work) -> float:
                started = time.perf_counter()
                work()
                db.session.commit()
                return time.perf_counter() - started

            timed(scan_once)  # warm the cache: both sides read from memory
            report = segment_report(as_of)
            db.session.commit()
            scans, reports, purchase_scans, splits = [], [], [], []
            for _ in range(rounds):
                scans.append(timed(scan_once))
                holder = {}
                reports.append(timed(lambda holder=holder: holder.setdefault("r", segment_report(as_of))))
                splits.append(holder["r"].timings)
                purchase_scans.append(timed(lambda: db.session.execute(
                    select(func.count(), func.sum(Purchase.spend_fen))).one()))
                log(f"  members scan {scans[-1]:.3f} s, report {reports[-1]:.3f} s ({holder['r'].timings}), "
                    f"purchases scan {purchase_scans[-1]:.3f} s")
            report = holder["r"]
    scan_s, report_s = statistics.median(scans), statistics.median(reports)
    ratio = _ratio(report_s, scan_s)
    return {
        "what": "ABC + RFM + lifecycle of every active member of the big tenant: one SQL statement aggregates each "
                "member's purchases, compares members with the domain's bars and counts "
                "(tenants/services/segments_report.py)",
        "members": report.members,
        "report_s": round(report_s, 3), "split": splits[len(splits) // 2],
        "baseline": {"what": "one sequential scan of members (count, sum(points_balance)) in the tenant",
                     "seconds": round(scan_s, 3), "plan": plan},
        "purchases_scan_s": round(statistics.median(purchase_scans), 3),
        "ratio_to_members_scan": ratio, "met": ratio is not None and ratio <= TARGETS["segments_ratio"],
        "summary": {
            "abc": [{"class": c.cls, "members": c.members, "member_share": round(float(c.member_share), 4),
                     "spend_share": round(float(c.spend_share), 4)} for c in report.abc],
            "rfm_layers": report.rfm_layers, "lifecycle": report.lifecycle, "familiar": report.familiar,
        },
    }


# --- 4 and 5: not there yet ---------------------------------------------------------------------------


def _missing(modules: tuple[str, ...], what: str) -> dict | None:
    present = [m for m in modules if importlib.util.find_spec(m) is not None]
    if present:
        return None
    return {"status": "not implemented", "what": what, "looked_for": list(modules)}


def messaging() -> dict:
    return _missing(("tenants.messaging", "tenants.services.messaging"),
                    "birthday batch of 100,000 messages queued and rendered (SPEC §18)") or {
        "status": "present but not benchmarked yet: add a scenario in bench/scenarios.py"}




# --- all of them --------------------------------------------------------------------------------------


def revision(urls: Urls) -> str | None:
    """The schema's Alembic revision: figures are only comparable between runs on the same one."""
    from bench.bulk import libpq_url

    with psycopg.connect(libpq_url(urls.app)) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def dataset(urls: Urls, slug: str = LARGE_SLUG) -> dict:
    from sqlalchemy import func, select

    from bench.database import app_context
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.models import Member, Purchase, TierAccount
    from tenants.scoping import tenant_context

    with app_context(urls):
        tenants = db.session.scalar(select(func.count()).select_from(Tenant))
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        with tenant_context(tenant):
            figures = {
                "tenants": tenants,
                "big_tenant_members": db.session.scalar(select(func.count()).select_from(Member)),
                "big_tenant_purchases": db.session.scalar(select(func.count()).select_from(Purchase)),
                "history_through": str(db.session.scalar(select(func.min(TierAccount.evaluated_through)))),
            }
        db.session.commit()
    return figures


def run_all(urls: Urls, *, duration: float = 20, only: set[str] | None = None, clients: int = 2, rounds: int = 1,
            import_members: int | None = None, log=print) -> dict:
    chosen = only or {"purchase", "lookup", "segments", "messaging", "import", "what_if", "member_list"}
    started = dt.datetime.now(dt.UTC)
    results: dict = {"started": started.isoformat(timespec="seconds"), "machine": describe(urls.owner),
                     "dataset": dataset(urls), "duration_s": duration, "clients": clients, "rounds": rounds,
                     "revision": revision(urls)}
    log(f"dataset: {results['dataset']}; schema revision {results['revision']}")
    if urls.superuser:  # start clean: no checkpoint left over from the load writing behind the measurements
        from bench.bulk import libpq_url

        with psycopg.connect(libpq_url(urls.superuser), autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    _run(urls, results, chosen, duration=duration, clients=clients, rounds=rounds, log=log,
         import_members=import_members)
    log(summary(results))
    return results


def _run(urls: Urls, results: dict, chosen: set[str], *, duration: float, clients: int, rounds: int,
         log, import_members: int | None = None) -> None:
    if chosen & {"purchase", "lookup"}:
        prep = prepare(urls)
        with gunicorn(urls, prep.secret, log_path=prep.workdir / "gunicorn.log") as base:
            if "lookup" in chosen:
                log("2. member lookup")
                results["lookup"] = lookup(base, prep, duration=duration, clients=clients, rounds=rounds, log=log)
            if "purchase" in chosen:
                log("1. purchase posting")
                results["purchase"] = purchase(base, prep, urls, duration=duration, clients=clients, rounds=rounds,
                                               log=log)
    if "segments" in chosen:
        log("3. segmentation report")
        results["segments"] = segments(urls, rounds=max(2, rounds), log=log)
    if "messaging" in chosen:
        results["messaging"] = messaging()
    if "import" in chosen:
        from bench.importing import legacy_import

        members = import_members or results["dataset"]["big_tenant_members"]
        log(f"5. CSV import of {members:,} legacy members")
        results["import"] = legacy_import(urls, members, log=log)
    if "what_if" in chosen:
        from bench.what_if import what_if

        log("6. what-if of a draft over the last 12 months")
        results["what_if"] = what_if(urls, LARGE_SLUG, log=log)
    if "member_list" in chosen:
        from bench.member_list import member_list

        log("7. member list: searches, filters, sorts, a deep page")
        results["member_list"] = member_list(urls, LARGE_SLUG, log=log)


def summary(results: dict) -> str:
    """A Markdown table of the figures and ratios (pasted into bench/RESULTS.md)."""
    lines = ["| scenario | figure | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    if "purchase" in results:
        p = results["purchase"]
        api, baseline = p["api"], p["baseline"]
        lines.append(f"| 1. purchase (API) | {api['rps']} req/s, p50 {api['p50_ms']} ms, p99 {api['p99_ms']} ms | "
                     f"pgbench TPC-B {baseline.get('rps', 'n/a')} tps | {p.get('ratio_to_pgbench', 'n/a')} | "
                     f">= {TARGETS['purchase_rps_ratio']}, p99 < {TARGETS['purchase_p99_ms']} ms | "
                     f"{_yes(all(p.get('met', {}).values()) if p.get('met') else None)} |")
    if "lookup" in results:
        lk = results["lookup"]
        b = lk["baseline"]
        for name, v in lk["variants"].items():
            lines.append(f"| 2. lookup {name} | {v['rps']} req/s, p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms | "
                         f"select1 {b['rps']} req/s, p99 {b['p99_ms']} ms | {v['slower_than_select1']}x slower | "
                         f"<= {TARGETS['lookup_ratio']}x | {_yes(v['met'])} |")
    if "segments" in results:
        s = results["segments"]
        lines.append(f"| 3. segments ({s['members']:,} members) | {s['report_s']} s (sql {s['split']['sql_s']} s, "
                     f"rules {s['split']['rules_s']} s) | members scan {s['baseline']['seconds']} s | "
                     f"{s['ratio_to_members_scan']}x | <= {TARGETS['segments_ratio']}x | {_yes(s['met'])} |")
    if "messaging" in results:
        lines.append(f"| 4. messaging | {results['messaging']['status']} | | | | |")
    if "import" in results and "product" not in results["import"]:  # runs from before the import existed
        lines.append(f"| 5. CSV import | {results['import'].get('status', 'n/a')} | | | | |")
    elif "import" in results:
        i = results["import"]
        p, b = i["product"], i["baseline"]
        lines.append(f"| 5. CSV import ({p['rows']:,} rows) | {i['rows_per_s']:,} rows/s: {p['total_s']} s (upload "
                     f"{p['upload_s']} s, dry run {p['check_s']} s, commit {p['commit_s']} s), "
                     f"{p['created_members']:,} members, {p['error_rows']:,} rows refused | COPY {b['rows_per_s']:,} "
                     f"rows/s ({b['seconds']} s) | {i['ratio_to_copy']}x | >= {TARGETS['import_ratio']}x | "
                     f"{_yes(i['met'])} |")
    if "what_if" in results:
        w = results["what_if"]
        lines.append(f"| 6. what-if ({w['members']:,} members, {w['purchases']:,} purchases) | {w['seconds']} s, "
                     f"{w['members_per_s']:,} members/s | one SQL pass over the same rows {w['baseline']['seconds']} s "
                     f"| {w['ratio_to_reading']}x | finishes (done) | {_yes(w['status'] == 'done')} |")
    if "member_list" in results:
        m = results["member_list"]
        b = m["baseline"]
        for name, v in m["variants"].items():
            lines.append(f"| 7. member list {name} ({v['total']:,} found) | {v['ms']} ms (max {v['max_ms']} ms) | "
                         f"pk lookup {b['pk_lookup_ms']} ms, count {b['count_members_ms']} ms | {v['to_count']}x count "
                         f"| | n/a |")
    return "\n".join(lines)


def _yes(value) -> str:
    return "n/a" if value is None else ("yes" if value else "**no**")
