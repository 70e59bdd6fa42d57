"""Make the dashboard screenshots of docs/user-guide.md, offscreen, on the simulator.

    python docs/make_screenshots.py            # writes docs/images/dashboard_*.png
    python docs/make_screenshots.py reattached # only dashboard_reattached.png
    python docs/make_screenshots.py failures resumed docked   # only those

Every picture is of the real dashboard driving real (simulated) worker processes:
``dashboard_idle.png`` (a scene read, ready to start), ``dashboard_rendering.png`` (mid-batch,
three GPU workers rendering), ``dashboard_error.png`` (a frame that failed, and a bad
frame list being typed) and ``dashboard_reattached.png`` (a dashboard opened after the one
that started the batch went away, as after a Maya crash: the batch renders on in the render
service and the new dashboard shows it), ``dashboard_failures.png`` (mid-batch: a frame that
failed for good listed with its reason, and a GPU whose worker was taken out of the batch),
``dashboard_resumed.png`` (a stopped batch resumed: the whole batch, not only the rest) and
``dashboard_docked.png`` (the dashboard at 640 x 480, as in a small Maya dock, mid-batch)
and ``dashboard_thumbnails.png`` (the frame preview of a chosen strip cell); ``farm_dialog.png``
("Send to farm" opened from the dashboard, an OpenJD bundle just exported).
Needs a Qt binding (PySide2 or PySide6) and Qt.py.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IMAGES = HERE / "images"
SCENE = ROOT / "lrc_toolbox" / "sim" / "scenes" / "shot010_lighting.ma"
SIZE = (1400, 900)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="lrc_screenshots_"))
for name in [n for n in os.environ if n.startswith("LRC_")]:
    del os.environ[name]  # no personal settings in the documentation
os.environ["LRC_PREFS_DIR"] = str(WORK / "prefs")
os.environ["LRC_SIM_STATE_DIR"] = str(WORK / "sim-state")

from Qt import QtWidgets  # noqa: E402

from lrc_toolbox.config.batch_render_defaults import Settings  # noqa: E402
from lrc_toolbox.core.batch_render_api import BatchRenderAPI  # noqa: E402
from lrc_toolbox.core.service_api import ServiceBatchAPI  # noqa: E402
from lrc_toolbox.records.farm import FarmTarget  # noqa: E402
from lrc_toolbox.records.models import WorkerState  # noqa: E402
from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog  # noqa: E402
from lrc_toolbox.ui.dialogs.farm_dialog import FarmDialog  # noqa: E402
from lrc_toolbox.ui.style import apply_maya_style  # noqa: E402


def wait_until(
    app: QtWidgets.QApplication,
    condition: Callable[[], bool],
    timeout: float,
    what: Callable[[], str] | None = None,
) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            seen = f": {what()}" if what is not None else ""
            raise TimeoutError(f"gave up waiting after {timeout:.0f} s{seen}")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QtWidgets.QApplication, seconds: float = 0.4) -> None:
    """Let the 100 ms flush and a system refresh run before a picture is taken."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(dialog: QtWidgets.QDialog, name: str) -> Path:
    path = IMAGES / name
    if not dialog.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


class ScreenshotDialog(BatchRenderDialog):
    """The dashboard, its questions answered: Stop stops, closing stops."""

    def confirm_stop(self, frames_left: int, seconds_running: float) -> bool:
        return True

    def ask_close_while_rendering(self) -> str:
        return "stop"


