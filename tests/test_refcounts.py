"""No signal emission may take a reference from ``True``.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without the reference it owes the
caller: every ``signal.emit(...)`` made from Python takes one reference from ``True``, and
the interpreter aborts ("Fatal Python error: bool_dealloc", exit 134) once the count reaches
zero, which a CLI batch of about eight frames per layer did at exit. The code emits through
``lrc_toolbox.core.qt_compat.emit_signal`` and forwards the manager's signals to the API's
signal to signal (see ``docs/dependencies.md``).

These tests count ``sys.getrefcount(True)`` around N emissions on the objects that emit:
the helper, a whole simulated batch (the manager and the API), and the dashboard's widgets.
On the bug every emission takes one reference, so the checks use N/4 as the line: a binding
that does it again fails them, whatever else briefly holds a ``True``. A static check keeps
``.emit`` from coming back. Runs that could take many references run in a child process,
so a failure is a message, not an abort of the test session.
"""

from __future__ import annotations

import ast
import gc
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from Qt import QtCore
from sim_helpers import SHOT
from test_cli_render import cli_env

from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.records.batch import BatchPlan, BatchSummary
from lrc_toolbox.records.models import RenderConfig, RenderStatus, WorkerState

ROOT = Path(__file__).resolve().parents[1]
N = 400


class Emitter(QtCore.QObject):
    """One signal of each shape the code base emits."""

    nothing = QtCore.Signal()
    started = QtCore.Signal(str, int, str)
    log = QtCore.Signal(float, str, str, str)
    failed = QtCore.Signal(str, str, int, str, bool)
    plan = QtCore.Signal(str, BatchPlan)
    summary = QtCore.Signal(BatchSummary)
    anything = QtCore.Signal(object)


SHAPES: dict[str, tuple[Any, ...]] = {
    "nothing": (),
    "started": ("gpu0", 4242, "GPU 0"),
    "log": (1.5, "info", "gpu0", "Rendering frame 1"),
    "failed": ("gpu0", "BG", 1, "CUDA error", True),
    "plan": ("b1", BatchPlan(RenderConfig(scene="a.ma"), "a", "arnold", {"BG": [1, 2]})),
    "summary": (BatchSummary(),),
    "anything": (True,),
}


def true_refs_taken(action: Callable[[], object], times: int = N) -> int:
    """How many references to True ``times`` calls of ``action`` took (negative: gave).

    Only on Python < 3.12: from 3.12 ``True`` is immortal (PEP 683), so a binding that
    drops references to it cannot free it, and extensions built for the stable ABI still
    move its raw count (PySide6 6.8 on 3.13 delivering a bool to a Python slot does), which
    says nothing about a crash. The legs that matter (3.10, 3.11, newest) measure."""
    if sys.version_info >= (3, 12):
        pytest.skip("True is immortal from Python 3.12 (PEP 683): its count proves nothing")
    action()  # first calls fill caches
    # garbage left by earlier tests (records hold True) must not be collected in between:
    # that gives references back and hides, or fakes, what the binding takes
    gc.collect()
    gc.disable()
    try:
        before = sys.getrefcount(True)
        for _ in range(times):
            action()
        return before - sys.getrefcount(True)
    finally:
        gc.enable()


