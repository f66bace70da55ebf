"""The program editor (owner, chain admin): every part of the program as a form, saved into the one draft.

/program shows the draft (or how to start one), each part opens at /program/<part>, changing an input checks
the part without saving (the same URL with ``?check=1``, htmx), saving goes through `save_draft_part` with an
idempotency key; the draft is exported as JSON, replaced by an imported file, discarded or published.
Parts are fixed routes, one per top-level field of `Program` (no argument in the URL to guess).
"""

from __future__ import annotations

import copy
import json

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from saas.auth import require
from saas.extensions import db
from saas.forms import optional_day
from saas.htmx import render
from saas.models import StaffUser
from tenants.models import ProgramPublishRequest, Store
from tenants.presets import VERTICALS, load_preset
from tenants.programs import business_today
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent
from tenants.services.program_drafts import (
    check_rules,
    current_draft,
    discard_draft,
    publish_draft,
    save_draft_part,
    start_draft,
)
from tenants.services.programs import (
    NOTE_MAX_LENGTH,
    ROOT_FIELD,
    current_program_version,
    program_history,
    program_version,
)
from tenants.views.counter_session import new_key
from tenants.views.program_form import PARTS, add_row, flat, part_form, read_part, remove_row
from tenants.views.program_labels import PART_HELP, PART_LABELS
from tenants.views.program_widgets import build_part

bp = Blueprint("program", __name__)

IMPORT_MAX_BYTES = 1_000_000


def vertical_labels() -> dict[str, str]:
    return {"pharmacy": _("Pharmacy"), "clothing": _("Clothing store"), "hotel": _("Hotel"),
            "mall": _("Shopping mall"), "blank": _("Blank program")}


def base_rules() -> tuple[dict, bool]:
    """(the rules being edited, whether a draft holds them): the draft's, else the version in force's."""
    draft = current_draft()
    if draft is not None:
        return draft.rules, True
    version = current_program_version()
    return (copy.deepcopy(version.rules) if version else load_preset("blank")), False


def problems_by_part(rules: dict) -> dict[str, int]:
    counts = dict.fromkeys(PARTS, 0)
    for path in check_rules(rules):
        top = path.split(".", 1)[0]
        counts[top if top in counts else "name"] = counts.get(top if top in counts else "name", 0) + 1
    return counts


@bp.get("/program")
@require("program.edit")
def index():
    draft = current_draft()
    in_force = current_program_version()
    editor = db.session.get(StaffUser, (current_user.tenant_id, draft.updated_by)) \
        if draft is not None and draft.updated_by else None
    problems = problems_by_part(draft.rules) if draft is not None else {}
    return render("tenants/program/index.html", "tenants/program/index.html", draft=draft, in_force=in_force,
                  editor=editor, problems=problems, total_problems=sum(problems.values()), parts=PARTS,
                  labels=PART_LABELS, helps=PART_HELP, versions=program_history(limit=30), verticals=VERTICALS,
                  vertical_labels=vertical_labels(), new_key=new_key, errors={}, today=business_today())


def _overview_refused(errors: dict, status: int = 422):
    draft = current_draft()
    problems = problems_by_part(draft.rules) if draft is not None else {}
    editor = db.session.get(StaffUser, (current_user.tenant_id, draft.updated_by)) \
        if draft is not None and draft.updated_by else None
    return render("tenants/program/index.html", "tenants/program/index.html", draft=draft,
                  in_force=current_program_version(), editor=editor, problems=problems,
                  total_problems=sum(problems.values()), parts=PARTS, labels=PART_LABELS, helps=PART_HELP,
                  versions=program_history(limit=30), verticals=VERTICALS, vertical_labels=vertical_labels(),
                  new_key=new_key, errors=errors, today=business_today()), status


def _idempotent(operation: str, payload: dict, work):
    key = request.form.get("idem", "").strip()
    if not key or len(key) > 80:
        raise ServiceError("idempotency_key_required")
    return run_idempotent(f"program:{key}", operation, payload, work)


