"""The package's layers, read from the imports of every module (``docs/architecture.md``).

- ``records/`` is the ground floor: it imports nothing else from the project.
- ``scene/``, ``utils/`` and ``config/`` import nothing from ``core/``, ``cli/``, ``ui/``,
  ``sim/`` or ``maya_host/``.
- ``core/`` imports nothing from ``ui/``, ``cli/``, ``sim/`` or ``maya_host/``.
- Autodesk's ``maya`` is imported only in ``maya_host/`` and ``worker/`` (and by the
  simulator's stand-in package, which *is* a ``maya``).

Every import counts, also one inside a function or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lrc_toolbox"
STAND_IN_MAYA = PACKAGE / "sim" / "maya_stub"

#: package -> the project's packages it must not import
FORBIDDEN = {
    "records": {"*"},
    "scene": {"core", "cli", "ui", "sim", "maya_host"},
    "utils": {"core", "cli", "ui", "sim", "maya_host"},
    "config": {"core", "cli", "ui", "sim", "maya_host"},
    "core": {"ui", "cli", "sim", "maya_host"},
    "service": {"ui", "cli", "sim", "maya_host"},
}
MAYA_DOORS = {"maya_host", "worker"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in a file."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]  # its package
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # 'from lrc_toolbox import core' imports core
                if module == "lrc_toolbox":
                    yield node.lineno, f"lrc_toolbox.{alias.name}"


def _subpackage(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def _violations() -> list[str]:
    found = []
    for path in _modules():
        where = _subpackage(path)
        rel = path.relative_to(PACKAGE.parent)
        for line, module in _imports(path):
            top, _, rest = module.partition(".")
            if top == "maya" and where not in MAYA_DOORS and STAND_IN_MAYA not in path.parents:
                found.append(f"{rel}:{line} imports {module}: Maya only in maya_host/, worker/")
            if top != "lrc_toolbox" or not rest:
                continue
            target = rest.split(".")[0]
            banned = FORBIDDEN.get(where, set())
            if target != where and ("*" in banned or target in banned):
                found.append(f"{rel}:{line} imports {module}: {where}/ may not import {target}/")
    return found


def test_the_import_rules_hold() -> None:
    assert _violations() == []


def test_records_imports_nothing_else_from_the_project() -> None:
    bad = [
        module
        for path in (PACKAGE / "records").glob("*.py")
        for _, module in _imports(path)
        if module.startswith("lrc_toolbox.") and not module.startswith("lrc_toolbox.records")
    ]
    assert bad == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from lrc_toolbox.core import scheduler\n", "scene/ may not import core/"),
        ("import maya.cmds\n", "Maya only in maya_host/, worker/"),
        ("from ..cli import batch_render_cli\n", "scene/ may not import cli/"),
    ],
)
def test_the_checker_sees_a_forbidden_import(
    source: str, expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "lrc_toolbox"
    (fake / "scene").mkdir(parents=True)
    (fake / "scene" / "bad.py").write_text(source, encoding="utf-8")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    monkeypatch.setitem(globals(), "STAND_IN_MAYA", fake / "sim" / "maya_stub")
    (violation,) = _violations()
    assert expected in violation
