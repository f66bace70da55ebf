"""Security headers on every response, and friendly translated error pages (never a stack trace)."""

from __future__ import annotations

import logging

from flask import jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from saas.htmx import render

log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

ERROR_TITLES = {
    400: lambda: _("The request could not be understood."),
    403: lambda: _("You do not have permission to do this."),
    404: lambda: _("Not found."),
    405: lambda: _("This action is not allowed here."),
    413: lambda: _("The upload is too large."),
    414: lambda: _("The address is too long."),
    429: lambda: _("Too many attempts. Please wait a moment and try again."),
    500: lambda: _("Something went wrong on our side. Nothing was changed; please try again."),
    503: lambda: _("The service is briefly unavailable. Please try again in a moment; a retry of the same "
                   "request is never recorded twice."),
}

# Seconds a client is asked to wait before retrying while the database is unreachable (Retry-After).
RETRY_AFTER_SECONDS = 5


def database_unavailable(err: BaseException) -> bool:
    """Whether an error means the database could not be reached or dropped the connection (restarting,
    failing over, out of connections, or a transaction it aborted to be retried): the request is answered
    503 with Retry-After, not 500. pool_pre_ping and the pool's invalidation reconnect on the next request."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(err, PoolTimeout | OperationalError | InterfaceError):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


def rollback_quietly() -> None:
    """Roll the request's session back; on a dead connection that may fail too, which changes nothing."""
    from saas.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool discards it
        log.warning("rollback after a database error failed", exc_info=True)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str | None = None, code: str | None = None):
    message = message or ERROR_TITLES.get(status, ERROR_TITLES[500])()
    if _wants_json():
        body = {"error": {"code": code or f"http_{status}", "message": message}}
        return jsonify(body), status
    return render("error.html", "_error.html", status=status, message=message), status


def has_nul(value) -> bool:
    """Whether a text, or any text inside a JSON value, holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def carries_nul() -> bool:
    """Whether the query string or the form fields hold a NUL character (files are not looked at). The JSON API
    reads its own bodies, with its own size limit and answers (tenants/api/schemas.py json_body)."""
    texts = [v for _k, values in request.args.lists() for v in values]
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not _wants_json() and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        texts += [v for _k, values in request.form.lists() for v in values]
    return any(has_nul(t) for t in texts)


# The longest URL (path and query string, as sent) the app reads; a longer one is refused with a 414 before
# anything else looks at it. gunicorn.conf.py lets request lines of up to 8190 bytes through to here.
MAX_URL_LENGTH = 4096


def url_too_long() -> bool:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    return len(raw) > MAX_URL_LENGTH


def init_app(app) -> None:
    @app.before_request
    def refuse_long_urls():
        if url_too_long():
            return error_response(414, code="uri_too_long")
        return None

    @app.before_request
    def refuse_nul_characters():
        # No text a person or a till sends holds a NUL, and PostgreSQL cannot store one: refused up front, as
        # a clear 400 instead of a database error deep inside a search or a write.
        if carries_nul():
            return error_response(400, _("The request holds characters that cannot be stored (NUL)."),
                                  code="invalid_characters")
        return None

    @app.after_request
    def security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(err):
        return error_response(400, _("Your form expired or was sent from elsewhere. Reload the page and try again."),
                              code="csrf_failed")

    @app.errorhandler(HTTPException)
    def http_error(err):
        return error_response(err.code or 500)

    @app.errorhandler(Exception)
    def unexpected(err):
        if database_unavailable(err):
            log.warning("database unavailable on %s %s: %s", request.method, request.path, err.__class__.__name__)
            rollback_quietly()
            response, status = error_response(503, code="service_unavailable")
            response = app.make_response((response, status))
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        log.exception("unhandled error on %s %s", request.method, request.path)
        rollback_quietly()
        return error_response(500)
