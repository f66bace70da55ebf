"""The back office's program draft: started from a version, a preset or a document, saved part by part, published."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from tenants.models import ProgramDraft, ProgramVersion
from tenants.scoping import tenant_context
from tenants.services.errors import ServiceError
from tenants.services.program_drafts import (
    current_draft,
    discard_draft,
    publish_draft,
    save_draft_part,
    start_draft,
)
from tenants.services.programs import latest_program_version

TODAY = dt.date(2026, 12, 4)


def test_a_draft_saves_a_valid_part_refuses_an_invalid_one_on_its_field_and_publishes_as_the_next_version(tenant_a):
    with tenant_context(tenant_a):
        before = latest_program_version()
        draft = start_draft(actor_id=None)
        assert draft.based_on_version == before.version and draft.rules == before.rules
        tiers = draft.rules["tiers"]
        tiers[-1]["reach"][0]["min"] = -5
        with pytest.raises(ServiceError) as refused:
            save_draft_part("tiers", tiers, actor_id=None)
        assert refused.value.code == "invalid_program"
        assert any(field.startswith(f"tiers.{len(tiers) - 1}.reach.0") for field in refused.value.fields)
        db.session.expire_all()
        assert current_draft().rules == before.rules  # nothing written
        tiers[-1]["reach"][0]["min"] = 800_000
        save_draft_part("tiers", tiers, actor_id=None)
        with pytest.raises(ServiceError) as early:
            publish_draft(effective_from=TODAY - dt.timedelta(days=1), today=TODAY, actor_id=None)
        assert "effective_from" in early.value.fields
        version = publish_draft(effective_from=TODAY + dt.timedelta(days=7), today=TODAY, note="门槛下调",
                                actor_id=None)
        assert version.version == before.version + 1
        assert version.rules["tiers"][-1]["reach"][0]["min"] == 800_000
        assert current_draft() is None
        assert db.session.scalar(select(func.count()).select_from(ProgramVersion)) == version.version


def test_a_draft_restarts_from_a_preset_or_a_document_and_can_be_discarded(tenant_a):
    with tenant_context(tenant_a):
        assert start_draft(actor_id=None, preset="hotel").source == "preset"
        assert current_draft().rules["redemption"].get("nights") is not None
        with pytest.raises(ServiceError):
            start_draft(actor_id=None, document=["not", "an", "object"])
        imported = start_draft(actor_id=None, document={"schema_version": 1, "tiers": "broken"})
        assert imported.source == "import" and imported.based_on_version is None
        with pytest.raises(ServiceError):
            publish_draft(effective_from=TODAY, today=TODAY, actor_id=None)
        discard_draft(actor_id=None)
        assert db.session.scalar(select(func.count()).select_from(ProgramDraft)) == 0
