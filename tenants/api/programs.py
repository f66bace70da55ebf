"""The loyalty program through the API: chains keep their rules as code and post new versions.

``GET /program`` is the version in force today (tenant time zone) or ``?on=YYYY-MM-DD``;
``GET /program/versions`` the history, newest first, without the rules (paged by version);
``GET /program/versions/<n>`` one version with its rules; ``POST /program/versions`` appends version N+1.
"""

from __future__ import annotations

import datetime as dt

from flask import g
from flask_babel import lazy_gettext as _l
from pydantic import Field

from tenants.api import api_route
from tenants.api.schemas import ApiModel, Id, Page, PageQuery, ProgramRules, QueryModel, int_cursor, prefixed_fields
from tenants.programs import business_today
from tenants.services.errors import ServiceError
from tenants.services.programs import (
    NOTE_MAX_LENGTH,
    current_program_version,
    post_program_version,
    program_history,
    program_version,
)

MAX_VERSION = 2**31 - 1


class ProgramVersionSummary(ApiModel):
    version: int = Field(description="1, 2, 3 ... per tenant.")
    effective_from: dt.date = Field(description="The first business date the version is in force.")
    note: str
    created_at: dt.datetime
    created_by: Id | None = Field(default=None, description="The staff member who posted it (null: API or CLI).")


class ProgramVersionOut(ProgramVersionSummary):
    rules: ProgramRules


class ProgramVersionIn(ApiModel):
    rules: ProgramRules = Field(description="The whole program document (see the Program schema).")
    effective_from: dt.date = Field(description="Not before the latest version's effective_from.")
    note: str = Field(default="", max_length=NOTE_MAX_LENGTH)


class ProgramQuery(QueryModel):
    on: dt.date | None = Field(default=None, description="A business date (YYYY-MM-DD); default: today.")


@api_route("/program", summary=_l("The program in force"), query=ProgramQuery, response=ProgramVersionOut)
def get_program(query: ProgramQuery):
    """The program version in force today in the tenant's time zone, or on the business date ``on``."""
    on = query.on or business_today()
    row = current_program_version(on)
    if row is None:
        raise ServiceError("no_program", on=on.isoformat())
    return row


@api_route("/program/versions", summary=_l("The program's versions"), query=PageQuery,
           response=Page[ProgramVersionSummary])
def list_program_versions(query: PageQuery):
    """Every version, newest first, without the rules (fetch one version for them)."""
    before = int_cursor(query.cursor)
    if before is not None and before > MAX_VERSION:  # every version is below it (and the column is 4 bytes)
        before = None
    rows = program_history(limit=query.limit + 1, before=before)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return Page[ProgramVersionSummary](
        items=[ProgramVersionSummary.model_validate(row) for row in rows],
        next_cursor=str(rows[-1].version) if more else None,
    )


# Version numbers are a 4-byte column: a larger number names no version (a 404 at routing, not an overflow).
@api_route(f"/program/versions/<int(max={MAX_VERSION}):version>", summary=_l("One program version"),
           response=ProgramVersionOut)
def get_program_version(version: int):
    """Version ``version`` with its rules."""
    row = program_version(version)
    if row is None:
        raise ServiceError("not_found")
    return row


@api_route("/program/versions", "POST", summary=_l("Post a new program version"), body=ProgramVersionIn,
           response=ProgramVersionOut, status=201, operation="program.post_version")
def post_version(body: ProgramVersionIn):
    """Validate the rules and append them as the next version, in force from ``effective_from``.

    An invalid program is 422 ``invalid_program`` with ``fields`` located in the body (``rules.tiers.0.code``);
    nothing is written.
    """
    try:
        return post_program_version(body.rules, body.effective_from, body.note, created_by=None,
                                    via=f"api:{g.api_key.prefix}", commit=False)
    except ServiceError as err:
        if err.code == "invalid_program":
            raise prefixed_fields(err, "rules") from err
        raise
