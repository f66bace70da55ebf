"""Programs built from the vertical presets, and small helpers to vary them in a test."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenants.domain.program import Program
from tenants.presets import load_preset


def program_from(vertical: str, **sections: Any) -> Program:
    """The preset of ``vertical`` with top-level sections replaced or deep-merged (dicts merge)."""
    raw = load_preset(vertical)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = _merge(raw[key], value)
        else:
            raw[key] = copy.deepcopy(value)
    return Program.model_validate(raw)


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture(scope="session")
def clothing() -> Program:
    return Program.model_validate(load_preset("clothing"))


@pytest.fixture(scope="session")
def pharmacy() -> Program:
    return Program.model_validate(load_preset("pharmacy"))


@pytest.fixture(scope="session")
def hotel() -> Program:
    return Program.model_validate(load_preset("hotel"))


@pytest.fixture(scope="session")
def mall() -> Program:
    return Program.model_validate(load_preset("mall"))


@pytest.fixture(scope="session")
def blank() -> Program:
    return Program.model_validate(load_preset("blank"))
