"""A lean start outside Maya: ``render --dry-run`` loads no Qt at all (planning is Qt-free:
``core/batch_planner.py``), a render QtCore only (no QtWidgets, no QtGui), through
``lrc_toolbox.core.qtcore``, and a dashboard that imports Qt.py later in the same
process gets the same classes. Each check runs in a fresh interpreter, as ``sys.modules``
of the test process already holds Qt. No timings here: benchmarks/bench_startup.py."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sim_helpers import SHOT
from test_cli_render import cli_env

from lrc_toolbox.core import qtcore

HEAVY = ("Qt", "QtWidgets", "QtGui")
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lrc_toolbox"
#: the one module that may import a binding itself: QtCore without Qt.py's widgets
EXCEPTION = "core/qtcore.py"
BINDINGS = ("PySide2", "PySide6", "PyQt5", "PyQt6", "shiboken2", "shiboken6")


def run_python(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_render_dry_run_imports_no_qt_at_all(tmp_path: Path) -> None:
    code = f"""
import json, sys
from lrc_toolbox.cli.batch_render_cli import main
code = main(["render", "--scene", {str(SHOT)!r}, "--frames", "1-3", "--simulate", "--dry-run"])
loaded = sorted(m for m in sys.modules if m == "Qt" or m.split(".")[0] in {BINDINGS!r})
print(json.dumps({{"exit": code, "loaded": loaded}}))
"""
    result = run_python(tmp_path, code)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"exit": 0, "loaded": []}


def test_the_api_loads_qtcore_only(tmp_path: Path) -> None:
    code = f"""
import json, sys
from lrc_toolbox.core.batch_render_api import BatchRenderAPI
loaded = sorted(m for m in sys.modules if m == "Qt" or m.rsplit(".", 1)[-1] in {HEAVY!r})
print(json.dumps({{"loaded": loaded,
                   "qtcore": any(m.endswith(".QtCore") for m in sys.modules)}}))
"""
    result = run_python(tmp_path, code)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"loaded": [], "qtcore": True}


def test_qt_py_imported_after_the_core_shares_its_classes(tmp_path: Path) -> None:
    code = """
import sys
from lrc_toolbox.core.qtcore import QtCore
assert "Qt" not in sys.modules, "the core imported Qt.py"
from lrc_toolbox.core.batch_render_api import BatchRenderAPI

from Qt import QtCore as QtPyCore, QtWidgets
assert QtPyCore.QObject is QtCore.QObject and QtPyCore.Signal is QtCore.Signal
assert issubclass(BatchRenderAPI, QtPyCore.QObject)

class Sender(QtCore.QObject):
    said = QtCore.Signal(str)

app = QtWidgets.QApplication([])
label = QtWidgets.QLabel()
sender = Sender()
sender.said.connect(label.setText)
from lrc_toolbox.core.qt_compat import emit_signal
emit_signal(sender, "said", "hello")
timer = QtCore.QTimer()
timer.setSingleShot(True)
timer.timeout.connect(lambda: label.setText(label.text() + " again"))
timer.timeout.connect(app.quit)
timer.start(0)
from lrc_toolbox.core.qt_compat import exec_loop
exec_loop(app)
print(label.text())
"""
    result = run_python(tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "hello again"


def test_with_qt_py_loaded_the_core_takes_its_qtcore() -> None:
    from Qt import QtCore as QtPyCore

    assert qtcore.load_qtcore() is QtPyCore


@pytest.mark.parametrize(
    ("preferred", "order"),
    [
        ("", ["PySide6", "PyQt6", "PySide2", "PyQt5"]),
        ("PySide2", ["PySide2"]),
        (f"PySide2{os.pathsep}PySide6", ["PySide2", "PySide6"]),
    ],
)
def test_the_binding_order_is_qt_pys(
    monkeypatch: pytest.MonkeyPatch, preferred: str, order: list[str]
) -> None:
    monkeypatch.delenv("QT_PREFERRED_BINDING_JSON", raising=False)
    monkeypatch.setenv("QT_PREFERRED_BINDING", preferred)
    assert qtcore.binding_order() == order


def test_a_json_preference_leaves_the_choice_to_qt_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_PREFERRED_BINDING_JSON", '{"default": ["PySide2"]}')
    assert qtcore.binding_order() == []


def _qt_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every ``import X`` / ``from X import ...`` of Qt.py or a binding."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [(node.module, [alias.name for alias in node.names])]
        elif isinstance(node, ast.Import):
            modules = [(alias.name, []) for alias in node.names]
        else:
            continue
        found += [(m, n) for m, n in modules if m.split(".")[0] in ("Qt", *BINDINGS)]
    return found


def test_qt_only_through_qt_py_and_only_qtcore_outside_the_ui() -> None:
    """docs/architecture.md: Qt only through Qt.py; the windows (``ui/``, ``maya_host/``)
    import it as they need, everything else takes QtCore from ``core/qtcore.py``, the one
    exception, which imports the binding's QtCore itself so that the command line skips
    Qt.py's widgets."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name == EXCEPTION:
            continue
        for module, names in _qt_imports(path):
            where = f"{name}: {module} {names}"
            if module.split(".")[0] in BINDINGS:
                wrong.append(f"{where}: a binding, not Qt.py")
            elif not name.startswith(("ui/", "maya_host/")):  # the windows: Qt.py as it is
                wrong.append(f"{where}: take QtCore from lrc_toolbox.core.qtcore")
    assert wrong == []
