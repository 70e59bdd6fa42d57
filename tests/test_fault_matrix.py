"""docs/reliability.md is the fault matrix of issue 12: every row names the test that
proves it. This module keeps the table honest: each test it names must exist, and each
row must name at least one (a row nobody tests is a claim, not a result)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "reliability.md"
_REF = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`")


def _rows() -> list[str]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith("| fault") and "---" not in line:
            rows.append(line)
    return rows


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _references(row: str) -> list[tuple[str, str | None]]:
    """(test file, test name or None) for each test a row names; ``::name`` continues the
    file named before it in the row."""
    found: list[tuple[str, str | None]] = []
    current: str | None = None
    for match in _REF.finditer(row):
        file, name, continued = match.groups()
        if file:
            current = file
            found.append((file, name))
        elif continued and current:
            found.append((current, continued))
    return found


ROWS = _rows()


def test_the_table_has_rows() -> None:
    assert len(ROWS) >= 20


@pytest.mark.parametrize("row", ROWS, ids=[r.split("|")[1].strip()[:40] for r in ROWS])
def test_each_row_names_tests_that_exist(row: str) -> None:
    refs = _references(row)
    if "benchmarks/bench_scale.py" in row:  # a figure, not a test: the benchmark exists
        assert (ROOT / "benchmarks" / "bench_scale.py").is_file()
        return
    assert refs, f"no test named in: {row[:80]}"
    for file, name in refs:
        path = ROOT / file
        assert path.is_file(), file
        if name is not None:
            assert name in _functions(path), f"{file}::{name} does not exist"
