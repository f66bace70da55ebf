"""The OpenAPI 3.1 document of the API, generated from the registered operations and their models.

All models are rendered in one ``models_json_schema`` pass (``ref_template`` pointing into
``#/components/schemas``), which keeps their ``$defs`` together and gives two models of the same name
distinct component names. The document is built once per language and cached on the app.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tenants.api import IDEMPOTENCY_HEADER, OPERATIONS, REPLAYED_HEADER, Operation, api_route
from tenants.api.schemas import ErrorBody
from tenants.services.errors import HTTP_STATUS, MESSAGES

REF_TEMPLATE = "#/components/schemas/{model}"
_ARG = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>[^)]*)\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_MAX_ARG = re.compile(r"\bmax\s*=\s*(\d+)")
_CONVERTER_SCHEMAS = {
    "int": {"type": "integer", "format": "int64", "minimum": 0},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: ``/program/versions/<int:version>`` → ``/program/versions/{version}``."""
    return _ARG.sub(lambda m: "{" + m.group("name") + "}", rule)


def _path_parameters(rule: str) -> list[dict]:
    parameters = []
    for m in _ARG.finditer(rule):
        schema = dict(_CONVERTER_SCHEMAS.get(m.group("converter") or "", {"type": "string"}))
        if m.group("converter") == "int":  # the app's int converter stops at a 63-bit id unless told less
            limit = _MAX_ARG.search(m.group("args") or "")
            schema["maximum"] = int(limit.group(1)) if limit else 2**63 - 1
            if schema["maximum"] < 2**31:
                schema["format"] = "int32"
        parameters.append({"name": m.group("name"), "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(model: type[BaseModel] | None, defs: dict) -> list[dict]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _error(description) -> dict:
    return {"description": str(description), "content": {"application/json": {"schema": {"$ref": _ref("ErrorBody")}}}}


def conflicts_description() -> str:
    """Every refusal answered 409, by its code, from the one table of statuses (a new one is described here
    by itself)."""
    cases = "; ".join(f"{code}: {MESSAGES[code]}" for code, status in HTTP_STATUS.items() if status == 409)
    return str(_l("Conflict, nothing was changed (error.code: message): %(cases)s", cases=cases))


def _ref(name: str) -> str:
    return REF_TEMPLATE.format(model=name)


def _operation(op: Operation, refs: dict, defs: dict) -> dict:
    item: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": str(op.summary),
        "tags": [op.tag],
    }
    if op.description:
        item["description"] = op.description
    parameters = _path_parameters(op.rule) + _query_parameters(op.query, defs)
    if op.mutates:
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
    if parameters:
        item["parameters"] = parameters
    if op.body is not None:
        item["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[op.body]}}}
    success: dict[str, Any] = {"description": str(_l("Success"))}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": refs[op.response]}}
    else:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    if op.mutates:
        success["headers"] = {REPLAYED_HEADER: {"$ref": "#/components/headers/IdempotentReplayed"}}
    responses: dict[str, Any] = {str(op.status): success}
    # What any request can meet, whatever the operation: the app answers each in JSON (saas/security.py,
    # the API's error handlers), so each is declared on every operation.
    if op.body is not None:
        responses["400"] = _error(_l("The body is not a JSON object, or the request holds characters that cannot "
                                     "be stored (NUL)."))
    else:
        responses["400"] = _error(_l("The request holds characters that cannot be stored (NUL)."))
    if op.body is not None:
        responses["413"] = _error(_l("The body is larger than 1 MB."))
        responses["415"] = _error(_l("The body is not sent as JSON (Content-Type: application/json)."))
        if "pin" in op.body.model_fields:
            responses["423"] = _error(_l("The card is locked after too many wrong PINs."))
    if op.auth:
        responses["401"] = _error(_l("No valid API key."))
    if "{" in openapi_path(op.rule):
        responses["404"] = _error(_l("Not found (or another tenant's)."))
    else:
        responses["404"] = _error(_l("Not found."))
    responses["405"] = _error(_l("This method is not allowed on this path (see the Allow header)."))
    responses["414"] = _error(_l("The address is too long."))
    if op.mutates:
        responses["409"] = _error(conflicts_description())
    if op.body is not None or op.query is not None or op.mutates:
        responses["422"] = _error(_l("Refused: invalid fields, a business rule, or a reused idempotency key."))
    responses["500"] = _error(_l("Unexpected error; nothing was changed."))
    if op.auth:  # every operation with a key reads the database (the key first)
        responses["503"] = {**_error(_l("The database is briefly unreachable; nothing was changed. Retry after "
                                        "Retry-After seconds with the same Idempotency-Key.")),
                            "headers": {"Retry-After": {"description": str(_l("Seconds to wait before a retry.")),
                                                        "schema": {"type": "integer", "minimum": 1}}}}
    item["responses"] = dict(sorted(responses.items()))
    if not op.auth:
        item["security"] = []
    return item


def build_document() -> dict:
    """The whole OpenAPI 3.1 document for the registered operations, in the current language."""
    models: list[Any] = [ErrorBody]
    for op in OPERATIONS:
        for model in (op.body, op.response):
            if model is not None and model not in models:
                models.append(model)
    keyed, schemas = models_json_schema([(m, "validation") for m in models], ref_template=REF_TEMPLATE)
    refs = {model: keyed[(model, "validation")] for model in models}
    defs = dict(schemas.get("$defs", {}))
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(openapi_path(op.rule), {})[op.method.lower()] = _operation(op, refs, defs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": str(_l("Huiyuan API")),
            "version": "1.0.0",
            "description": str(_l(
                "The JSON API for POS systems and integrations. Authenticate with an API key of your business "
                "(Authorization: Bearer <key>). Every mutating request needs an Idempotency-Key header. Ids are "
                "strings. Errors are {\"error\": {\"code\", \"message\", \"fields\"}}; messages follow "
                "Accept-Language (zh-CN, en).")),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(defs.items())),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "hy_<tenant>_<prefix>_<secret>"},
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": IDEMPOTENCY_HEADER, "in": "header", "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                    "description": str(_l("A unique key per operation (e.g. a UUID). A retry with the same key "
                                          "and body returns the first response.")),
                },
            },
            "headers": {
                "IdempotentReplayed": {
                    "schema": {"type": "string", "enum": ["true"]},
                    "description": str(_l("Present when the response is the replay of an earlier request.")),
                },
            },
        },
        "security": [{"apiKey": []}],
    }


@api_route("/openapi.json", summary=_l("This API description (OpenAPI 3.1)"), auth=False, tag="meta")
def openapi_document():
    """The document you are reading; needs no API key."""
    cache = current_app.extensions.setdefault("huiyuan_openapi", {})
    locale = str(get_locale())
    if locale not in cache:
        cache[locale] = build_document()
    return cache[locale]
