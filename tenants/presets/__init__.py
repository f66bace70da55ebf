"""Vertical templates (SPEC §16): the program a new tenant starts from, as JSON data files.

Every file validates as ``tenants.domain.program.Program``; the ``description`` fields record
what a preset chose where the specification left a value open.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

VERTICALS: tuple[str, ...] = ("pharmacy", "clothing", "hotel", "mall", "blank")


@cache
def _raw(vertical: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{vertical}.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_preset(vertical: str) -> dict[str, Any]:
    """A fresh copy of the raw program document of ``vertical``; ValueError for an unknown one."""
    if vertical not in VERTICALS:
        raise ValueError(f"unknown vertical {vertical!r}; expected one of {', '.join(VERTICALS)}")
    return copy.deepcopy(_raw(vertical))
