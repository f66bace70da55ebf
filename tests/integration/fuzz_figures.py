"""The figures the fuzzing tests write for `make fuzz` to print (test-output/fuzz/*.txt)."""

from __future__ import annotations


def write_figures(name: str, line: str) -> None:
    from tests.conftest import OUTPUT

    folder = OUTPUT / "fuzz"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(line + "\n")
