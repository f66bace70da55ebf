"""`python -m bench` (or `make bench ARGS=...`): generate a data set, check it, run the scenarios.

    python -m bench generate --size large          # fresh database, migrations, tenants, COPY
    python -m bench check                           # ledgers and sampled tier states
    python -m bench run --duration 20               # scenarios 1-5, figures and ratios
    python -m bench run --only lookup,segments      # some of them
    python -m bench profile                         # SQL statements of one API purchase
    python -m bench migrate                         # an existing data set to the newest schema
    python -m bench summary bench/results/large-asis.json   # the table of a saved run
    python -m bench all --size small                # generate, check, run

Figures go to stdout and to bench/results/<size>-<timestamp>.json; bench/RESULTS.md is the curated record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path

from bench.settings import BENCH_DB, SIZES, size_named, urls_from_env

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def log(message: str) -> None:
    print(message, flush=True)


def _urls(args):
    urls = urls_from_env()
    if not args.reuse_database:
        urls = urls.with_database(args.database or BENCH_DB)
    return urls


def cmd_generate(args) -> dict:
    from bench.database import create_database, make_app, migrate
    from bench.generate import generate

    urls = _urls(args)
    size = size_named(args.size, members=args.members, purchases_per_member=args.purchases_per_member,
                      small_tenants=args.small_tenants)
    started = time.perf_counter()
    if not args.reuse_database:
        create_database(urls)
    app = make_app(urls)
    migrate(app)
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    result = generate(app, urls.owner, size, seed=args.seed, as_of=as_of, log=log)
    result["total_s"] = round(time.perf_counter() - started, 1)
    log(json.dumps(result, indent=2))
    return result


def cmd_check(args) -> dict:
    from bench.checks import check

    result = check(_urls(args), sample=args.sample, log=log)
    log(json.dumps(result, indent=2))
    if result["problems"]:
        raise SystemExit(1)
    return result


def cmd_run(args) -> dict:
    from bench.scenarios import run_all

    only = set(args.only.split(",")) if args.only else None
    result = run_all(_urls(args), duration=args.duration, only=only, clients=args.clients, rounds=args.rounds,
                     import_members=args.import_members, log=log)
    _save(result, args)
    return result


def cmd_migrate(args) -> dict:
    """Bring an existing bench database to the product's newest schema (as the owner), then ANALYZE."""
    from bench.database import make_app, migrate

    urls = _urls(args)
    migrate(make_app(urls))
    from bench.scenarios import revision

    log(f"{urls.database}: schema revision {revision(urls)}")
    return {}


def cmd_profile(args) -> dict:
    from bench.profile import profile_purchases

    result = profile_purchases(_urls(args), purchases=args.purchases, log=log)
    _save({"profile": result}, args)
    return result


def cmd_summary(args) -> dict:
    from bench.scenarios import resummarize, summary

    for path in args.files:
        results = resummarize(json.loads(Path(path).read_text()))
        log(f"{path}: {results.get('dataset')}, schema revision {results.get('revision', '?')}")
        log(summary(results))
    return {}


def cmd_all(args) -> dict:
    generated = cmd_generate(args)
    checked = cmd_check(args)
    from bench.scenarios import run_all

    only = set(args.only.split(",")) if args.only else None
    result = run_all(_urls(args), duration=args.duration, only=only, clients=args.clients, rounds=args.rounds,
                     import_members=args.import_members, log=log)
    result.update(generated=generated, checked=checked)
    _save(result, args)
    return result


def _save(result: dict, args) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    size = f"{args.size}-" if getattr(args, "size", None) else ""
    path = RESULTS_DIR / f"{size}{args.command}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False))
    log(f"saved {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", help=f"bench database name (default {BENCH_DB})")
    common.add_argument("--reuse-database", action="store_true",
                        help="use the database named in the URLs as it is (migrated, no other tenants)")
    gen = argparse.ArgumentParser(add_help=False)
    gen.add_argument("--size", choices=list(SIZES), default="small")
    gen.add_argument("--members", type=int, help="override the big tenant's members")
    gen.add_argument("--purchases-per-member", type=float)
    gen.add_argument("--small-tenants", type=int)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--as-of", help="the business day the history leads up to (default: today in Shanghai)")
    runs = argparse.ArgumentParser(add_help=False)
    runs.add_argument("--duration", type=float, default=20, help="seconds per measured load (wrk, pgbench)")
    runs.add_argument("--only", help="comma-separated: purchase,lookup,segments,messaging,import,what_if,member_list")
    runs.add_argument("--import-members", type=int,
                      help="rows of the legacy file of scenario 5 (default: the big tenant's members)")
    runs.add_argument("--clients", type=int, default=2, help="wrk connections = pgbench clients")
    runs.add_argument("--rounds", type=int, default=1, help="baseline + scenario pairs; the median is kept")
    sub.add_parser("generate", parents=[common, gen], help="fresh database, migrations, tenants, history")
    check = sub.add_parser("check", parents=[common], help="ledger sums and sampled tier states")
    check.add_argument("--sample", type=int, default=300)
    sub.add_parser("run", parents=[common, runs], help="the scenarios")
    prof = sub.add_parser("profile", parents=[common], help="SQL statements per API purchase")
    prof.add_argument("--purchases", type=int, default=200)
    sub.add_parser("migrate", parents=[common], help="bring an existing bench database to the newest schema")
    summ = sub.add_parser("summary", help="the Markdown table of saved runs (bench/results/*.json)")
    summ.add_argument("files", nargs="+")
    every = sub.add_parser("all", parents=[common, gen, runs], help="generate, check, run")
    every.add_argument("--sample", type=int, default=300)
    args = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    {"generate": cmd_generate, "check": cmd_check, "run": cmd_run, "profile": cmd_profile, "summary": cmd_summary,
     "all": cmd_all, "migrate": cmd_migrate}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
