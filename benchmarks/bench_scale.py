"""Does the manager's cost per frame stay flat as a batch grows? ONE run, three sizes.

Run by hand (not by pytest)::

    python benchmarks/bench_scale.py                    # 100, 1,000 and 10,000 frames
    python benchmarks/bench_scale.py --sizes 100 1000   # quicker

Workload, on the simulator (real worker processes, real protocol, the real engine:
``BatchRenderAPI`` with its job store and ``ready.json``): one layer, frames of (almost) no
cost (``LRC_SIM_TIME_SCALE`` 0, one progress line per frame, no start-up cost), 4
simulated GPUs with 1 kept for Maya, so 3 workers. What is left is the engine's own cost
per frame, which should not depend on how many frames the batch has.

Printed per size: frames per second, the manager's CPU per frame (this process's CPU time:
the workers are child processes and are not counted), the time spent inside
``ready.json``'s code per frame (every ``ReadyManifest`` method, timed from outside so the
same script measures any version of it), how many times the file was written, and the
manager's RSS at the end. Then the ratio largest / smallest size of both per-frame costs:
flat (about 1) is the goal.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lrc_toolbox.records.batch import BatchSummary  # noqa: E402
from lrc_toolbox.records.models import BatchState  # noqa: E402

SCENE = ROOT / "lrc_toolbox" / "sim" / "scenes" / "shot010_lighting.ma"
LAYER = "BG"


@dataclass
class Run:
    frames: int
    wall: float
    cpu: float
    ready_seconds: float
    ready_writes: int
    rss_mb: float

    @property
    def cpu_per_frame_ms(self) -> float:
        return 1000.0 * self.cpu / self.frames

    @property
    def ready_per_frame_ms(self) -> float:
        return 1000.0 * self.ready_seconds / self.frames


class ManifestTimer:
    """Times every public method of ``ReadyManifest`` (outermost calls only, so a method
    that calls another is counted once) and counts the writes of the file itself."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.writes = 0
        self._depth = 0

    def install(self) -> None:
        from lrc_toolbox.core import ready_manifest

        cls = ready_manifest.ReadyManifest
        for name, member in list(vars(cls).items()):
            if name.startswith("_") or not callable(member):
                continue
            setattr(cls, name, self._timed(member))
        original_replace = os.replace

        def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if self._depth and str(dst).endswith(ready_manifest.READY_FILE_NAME):
                self.writes += 1
            original_replace(src, dst, *args, **kwargs)

        setattr(os, "replace", replace)  # noqa: B010 - this process's only os.replace

    def _timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return method(*args, **kwargs)
            self._depth += 1
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self._depth -= 1

        return timed


def rss_mb() -> float:
    try:
        import psutil
    except ImportError:  # Linux without psutil
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return float(psutil.Process().memory_info().rss) / 2**20


def engine(tmp: Path, frames: int, timer: ManifestTimer) -> Run:
    from Qt import QtCore

    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.core.qt_compat import exec_loop
    from lrc_toolbox.records.models import RenderConfig

    app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
    settings = Settings(
        simulate_gpus=4,
        temp_root=str(tmp / f"engine-tmp-{frames}"),
        job_store_path=str(tmp / f"jobs-{frames}.sqlite"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
    )
    api = BatchRenderAPI(settings, simulate=True)
    result: dict[str, BatchSummary] = {}

    def finished(summary: BatchSummary) -> None:
        result["summary"] = summary
        app.quit()

    api.batch_finished.connect(finished)
    out = tmp / f"out-{frames}"
    config = RenderConfig(
        scene=str(SCENE), layers=[LAYER], frames=f"1-{frames}", output_dir=str(out)
    )
    gc.collect()
    timer.seconds, timer.writes = 0.0, 0
    cpu0, wall0 = time.process_time(), time.monotonic()
    api.start_batch_render(config)
    if "summary" not in result:
        exec_loop(app)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    summary = result["summary"]
    if summary.state is not BatchState.DONE or summary.done != frames:
        raise SystemExit(f"the {frames}-frame batch did not finish cleanly: {summary}")
    ready = json.loads((out / "ready.json").read_text(encoding="utf-8"))
    listed = ready["layers"][LAYER]["count"]
    if ready["state"] != "done" or listed != frames:
        raise SystemExit(f"ready.json lists {listed} of {frames} frames ({ready['state']})")
    run = Run(frames, wall, cpu, timer.seconds, timer.writes, rss_mb())
    api.shutdown()
    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args(argv)
    profile = {"startup": 0.0, "jitter": 0.0, "progress_steps": 1, "default_frame_cost": 0.0}
    with tempfile.TemporaryDirectory(prefix="lrc-bench-scale-") as folder:
        tmp = Path(folder)
        for key in [k for k in os.environ if k.startswith("LRC_")]:
            del os.environ[key]
        os.environ.update(
            LRC_SIM_TIME_SCALE="0",
            LRC_SIM_CONFIG=json.dumps(profile),
            LRC_PREFS_DIR=str(tmp / "prefs"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        timer = ManifestTimer()
        timer.install()
        print(
            f"{'frames':>7} {'wall s':>8} {'frames/s':>9} {'mgr CPU ms/frame':>17} "
            f"{'ready.json ms/frame':>20} {'writes':>7} {'RSS MB':>8}",
            flush=True,
        )
        runs = []
        for frames in args.sizes:
            run = engine(tmp, frames, timer)
            runs.append(run)
            print(
                f"{run.frames:>7,} {run.wall:>8.1f} {run.frames / run.wall:>9.0f} "
                f"{run.cpu_per_frame_ms:>17.3f} {run.ready_per_frame_ms:>20.4f} "
                f"{run.ready_writes:>7,} {run.rss_mb:>8.1f}",
                flush=True,
            )
        if len(runs) > 1:
            small, large = runs[0], runs[-1]
            print(
                f"\n{large.frames:,} vs {small.frames:,} frames: manager CPU per frame x"
                f"{large.cpu_per_frame_ms / small.cpu_per_frame_ms:.2f}, ready.json per frame "
                f"x{large.ready_per_frame_ms / max(small.ready_per_frame_ms, 1e-9):.2f} "
                "(flat = 1)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
