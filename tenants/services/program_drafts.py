"""The program being edited in the back office: one draft per tenant, published as a new version.

A draft starts from the version in force, from another version, from a vertical preset or from an imported
JSON document; the editor saves it part by part (each part validated by the same `Program` model the API and
the CLI use, so its messages land on the fields); publishing posts it through `post_program_version` with an
effective date of today or later and removes the draft, in one commit.
"""

from __future__ import annotations

import copy
import datetime as dt

from flask_babel import gettext as _
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm.attributes import flag_modified

from saas.audit import audit
from saas.extensions import db
from saas.models import utcnow
from tenants.domain.program import Program
from tenants.models import ProgramDraft, ProgramPublishRequest, ProgramVersion
from tenants.presets import VERTICALS, load_preset
from tenants.services.errors import ServiceError
from tenants.services.programs import (
    ROOT_FIELD,
    clean_shown_texts,
    current_program_version,
    post_program_version,
    program_version,
    validation_fields,
)


def current_draft() -> ProgramDraft | None:
    """The current tenant's draft, or None."""
    return db.session.execute(select(ProgramDraft)).scalar_one_or_none()


def _source_rules(*, from_version: int | None, preset: str | None, document) -> tuple[dict, int | None, str]:
    if document is not None:
        if not isinstance(document, dict):
            raise ServiceError("invalid_program", fields={ROOT_FIELD: _("The program must be a JSON object.")})
        return copy.deepcopy(document), None, "import"
    if preset is not None:
        if preset not in VERTICALS:
            raise ServiceError("validation_failed", fields={"preset": _("Choose one of the templates.")})
        return load_preset(preset), None, "preset"
    version: ProgramVersion | None = program_version(from_version) if from_version else current_program_version()
    if version is None:
        if from_version:
            raise ServiceError("not_found")
        return load_preset("blank"), None, "preset"
    return copy.deepcopy(version.rules), version.version, "version"


def start_draft(*, actor_id: int | None, from_version: int | None = None, preset: str | None = None,
                document=None, commit: bool = True) -> ProgramDraft:
    """Start (or restart) the draft from a version (default: the one in force), a preset or a JSON document.

    An imported document is kept as given (texts cleaned); it is validated when a part is saved and on publish.
    Replaces any draft there was. Audited; commits once, unless ``commit=False`` (inside ``run_idempotent``).
    """
    rules, based_on, source = _source_rules(from_version=from_version, preset=preset, document=document)
    draft = current_draft()
    if draft is None:
        draft = ProgramDraft()
        db.session.add(draft)
    draft.rules = clean_shown_texts(rules)
    draft.based_on_version = based_on
    draft.source = source
    draft.updated_at = utcnow()
    draft.updated_by = actor_id
    db.session.flush()
    audit("program.draft_started", "program_draft", actor_id=actor_id, source=source,
          based_on_version=based_on, preset=preset or "")
    if commit:
        db.session.commit()
    return draft


def draft_or_start(actor_id: int | None) -> ProgramDraft:
    """The draft, started from the version in force when there is none."""
    return current_draft() or start_draft(actor_id=actor_id)


def check_rules(rules: dict) -> dict[str, str]:
    """{dotted field: message} of what keeps ``rules`` from being a valid program ({} when it is one)."""
    try:
        Program.model_validate(rules)
    except ValidationError as err:
        return validation_fields(err)
    return {}


def save_draft_part(part: str, value, *, actor_id: int | None, commit: bool = True) -> ProgramDraft:
    """Replace part ``part`` (a top-level key of the rules: ``tiers``, ``earning`` ...) of the draft with ``value``.

    Refused (ServiceError ``invalid_program``, nothing written) when the draft with the new part is not a
    valid program and a message points inside this part; the fields are dotted paths from the rules' root
    (``tiers.1.reach.0.min``). Errors elsewhere in the draft (an imported document) do not block saving this
    part. Commits once, unless ``commit=False`` (inside ``run_idempotent``: a draft it has to start is then
    committed with the part, or not at all).
    """
    draft = current_draft() or start_draft(actor_id=actor_id, commit=commit)
    rules = copy.deepcopy(draft.rules)
    rules[part] = clean_shown_texts(value)
    errors = {field: message for field, message in check_rules(rules).items()
              if field == part or field.startswith(part + ".") or field == ROOT_FIELD}
    if errors:
        db.session.rollback()
        raise ServiceError("invalid_program", fields=errors)
    draft.rules = rules
    flag_modified(draft, "rules")  # written even when the caller changed draft.rules in place before saving
    draft.updated_at = utcnow()
    draft.updated_by = actor_id
    audit("program.draft_saved", "program_draft", actor_id=actor_id, part=part)
    if commit:
        db.session.commit()
    return draft


def discard_draft(*, actor_id: int | None, commit: bool = True) -> None:
    """Throw the draft away. Audited; commits once, unless ``commit=False``."""
    if db.session.execute(delete(ProgramDraft)).rowcount:
        audit("program.draft_discarded", "program_draft", actor_id=actor_id)
    if commit:
        db.session.commit()


def publish_draft(*, effective_from: dt.date, today: dt.date, note: str = "",
                  actor_id: int | None) -> ProgramVersion | ProgramPublishRequest:
    """Post the draft as the next version, in force from ``effective_from`` (today or later), and remove it.

    When the tenant's ``program_publish_needs_owner`` is on and the publisher is not an owner, the draft
    becomes a `ProgramPublishRequest` instead (rules, date, note, based-on version; see
    tenants/services/program_publishing.py), which is returned; the draft is removed all the same.
    Refused (ServiceError, nothing written): ``not_found`` without a draft; ``validation_failed`` for a
    date before today (or before the latest version's start); ``invalid_program`` with the fields.
    """
    from tenants.services import program_publishing

    draft = current_draft()
    if draft is None:
        raise ServiceError("not_found")
    if effective_from < today:
        raise ServiceError("validation_failed", fields={"effective_from": _("Today or a later date.")})
    if actor_id is not None and program_publishing.needs_owner_approval() and not program_publishing.may_approve(
            actor_id):
        errors = check_rules(draft.rules)
        if errors:
            raise ServiceError("invalid_program", fields=errors)
        result = program_publishing.request_publishing(
            clean_shown_texts(draft.rules), effective_from=effective_from, today=today, note=note,
            based_on_version=draft.based_on_version, actor_id=actor_id)
    else:
        result = post_program_version(draft.rules, effective_from, note, created_by=actor_id, via="editor",
                                      commit=False)
    db.session.delete(draft)
    db.session.commit()
    return result
