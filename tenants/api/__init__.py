"""JSON API v1 for POS systems and integrations, under ``/api/v1/``: the framework every endpoint uses.

Authentication (``tenants/api/auth.py``): ``Authorization: Bearer hy_<tenant>_<prefix>_<secret>``. The key
names its tenant, which becomes current for the whole request (ORM criteria and row-level security
apply as on the staff pages); a missing, malformed, unknown or revoked key is 401 ``unauthorized``.

Every answer is JSON. Errors always read ``{"error": {"code", "message", "params"?, "fields"?}}``: a stable
code, a message in the language of ``Accept-Language`` (zh_CN by default, en), ``fields`` as
``{dotted.path: message}`` for invalid input. ``ServiceError`` → its status (422 by default, 404 for
not_found ...); pydantic ``ValidationError`` → 422 ``validation_failed``; bad JSON → 400 ``malformed_json``;
not JSON → 415 ``unsupported_media_type``; over 1 MB → 413 ``payload_too_large``; unknown URL → 404
``not_found`` (the same body for another tenant's id as for a missing one); wrong method → 405
``method_not_allowed``; the database unreachable → 503 ``service_unavailable`` with ``Retry-After`` (retry with
the same ``Idempotency-Key``); anything unexpected → 500 ``internal_error``, logged, never a trace.

Adding an endpoint
------------------
Write a module ``tenants/api/<area>.py`` with request/response models (``tenants.api.schemas``) and views
registered with ``api_route``; import it in ``init_app`` below. The view gets the URL arguments and, when
declared, ``body`` (the validated request model), ``query`` (the validated query model) and ``at`` (the
business time resolved from ``body.business_at``, SPEC §19.1). It returns a response model, an ORM row or
dict (validated through ``response``); a reading view may also return a Flask response (a file, say).
It raises ``ServiceError`` to refuse::

    class TopUpIn(TransactionBody):
        amount_fen: int = Field(ge=1)

    class TopUpOut(ApiModel):
        id: Id
        balance_fen: int

    @api_route("/members/<int:member_id>/top-ups", "POST", summary=_l("Top up stored value"),
               body=TopUpIn, response=TopUpOut, status=201, operation="member.top_up")
    def top_up(member_id: int, body: TopUpIn, at: dt.datetime):
        # (a docstring here becomes the operation's description in the OpenAPI document)
        return record_top_up(member_id=member_id, amount_fen=body.amount_fen, business_at=at)

A mutating route (POST, PUT, PATCH, DELETE) is idempotent by construction: the ``Idempotency-Key`` header
is required, and the view runs inside ``run_idempotent(key, operation, {args, query, body}, work)`` — so it
must *not* commit (``run_idempotent`` commits the effect and the stored response together). A retry with
the same key and body replays the first response with ``Idempotent-Replayed: true``; the same key with
another body or URL is 422 ``idempotency_key_reused``. ``business_at`` is resolved inside the idempotent
work, so a replay is never refused for being late.

``api_route`` also records the operation (method, path, summary, models, status, mutating or not) for the
OpenAPI document at ``/api/v1/openapi.json`` (``tenants/api/openapi.py``); a test keeps the document and
``app.url_map`` equal. Ids are strings in JSON (``Id``); lists page with ``PageQuery`` / ``Page[T]``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from saas.extensions import csrf, db
from tenants.api.schemas import ApiError, field_errors, json_body, parse_query
from tenants.services.errors import ServiceError
from tenants.services.idempotency import run_idempotent

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

bp = Blueprint("api_v1", __name__, url_prefix=API_PREFIX)


@dataclass(frozen=True)
class Operation:
    """One registered API operation, as the OpenAPI document describes it."""

    endpoint: str
    method: str
    rule: str  # the full Flask rule, e.g. /api/v1/program/versions/<int:version>
    summary: Any  # a lazy translated string
    description: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None  # None: free-form JSON
    status: int = 200
    operation: str = ""  # the idempotency operation name of a mutating route
    auth: bool = True
    params: frozenset[str] = field(default_factory=frozenset)
    read_only: bool = False  # a POST that only reads (a look-up whose body keeps personal data out of the URL)

    @property
    def mutates(self) -> bool:
        return self.method in MUTATING and not self.read_only


OPERATIONS: list[Operation] = []
_BY_ENDPOINT: dict[str, Operation] = {}


def operation_for(endpoint: str | None) -> Operation | None:
    """The operation behind a Flask endpoint (``api_v1.get_program``), or None."""
    return _BY_ENDPOINT.get((endpoint or "").removeprefix(f"{bp.name}."))


def api_route(rule: str, method: str = "GET", *, summary, body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
              status: int | None = None, operation: str | None = None, auth: bool = True,
              tag: str | None = None, endpoint: str | None = None, read_only: bool = False) -> Callable:
    """Register a JSON endpoint at ``/api/v1<rule>`` for one HTTP ``method`` and record it for OpenAPI.

    ``summary`` is a lazy translated string (``_l``); the view's docstring becomes the description.
    ``status`` defaults to 201 for POST, else 200. ``operation`` names the idempotency scope of a mutating
    route (default: the endpoint). ``auth=False`` only for public documents such as the OpenAPI file.
    ``read_only`` marks a POST that changes nothing (no idempotency key), such as a look-up by phone.
    """
    method = method.upper()

    def decorator(view: Callable) -> Callable:
        name = endpoint or view.__name__
        for model in (body, query, response):
            if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise TypeError(f"{name}: body, query and response must be pydantic models, not {model!r}")
        if len(operation or name) > 40:
            raise ValueError(f"idempotency operation name of {name} is longer than 40 characters")
        params = frozenset(inspect.signature(view).parameters)
        op = Operation(
            endpoint=name, method=method, rule=API_PREFIX + rule, summary=summary,
            description=inspect.cleandoc(view.__doc__ or ""), tag=tag or rule.strip("/").split("/")[0],
            body=body, query=query, response=response,
            status=status or (201 if method == "POST" and not read_only else 200),
            operation=operation or name, auth=auth, params=params, read_only=read_only,
        )

        @wraps(view)
        def handler(**view_args):
            return _dispatch(op, view, view_args)

        bp.add_url_rule(rule, endpoint=name, view_func=handler, methods=[method])
        OPERATIONS.append(op)
        _BY_ENDPOINT[name] = op
        return view

    return decorator


def to_json(op: Operation, result: Any) -> Any:
    """The JSON-ready form of what a view returned, validated through the declared response model."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if op.response is not None:
        try:
            return op.response.model_validate(result, from_attributes=True).model_dump(mode="json")
        except ValidationError as err:  # the view broke its own contract: a 500, not the client's 422
            raise RuntimeError(f"{op.endpoint} returned data that does not fit {op.response}") from err
    return result


