"""Issue 13's done-when: renders survive the process that hosts the dashboard.

A subprocess hosts the dashboard as Maya does (a ``QApplication``, a service-backed
``BatchRenderAPI`` and the Batch Render Manager window), starts a batch from the window and
is then SIGKILLed mid-batch, as Maya would crash. Every frame must still render (the batch
runs in the local render service, not in the killed process), and a NEW dashboard attached
afterwards must show the running batch with its real counts. A dashboard whose process
exits normally (the window closed, "keep rendering") must leave the batch rendering too.

Everything runs on the simulator with a private temp root and job store (``LRC_*``); the
service is always stopped in teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("Qt")

from sim_helpers import SHOT

from lrc_toolbox.config.batch_render_defaults import load_settings
from lrc_toolbox.core.batch_lock import process_alive
from lrc_toolbox.core.job_store import JobStore
from lrc_toolbox.core.service_api import ServiceBatchAPI
from lrc_toolbox.records.models import BatchState, FrameState
from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog

pytestmark = [pytest.mark.qt, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
#: 2 layers x 12 frames of about 1 s each on 3 workers (4 simulated GPUs, one kept for
#: "Maya"): about 10 s, long enough to kill the host and attach a new dashboard mid-batch
LAYERS = ["BG", "CHAR"]
FRAMES = "1-12"
TIME_SCALE = "1.0"
#: seconds for anything to happen on a busy 2-core machine
TIMEOUT = 120.0

#: the process that hosts the dashboard, as Maya would: argv[1] is "crash" (start a batch,
#: print its id, keep running until killed) or "close" (start, print, close the window as
#: the artist would, answering "keep rendering", and exit)
HOST = r"""
import sys

from Qt import QtCompat, QtCore, QtWidgets

app = QtWidgets.QApplication(sys.argv[:1])

from lrc_toolbox.config.batch_render_defaults import load_settings
from lrc_toolbox.core.service_api import ServiceBatchAPI
from lrc_toolbox.records.models import RenderConfig
from lrc_toolbox.ui.main_window import MainWindow

mode, scene, output, layers, frames = sys.argv[1:6]
api = ServiceBatchAPI(load_settings().settings, simulate=True, client="crash-test host")
app.aboutToQuit.connect(api.shutdown)
window = MainWindow(api)
window.show()
dialog = window.open_batch_render_dialog()
dialog.ask_close_while_rendering = lambda: "background"
config = RenderConfig(
    scene=scene, layers=layers.split(","), frames=frames, output_dir=output, frame_timeout=60.0
)
if not dialog.start(config):
    print("ERROR", dialog.message_area.text(), flush=True)
    sys.exit(2)
# the service announces the batch a moment later: a double click must not queue a second
if dialog.start(config) or dialog.start_button.isEnabled():
    print("ERROR a second start was accepted before the batch was announced", flush=True)
    sys.exit(3)


def started():
    if dialog.batch_id is None:
        return
    poll.stop()
    print("BATCH", dialog.batch_id, dialog.counts()["total"], flush=True)
    if mode == "close":
        QtCore.QTimer.singleShot(300, window.close)


