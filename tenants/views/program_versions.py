"""The program's versions (owner, chain admin): history, each version in words or as JSON, comparisons, and the
owner's approval of versions waiting to be published (tenant setting ``program_publish_needs_owner``)."""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from saas.auth import require
from saas.extensions import db
from saas.htmx import render
from saas.models import StaffUser
from saas.permissions import can
from tenants.models import ProgramVersion
from tenants.pagination import Page
from tenants.programs import business_today
from tenants.services.errors import ServiceError
from tenants.services.program_drafts import check_rules, current_draft
from tenants.services.program_publishing import (
    APPROVE,
    approve_publishing,
    needs_owner_approval,
    pending_requests,
    publish_request,
    reject_publishing,
    withdraw_publishing,
)
from tenants.services.program_words import grouped_sentences, summary
from tenants.services.programs import current_program_version, latest_program_version, program_version

bp = Blueprint("program_versions", __name__)

PAGE_SIZE = 20
DRAFT = "draft"


def _people(ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    return {p.id: p.name for p in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(ids or {0})))}


def _version_or_404(number: int) -> ProgramVersion:
    version = program_version(number)
    if version is None:
        abort(404)
    return version


def _page_number() -> int:
    raw = (request.args.get("page") or "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def _history() -> tuple[Page, dict]:
    number = _page_number()
    total = db.session.scalar(select(func.count()).select_from(ProgramVersion)) or 0
    rows = list(db.session.scalars(select(ProgramVersion).order_by(ProgramVersion.version.desc())
                                   .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)))
    return Page(rows, number, PAGE_SIZE, total), _people(r.created_by for r in rows)


def _requests(in_force: ProgramVersion | None) -> list[dict]:
    rows = pending_requests()
    people = _people(r.requested_by for r in rows)
    return [{"request": r, "requester": people.get(r.requested_by, "—"),
             "groups": grouped_sentences(in_force.rules, r.rules) if in_force else [],
             "default_day": max(r.effective_from, business_today())} for r in rows]


def _history_page(errors: dict | None = None, status: int = 200):
    page, people = _history()
    in_force = current_program_version()
    latest = latest_program_version()
    return render("tenants/program_versions/index.html", "tenants/program_versions/_history.html",
                  page=page, people=people, in_force=in_force, latest=latest, requests=_requests(in_force),
                  needs_owner=needs_owner_approval(), may_approve=can(current_user.role, APPROVE),
                  today=business_today(), errors=errors or {}), status


@bp.get("/program/versions")
@require("program.edit")
def index():
    return _history_page()


@bp.get("/program/versions/<int:version>")
@require("program.edit")
def show(version: int):
    row = _version_or_404(version)
    in_force = current_program_version()
    return render("tenants/program_versions/show.html", "tenants/program_versions/_summary.html",
                  version=row, parts=summary(row.rules), in_force=in_force,
                  author=_people([row.created_by]).get(row.created_by, "—"))


@bp.get("/program/versions/<int:version>/json")
@require("program.edit")
def download(version: int):
    row = _version_or_404(version)
    body = json.dumps(row.rules, ensure_ascii=False, indent=2, sort_keys=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="program-v{row.version}.json"'})


def _side(raw: str, default: ProgramVersion | None, draft) -> tuple[str, dict | None, str]:
    """(choice, rules, title) of one side of a comparison; a number of no version of this tenant → 404."""
    raw = (raw or "").strip()
    if raw == DRAFT and draft is not None:
        return DRAFT, draft.rules, _("Draft")
    if raw.isdigit() and len(raw) < 10:
        version = _version_or_404(int(raw))
    elif raw:
        abort(404)
    else:
        version = default
    if version is None:
        return "", None, ""
    return str(version.version), version.rules, _("Version %(n)d", n=version.version)


@bp.get("/program/versions/compare")
@require("program.edit")
def compare():
    in_force, latest, draft = current_program_version(), latest_program_version(), current_draft()
    choice_a, rules_a, title_a = _side(request.args.get("a", ""), in_force, draft)
    choice_b, rules_b, title_b = _side(request.args.get("b", ""), latest, draft)
    groups, problem = [], ""
    if rules_a is not None and rules_b is not None:
        if check_rules(rules_a) or check_rules(rules_b):
            problem = _("The draft is not a valid program yet: finish it in the editor to compare it.")
        else:
            groups = grouped_sentences(rules_a, rules_b)
    versions = list(db.session.scalars(select(ProgramVersion).order_by(ProgramVersion.version.desc()).limit(200)))
    return render("tenants/program_versions/compare.html", "tenants/program_versions/_comparison.html",
                  versions=versions, draft=draft, in_force=in_force, choice_a=choice_a, choice_b=choice_b,
                  title_a=title_a, title_b=title_b, groups=groups, problem=problem)


def _request_or_404(publish_request_id: int):
    row = publish_request(publish_request_id)
    if row is None:
        abort(404)
    return row


def _decided(action, publish_request_id: int, message: str, **kwargs):
    _request_or_404(publish_request_id)
    try:
        action(publish_request_id, actor_id=current_user.id, **kwargs)
    except ServiceError as err:
        db.session.rollback()
        if err.code == "forbidden":
            abort(403)
        if err.code == "not_found":
            abort(404)
        return _history_page({publish_request_id: next(iter(err.fields.values()), err.message)}, 422)
    flash(message, "success")
    return redirect(url_for("tenant.program_versions.index"))


@bp.post("/program/versions/requests/<int:publish_request_id>/approve")
@require(APPROVE)
def approve(publish_request_id: int):
    raw = (request.form.get("effective_from") or "").strip()
    try:
        day = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        _request_or_404(publish_request_id)
        return _history_page({publish_request_id: _("Must be a date (YYYY-MM-DD).")}, 422)
    return _decided(approve_publishing, publish_request_id, _("Approved: the version is published."),
                    today=business_today(), effective_from=day)


@bp.post("/program/versions/requests/<int:publish_request_id>/reject")
@require(APPROVE)
def reject(publish_request_id: int):
    return _decided(reject_publishing, publish_request_id, _("Rejected: nothing was published."),
                    note=request.form.get("note", ""))


@bp.post("/program/versions/requests/<int:publish_request_id>/withdraw")
@require("program.edit")
def withdraw(publish_request_id: int):
    return _decided(withdraw_publishing, publish_request_id, _("Withdrawn: nothing was published."))
