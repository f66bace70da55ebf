"""Shared request/response models of the JSON API v1 and the helpers that read requests.

* ``ApiModel`` — base of request bodies (unknown keys refused, so a typo is an error) and responses
  (built from ORM rows: ``from_attributes``).
* ``Id`` — a 63-bit id: written as a JSON *string* (JavaScript numbers lose digits past 2^53), read
  from a string or a number.
* ``TransactionBody`` — base of bodies of business transactions: an optional ``business_at``
  (ISO 8601; naive = tenant time zone; default now), resolved by the framework (SPEC §19.1).
* ``PageQuery`` / ``Page[T]`` — ``?limit=&cursor=`` in, ``{"items": [...], "next_cursor": ...}`` out.
* ``ErrorBody`` — the one error shape: ``{"error": {"code", "message", "params"?, "fields"?}}``.
* ``ProgramRules`` — a program document (validated by the program service, documented as ``Program``).

The OpenAPI document describes every model in pydantic's *validation* mode, so a type with a custom
JSON serialiser must say how it looks (``WithJsonSchema``), as ``Id`` does.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Generic, TypeVar, get_args

from flask import request
from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from saas.security import has_nul
from tenants.domain.program import Program
from tenants.services.errors import ServiceError
from tenants.services.programs import dotted, validation_fields

__all__ = [
    "MAX_FEN", "MAX_POINTS", "ApiError", "ApiModel", "ErrorBody", "ErrorDetail", "Id", "Page",
    "PageQuery", "ProgramRules", "QueryModel",
    "TransactionBody", "dotted", "field_errors", "int_cursor", "json_body", "parse_body", "parse_query",
    "prefixed_fields",
]

MAX_ID = (1 << 63) - 1
# Amounts a request may carry: ¥1,000,000,000 (more is a typo) and as many points; sums of many lines stay far
# inside the database's 64-bit integers, so an absurd number is a 422 on its field, never an overflow.
MAX_FEN = 100_000_000_000
MAX_POINTS = 1_000_000_000_000
# A whole program document is a few dozen kB; nothing the API accepts comes near this (413 above it).
MAX_BODY_BYTES = 1024 * 1024


class ApiError(Exception):
    """A refusal by the API framework itself (authentication, a body that is not JSON ...)."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}

    def to_json(self) -> dict:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _date_kind(annotation) -> str | None:
    """"date" or "datetime" when a field's type holds one (``dt.date | None`` ...), else None."""
    if annotation is dt.datetime:
        return "datetime"
    if annotation is dt.date:
        return "date"
    return next((kind for arg in get_args(annotation) if (kind := _date_kind(arg))), None)


class IsoDates(BaseModel):
    """Dates and times are ISO 8601 strings, as the document says: pydantic would otherwise read a number (or a
    numeric string such as ``?on=1e-38``) as seconds since 1970."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_timestamps(cls, value, info: ValidationInfo):
        field = cls.model_fields.get(info.field_name or "")
        if field is None or value is None or isinstance(value, dt.date):
            return value
        kind = _date_kind(field.annotation)
        if kind and (isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value))):
            raise PydanticCustomError(f"{kind}_type", "an ISO 8601 {kind} is expected", {"kind": kind})
        return value


class ApiModel(IsoDates):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class QueryModel(IsoDates):
    """Query-string parameters: unknown ones are ignored (caches and proxies add their own)."""

    model_config = ConfigDict(extra="ignore")


Id = Annotated[
    int,
    Field(ge=1, le=MAX_ID),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[1-9][0-9]{0,18}$", "examples": ["3141592653589793"]}),
]


class _ProgramSchema:
    """Documents a rules document as the ``Program`` schema while keeping it a plain dict."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        return handler(Program.__pydantic_core_schema__)


ProgramRules = Annotated[dict[str, Any], _ProgramSchema]


class TransactionBody(ApiModel):
    business_at: dt.datetime | None = Field(
        default=None,
        description="When the transaction happened (ISO 8601; without an offset: the tenant's time zone). "
                    "Default: now. At most the tenant's backdate window in the past, never in the future.",
    )


class PageQuery(QueryModel):
    limit: int = Field(default=20, ge=1, le=100, description="How many items to return (1–100).")
    cursor: str | None = Field(default=None, description="The next_cursor of the previous page.")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page; null at the end.")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, validation_failed.")
    message: str = Field(description="A sentence for people, in the language of Accept-Language.")
    params: dict[str, Any] | None = Field(default=None, description="Values the message refers to.")
    fields: dict[str, str] | None = Field(default=None, description="Per field (dotted path): what is wrong.")


class ErrorBody(BaseModel):
    error: ErrorDetail


def int_cursor(cursor: str | None) -> int | None:
    """A cursor that is a whole number (e.g. a version number or an id); 422 for anything else."""
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 19:
        raise ServiceError("validation_failed", fields={"cursor": _("Not a valid cursor.")})
    return int(cursor)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def json_body() -> dict:
    """The request body as a JSON object. No body at all reads as ``{}``.

    400 ``malformed_json`` for text that is not JSON or not an object; 415 for another content type;
    413 ``payload_too_large`` above MAX_BODY_BYTES.
    """
    if request.max_content_length is None or request.max_content_length > MAX_BODY_BYTES:
        request.max_content_length = MAX_BODY_BYTES
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type",
                       _("Send the request body as JSON (Content-Type: application/json)."))
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ApiError(400, "malformed_json", _("The request body is not valid JSON (line %(line)d, column "
                                                "%(column)d).", line=err.lineno, column=err.colno)) from err
    except (ValueError, RecursionError) as err:
        raise ApiError(400, "malformed_json", _("The request body is not valid JSON.")) from err
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", _("The request body must be a JSON object."))
    if has_nul(data):  # PostgreSQL cannot store it: refused before anything is written
        raise ApiError(400, "invalid_characters", _("The request holds characters that cannot be stored (NUL)."))
    return data


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], data: dict | None = None) -> M:
    """Validate the JSON body (or ``data``) as ``model``; a ValidationError becomes 422 validation_failed."""
    return model.model_validate(json_body() if data is None else data)


def parse_query(model: type[M]) -> M:
    return model.model_validate(request.args.to_dict())


def field_errors(err: ValidationError, prefix: str = "") -> dict[str, str]:
    """``{dotted.path: translated message}`` for a pydantic ValidationError."""
    return validation_fields(err, prefix)


def prefixed_fields(err: ServiceError, prefix: str) -> ServiceError:
    """The same refusal with its field paths under ``prefix`` (service paths → request body paths)."""
    fields = {(f"{prefix}.{path}" if path != "__root__" else prefix): message for path, message in err.fields.items()}
    return ServiceError(err.code, fields=fields, **err.params)
