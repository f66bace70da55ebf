"""Languages and formats: zh_CN first, English complete. Locale, money, dates and phones per tenant."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_compact_currency, format_compact_decimal, format_currency, parse_pattern
from flask import current_app, request, session
from flask_babel import format_decimal, get_locale, get_timezone
from flask_login import current_user

from saas.extensions import babel
from saas.phones import display_phone
from saas.settings import phone_region
from tenants.scoping import current_tenant_or_none

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if request and request.path.startswith("/api/"):
        return _api_locale(languages)
    chosen = session.get("lang") if request else None
    if chosen in languages:
        return chosen
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in languages:
        return user_locale
    tenant = current_tenant_or_none()
    if tenant and tenant.locale in languages:
        return tenant.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _api_locale(languages: list[str]) -> str:
    """API clients carry no session: Accept-Language (zh-Hans-CN → zh_CN too), else the tenant's language."""
    best = request.accept_languages.best_match(languages)
    if best:
        return best
    for value, _quality in request.accept_languages:
        primary = value.replace("_", "-").split("-")[0].lower()
        for language in languages:
            if language.split("_")[0].lower() == primary:
                return language
    tenant = current_tenant_or_none()
    if tenant and tenant.locale in languages:
        return tenant.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    tenant = current_tenant_or_none()
    return tenant.timezone if tenant else current_app.config["BABEL_DEFAULT_TIMEZONE"]


def format_money(minor_units: int | None, currency: str | None = None) -> str:
    """Integer minor units (fen) shown in the tenant's currency and the reader's locale."""
    if minor_units is None:
        return ""
    tenant = current_tenant_or_none()
    currency = currency or (tenant.currency if tenant else "CNY")
    return format_currency(Decimal(minor_units) / 100, currency, locale=str(get_locale()))


COMPACT_FROM = 1_000_000  # whole units from which a card shows 1.2M / 120万 instead of every digit


def format_money_short(minor_units: int | None, currency: str | None = None) -> str:
    """Money on a dashboard card: whole yuan (CN¥115,583), compact from a million (CN¥1.2M, ¥120万);
    the exact amount goes next to it (format_money) for whoever needs the fen."""
    if minor_units is None:
        return ""
    tenant = current_tenant_or_none()
    currency = currency or (tenant.currency if tenant else "CNY")
    locale = Locale.parse(str(get_locale()))
    units = (Decimal(minor_units) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if abs(units) >= COMPACT_FROM:
        return format_compact_currency(units, currency, locale=locale, fraction_digits=1)
    pattern = parse_pattern(locale.currency_formats["standard"].pattern)
    pattern.frac_prec = (0, 0)
    return pattern.apply(units, locale, currency=currency, currency_digits=False)


def format_number_short(value) -> str:
    """A count on a dashboard card: every digit up to a million, then compact (1.2M, 120万)."""
    value = value or 0
    if abs(value) >= COMPACT_FROM:
        return format_compact_decimal(value, locale=str(get_locale()), fraction_digits=1)
    return format_number(value)


def format_day(value: dt.date | dt.datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(get_timezone()).date() if value.tzinfo else value.date()
    return _babel_date(value, format=fmt, locale=str(get_locale()))


def format_moment(value: dt.datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return _babel_datetime(value, format=fmt, tzinfo=get_timezone(), locale=str(get_locale()))


def format_phone(number: str | None, masked: bool = False) -> str:
    """A stored (E.164) number as people write it: national form for the tenant's region (138 1234 5678;
    masked 138 **** 5678), international for others (+44 7911 123456)."""
    return display_phone(number, phone_region(), masked=masked)


def format_number(value) -> str:
    """A whole number grouped as the reader's language writes it (None reads as 0)."""
    return format_decimal(value or 0)


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(money=format_money, day=format_day, moment=format_moment, phone=format_phone,
                               number=format_number, money_short=format_money_short,
                               number_short=format_number_short)
    app.jinja_env.add_extension("jinja2.ext.i18n")

    @app.context_processor
    def languages():
        return {"LANGUAGE_NAMES": LANGUAGE_NAMES, "current_locale": select_locale()}
