"""The new owner's first steps (SPEC §1: "running in 10 minutes"), each done or not by the tenant's data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from saas.extensions import db
from saas.models import CounterDevice, StaffUser
from saas.permissions import Role
from tenants.models import Member, ProgramVersion, Store

STEPS = ("program", "stores", "staff", "tablet", "members")


@dataclass(frozen=True)
class Step:
    code: str
    done: bool


def onboarding_steps() -> list[Step]:
    """The onboarding checklist of the current tenant, in order, read from what exists:

    program: a version beyond the one the vertical preset gave at sign-up; stores: more than the first;
    staff: anyone besides the owner (invited is enough); tablet: a counter tablet was registered;
    members: members enrolled or imported.
    """
    done = {
        "program": _any(ProgramVersion, ProgramVersion.version > 1),
        "stores": db.session.scalar(select(func.count()).select_from(Store)) > 1,
        "staff": _any(StaffUser, StaffUser.role != Role.OWNER.value),
        "tablet": _any(CounterDevice),
        "members": _any(Member),
    }
    return [Step(code, done[code]) for code in STEPS]


def _any(model, *where) -> bool:
    return db.session.scalar(select(model.id).where(*where).limit(1)) is not None
