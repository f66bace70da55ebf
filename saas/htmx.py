"""One template source: a page includes its fragment; an htmx request gets the fragment alone."""

from __future__ import annotations

from flask import render_template, request


def is_fragment_request() -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page_template: str, fragment_template: str, **context) -> str:
    return render_template(fragment_template if is_fragment_request() else page_template, **context)
