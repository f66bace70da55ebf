"""The what-if of a draft (issue 12): a seeded year of purchases replayed under a draft with a lower silver bar and
a higher gold bar, against figures worked out by hand; the job delivered again or killed half way counts every
account once; the pages (start, progress, result) and another tenant's run."""

import copy
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from saas.extensions import db
from saas.jobs import get_queue, redis_connection
from tenants.domain import what_if as dwhat_if
from tenants.models import TierAccount
from tenants.scoping import tenant_context
from tenants.services import what_if as what_if_service
from tenants.services.evaluation import evaluate_members
from tenants.services.members import enroll_member
from tenants.services.program_drafts import save_draft_part, start_draft
from tenants.services.purchases import LineIn, record_purchase
from tenants.services.what_if import run_what_if, start_run
from tenants.what_if_models import DONE, FAILED, QUEUED, RUNNING, WhatIfRun
from tests.conftest import csrf_from
from tests.factories import make_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.tenant_clock]

SH = ZoneInfo("Asia/Shanghai")
TODAY = dt.datetime.now(SH).date()
JOINED = TODAY - dt.timedelta(days=430)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SH)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def shop(app_ctx):
    """Clothing (¥1 = 1 point, lifetime spend: silver ¥1,000 ×1.5, gold ¥3,000 ×2; 7 days pending)."""
    tenant = make_tenant("what-if-shop", vertical="clothing", program_from=JOINED - dt.timedelta(days=1))
    with tenant_context(tenant):
        yield tenant


def _member(n: int):
    m = enroll_member(business_at=at(JOINED), name=f"会员{n}", phone=f"1390000{n:04d}")
    db.session.commit()
    return m


def _buy(m, yuan: int, on: dt.date, line: str = "1") -> None:
    record_purchase(member_id=m.id, lines=[LineIn(line, yuan * 100)], tenders=[], business_at=at(on))
    db.session.commit()


def seed() -> dict[str, int]:
    """Five members of a clothing shop, all bought in the last twelve months (released by today)."""
    a, b, c, d, e = (_member(n) for n in range(1, 6))
    _buy(a, 800, days_ago(100))  # regular; silver under the draft (¥700)
    _buy(b, 1200, days_ago(200))  # silver either way
    _buy(c, 500, days_ago(50))  # regular either way
    _buy(d, 800, days_ago(100))  # regular; silver under the draft from its release day (93 days ago) …
    _buy(d, 100, days_ago(30), line="2")  # … so this one earns ×1.5 there: 150 points instead of 100
    _buy(e, 3200, days_ago(150))  # gold now; silver under the draft (gold needs ¥3,500)
    evaluate_members(TODAY)  # the daily evaluation has run: the tiers now are today's
    db.session.commit()
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id, "e": e.id}


def draft_with_other_bars():
    draft = start_draft(actor_id=None)
    tiers = copy.deepcopy(draft.rules["tiers"])
    tiers[1]["reach"][0]["min"] = 70_000
    tiers[2]["reach"][0]["min"] = 350_000
    save_draft_part("tiers", tiers, actor_id=None)
    db.session.commit()
    return draft


EXPECTED = {
    "members": 5, "accounts": 5, "purchases": 6, "kept_as_recorded": 0,
    "tiers_now": {"regular": 3, "silver": 1, "gold": 1},
    "tiers_draft": {"regular": 1, "silver": 4},
    "up": 2, "down": 1,
    "points_actual": 800 + 1200 + 500 + 900 + 3200,
    "points_draft": 800 + 1200 + 500 + 950 + 3200,
    "liability_now": 6600, "liability_draft": 6650,
}


def run_jobs(app) -> None:
    """What the worker does: the jobs queued on `reports` in Redis (the tests run with REDIS_URL, as production)."""
    SimpleWorker([get_queue("reports", app)], connection=redis_connection(app)).work(burst=True)
    db.session.rollback()


def _figures(result: dict) -> dict:
    return {key: result[key] for key in EXPECTED}


def test_the_draft_replayed_over_a_seeded_year_gives_the_hand_computed_tiers_movers_points_and_liability(shop, app):
    ids = seed()
    draft = draft_with_other_bars()
    run = start_run(actor_id=None, draft=draft)
    run_jobs(app)
    db.session.expire_all()
    run = db.session.get(WhatIfRun, (shop.id, run.id))
    assert run.status == DONE and run.done == run.total == 5
    assert _figures(run.result) == EXPECTED
    assert sorted(row[0] for row in run.result["sample_up"]) == sorted([ids["a"], ids["d"]])
    assert run.result["sample_down"] == [[ids["e"], "gold", "silver"]]
    info = what_if_service.summary(run)
    assert info["liability_now_fen"] == 6600 and info["liability_draft_fen"] == 6650  # 100 points = ¥1
    assert info["liability_change_fen"] == 50 and info["points_change"] == 50
    assert [t["code"] for t in info["tiers"]][:3] == ["regular", "silver", "gold"]


