"""The program in force on a business date, or a clear refusal when there is none."""

from __future__ import annotations

import datetime as dt

from tenants.domain.program import Program
from tenants.models import ProgramVersion
from tenants.programs import program_in_force
from tenants.services.errors import ServiceError


def require_program(on: dt.date) -> tuple[ProgramVersion, Program]:
    found = program_in_force(on)
    if found is None:
        raise ServiceError("no_program", on=on.isoformat())
    return found
