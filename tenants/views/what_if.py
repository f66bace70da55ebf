"""What if the draft had been in force (owner, chain admin): start a replay of the last twelve months, watch its
progress (the fragment polls itself every second while it runs), read the result with its chart; recent runs."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from saas.auth import require
from saas.extensions import db
from saas.htmx import render
from tenants.access import visible_store_ids
from tenants.domain.what_if import WINDOW_MONTHS
from tenants.models import Member
from tenants.scoping import current_tenant
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.program_drafts import current_draft
from tenants.services.programs import current_program_version
from tenants.services.what_if import (
    BENCH_MEMBERS,
    BENCH_SECONDS,
    STATUS_LABELS,
    chart_data,
    create_run,
    is_stale,
    queue_run,
    recent_runs,
    resume_run,
    summary,
)
from tenants.views.counter_session import new_key
from tenants.what_if_models import DONE, WhatIfRun

bp = Blueprint("what_if", __name__)

MAX_VERSION = 2**31 - 1  # program_versions.version is an integer column


def _run_or_404(run_id: int) -> WhatIfRun:
    run = db.session.get(WhatIfRun, (current_tenant().id, run_id))
    if run is None:
        abort(404)
    return run


def _program_page() -> str | None:
    """The program editor's page, once it exists (it is built apart from this one)."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == "/t/<slug>/program" and "GET" in (rule.methods or ()):
            return url_for(rule.endpoint)
    return None


def _messages() -> dict[str, str]:
    return {
        "no_draft": _("There is no draft of the program to try. Start one in the program editor first."),
        "draft_invalid": _("The draft is not complete yet: correct it in the program editor, then try it here."),
        "no_program": _("The business has no program in force yet."),
        "not_now": _("This run cannot be started again now."),
    }


def _index(errors: dict, typed: dict, status: int = 200):
    draft = current_draft()
    base = current_program_version()
    return render("tenants/what_if/index.html", "tenants/what_if/_runs.html", draft=draft, base=base,
                  runs=recent_runs(), labels=STATUS_LABELS, errors=errors, typed=typed, new_key=new_key,
                  program_page=_program_page(), months=WINDOW_MONTHS), status


@bp.get("/program/what-if")
@require("program.edit")
def index():
    return _index({}, {})


@bp.post("/program/what-if")
@require("program.edit")
def start():
    """Start a what-if of the draft, or of an existing version when one is typed."""
    typed = {"version": request.form.get("version", "").strip()[:20]}
    key = request.form.get("idem", "")
    try:
        version = None
        if typed["version"]:
            if not typed["version"].isdigit() or not 1 <= int(typed["version"]) <= MAX_VERSION:
                raise ServiceError("validation_failed", fields={"version": _("A version number: 1, 2, 3…")})
            version = int(typed["version"])
        if not key or len(key) > 60:
            raise ServiceError("idempotency_key_required")

        def work() -> dict:
            run = create_run(actor_id=current_user.id, draft=current_draft() if version is None else None,
                             version=version)
            return {"run_id": run.id}

        result, replayed = run_idempotent(f"backoffice:{key}", "program.what_if", typed, work)
    except ServiceError as err:
        db.session.rollback()
        errors = err.fields or {"version" if typed["version"] else "draft": _messages().get(err.code, err.message)}
        return _index(errors, typed, 422)
    if not replayed:
        queue_run(result["run_id"])
    return redirect(url_for("tenant.what_if.show", run_id=result["run_id"]))


def _context(run: WhatIfRun) -> dict:
    context = {"run": run, "labels": STATUS_LABELS, "stale": is_stale(run), "months": WINDOW_MONTHS,
               "bench_members": BENCH_MEMBERS, "bench_seconds": BENCH_SECONDS, "program_page": _program_page()}
    if run.status == DONE:
        info = summary(run)
        context.update(info=info, chart=chart_data(run, info), movers=_movers(info["result"]))
    return context


def _movers(result: dict) -> dict[str, list[dict]]:
    """The sampled members moving up and down, with their names (those the person may see are linked)."""
    ids = {row[0] for key in ("sample_up", "sample_down") for row in result.get(key, [])}
    scope = visible_store_ids(current_user)
    members = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids or {0})))}
    out: dict[str, list[dict]] = {}
    for key in ("sample_up", "sample_down"):
        out[key] = []
        for member_id, before, after in result.get(key, []):
            member = members.get(member_id)
            if member is None:
                continue
            visible = scope is None or member.enrolled_store_id in scope
            out[key].append({"member": member, "from": before, "to": after, "link": visible})
    return out


@bp.get("/program/what-if/<int:run_id>")
@require("program.edit")
def show(run_id: int):
    run = _run_or_404(run_id)
    return render("tenants/what_if/show.html", "tenants/what_if/_run.html", **_context(run))


@bp.post("/program/what-if/<int:run_id>/resume")
@require("program.edit")
def resume(run_id: int):
    run = _run_or_404(run_id)
    try:
        resume_run(run)
    except ServiceError as err:
        db.session.rollback()
        flash(_messages().get(err.code, err.message), "error")
    return redirect(url_for("tenant.what_if.show", run_id=run.id))
