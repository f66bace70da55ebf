"""Legacy member import (owner, chain admin): upload a file, map its columns, read the dry run's report,
commit; past imports with their status. The running steps show a fragment that polls itself (STYLE 11)."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField

from saas.auth import require
from saas.extensions import db
from saas.forms import choices, optional_int
from saas.htmx import render
from tenants.access import visible_stores
from tenants.imports_models import COMMITTED, MemberImport
from tenants.pagination import paginate
from tenants.scoping import current_tenant, tenant_context
from tenants.services.import_files import FIELDS
from tenants.services.imports import (
    FIELD_LABELS,
    STATUS_LABELS,
    ImportRefused,
    all_issues,
    can_commit,
    can_map,
    column_mapping,
    create_import,
    failure_text,
    first_issues,
    is_stale,
    remaining_rows,
    start_check,
    start_commit,
)

bp = Blueprint("imports", __name__)

SHOWN_ISSUES = 50


class UploadForm(FlaskForm):
    file = FileField(_l("File (CSV or Excel .xlsx)"), render_kw={"accept": ".csv,.txt,.xlsx,.xlsm"})
    store_id = SelectField(_l("Enrolling store"), coerce=optional_int)


class MappingForm(FlaskForm):
    store_id = SelectField(_l("Enrolling store"), coerce=optional_int)


def _store_choices(form) -> None:
    form.store_id.choices = choices([("", _("—"))] + [(s.id, f"{s.code} · {s.name}")
                                                        for s in visible_stores(current_user)])


def _import_or_404(import_id: int) -> MemberImport:
    imp = db.session.get(MemberImport, (current_tenant().id, import_id))
    if imp is None:
        abort(404)
    return imp


def _read_upload(upload, limit: int) -> tuple[str, bytes]:
    if upload is None or not getattr(upload, "filename", ""):
        raise ImportRefused("no_file")
    # Read one byte past the limit: enough to know it is too large without holding more of it.
    return upload.filename, upload.stream.read(limit + 1)


@bp.route("/members/import", methods=["GET", "POST"])
@require("members.import")
def index():
    form = UploadForm()
    _store_choices(form)
    if form.validate_on_submit():
        limit = current_app.config["IMPORT_MAX_BYTES"]
        try:
            filename, data = _read_upload(form.file.data, limit)
            imp = create_import(filename, data, max_bytes=limit, store_id=form.store_id.data,
                                created_by=current_user.id)
        except ImportRefused as err:
            db.session.rollback()
            form.file.errors = [*form.file.errors, err.message]
        else:
            db.session.commit()
            return redirect(url_for("tenant.imports.mapping", import_id=imp.id))
    page = paginate(select(MemberImport).order_by(MemberImport.created_at.desc(), MemberImport.id.desc()),
                    request.args.get("page"), size=10)
    status = 422 if form.errors else 200
    return render("tenants/imports/index.html", "tenants/imports/_list.html", form=form, page=page,
                  labels=STATUS_LABELS, max_mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024)), status


@bp.route("/members/import/<int:import_id>/mapping", methods=["GET", "POST"])
@require("members.import")
def mapping(import_id: int):
    imp = _import_or_404(import_id)
    if not can_map(imp):
        return redirect(url_for("tenant.imports.show", import_id=imp.id))
    form = MappingForm()
    _store_choices(form)
    if request.method == "GET":
        form.store_id.data = imp.store_id
    columns = column_mapping(imp)
    if request.method == "POST":  # shown again as chosen when refused
        columns = [request.form.get(f"column-{i}") or None for i in range(len(imp.headers))]
    problem = None
    if form.validate_on_submit():
        try:
            start_check(imp, columns, form.store_id.data)
        except ImportRefused as err:
            db.session.rollback()
            problem = err.message
        else:
            return redirect(url_for("tenant.imports.show", import_id=imp.id))
    status = 422 if (problem or form.errors) else 200
    return render("tenants/imports/mapping.html", "tenants/imports/mapping.html", imp=imp, form=form,
                  columns=columns, fields=FIELDS, field_labels=FIELD_LABELS, problem=problem), status


def status_context(imp: MemberImport) -> dict:
    shown = imp.status in ("checked", "committing", "committed", "commit_failed")
    return {
        "imp": imp,
        "labels": STATUS_LABELS,
        "issues": first_issues(imp.id, SHOWN_ISSUES) if shown and imp.issue_count + imp.skipped_at_commit else [],
        "stale": is_stale(imp),
        "can_map": can_map(imp),
        "can_commit": can_commit(imp),
        "remaining": remaining_rows(imp),
        "failure": failure_text(imp) if imp.status.endswith("_failed") else None,
    }


@bp.get("/members/import/<int:import_id>")
@require("members.import")
def show(import_id: int):
    imp = _import_or_404(import_id)
    return render("tenants/imports/show.html", "tenants/imports/_status.html", **status_context(imp))


@bp.post("/members/import/<int:import_id>/commit")
@require("members.import")
def commit(import_id: int):
    imp = _import_or_404(import_id)
    try:
        start_commit(imp, current_user.id)
    except ImportRefused as err:
        db.session.rollback()
        flash(err.message, "error")
    return redirect(url_for("tenant.imports.show", import_id=imp.id))


@bp.get("/members/import/<int:import_id>/errors.csv")
@require("members.import")
def errors_csv(import_id: int):
    """Every problem of the import as CSV (UTF-8 with a BOM, which Excel needs to show Chinese)."""
    imp = _import_or_404(import_id)
    tenant = current_tenant()

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_("Row"), _("Field"), _("Reason")])
        yield "\ufeff" + buffer.getvalue()
        with tenant_context(tenant):
            for number, field, reason in all_issues(imp.id):
                buffer.seek(0)
                buffer.truncate()
                writer.writerow([number, field, reason])
                yield buffer.getvalue()

    stem = imp.filename.rsplit(".", 1)[0] or "import"
    name = f"{stem}-errors.csv" if imp.status != COMMITTED else f"{stem}-skipped.csv"
    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = (f'attachment; filename="member-import-{imp.id}.csv"; '
                                               f"filename*=UTF-8''{quote(name, safe='')}")
    return response
