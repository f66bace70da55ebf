"""The benchmark harness works end to end at the `small` size (bench/: generator, checks, scenarios 2, 3 and 5).

A smoke test of the harness only: the figures must be well formed, never fast — nothing here asserts a time.
"""

import datetime as dt
import math
import os
from zoneinfo import ZoneInfo

import pytest

from bench.checks import check
from bench.generate import LARGE_SLUG, generate
from bench.importing import legacy_import
from bench.member_list import member_list
from bench.scenarios import TARGETS, lookup, messaging, prepare, segments, summary
from bench.server import gunicorn
from bench.settings import size_named, urls_from_env
from bench.what_if import what_if

pytestmark = pytest.mark.postgres

SMALL = size_named("small")  # what the issue asks CI to run: 10,000 members and ~100,000 purchases, 5 small tenants


def well_formed(figures: dict) -> None:
    for key in ("rps", "p50_ms", "p99_ms", "mean_ms"):
        assert isinstance(figures[key], float) and math.isfinite(figures[key]) and figures[key] >= 0, (key, figures)
    assert figures["requests"] > 0 and not figures["errors"], figures


def test_the_generator_loads_consistent_ledgers_and_the_scenarios_report_figures(app):
    urls = urls_from_env()
    as_of = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()

    loaded = generate(app, urls.owner, SMALL, seed=3, as_of=as_of, log=lambda _m: None)
    members = SMALL.members + SMALL.small_tenants * SMALL.small_members
    assert loaded["tenants"] == 1 + SMALL.small_tenants and loaded["members"] == members
    assert loaded["rows"]["purchases"] == loaded["purchases"] > 0
    assert loaded["rows"]["points_entries"] >= loaded["rows"]["points_lots"] > 0

    checked = check(urls, sample=40, log=lambda _m: None)
    assert checked["problem_count"] == 0, checked["problems"]
    assert checked["members"] == members and checked["sampled"] >= 40

    prep = prepare(urls, sample=50)
    assert prep.slug == LARGE_SLUG and prep.members and prep.cards
    with gunicorn(urls, prep.secret, log_path=prep.workdir / "gunicorn.log") as base:
        looked = lookup(base, prep, duration=0.5, clients=1, rounds=1, log=lambda _m: None)
    well_formed(looked["baseline"])
    assert set(looked["variants"]) == {"counter_phone", "counter_last4", "counter_card", "api_phone", "api_card"}
    for figures in looked["variants"].values():
        well_formed(figures)
        if os.environ.get("CI") == "true":  # .ci/system-deps.sh installs wrk: its Lua scripts are tested too
            assert figures["generator"] == "wrk", figures
        assert figures["slower_than_select1"] > 0 and isinstance(figures["met"], bool)

    segmented = segments(urls, rounds=1, log=lambda _m: None)
    assert segmented["members"] == SMALL.members
    assert sum(c["members"] for c in segmented["summary"]["abc"]) == SMALL.members
    assert (sum(segmented["summary"]["rfm_layers"].values()) == sum(segmented["summary"]["lifecycle"].values())
            == SMALL.members)
    assert segmented["report_s"] > 0 and segmented["baseline"]["seconds"] > 0
    assert any("Seq Scan" in line for line in segmented["baseline"]["plan"])
    assert segmented["ratio_to_members_scan"] > 0 and isinstance(segmented["met"], bool)

    imported = legacy_import(urls, 400, as_of=as_of, log=lambda _m: None)
    assert imported["baseline"]["rows"] == imported["product"]["rows"] == 400
    planted = sum(imported["problems_planted"].values())
    assert planted == 4 and imported["product"]["error_rows"] == planted
    assert imported["product"]["created_members"] == imported["product"]["valid_rows"] == 400 - planted
    assert imported["product"]["status"] == "committed" and imported["ratio_to_copy"] > 0

    replayed = what_if(urls, LARGE_SLUG, log=lambda _m: None)
    assert replayed["status"] == "done" and replayed["accounts"] == replayed["total"] > 0
    assert replayed["members"] == SMALL.members and replayed["purchases"] > 0
    assert replayed["points_actual"] > 0 and replayed["up"] >= 0 and replayed["down"] >= 0
    assert replayed["seconds"] > 0 and replayed["baseline"]["seconds"] > 0 and replayed["ratio_to_reading"] > 0

    listed = member_list(urls, LARGE_SLUG, repeat=1, log=lambda _m: None)
    variants = listed["variants"]
    assert variants["all"]["total"] == SMALL.members and variants["all"]["rows"] == 20
    for name in ("phone", "card"):
        assert variants[name]["total"] == 1, (name, variants[name])
    assert variants["last4"]["total"] >= 1 and variants["page_500"]["rows"] == 20
    assert all(v["ms"] > 0 for v in variants.values()) and listed["baseline"]["pk_lookup_ms"] > 0

    assert messaging()["status"]
    table = summary({"lookup": looked, "segments": segmented, "messaging": messaging(), "import": imported,
                     "what_if": replayed, "member_list": listed})
    assert table.count("\n") == 1 + 5 + 1 + 2 + 1 + len(variants) and f"<= {TARGETS['lookup_ratio']}x" in table