@bp.post("/program/start")
@require("program.edit")
def start():
    """Start the draft (again) from the version in force, another version or a template."""
    source = request.form.get("source", "")
    kwargs: dict = {}
    if source == "preset":
        kwargs["preset"] = request.form.get("preset", "")
    elif source == "version":
        raw = request.form.get("from_version", "").strip()
        if not raw.isdigit() or int(raw) > 2**31:
            return _overview_refused({"from_version": _("Choose a version.")})
        kwargs["from_version"] = int(raw)
    elif source != "current":
        return _overview_refused({"source": _("Choose where to start from.")})
    try:
        _idempotent("program.start", {"source": source, **kwargs},
                    lambda: {"id": start_draft(actor_id=current_user.id, commit=False, **kwargs).id})
    except ServiceError as err:
        db.session.rollback()
        if err.code == "not_found":
            return _overview_refused({"from_version": _("There is no such version.")})
        return _overview_refused(err.fields or {"source": err.message})
    flash(_("The draft is ready: change any part, then publish."), "success")
    return redirect(url_for("tenant.program.index"))


@bp.post("/program/import")
@require("program.edit")
def import_document():
    """Replace the draft with an uploaded JSON program (a file that is not one leaves the draft as it was)."""
    upload = request.files.get("document")
    data = upload.read(IMPORT_MAX_BYTES + 1) if upload else b""
    if not data:
        return _overview_refused({"document": _("Choose a JSON file.")})
    if len(data) > IMPORT_MAX_BYTES:
        return _overview_refused({"document": _("The file is larger than 1 MB.")})
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return _overview_refused({"document": _("This file is not JSON.")})
    if not isinstance(document, dict):
        return _overview_refused({"document": _("This file is not a program: it holds no program object.")})
    structural = [message for path, message in check_rules(document).items() if "." not in path]
    if structural:  # the top level is wrong (unknown or missing parts): not a program
        return _overview_refused({"document": _("This file is not a program: %(why)s", why=" ".join(structural))})
    try:
        _idempotent("program.import", {"document": document},
                    lambda: {"id": start_draft(actor_id=current_user.id, document=document, commit=False).id})
    except ServiceError as err:
        db.session.rollback()
        return _overview_refused({"document": next(iter((err.fields or {}).values()), err.message)})
    flash(_("The file is in the draft: check each part, then publish."), "success")
    return redirect(url_for("tenant.program.index"))


@bp.post("/program/discard")
@require("program.edit")
def discard():
    try:
        _idempotent("program.discard", {}, lambda: discard_draft(actor_id=current_user.id, commit=False) or {})
    except ServiceError as err:
        db.session.rollback()
        return _overview_refused({"discard": err.message})
    flash(_("The draft was discarded. The version in force is unchanged."), "info")
    return redirect(url_for("tenant.program.index"))


@bp.get("/program/export")
@require("program.edit")
def export():
    """The draft (or ``?version=N``) as a JSON file, in the format the import and the API take."""
    raw = request.args.get("version", "").strip()
    if raw:
        version = program_version(int(raw)) if raw.isdigit() and int(raw) < 2**31 else None
        if version is None:
            abort(404)
        rules, filename = version.rules, f"program-v{version.version}.json"
    else:
        rules, has_draft = base_rules()
        filename = "program-draft.json" if has_draft else "program.json"
    body = json.dumps(rules, ensure_ascii=False, indent=2, sort_keys=False)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- the parts -----------------------------------------------------------------------------------------------


def _context() -> dict:
    rules, _has = base_rules()
    locale = "en" if str(get_locale() or "zh_CN").startswith("en") else "zh_CN"

    def named(items) -> list[tuple[str, str]]:
        out = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                name = item.get("name") if isinstance(item.get("name"), dict) else {}
                text = name.get(locale) or name.get("zh_CN") or name.get("en") or ""
                out.append((item["code"], f"{text} ({item['code']})" if text else item["code"]))
        return out

    stores = [(s.code, f"{s.name} ({s.code})") for s in db.session.query(Store).order_by(Store.code)]
    return {"tiers": named(rules.get("tiers")), "categories": named(rules.get("categories")), "stores": stores}


def _part_page(part: str, form: dict, errors: dict, *, status: int = 200, saved_draft: bool | None = None):
    ctx = _context()
    if part == "tiers":  # the tiers being typed are the ones their rules may name
        ctx["tiers"] = [(c, c) for c in dict.fromkeys(
            v[0] for k, v in sorted(form.items()) if k.count(".") == 2 and k.endswith(".code") and v and v[0])]
    root, rest = build_part(part, form, errors, ctx)
    if saved_draft is None:
        saved_draft = current_draft() is not None
    return render("tenants/program/part.html", "tenants/program/_part_form.html", part=part, root=root,
                  rest=rest, label=PART_LABELS[part], help=PART_HELP[part], has_draft=saved_draft,
                  errors=errors, idem=new_key(), parts=PARTS, labels=PART_LABELS), status