def _dispatch(op: Operation, view: Callable, view_args: dict) -> Response:
    kwargs = dict(view_args)
    if op.query is not None:
        kwargs["query"] = parse_query(op.query)
    if not op.mutates:
        if op.body is not None:  # a read-only POST (a look-up) reads its body too
            kwargs["body"] = op.body.model_validate(json_body())
        result = view(**kwargs)
        if isinstance(result, Response):
            return result
        return _json_response(to_json(op, result), op.status)

    raw = json_body()
    parsed = op.body.model_validate(raw) if op.body is not None else None
    if "body" in op.params:
        kwargs["body"] = parsed
    # The fingerprint covers the whole request: the same key on another URL or body is refused.
    payload = {"args": {k: str(v) for k, v in view_args.items()}, "query": request.args.to_dict(), "body": raw}

    def work() -> Any:
        if "at" in op.params:
            from tenants.services.business_time import resolve_business_time

            kwargs["at"] = resolve_business_time(getattr(parsed, "business_at", None))
        return to_json(op, view(**kwargs))

    result, replayed = run_idempotent(request.headers.get(IDEMPOTENCY_HEADER), op.operation, payload, work)
    response = _json_response(result, op.status)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def _json_response(body: Any, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


# --- errors --------------------------------------------------------------------------------------

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_json(status: int, code: str, message: str, headers: dict | None = None, **extra) -> Response:
    body = {"code": code, "message": message, **{k: v for k, v in extra.items() if v}}
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def http_error_json(err: HTTPException) -> Response:
    from saas.security import ERROR_TITLES

    status = err.code or 500
    message = ERROR_TITLES[status]() if status in ERROR_TITLES else _("The request could not be understood.")
    headers = dict(err.get_headers()) if isinstance(err, MethodNotAllowed) else {}
    headers.pop("Content-Type", None)
    return error_json(status, HTTP_CODES.get(status, f"http_{status}"), message, headers)


@bp.errorhandler(ServiceError)
def _service_error(err: ServiceError):
    db.session.rollback()
    response = jsonify(err.to_json())
    response.status_code = err.status
    return response


@bp.errorhandler(ApiError)
def _api_error(err: ApiError):
    db.session.rollback()
    headers = {"WWW-Authenticate": 'Bearer realm="huiyuan"'} if err.status == 401 else None
    response = error_json(err.status, err.code, err.message, headers, fields=err.fields)
    return response


@bp.errorhandler(ValidationError)
def _validation_error(err: ValidationError):
    return _service_error(ServiceError("validation_failed", fields=field_errors(err)))


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return http_error_json(err)


@bp.errorhandler(Exception)
def _unexpected(err: Exception):
    from saas.security import ERROR_TITLES, RETRY_AFTER_SECONDS, database_unavailable, rollback_quietly

    rollback_quietly()
    if database_unavailable(err):
        log.warning("database unavailable on %s %s: %s", request.method, request.path, err.__class__.__name__)
        return error_json(503, "service_unavailable", ERROR_TITLES[503](), {"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.exception("unhandled API error on %s %s", request.method, request.path)
    return error_json(500, "internal_error", ERROR_TITLES[500]())


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    response.vary.add("Accept-Language")
    return response


def _routing_error(err: HTTPException):
    """Unknown URLs and wrong methods never reach the blueprint: answer them in JSON under /api/."""
    if request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/"):
        return http_error_json(err)
    from saas.security import error_response

    return error_response(err.code or 500)


def init_app(app) -> None:
    """Register the API: endpoint modules, the blueprint (CSRF-exempt: keys, not cookies), errors."""
    from tenants.api import auth, members, openapi, programs, transactions  # noqa: F401  (register the routes)

    # New endpoint modules: import them above, before the blueprint is registered.
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_error_handler(NotFound, _routing_error)
    app.register_error_handler(MethodNotAllowed, _routing_error)


__all__ = ["API_PREFIX", "OPERATIONS", "Operation", "api_route", "bp", "error_json", "init_app", "operation_for",
           "to_json"]