poll = QtCore.QTimer()
poll.timeout.connect(started)
poll.start(20)
code = int(QtCompat.QApplication.exec_())
print("EXIT", code, "running" if dialog.running else "idle", flush=True)
sys.exit(code)
"""


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def service_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private temp root and job store for the service, the host and this test; the
    service (and a host still alive) are stopped afterwards whatever happened."""
    temp_root = tmp_path / "tmp"
    values = {
        "LRC_TEMP_ROOT": str(temp_root),
        "LRC_JOB_STORE_PATH": str(tmp_path / "jobs.sqlite"),
        "LRC_SIMULATE_GPUS": "4",
        "LRC_MIN_FREE_DISK_MB": "0",
        "LRC_WARN_FREE_DISK_MB": "0",
        "LRC_STOP_GRACE_SECONDS": "1",
        "LRC_SERVICE_IDLE_SECONDS": "2",
        "LRC_SIM_TIME_SCALE": TIME_SCALE,
        "LRC_SIM_STATE_DIR": str(tmp_path / "sim-state"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    try:
        yield tmp_path
    finally:
        while _HOSTS:
            host = _HOSTS.pop()
            if host.poll() is None:
                host.kill()
            host.communicate(timeout=30)
        stop_service(temp_root)


#: the hosts the running test started (killed in teardown if still alive)
_HOSTS: list[subprocess.Popen[str]] = []


def stop_service(temp_root: Path) -> None:
    """SIGTERM the service of ``temp_root`` (it stops its batch and exits), then kill it."""
    info = temp_root / "service" / "service.json"
    try:
        pid = int(json.loads(info.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(OSError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not process_alive(pid):
            return


def start_host(tmp_path: Path, mode: str, layers: list[str], frames: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    host = subprocess.Popen(  # an argument list, never a shell
        [
            sys.executable,
            "-c",
            HOST,
            mode,
            str(SHOT),
            str(tmp_path / "images"),
            ",".join(layers),
            frames,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=str(tmp_path),
    )
    _HOSTS.append(host)
    return host


def read_batch_id(host: subprocess.Popen[str]) -> tuple[str, int]:
    """The batch id (and frame count) the host prints once its dashboard shows the batch."""
    assert host.stdout is not None
    seen = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = host.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("BATCH "):
            _, batch_id, total = line.split()
            return batch_id, int(total)
    host.kill()
    rest = host.communicate(timeout=30)[0] or ""
    raise AssertionError("the host never started its batch:\n" + "".join(seen) + rest)


def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs.sqlite")


def wait_for(condition: Any, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def wait_until_done(tmp_path: Path, batch_id: str) -> None:
    jobs = store(tmp_path)
    try:
        wait_for(
            lambda: (
                jobs.get_batch(batch_id).state
                in (BatchState.DONE, BatchState.FAILED, BatchState.CANCELLED)
            ),
            f"batch {batch_id} to finish",
        )
        record = jobs.get_batch(batch_id)
        service_log = tmp_path / "tmp" / "service" / "service.log"
        log = service_log.read_text(errors="replace") if service_log.exists() else ""
        assert record.state is BatchState.DONE, f"{record.state}: {record.error}\n{log[-3000:]}"
        frames = jobs.frames(batch_id)
        assert frames and all(f.state is FrameState.DONE for f in frames)
        images = [Path(path) for f in frames for path in f.outputs]
        assert len(images) >= len(frames)
        missing = [str(p) for p in images if not p.is_file()]
        assert not missing, missing[:5]
    finally:
        jobs.close()


def done_count(tmp_path: Path, batch_id: str) -> int:
    jobs = store(tmp_path)
    try:
        return jobs.get_batch(batch_id).counts.done
    finally:
        jobs.close()


# ----------------------------------------------------------------------------- tests


def test_a_dashboard_killed_mid_batch_leaves_every_frame_rendering_and_a_new_one_reattaches(
    qtbot: Any, service_env: Path
) -> None:
    tmp_path = service_env
    host = start_host(tmp_path, "crash", LAYERS, FRAMES)
    batch_id, total = read_batch_id(host)
    assert total == 24
    wait_for(lambda: done_count(tmp_path, batch_id) >= 2, "the first frames")
    host.send_signal(signal.SIGKILL)  # as Maya would crash: no clean-up at all
    assert host.wait(timeout=30) == -signal.SIGKILL
    killed_at = done_count(tmp_path, batch_id)
    assert killed_at < 24, "the batch ended before the host was killed"

    # a new dashboard, as in the next Maya: attached while the batch still renders
    api = ServiceBatchAPI(load_settings().settings, simulate=True, client="new dashboard")
    assert api.attached, "the render service did not outlive the dashboard's process"
    dialog = BatchRenderDialog(api)  # before the replay is delivered: it arrives as events
    qtbot.addWidget(dialog)
    try:
        qtbot.waitUntil(
            lambda: dialog.running and dialog.batch_id == batch_id and dialog.counts()["done"] > 0,
            timeout=int(TIMEOUT * 1000),
        )
        counts = dialog.counts()
        assert counts["total"] == 24 and counts["done"] >= killed_at
        qtbot.waitUntil(lambda: "/ 24 frames" in dialog.status_label.text(), timeout=5000)
        assert dialog.status_label.text() != "No batch yet."
        log = dialog.progress_widget.log_view.model
        qtbot.waitUntil(
            lambda: any(f"Showing batch {batch_id}" in line[-1] for line in log.lines()),
            timeout=5000,
        )
        assert dialog.stop_button.isEnabled() and not dialog.start_button.isEnabled()
        strip = dialog.progress_widget.frame_strip
        assert [row.name for row in strip.layers()] == LAYERS
        assert strip.totals()["done"] >= killed_at

        # a second window opened later on the same API adopts the batch from the job store
        late = BatchRenderDialog(api)
        qtbot.addWidget(late)
        try:
            assert late.running and late.batch_id == batch_id
            assert late.counts()["total"] == 24 and late.counts()["done"] >= killed_at
        finally:
            late.shutdown()

        wait_until_done(tmp_path, batch_id)
        qtbot.waitUntil(lambda: not dialog.running, timeout=int(TIMEOUT * 1000))
        assert dialog.counts()["done"] == 24
        # the status line follows at the dialog's next flush (100 ms), not with the signal
        qtbot.waitUntil(
            lambda: dialog.status_label.text().startswith("Done: 24 / 24 frames"), timeout=5000
        )
    finally:
        dialog.shutdown()
        api.shutdown()


def test_closing_the_dashboard_s_process_leaves_the_batch_rendering(service_env: Path) -> None:
    tmp_path = service_env
    host = start_host(tmp_path, "close", ["CHAR"], "1-9")
    batch_id, total = read_batch_id(host)
    assert total == 9
    output = host.communicate(timeout=TIMEOUT)[0]
    assert host.returncode == 0, output
    assert "EXIT 0" in output
    assert done_count(tmp_path, batch_id) < 9, "the batch ended before the window closed"
    wait_until_done(tmp_path, batch_id)