def run_child(code: str, tmp_path: Path, **env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON line and leaves by os._exit
    (a drift would abort a normal exit)."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**cli_env(tmp_path), "QT_QPA_PLATFORM": "offscreen", **env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


# ------------------------------------------------------------------------------ the helper


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_emit_signal_takes_no_reference_from_true(name: str) -> None:
    emitter = Emitter()
    received: list[int] = []
    getattr(emitter, name).connect(lambda *args: received.append(len(args)))

    taken = true_refs_taken(lambda: emit_signal(emitter, name, *SHAPES[name]))

    assert received == [len(SHAPES[name])] * (N + 1)
    assert taken < N // 4, f"{N} emissions of {name} took {taken} references from True"


def test_emit_signal_avoids_what_signal_emit_does_on_this_binding(tmp_path: Path) -> None:
    # In a child: on PySide6 6.12.0 signal.emit takes exactly one reference per call, which
    # the measurement must see; emit_signal takes none on every binding.
    found = run_child(
        """
        import json, os, sys
        from Qt import QtCore, __binding__, __binding_version__
        from lrc_toolbox.core.qt_compat import emit_signal
        app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
        class E(QtCore.QObject):
            s = QtCore.Signal(str)
        e = E()
        e.s.connect(lambda text: None)
        def taken(action):
            action()
            before = sys.getrefcount(True)
            for _ in range(200):
                action()
            return before - sys.getrefcount(True)
        print(json.dumps({
            "binding": f"{__binding__} {__binding_version__}",
            "signal_emit": taken(lambda: e.s.emit("x")),
            "emit_signal": taken(lambda: emit_signal(e, "s", "x")),
        }))
        sys.stdout.flush()
        os._exit(0)
        """,
        tmp_path,
    )
    assert found["signal_emit"] in (0, 200), found  # the measurement is exact
    assert found["emit_signal"] == 0, found


def test_emit_signal_reaches_direct_and_queued_connections(qtbot: Any) -> None:
    emitter = Emitter()
    direct: list[tuple[Any, ...]] = []
    queued: list[tuple[Any, ...]] = []
    emitter.failed.connect(lambda *args: direct.append(args))
    emitter.failed.connect(
        lambda *args: queued.append(args), QtCore.Qt.ConnectionType.QueuedConnection
    )

    emit_signal(emitter, "failed", "gpu0", "BG", 7, "CUDA error", False)

    assert direct == [("gpu0", "BG", 7, "CUDA error", False)]
    qtbot.waitUntil(lambda: queued == direct)


def test_emit_signal_passes_records_through_unchanged() -> None:
    emitter = Emitter()
    plan = SHAPES["plan"][1]
    received: list[object] = []
    emitter.plan.connect(lambda _id, value: received.append(value))

    emit_signal(emitter, "plan", "b1", plan)

    assert received == [plan] and received[0] is plan


def test_emit_signal_picks_a_cpp_signal_by_its_argument_count() -> None:
    # dataChanged has a default argument: Qt lists a 3- and (PySide6 6.8+) a 2-argument form
    model = QtCore.QStringListModel(["a", "b"])
    roles: list[int] = []
    model.dataChanged.connect(lambda top, bottom, changed=(): roles.append(len(changed)))

    emit_signal(model, "dataChanged", model.index(0, 0), model.index(1, 0), [0, 2])

    assert roles == [2]


def test_emit_signal_names_an_unknown_signal() -> None:
    with pytest.raises(AttributeError, match="Emitter has no signal 'finished' with 0 arg"):
        emit_signal(Emitter(), "finished")


def test_emit_signal_names_a_wrong_argument_count() -> None:
    with pytest.raises(AttributeError, match="Emitter has no signal 'started' with 2 arg"):
        emit_signal(Emitter(), "started", "gpu0", 1)


# ---------------------------------------------------------------- the manager and the API


BATCH_DRIFT = """
    import contextlib, gc, io, json, os, shutil, sys, tempfile
    from Qt import QtCore
    app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
    from lrc_toolbox.cli.batch_render_cli import main
    def run(frames):
        out = tempfile.mkdtemp()
        # what an earlier run left for the collector (objects holding True) is freed
        # before counting, or a collection during this run reads as references taken
        gc.collect()
        before = sys.getrefcount(True)
        with contextlib.redirect_stdout(io.StringIO()):
            rc = main(["render", "--scene", sys.argv[1], "--frames", frames, "--simulate",
                       "--output", out, "--json"])
        shutil.rmtree(out)
        gc.collect()
        return rc, before - sys.getrefcount(True)
    run("1-2")  # imports and caches
    small = run("1-2")
    big = run("1-20")
    print(json.dumps({"small": small, "big": big}))
    sys.stdout.flush()
    os._exit(0)
"""


def test_a_simulated_batch_takes_no_reference_from_true_per_frame(tmp_path: Path) -> None:
    # the CLI's whole path in one process: manager, API (forwarding signal to signal), the
    # event stream; 2 layers x 18 more frames with the bug took about 28 references a frame
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(BATCH_DRIFT), str(SHOT)],
        cwd=ROOT,
        env={**cli_env(tmp_path), "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    (small_rc, small), (big_rc, big) = found["small"], found["big"]
    assert (small_rc, big_rc) == (0, 0)
    extra_frames = 2 * 18
    assert big - small < extra_frames, f"{extra_frames} more frames took {big - small} refs"


def test_a_cli_batch_of_many_frames_exits_cleanly(tmp_path: Path) -> None:
    # the report: PySide6 6.12 ended `render` of about eight frames or more with exit 134
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrc_toolbox.cli",
            "render",
            "--scene",
            str(SHOT),
            "--frames",
            "1-40",
            "--simulate",
            "--output",
            str(tmp_path / "images"),
        ],
        cwd=ROOT,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "bool_dealloc" not in result.stderr
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done: 80 done" in result.stderr


# ------------------------------------------------------------------------------ the dashboard


def test_the_config_widgets_changed_signal_takes_no_reference_from_true(qtbot: Any) -> None:
    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.ui.widgets.render_config_widget import RenderConfigWidget

    widget = RenderConfigWidget(Settings())
    qtbot.addWidget(widget)
    changes: list[None] = []
    widget.changed.connect(lambda: changes.append(None))
    texts = iter(f"/tmp/out{i}" for i in range(2 * N + 2))

    taken = true_refs_taken(lambda: widget.output_edit.setText(next(texts)))

    assert len(changes) >= N
    assert taken < N // 4, f"{N} edits took {taken} references from True"


