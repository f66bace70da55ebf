"""Sign-up: one transaction creates the tenant, its owner, a first store and the preset program."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from saas.audit import audit
from saas.billing.subscriptions import start_trial
from saas.extensions import db
from saas.forms import choices, email_address
from saas.ids import new_id
from saas.models import StaffUser, Tenant
from saas.passwords import hash_password, password_problem
from saas.permissions import Role
from saas.text import clean_name
from tenants.models import ProgramVersion, Store
from tenants.scoping import tenant_context

SLUG_RE = r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$"
RESERVED_SLUGS = {"api", "admin", "static", "signup", "login", "logout", "www", "app", "t", "help", "demo"}

VERTICAL_CHOICES = [
    ("pharmacy", _l("Pharmacy")),
    ("clothing", _l("Clothing")),
    ("hotel", _l("Hotel")),
    ("mall", _l("Shopping mall")),
    ("blank", _l("Blank (start from scratch)")),
]
LANGUAGE_CHOICES = [("zh_CN", "中文"), ("en", "English")]


class SignupForm(FlaskForm):
    business_name = StringField(_l("Business name"), filters=[clean_name],
                                validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        _l("Web address"),
        validators=[
            Optional(),
            Length(min=3, max=40),
            Regexp(SLUG_RE, message=_l("Use lowercase letters, digits and hyphens.")),
        ],
    )
    vertical = RadioField(_l("Type of business"), choices=choices(VERTICAL_CHOICES), default="pharmacy",
                          validators=[DataRequired()])
    owner_name = StringField(_l("Your name"), filters=[clean_name], validators=[DataRequired(), Length(max=80)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), email_address(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    language = RadioField(_l("Language"), choices=choices(LANGUAGE_CHOICES), default="zh_CN",
                          validators=[DataRequired()])

    def validate_password(self, field):
        problem = password_problem(field.data or "", self.email.data or "", self.owner_name.data or "")
        if problem:
            raise ValidationError(problem)


@dataclass
class SignupResult:
    tenant: Tenant
    owner: StaffUser


def slug_from_name(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:30].strip("-")
    if len(slug) < 3 or slug in RESERVED_SLUGS:
        slug = f"shop-{secrets.token_hex(3)}"
    return slug


def signup_problems(slug: str, email: str) -> dict[str, str]:
    """Field → translated message for what is already taken."""
    problems = {}
    if slug in RESERVED_SLUGS or db.session.scalar(select(func.count()).where(Tenant.slug == slug)):
        problems["slug"] = _("This web address is taken. Please choose another.")
    if db.session.scalar(select(func.count()).where(func.lower(Tenant.owner_email) == email.lower())):
        problems["email"] = _("An account with this e-mail already exists.")
    return problems


def create_tenant(
    *,
    business_name: str,
    slug: str,
    vertical: str,
    owner_name: str,
    email: str,
    password: str,
    language: str,
    today: dt.date | None = None,
    password_hash: str | None = None,
) -> SignupResult:
    """Create tenant + owner + first store + program v1 from the vertical preset. Caller commits.

    `password_hash`, when given, is the hash of `password` already made (the demo signs four owners up)."""
    business_name, owner_name = clean_name(business_name), clean_name(owner_name)
    tenant = Tenant(
        id=new_id(),
        slug=slug,
        name=business_name,
        vertical=vertical,
        locale=language,
        owner_email=email.lower(),
    )
    db.session.add(tenant)
    db.session.flush()
    start_trial(tenant)
    from tenants.presets import load_preset

    today = today or dt.datetime.now(ZoneInfo(tenant.timezone)).date()
    with tenant_context(tenant):
        with force_locale(language):
            store_name = _("%(name)s (main store)", name=business_name)[:120]
        store = Store(code="S001", name=store_name)
        owner = StaffUser(
            email=email.lower(),
            name=owner_name,
            role=Role.OWNER,
            password_hash=password_hash or hash_password(password),
            locale=language,
        )
        db.session.add_all([store, owner])
        db.session.flush()
        owner.store_id = store.id
        db.session.add(
            ProgramVersion(version=1, effective_from=today, rules=load_preset(vertical),
                           note=f"preset:{vertical}", created_by=owner.id)
        )
        audit("tenant.created", f"tenant:{tenant.id}", actor_id=owner.id, vertical=vertical)
        db.session.flush()
    return SignupResult(tenant=tenant, owner=owner)