def _checked(part: str, form: dict) -> dict:
    """{error path: message} of the posted part: what cannot be read, then what the program model refuses."""
    value, errors = read_part(part, form)
    rules = copy.deepcopy(base_rules()[0])
    rules[part] = value
    for path, message in check_rules(rules).items():
        if path == part or path.startswith(part + ".") or path == ROOT_FIELD:
            errors.setdefault(path, message)
    return errors


def _edit_rows(part: str, form: dict) -> dict | None:
    """The form with a row added or removed when one of those buttons was pressed, else None."""
    if request.form.get("_add"):
        path = request.form["_add"][:200]
        return add_row(part, form, path, request.form.get(f"_kind:{path}"))
    if request.form.get("_remove"):
        return remove_row(form, request.form["_remove"][:200])
    return None


def part_view(part: str):
    @require("program.edit")
    def view():
        if request.method == "GET":
            return _part_page(part, part_form(part, base_rules()[0]), {})
        form = flat(request.form)
        edited = _edit_rows(part, form)
        if edited is not None:
            return _part_page(part, edited, {})
        if request.args.get("check"):  # a changed input (htmx): the part checked, nothing saved
            return _part_page(part, form, _checked(part, form))
        value, errors = read_part(part, form)
        if errors:
            return _part_page(part, form, _checked(part, form), status=422)
        try:
            _idempotent("program.save_part", {"part": part, "value": value},
                        lambda: {"id": save_draft_part(part, value, actor_id=current_user.id, commit=False).id})
        except ServiceError as err:
            db.session.rollback()
            return _part_page(part, form, err.fields or {ROOT_FIELD: err.message}, status=422)
        flash(_("%(part)s saved in the draft.", part=PART_LABELS[part]), "success")
        return redirect(url_for(f"tenant.program.{part}"))

    view.__name__ = part
    return view


for _part in PARTS:
    bp.add_url_rule(f"/program/{_part}", endpoint=_part, view_func=part_view(_part), methods=["GET", "POST"])


# --- publishing ----------------------------------------------------------------------------------------------


def _publish_page(typed: dict, errors: dict, status: int = 200, waiting=None):
    draft = current_draft()
    problems = problems_by_part(draft.rules) if draft is not None else {}
    return render("tenants/program/publish.html", "tenants/program/_publish_form.html", draft=draft,
                  typed=typed, errors=errors, problems=problems, total_problems=sum(problems.values()),
                  labels=PART_LABELS, waiting=waiting, today=business_today(), note_max=NOTE_MAX_LENGTH), status


@bp.route("/program/publish", methods=["GET", "POST"])
@require("program.edit")
def publish():
    """Publish the draft as the next version from a day (today or later); the owner may have to approve."""
    today = business_today()
    if request.method == "GET":
        return _publish_page({"effective_from": today.isoformat(), "note": ""}, {})
    typed = {"effective_from": request.form.get("effective_from", "").strip()[:20],
             "note": request.form.get("note", "")[:NOTE_MAX_LENGTH + 50]}
    errors: dict = {}
    day = optional_day(typed["effective_from"], "effective_from", errors)
    if day is None and not errors:
        errors["effective_from"] = _("Choose the first day of the new rules.")
    if len(typed["note"]) > NOTE_MAX_LENGTH:
        errors["note"] = _("At most %(max)d characters.", max=NOTE_MAX_LENGTH)
    if errors:
        return _publish_page(typed, errors, 422)
    try:
        result = publish_draft(effective_from=day, today=today, note=typed["note"], actor_id=current_user.id)
    except ServiceError as err:
        db.session.rollback()
        if err.code == "not_found":
            return _publish_page(typed, {"effective_from": _("There is no draft to publish.")}, 404)
        fields = err.fields or {"effective_from": err.message}
        if err.code == "invalid_program":
            fields = {"effective_from": _("The draft has problems: fix the parts marked on the overview first.")}
        return _publish_page(typed, fields, 422)
    if isinstance(result, ProgramPublishRequest):
        return _publish_page(typed, {}, waiting=result)
    flash(_("Version %(n)d is published: in force from %(day)s.", n=result.version,
            day=result.effective_from.isoformat()), "success")
    return redirect(url_for("tenant.program.index"))

