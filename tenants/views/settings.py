"""The tenant's settings page (owner, chain admin): name, language, time zone, currency, back-dating, phones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import get_timezone_location
from babel.numbers import get_currency_name
from flask import Blueprint, current_app, flash, g, redirect, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from saas.auth import require
from saas.extensions import db
from saas.forms import choices, place_errors
from saas.htmx import render
from saas.i18n import LANGUAGE_NAMES
from saas.models import Tenant
from saas.permissions import can
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError
from tenants.services.tenant_settings import (
    BACKDATE_MAX_DAYS,
    CURRENCIES,
    NAME_MAX_LENGTH,
    current_settings,
    money_recorded,
    update_settings,
)

bp = Blueprint("settings", __name__)

# What the lists offer (the service accepts any IANA zone and any region phonenumbers knows; a tenant's own
# value is always listed).
COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "Asia/Singapore",
                "Asia/Kuala_Lumpur", "Asia/Bangkok", "Asia/Tokyo", "Asia/Seoul", "Australia/Sydney", "Europe/London",
                "Europe/Paris", "America/New_York", "America/Los_Angeles", "America/Vancouver", "UTC")
COMMON_REGIONS = ("CN", "HK", "MO", "TW", "SG", "MY", "TH", "JP", "KR", "AU", "GB", "FR", "US", "CA")


class SettingsForm(FlaskForm):
    """The service checks every field; the form carries the input and CSRF."""

    name = StringField(_l("Business name"), render_kw={"maxlength": NAME_MAX_LENGTH})
    locale = SelectField(_l("Language of the staff pages"), validate_choice=False)
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    currency = SelectField(_l("Currency"), validate_choice=False)
    backdate_days = StringField(_l("How many days back a POS may post"),
                                render_kw={"inputmode": "numeric", "maxlength": 3})
    phone_region = SelectField(_l("Country or region of phone numbers typed without a code"),
                               validate_choice=False)
    adjust_approval_points = StringField(_l("Points adjustments above this many points need a second person"),
                                         render_kw={"inputmode": "numeric", "maxlength": 9})
    program_publish_needs_owner = BooleanField(_l("A program version published by anyone but an owner waits for "
                                                  "an owner's approval"))


def _offset(zone: str) -> str:
    offset = dt.datetime.now(ZoneInfo(zone)).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _form(tenant: Tenant) -> SettingsForm:
    values = current_settings(tenant)
    form = SettingsForm(data=values)
    if not can(current_user.role, "program.approve"):  # owners only; the service refuses others too
        form.program_publish_needs_owner.render_kw = {"disabled": True}
    locale = Locale.parse(str(get_locale()))
    form.locale.choices = choices(LANGUAGE_NAMES.items())
    zones = dict.fromkeys((*COMMON_ZONES, values["timezone"]))
    form.timezone.choices = choices(
        (z, f"{_offset(z)} · {z if z == 'UTC' else get_timezone_location(z, locale=locale)} ({z})") for z in zones)
    form.currency.choices = choices(
        (c, f"{get_currency_name(c, locale=locale)} ({c})") for c in dict.fromkeys((*CURRENCIES, values["currency"])))
    regions = dict.fromkeys((*COMMON_REGIONS, values["phone_region"]))
    form.phone_region.choices = choices((r, f"{locale.territories.get(r, r)} ({r})") for r in regions)
    return form


def sign_in_address() -> str:
    base = current_app.config.get("PUBLIC_URL")
    return f"{base}{url_for('tenant.auth.login')}" if base else url_for("tenant.auth.login", _external=True)


@bp.route("/settings", methods=["GET", "POST"])
@require("settings.manage")
def page():
    tenant = db.session.get(Tenant, current_tenant_id())
    form = _form(tenant)
    if form.validate_on_submit():
        try:
            values = {name: form[name].data for name in form._fields if name != "csrf_token"}
            if not can(current_user.role, "program.approve"):
                values.pop("program_publish_needs_owner")  # a disabled box is not sent: not a change
            changed = update_settings(values, actor_id=current_user.id)
        except ServiceError as err:
            db.session.rollback()
            place_errors(form, err, fallback="name")
        else:
            flash(_("Settings saved.") if changed else _("Nothing changed."), "success" if changed else "info")
            return redirect(url_for("tenant.settings.page"))
    status = 422 if form.errors else 200
    return render("tenants/settings/page.html", "tenants/settings/_form.html", form=form,
                  sign_in=sign_in_address(), currency_locked=money_recorded(), backdate_max=BACKDATE_MAX_DAYS,
                  tenant=g.tenant), status