def test_the_log_views_follow_tail_signal_takes_no_reference_from_true(qtbot: Any) -> None:
    from lrc_toolbox.ui.widgets.log_view import LogView

    view = LogView()
    qtbot.addWidget(view)
    seen: list[bool] = []
    view.follow_tail_changed.connect(seen.append)
    flips = iter([False, True] * (N + 1))

    taken = true_refs_taken(lambda: view.set_follow_tail(next(flips)))

    assert len(seen) == N + 1
    assert taken < N // 4, f"{N} flips took {taken} references from True"


def test_the_active_renders_model_takes_no_reference_from_true(qtbot: Any) -> None:
    from lrc_toolbox.ui.widgets.active_renders import ActiveRendersModel

    model = ActiveRendersModel()
    changes: list[int] = []
    model.dataChanged.connect(lambda *args: changes.append(1))
    percents = iter(range(2 * N + 2))

    def tick() -> None:
        percent = float(next(percents) % 100)
        status = RenderStatus(
            worker_id="gpu1",
            state=WorkerState.RENDERING,
            layer="BG",
            current_frame=1,
            progress_percent=percent,
            started=1000.0,
        )
        model.update_statuses([status], now=2000.0)

    taken = true_refs_taken(tick)

    assert len(changes) >= N - 10  # every tick changes the progress cell (new row: none)
    assert taken < N // 4, f"{N} updates took {taken} references from True"


# ------------------------------------------------------------------------------ the source


def _signal_emits(source: str, name: str) -> list[str]:
    """``<expr>.<signal>.emit`` (called or passed as a slot) in one file: the pattern.
    ``self.emit(...)`` (the worker's protocol writer) is no signal, and ``QObject.emit`` is
    what ``emit_signal`` calls: neither is matched."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "emit"
            and isinstance(node.value, (ast.Attribute, ast.Subscript))
            and not ast.unparse(node.value).endswith("QObject")  # the class's emit: the fix
        ):
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_code_emits_a_signal_through_signal_instance_emit() -> None:
    files = [
        *sorted((ROOT / "lrc_toolbox").rglob("*.py")),
        *sorted((ROOT / "tests").glob("*.py")),
        *sorted((ROOT / "benchmarks").glob("*.py")),
        *sorted((ROOT / "docs").glob("*.py")),
    ]
    found = [
        hit
        for path in files
        for hit in _signal_emits(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == [], "use emit_signal() or a signal-to-signal connection:\n" + "\n".join(found)


def test_the_static_check_sees_the_pattern() -> None:
    source = (
        "self.done.emit(1)\nsig.connect(api.log.emit)\nx.s[str].emit('a')\n"
        "self.emit('f', 1)\nQtCore.QObject.emit(self, '2s()')\n"
    )
    hits = _signal_emits(source, "sample.py")
    assert [hit.split(": ", 1)[1] for hit in hits] == [
        "self.done.emit",
        "api.log.emit",
        "x.s[str].emit",
    ]


# ------------------------------------------------------------------------------ None

# PySide6 6.12.0 on Python < 3.12 returns None from every method that returns nothing
# without the reference it owes: an open dashboard loses about 60 references a second and
# the interpreter aborts ("Fatal Python error: none_dealloc") once None's count reaches zero.
# lrc_toolbox.core.qtcore adds a reserve once where a probe finds it (docs/dependencies.md).


def test_none_gets_a_reserve_exactly_where_void_calls_take_its_references(
    tmp_path: Path,
) -> None:
    found = run_child(
        """
        import json, os, sys
        from Qt import QtCore, __binding__, __binding_version__
        probe = QtCore.QObject()
        probe.setObjectName("")
        before = sys.getrefcount(None)
        for _ in range(200):
            probe.setObjectName("")
        taken = before - sys.getrefcount(None)
        from lrc_toolbox.core import qtcore
        print(json.dumps({
            "binding": f"{__binding__} {__binding_version__}",
            "taken": taken,
            "reserved": qtcore.NONE_RESERVED,
            "immortal": sys.version_info >= (3, 12),
            "left": sys.getrefcount(None),
        }))
        sys.stdout.flush()
        os._exit(0)
        """,
        tmp_path,
    )
    if found["immortal"]:
        assert found["reserved"] is False, found  # nothing to protect from 3.12 (PEP 683)
        return
    assert found["taken"] in (0, 200), found  # the measurement is exact
    assert found["reserved"] is (found["taken"] == 200), found
    if found["reserved"]:
        assert found["left"] > 2**47, found


def test_a_long_dashboard_session_ends_cleanly(tmp_path: Path) -> None:
    # an hour of an open dashboard's void calls (about 60 a second), several times None's
    # whole count in such a process (tens of thousands), after importing the toolbox window's
    # module as `python -m lrc_toolbox.ui` and Maya's menu do; then a normal exit
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys
                from Qt import QtCore, QtWidgets
                from lrc_toolbox.ui.main_window import MainWindow
                app = QtWidgets.QApplication([])
                timer = QtCore.QTimer()
                for _ in range(216_000):
                    timer.stop()
                app.processEvents()
                print("ended")
                """
            ),
        ],
        cwd=ROOT,
        env={**cli_env(tmp_path), "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "none_dealloc" not in result.stderr
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ended" in result.stdout
