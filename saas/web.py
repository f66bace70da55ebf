"""Public pages: the product's home page, sign-up, the language switch, and a health check."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for
from sqlalchemy import text

from saas.auth import start_session
from saas.extensions import db, limiter
from saas.htmx import render
from saas.signup import VERTICAL_CHOICES, SignupForm, create_tenant, signup_problems, slug_from_name
from tenants.scoping import tenant_context

bp = Blueprint("web", __name__)


@bp.get("/")
def home():
    return render("saas/home.html", "saas/home.html")


def _created(response) -> bool:
    return response.status_code == 302  # a business was signed up (a refused form answers 4xx)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"], deduct_when=_created)
def signup():
    form = SignupForm()
    if request.method == "GET":
        form.language.data = session.get("lang", current_app.config["BABEL_DEFAULT_LOCALE"])
        if request.args.get("vertical") in dict(VERTICAL_CHOICES):
            form.vertical.data = request.args["vertical"]
    if form.validate_on_submit():
        slug = (form.slug.data or "").strip().lower() or slug_from_name(form.business_name.data)
        problems = signup_problems(slug, form.email.data)
        for field, message in problems.items():
            getattr(form, field).errors = [*getattr(form, field).errors, message]
        if not problems:
            result = create_tenant(
                business_name=form.business_name.data.strip(),
                slug=slug,
                vertical=form.vertical.data,
                owner_name=form.owner_name.data.strip(),
                email=form.email.data.strip(),
                password=form.password.data,
                language=form.language.data,
            )
            with tenant_context(result.tenant):
                start_session(result.owner)
                db.session.commit()
            return redirect(url_for("tenant.dashboard.home", slug=result.tenant.slug))
    status = 422 if form.errors else 200
    return render("saas/signup.html", "saas/_signup_form.html", form=form), status


@bp.post("/lang")
def switch_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    target = request.form.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return redirect(target)


@bp.get("/healthz")
def healthz():
    db.session.execute(text("select 1"))
    return {"status": "ok"}