def settings(**changes: object) -> Settings:
    values: dict[str, object] = {
        "simulate_gpus": 4,
        "temp_root": str(WORK / "tmp"),
        "job_store_path": str(WORK / "jobs.sqlite"),
        "min_free_disk_mb": 0,
        "warn_free_disk_mb": 0,
        "stop_grace_seconds": 1.0,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def reattached(app: QtWidgets.QApplication) -> None:
    """A batch started from one dashboard, which then goes away (as Maya would crash); a new
    dashboard attaches to the render service mid-batch and shows it."""
    os.environ["LRC_SIM_TIME_SCALE"] = "0.5"
    os.environ["LRC_SIM_CONFIG"] = json.dumps(
        {"startup": 1.0, "frame_cost": {"BG": 4, "CHAR": 6}, "progress_steps": 25}
    )
    service_settings = settings(service_idle_seconds=3.0)
    first = ServiceBatchAPI(service_settings, simulate=True, client="Maya (before the crash)")
    old = ScreenshotDialog(first)
    old.config_widget.set_output_dir(str(WORK / "project" / "images"))
    old.set_scene(str(SCENE))
    wait_until(app, lambda: old.config_widget.scene() is not None, 20)
    old.config_widget.set_frames("1-24")
    assert old.start(), old.message_area.text()
    wait_until(app, lambda: old.counts()["done"] >= 7, 120)
    old.shutdown()
    first.shutdown()  # the window and its API are gone; the batch is not
    settle(app, 1.0)

    api = ServiceBatchAPI(service_settings, simulate=True, client="Maya (restarted)")
    dialog = ScreenshotDialog(api)
    dialog.resize(*SIZE)
    dialog.config_widget.set_output_dir(str(WORK / "project" / "images"))
    dialog.set_scene(str(SCENE))
    dialog.show()
    try:
        wait_until(app, lambda: dialog.running and dialog.counts()["done"] >= 9, 60)
        wait_until(
            app,
            lambda: sum(s.state is WorkerState.RENDERING for s in api.get_render_status()) == 3,
            60,
        )
        settle(app, 0.8)
        save(dialog, "dashboard_reattached.png")
    finally:
        if dialog.running:
            dialog.stop()
            wait_until(app, lambda: not dialog.running, 60)
        dialog.shutdown()
        api.shutdown()
        for name in ("LRC_SIM_TIME_SCALE", "LRC_SIM_CONFIG"):
            os.environ.pop(name, None)


def _fresh_dialog(app: QtWidgets.QApplication, size: tuple[int, int] = SIZE) -> ScreenshotDialog:
    api = BatchRenderAPI(settings(), simulate=True)
    dialog = ScreenshotDialog(api)
    dialog.resize(*size)
    dialog.config_widget.set_output_dir(str(WORK / "project" / "images"))
    dialog.set_scene(str(SCENE))
    dialog.show()
    wait_until(app, lambda: dialog.config_widget.scene() is not None, 20)
    return dialog


def _close(app: QtWidgets.QApplication, dialog: BatchRenderDialog) -> None:
    api = dialog.api
    if api.is_running:
        api.stop_all_renders()
        wait_until(app, lambda: not api.is_running, 30)
    dialog.shutdown()
    api.shutdown()
    for name in [n for n in os.environ if n.startswith("LRC_SIM_") and n != "LRC_SIM_STATE_DIR"]:
        del os.environ[name]


def failures(app: QtWidgets.QApplication) -> None:
    """Mid-batch: BG frame 3 failed for good (listed at once, with its reason) and the
    first worker to start was taken out of the batch (its licence failed)."""
    os.environ["LRC_SIM_TIME_SCALE"] = "0.5"
    os.environ["LRC_SIM_CONFIG"] = json.dumps(
        {
            "startup": 1.0,
            "frame_cost": {"BG": 3, "CHAR": 5},
            "progress_steps": 25,
            "faults": [
                {"kind": "render_error", "frame": 3, "layer": "BG"},
                {"kind": "licence", "times": 1},
            ],
        }
    )
    dialog = _fresh_dialog(app)
    try:
        dialog.config_widget.set_frames("1-24")
        dialog.config_widget.attempts_spin.setValue(1)
        assert dialog.start(), dialog.message_area.text()
        failed = dialog.progress_widget.failed_list
        wait_until(
            app,
            lambda: (
                failed.count() >= 1
                and any(s.state is WorkerState.DISABLED for s in dialog.api.get_render_status())
                and dialog.counts()["done"] >= 6
            ),
            120,
            lambda: (
                f"{failed.count()} listed, {dialog.counts()}, workers "
                f"{[(s.worker_id, s.state.value) for s in dialog.api.get_render_status()]}"
            ),
        )
        settle(app, 0.6)
        save(dialog, "dashboard_failures.png")
    finally:
        _close(app, dialog)


def resumed(app: QtWidgets.QApplication) -> None:
    """A batch stopped after a few frames, then resumed: the dashboard shows the whole
    batch (its earlier frames done on the strip, the counts out of all frames)."""
    os.environ["LRC_SIM_TIME_SCALE"] = "0.5"
    os.environ["LRC_SIM_CONFIG"] = json.dumps(
        {"startup": 1.0, "frame_cost": {"BG": 3, "CHAR": 5}, "progress_steps": 25}
    )
    dialog = _fresh_dialog(app)
    try:
        dialog.config_widget.set_frames("1-24")
        assert dialog.start(), dialog.message_area.text()
        wait_until(app, lambda: dialog.counts()["done"] >= 8, 120)
        dialog.stop()
        wait_until(app, lambda: not dialog.running, 60)
        settle(app, 0.3)
        assert dialog.resume(), dialog.message_area.text()
        wait_until(app, lambda: dialog.running, 30)
        wait_until(
            app,
            lambda: (
                sum(s.state is WorkerState.RENDERING for s in dialog.api.get_render_status()) == 3
            ),
            60,
        )
        settle(app, 1.5)
        save(dialog, "dashboard_resumed.png")
    finally:
        _close(app, dialog)


def docked(app: QtWidgets.QApplication) -> None:
    """The dashboard at 640 x 480, the size of a small Maya dock, mid-batch."""
    os.environ["LRC_SIM_TIME_SCALE"] = "0.5"
    os.environ["LRC_SIM_CONFIG"] = json.dumps(
        {"startup": 1.0, "frame_cost": {"BG": 4, "CHAR": 6}, "progress_steps": 25}
    )
    dialog = _fresh_dialog(app, (640, 480))
    try:
        dialog.config_widget.set_frames("1-24")
        assert dialog.start(), dialog.message_area.text()
        wait_until(app, lambda: dialog.counts()["done"] >= 5, 120)
        settle(app, 0.6)
        save(dialog, "dashboard_docked.png")
    finally:
        _close(app, dialog)


def thumbnails(app: QtWidgets.QApplication) -> None:
    """The frame preview: a scene that writes PNG, a cell of the strip chosen."""
    scene = WORK / "shot010_lighting_png.ma"
    scene.write_text(SCENE.read_text().replace('"exr"', '"png"'))
    os.environ["LRC_SIM_TIME_SCALE"] = "0.5"
    os.environ["LRC_SIM_CONFIG"] = json.dumps(
        {"startup": 1.0, "frame_cost": {"BG": 2, "CHAR": 3}, "progress_steps": 25}
    )
    dialog = _fresh_dialog(app)
    try:
        dialog.set_scene(str(scene))
        wait_until(app, lambda: dialog.config_widget.scene_path() == str(scene), 20)
        wait_until(app, lambda: not dialog.config_widget.loading, 20)
        dialog.config_widget.set_frames("1-24")
        assert dialog.start(), dialog.message_area.text()
        wait_until(app, lambda: dialog.counts()["done"] >= 9, 120)
        strip = dialog.progress_widget.frame_strip
        strip.setFocus()
        strip.select_frame("BG", 4)
        preview = dialog.progress_widget.preview
        wait_until(app, lambda: "PNG" in preview.caption_text(), 20, preview.caption_text)
        settle(app, 0.6)
        save(dialog, "dashboard_thumbnails.png")
    finally:
        _close(app, dialog)


def farm(app: QtWidgets.QApplication) -> None:
    """ "Send to farm" opened from the dashboard, an OpenJD bundle just exported."""
    os.environ["DEADLINE_CONFIG_FILE_PATH"] = str(WORK / "deadline" / "config")  # not yours
    dialog = _fresh_dialog(app)
    try:
        dialog.config_widget.set_frames("1-24")
        farm_dialog = dialog.open_farm_dialog()
        assert isinstance(farm_dialog, FarmDialog)
        farm_dialog.resize(600, 480)
        farm_dialog.set_target(FarmTarget.EXPORT)
        farm_dialog.folder_edit.setText(str(WORK / "farm" / "shot010_bundle"))
        assert farm_dialog.send(), farm_dialog.reason_label.text()
        wait_until(app, lambda: not farm_dialog.busy, 60)
        assert farm_dialog.farm_result() is not None, farm_dialog.message_area.text()
        settle(app, 0.4)
        save(farm_dialog, "farm_dialog.png")
        farm_dialog.close()
    finally:
        os.environ.pop("DEADLINE_CONFIG_FILE_PATH", None)
        _close(app, dialog)


def handback(app: QtWidgets.QApplication) -> None:
    """Mid-batch, GPU 2 given back to Maya from its worker's menu: the System panel says so,
    its worker reads released, the batch goes on with the others."""
    os.environ["LRC_SIM_TIME_SCALE"] = "0.5"
    os.environ["LRC_SIM_CONFIG"] = json.dumps(
        {"startup": 1.0, "frame_cost": {"BG": 3, "CHAR": 5}, "progress_steps": 25}
    )
    dialog = _fresh_dialog(app)
    try:
        dialog.config_widget.set_frames("1-24")
        assert dialog.start(), dialog.message_area.text()
        wait_until(app, lambda: dialog.counts()["done"] >= 4, 120)
        assert dialog.release_gpu(2, finish_frame=False), dialog.message_area.text()
        wait_until(
            app,
            lambda: (
                dialog.system_widget.gpu_roles().get(2) == "given back to Maya"
                and dialog.counts()["done"] >= 7
            ),
            60,
            lambda: str(dialog.system_widget.gpu_roles()),
        )
        settle(app, 0.6)
        save(dialog, "dashboard_gpu_given_back.png")
    finally:
        _close(app, dialog)


SHOTS: dict[str, Callable[[QtWidgets.QApplication], None]] = {
    "handback": lambda app: handback(app),
    "farm": lambda app: farm(app),
    "thumbnails": lambda app: thumbnails(app),
    "reattached": lambda app: reattached(app),
    "failures": lambda app: failures(app),
    "resumed": lambda app: resumed(app),
    "docked": lambda app: docked(app),
}


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_maya_style(app)
    if sys.argv[1:]:
        unknown = [name for name in sys.argv[1:] if name not in SHOTS]
        if unknown:
            print(f"unknown screenshot(s) {unknown}; choose from {sorted(SHOTS)}")
            return 2
        for name in sys.argv[1:]:
            SHOTS[name](app)
        return 0
    api = BatchRenderAPI(settings(), simulate=True)
    dialog = ScreenshotDialog(api)
    dialog.resize(*SIZE)
    dialog.config_widget.set_output_dir(str(WORK / "project" / "images"))
    dialog.set_scene(str(SCENE))
    dialog.show()
    wait_until(app, lambda: dialog.config_widget.scene() is not None, 20)
    try:
        # 1. idle: the scene read, a frame list typed, ready to start
        dialog.config_widget.set_frames("1-24")
        settle(app, 1.3)
        save(dialog, "dashboard_idle.png")

        # 2. mid-batch: frames of a few seconds each, three GPU workers busy
        os.environ["LRC_SIM_TIME_SCALE"] = "0.5"
        os.environ["LRC_SIM_CONFIG"] = json.dumps(
            {"startup": 1.0, "frame_cost": {"BG": 6, "CHAR": 9}, "progress_steps": 25}
        )
        assert dialog.start(), dialog.message_area.text()

        def busy() -> bool:
            statuses = api.get_render_status()
            rendering = [s for s in statuses if s.state is WorkerState.RENDERING]
            return (
                dialog.counts()["done"] >= 5
                and len(rendering) == 3
                and all(15 <= (s.progress_percent or 0) <= 85 for s in rendering)
            )

        wait_until(app, busy, 120)
        settle(app, 0.25)
        save(dialog, "dashboard_rendering.png")
        dialog.stop()
        wait_until(app, lambda: not dialog.running, 60)

        # 3. errors: a frame that failed (no retries left), then a bad frame list typed
        os.environ["LRC_SIM_TIME_SCALE"] = "0.05"
        os.environ.pop("LRC_SIM_CONFIG")
        os.environ["LRC_SIM_RENDER_ERROR_AT"] = "3"
        dialog.config_widget.set_frames("1-6")
        dialog.config_widget.set_layer_checked("CHAR", False)
        dialog.config_widget.attempts_spin.setValue(1)
        assert dialog.start(), dialog.message_area.text()
        wait_until(app, lambda: not dialog.running, 60)
        dialog.progress_widget.log_view.set_min_level("warning")  # the failure, not the chatter
        settle(app)
        dialog.config_widget.set_frames("1-10x0")
        settle(app)
        save(dialog, "dashboard_error.png")
    finally:
        if api.is_running:
            api.stop_all_renders()
            api.stop_all_renders()
        dialog.shutdown()
        api.shutdown()
    for shot in SHOTS.values():
        shot(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