def test_the_same_rules_as_in_force_move_nobody_and_issue_the_same_points(shop, app):
    seed()
    run = start_run(actor_id=None, version=1)
    run_jobs(app)
    db.session.expire_all()
    result = db.session.get(WhatIfRun, (shop.id, run.id)).result
    assert result["tiers_draft"] == result["tiers_now"] == {"regular": 3, "silver": 1, "gold": 1}
    assert (result["up"], result["down"]) == (0, 0)
    assert result["points_draft"] == result["points_actual"] == 6600
    assert result["liability_draft"] == result["liability_now"] == 6600


def test_a_job_delivered_again_or_killed_half_way_counts_every_account_once(shop, app, monkeypatch):
    seed()
    draft = draft_with_other_bars()
    monkeypatch.setattr(what_if_service, "BATCH", 2)
    real = dwhat_if.replay_account
    calls = {"n": 0}

    def dies_on_the_fifth(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("the worker was killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(dwhat_if, "replay_account", dies_on_the_fifth)
    run = start_run(actor_id=None, draft=draft)
    run_jobs(app)
    run = db.session.get(WhatIfRun, (shop.id, run.id))
    assert run.status == FAILED and run.done == 4  # two batches of two committed, the third lost
    half = dict(run.result)
    assert half["accounts"] == 4

    what_if_service.resume_run(run)  # "go on with the run": after the last committed batch
    run_jobs(app)
    db.session.expire_all()
    run = db.session.get(WhatIfRun, (shop.id, run.id))
    assert run.status == DONE and run.done == 5 and _figures(run.result) == EXPECTED

    run_what_if(shop.id, run.id)  # RQ delivers the finished job once more: nothing changes
    db.session.expire_all()
    run = db.session.get(WhatIfRun, (shop.id, run.id))
    assert run.done == 5 and _figures(run.result) == EXPECTED

    # A delivery that finds the run running with a batch committed (its first worker died) goes on from there.
    fourth = sorted(db.session.scalars(select(TierAccount.id)))[3]
    run.status, run.cursor, run.done, run.result = RUNNING, fourth, 4, half
    db.session.commit()
    run_what_if(shop.id, run.id)
    db.session.expire_all()
    run = db.session.get(WhatIfRun, (shop.id, run.id))
    assert run.status == DONE and run.done == 5 and _figures(run.result) == EXPECTED


def _login_owner(client, tenant):
    from tests.conftest import login

    email = f"owner@{tenant.slug}.example.com"
    assert login(client, tenant, email).status_code == 302


def test_the_pages_start_a_run_show_its_result_and_refuse_without_a_draft(shop, client, app):
    seed()
    _login_owner(client, shop)
    base = f"/t/{shop.slug}/program/what-if"
    page = client.get(base)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="no-draft"' in html
    refused = client.post(base, data={"csrf_token": csrf_from(html), "idem": "k-1"})
    assert refused.status_code == 422
    assert "草稿" in refused.get_data(as_text=True)
    assert db.session.scalar(select(WhatIfRun.id)) is None  # nothing written

    bad = client.post(base, data={"csrf_token": csrf_from(html), "idem": "k-2", "version": "x1"})
    assert bad.status_code == 422 and 'value="x1"' in bad.get_data(as_text=True)
    for number in ("23800138000", "0", "99"):  # beyond the column, none, and one that does not exist
        refused = client.post(base, data={"csrf_token": csrf_from(html), "idem": f"k-{number}", "version": number})
        assert refused.status_code == 422 and f'value="{number}"' in refused.get_data(as_text=True)

    draft_with_other_bars()
    html = client.get(base).get_data(as_text=True)
    key = re.search(r'name="idem" value="([^"]+)"', html).group(1)
    started = client.post(base, data={"csrf_token": csrf_from(html), "idem": key})
    assert started.status_code == 302
    run_jobs(app)
    again = client.post(base, data={"csrf_token": csrf_from(html), "idem": key})  # a double tap: one run
    assert again.headers["Location"] == started.headers["Location"]
    assert len(db.session.scalars(select(WhatIfRun)).all()) == 1
    result = client.get(started.headers["Location"])
    text = result.get_data(as_text=True)
    assert result.status_code == 200
    assert 'id="what-if-chart-data"' in text and "echarts.simple.min.js" in text
    assert "hx-trigger" not in text  # done: the fragment no longer polls
    assert "12" in text and 'class="hint what-if-bound"' in text
    fragment = client.get(started.headers["Location"], headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith("{#") is False
    assert "<html" not in fragment.get_data(as_text=True)


def test_a_running_run_polls_itself_and_another_tenants_run_is_not_found(shop, client, app):
    seed()
    draft = draft_with_other_bars()
    run = what_if_service.create_run(actor_id=None, draft=draft)
    db.session.commit()  # queued, never picked up
    _login_owner(client, shop)
    html = client.get(f"/t/{shop.slug}/program/what-if/{run.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "<progress" in html
    assert run.status == QUEUED

    other = make_tenant("what-if-other")
    client = app.test_client()
    _login_owner(client, other)
    assert client.get(f"/t/{other.slug}/program/what-if/{run.id}").status_code == 404
    assert client.post(f"/t/{other.slug}/program/what-if/{run.id}/resume",
                       data={"csrf_token": csrf_from(client.get(f"/t/{other.slug}/program/what-if")
                                                     .get_data(as_text=True))}).status_code == 404
