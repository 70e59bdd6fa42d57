"""``python -m lrc_toolbox.ui``: the dashboard outside Maya, on the simulator.

Opens the LRC Toolbox window and the Batch Render Manager with an API whose workers are
the simulated mayapy (``lrc_toolbox.sim``) on simulated GPUs (``LRC_SIMULATE_GPUS=4``
unless set). The sample scene is pre-filled and images go to a temp folder, so Start works
at once.

With ``render_service`` on (the default) the batch renders in the local render service, as
it does from Maya: quitting (or killing) this window leaves it rendering, and opening the
dashboard again shows it. With ``LRC_RENDER_SERVICE=0`` it renders in this process:
quitting kills every worker and tidies temp files.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

SAMPLE_SCENE = Path(__file__).resolve().parents[1] / "sim" / "scenes" / "shot010_lighting.ma"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lrc_toolbox.ui",
        description="The Batch Render Manager dashboard on simulated GPUs (a demo outside Maya).",
    )
    parser.add_argument("--scene", default=str(SAMPLE_SCENE), help="scene to pre-fill")
    parser.add_argument(
        "--output",
        default=str(Path(tempfile.gettempdir()) / "lrc_toolbox_demo" / "images"),
        help="output folder to pre-fill (default: a temp folder)",
    )
    parser.add_argument("--frames", default="", help="frame list to pre-fill, e.g. 1-24")
    parser.add_argument(
        "--no-dialog", action="store_true", help="open only the toolbox window, not the dashboard"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    os.environ.setdefault("LRC_SIMULATE_GPUS", "4")

    from Qt import QtCompat, QtWidgets

    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.core.service_api import ServiceBatchAPI
    from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog
    from lrc_toolbox.ui.main_window import MainWindow
    from lrc_toolbox.ui.style import apply_maya_style

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("LRC Toolbox")
    apply_maya_style(app)
    loaded = load_settings()
    if loaded.settings.render_service:
        api: BatchRenderAPI = ServiceBatchAPI(loaded.settings, simulate=True, client="dashboard")
    else:
        api = BatchRenderAPI(loaded.settings, simulate=True)
    app.aboutToQuit.connect(api.shutdown)

    def prefill(dialog: BatchRenderDialog) -> None:
        dialog.config_widget.set_output_dir(args.output)
        dialog.config_widget.set_frames(args.frames)
        dialog.set_scene(args.scene)
        for warning in loaded.warnings:
            dialog.message_area.show_message(warning, "warning")

    window = MainWindow(api, dialog_setup=prefill)
    window.show()
    if not args.no_dialog:
        window.open_batch_render_dialog()
    code = int(QtCompat.QApplication.exec_())
    if isinstance(api, ServiceBatchAPI):
        return code  # detached on aboutToQuit: the batch goes on in the render service
    # the workers were killed on aboutToQuit: let their QProcesses report it, so the batch
    # is recorded as ended rather than found "interrupted" next time
    deadline = time.monotonic() + 3.0
    while api.is_running and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    return code


if __name__ == "__main__":
    sys.exit(main())
