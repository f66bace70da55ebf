"""The loyalty program's history: read the version in force, post a new version (API, CLI, admin editor).

History is append-only: versions are numbered 1, 2, 3 ... per tenant, and a new version may not start
before the latest one (``effective_from`` never goes backwards), so the rules in force on any past
business date stay what they were when later versions are posted on or after that date.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from sqlalchemy import func, select

from saas.audit import audit
from saas.extensions import db
from saas.models import Tenant
from saas.text import clean_name
from tenants.domain.program import Program, ProgramRuleError
from tenants.models import ProgramVersion
from tenants.programs import forget_versions_in_force, program_in_force
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError

NOTE_MAX_LENGTH = 200
ROOT_FIELD = "__root__"


def current_program_version(on: dt.date | None = None) -> ProgramVersion | None:
    """The version in force on business date ``on`` (default: today in the tenant's time zone)."""
    found = program_in_force(on)
    return found[0] if found else None


def program_version(number: int) -> ProgramVersion | None:
    """Version ``number`` of the current tenant's program, or None."""
    return db.session.execute(select(ProgramVersion).where(ProgramVersion.version == number)).scalar_one_or_none()


def program_history(limit: int | None = None, before: int | None = None) -> list[ProgramVersion]:
    """The versions, newest first; ``before`` (a version number) pages backwards through them."""
    query = select(ProgramVersion).order_by(ProgramVersion.version.desc())
    if before is not None:
        query = query.where(ProgramVersion.version < before)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def latest_program_version() -> ProgramVersion | None:
    return db.session.execute(
        select(ProgramVersion).order_by(ProgramVersion.version.desc()).limit(1)
    ).scalar_one_or_none()


def post_program_version(rules: dict, effective_from: dt.date, note: str = "", created_by: int | None = None,
                         *, via: str = "", commit: bool = True) -> ProgramVersion:
    """Validate ``rules`` as a ``Program`` and append it as version N+1, in force from ``effective_from``.

    Refused (ServiceError, nothing written): ``invalid_program`` with ``fields`` {dotted location in the
    rules: message}; ``validation_failed`` when ``effective_from`` is before the latest version's, or the
    note is longer than 200 characters. The rules are stored as posted, except that every text shown to
    people (tier, reward and perk names, gifts: each {zh_CN, en}) and the note are cleaned like member names
    (`saas.text.clean_name`: no control or bidi-override characters). Audited; commits once, unless
    ``commit=False`` (inside ``run_idempotent``, which commits the version with the stored response).
    """
    note = clean_name(note)
    rules = clean_shown_texts(rules)
    if len(note) > NOTE_MAX_LENGTH:
        raise ServiceError("validation_failed", fields={
            "note": _("At most %(max)d characters.", max=NOTE_MAX_LENGTH)})
    if not isinstance(rules, dict):
        raise ServiceError("invalid_program", fields={ROOT_FIELD: _("The program must be a JSON object.")})
    try:
        Program.model_validate(rules)
    except ValidationError as err:
        raise ServiceError("invalid_program", fields=validation_fields(err)) from err
    # Serialise posts per tenant (the version number and the date rule read the latest version).
    db.session.execute(select(Tenant.id).where(Tenant.id == current_tenant_id()).with_for_update())
    latest = latest_program_version()
    if latest is not None and effective_from < latest.effective_from:
        raise ServiceError("validation_failed", fields={"effective_from": _(
            "Must be on or after %(date)s, when version %(version)d starts.",
            date=latest.effective_from.isoformat(), version=latest.version)})
    number = (db.session.scalar(select(func.max(ProgramVersion.version))) or 0) + 1
    row = ProgramVersion(version=number, effective_from=effective_from, rules=rules, note=note,
                         created_by=created_by)
    db.session.add(row)
    db.session.flush()
    forget_versions_in_force()
    audit("program.version_posted", f"program_version:{number}", actor_id=created_by,
          effective_from=effective_from.isoformat(), note=note, via=via)
    if commit:
        db.session.commit()
    return row


LANGUAGES = frozenset({"zh_CN", "en"})


def clean_shown_texts(value):
    """`value` (program rules as JSON) with the strings of every localized text ({zh_CN, en}) cleaned."""
    if isinstance(value, list):
        return [clean_shown_texts(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value and set(value) <= LANGUAGES and all(isinstance(v, str) for v in value.values()):
        return {k: clean_name(v) for k, v in value.items()}
    return {k: clean_shown_texts(v) for k, v in value.items()}


# --- pydantic errors as {dotted.path: message} in the reader's language -----------------------------

_DATE = _l("Must be a date (YYYY-MM-DD).")
_DATETIME = _l("Must be a date and time (ISO 8601).")
_WHOLE = _l("Must be a whole number.")
_NUMBER = _l("Must be a number.")
_BOOL = _l("Must be true or false.")
_OBJECT = _l("Must be an object.")
_ONE_OF = _l("Must be one of: %(expected)s.")

# pydantic error type → (message, {message param: pydantic ctx key}).
FIELD_MESSAGES = {
    "missing": (_l("This field is required."), {}),
    "extra_forbidden": (_l("Unknown field."), {}),
    "string_type": (_l("Must be text."), {}),
    "int_type": (_WHOLE, {}),
    "int_parsing": (_WHOLE, {}),
    "int_from_float": (_WHOLE, {}),
    "float_type": (_NUMBER, {}),
    "float_parsing": (_NUMBER, {}),
    "decimal_type": (_NUMBER, {}),
    "decimal_parsing": (_NUMBER, {}),
    "bool_type": (_BOOL, {}),
    "bool_parsing": (_BOOL, {}),
    "greater_than_equal": (_l("Must be at least %(limit)s."), {"limit": "ge"}),
    "greater_than": (_l("Must be more than %(limit)s."), {"limit": "gt"}),
    "less_than_equal": (_l("Must be at most %(limit)s."), {"limit": "le"}),
    "less_than": (_l("Must be less than %(limit)s."), {"limit": "lt"}),
    "string_too_short": (_l("Must have at least %(limit)s characters."), {"limit": "min_length"}),
    "string_too_long": (_l("Must have at most %(limit)s characters."), {"limit": "max_length"}),
    "too_short": (_l("Must have at least %(limit)s items."), {"limit": "min_length"}),
    "too_long": (_l("Must have at most %(limit)s items."), {"limit": "max_length"}),
    "string_pattern_mismatch": (_l("Has an unexpected format."), {}),
    "literal_error": (_ONE_OF, {"expected": "expected"}),
    "enum": (_ONE_OF, {"expected": "expected"}),
    "union_tag_invalid": (_l("Unknown kind %(tag)s; expected one of: %(expected)s."),
                          {"tag": "tag", "expected": "expected_tags"}),
    "union_tag_not_found": (_l("The kind is missing."), {}),
    "date_type": (_DATE, {}),
    "date_parsing": (_DATE, {}),
    "date_from_datetime_parsing": (_DATE, {}),
    "date_from_datetime_inexact": (_DATE, {}),
    "datetime_type": (_DATETIME, {}),
    "datetime_parsing": (_DATETIME, {}),
    "datetime_from_date_parsing": (_DATETIME, {}),
    "dict_type": (_OBJECT, {}),
    "model_type": (_OBJECT, {}),
    "model_attributes_type": (_OBJECT, {}),
    "list_type": (_l("Must be a list."), {}),
}


# The program document's own rules (tenants/domain/program.py ProgramRuleError code → message).
PROGRAM_RULE_MESSAGES = {
    "text_missing": _l("Give the text in Chinese or in English."),
    "earning_classes_not_from_full_price": _l("The first earning class must start at full price (min_off_bp 0)."),
    "earning_classes_not_increasing": _l("Earning classes must have strictly increasing min_off_bp."),
    "earning_class_codes_not_unique": _l("Earning class codes must be unique."),
    "rolling_expiry_needs_months": _l("Rolling expiry needs a number of months."),
    "abc_shares_not_whole": _l("The A, B and C shares must add up to 10000 bp (100%)."),
    "schema_version_unsupported": _l("schema_version %(version)s is not supported (expected %(expected)s)."),
    "card_type_codes_not_unique": _l("Card type codes must be unique."),
    "several_default_card_types": _l("At most one card type can be the default."),
    "tier_codes_not_unique": _l("Tier codes must be unique."),
    "base_tier_has_keep": _l("The base (first) tier has no keep threshold: it is the floor every fall ends on."),
    "payment_rules_same_start": _l("Two points-payment rules start at the same number of points."),
    "rolling_expiry_needs_days": _l("Expiry after a number of days needs the number of days."),
    "unknown_category_codes": _l("Unknown category code(s): %(codes)s. List them under categories."),
    "category_codes_not_unique": _l("Category codes must be unique."),
    "from_tiers_not_lower": _l("Tier %(tier)s: a rule may be limited only to lower tiers (%(codes)s)."),
    "unknown_tier_codes": _l("Unknown tier code(s): %(codes)s."),
}


def program_rule_message(err: ProgramRuleError) -> str:
    """The broken program rule in the reader's language (its English sentence when the code is unknown)."""
    template = PROGRAM_RULE_MESSAGES.get(err.code)
    if template is None:
        return str(err)
    try:
        return str(template) % err.params if err.params else str(template)
    except (KeyError, TypeError, ValueError):
        return str(template)


def _field_message(error: dict) -> str:
    ctx = error.get("ctx") or {}
    known = FIELD_MESSAGES.get(error["type"])
    if known is not None:
        message, params = known
        try:
            return str(message) % {name: ctx[key] for name, key in params.items()} if params else str(message)
        except KeyError:
            return str(message)
    if error["type"] == "value_error" and isinstance(ctx.get("error"), ProgramRuleError):
        return program_rule_message(ctx["error"])
    if error["type"] == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return error["msg"]


def dotted(loc: tuple | list, prefix: str = "") -> str:
    """A pydantic location as a dotted path (``tiers.0.code``); the document itself is ``__root__``."""
    parts = [prefix] if prefix else []
    parts += [str(part) for part in loc]
    return ".".join(parts) or ROOT_FIELD


def validation_fields(err: ValidationError, prefix: str = "") -> dict[str, str]:
    """``{dotted.path: message}`` for a pydantic ValidationError, translated where the error type is known.

    The domain's own program rules (``ProgramRuleError``) are translated by their code; other ``value_error``
    messages are kept as written.
    """
    fields: dict[str, str] = {}
    for error in err.errors(include_url=False):
        fields.setdefault(dotted(error["loc"], prefix), _field_message(error))
    return fields
