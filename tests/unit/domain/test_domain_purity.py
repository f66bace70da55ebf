"""The domain stays pure: no framework, ORM, queue or I/O imports, no clock reads, known error codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import tenants.domain
from tenants.domain.errors import ERROR_CODES, DomainError

DOMAIN = Path(tenants.domain.__file__).parent
SOURCES = sorted(DOMAIN.glob("*.py"))
FORBIDDEN_MODULES = {
    "flask",
    "flask_sqlalchemy",
    "sqlalchemy",
    "rq",
    "redis",
    "saas",
    "requests",
    "psycopg",
    "os",
    "pathlib",
    "io",
    "time",
    "random",
    "socket",
    "subprocess",
}
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic"}


def imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_domain_imports_no_framework_orm_queue_or_io_module():
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert not imported_modules(tree) & FORBIDDEN_MODULES, path.name


def test_the_domain_never_reads_the_clock():
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in CLOCK_CALLS:
                assert not (isinstance(node.value, ast.Name) and node.value.id in {"date", "datetime", "time"}), (
                    f"{path.name}:{node.lineno}"
                )


def test_every_error_code_raised_is_declared_for_translation():
    raised = set()
    for path in SOURCES:
        raised |= set(re.findall(r'DomainError\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert raised
    assert raised <= ERROR_CODES


def test_an_undeclared_error_code_is_a_programming_error():
    try:
        DomainError("no_such_code")
    except ValueError:
        pass
    else:  # pragma: no cover
        raise AssertionError("an unknown code must not reach users")
    error = DomainError("insufficient_points", needed=5, available=2)
    assert (error.code, dict(error.params)) == ("insufficient_points", {"needed": 5, "available": 2})
