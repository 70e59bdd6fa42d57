"""Early start: from a batch's request to its first frame, with the workers started before
the scene snapshot is copied (the engine) against the snapshot copied first (the order
before), both measured in the same run (run by hand, not by pytest).

    python benchmarks/bench_early_start.py                 # 200 MB scene, 3 runs, ~1 min
    python benchmarks/bench_early_start.py --filer-mbps 150  # the copy as from a filer

The scene is the simulator's sample shot with ``--size-mb`` of mesh data (the generator of
``bench_ma_reader.py``) inserted before its first node, so planning reads it as a
production scene is read and the snapshot copy moves that many bytes. The simulator's
start-up is 16.7 units (``--unit`` seconds each, default 0.2 s: 3.34 s), half of it the
scene load (``SCENE_LOAD_SHARE``), as in ``bench_scheduler.py``. Each run makes a new API
(simulated GPUs, private temp folder and job store), starts one batch, waits for the first
``frame_started``, then stops the batch; the two orders alternate, the first one changing
each run. Printed per order: median, min and max of request -> ``start_batch_render``
returned, request -> first frame, and the copy's own time; then the ratio.

The copy here goes from the page cache to a local disk (a few hundred MB/s or more); from
a studio filer it takes several times longer, and the early start hides up to Maya's own
start-up part of it (here 1.67 s). ``--filer-mbps M`` emulates that: the copy is made as
usual and then waited out to size / M seconds, in both orders (printed as emulated). One
warm-up run of each order (not counted) pays the lazy imports. Results:
docs/performance.md ("Start-up").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SAMPLE = ROOT / "lrc_toolbox" / "sim" / "scenes" / "shot010_lighting.ma"
STARTUP_UNITS = 16.7


def write_scene(path: Path, size_mb: int) -> int:
    """The sample shot with about ``size_mb`` MB of mesh nodes before its first node."""
    from bench_ma_reader import _mesh_block

    text = SAMPLE.read_text(encoding="utf-8")
    head, sep, rest = text.partition("createNode ")
    block = _mesh_block(20_000, seed=1)
    target = size_mb * 1024 * 1024
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(head)
        written, index = 0, 0
        while written < target:
            chunk = block.replace("@", f"pad{index}")
            handle.write(chunk)
            written += len(chunk)
            index += 1
        handle.write(sep + rest)
    return path.stat().st_size


def one_run(scene: Path, work: Path, early: bool, filer_mbps: float) -> dict[str, float]:
    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core import batch_render_api
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.core.qtcore import QtCore
    from lrc_toolbox.core.scheduler import Scheduler
    from lrc_toolbox.records.models import RenderConfig

    class CopyFirst(BatchRenderAPI):
        """The order before: copy the snapshot, record, then start the workers (the same
        private steps the engine runs, in the old order)."""

        def start_batch_render(
            self, config: RenderConfig, *, include_all_lights: bool | None = None
        ) -> str:
            planned = self.plan_batch(config)
            batch_id, snapshot = self._record(config, planned, copy=True)
            scheduler = Scheduler(
                planned.plan.frames_by_layer,
                chunk_size=config.chunk_size,
                order=config.frame_order,
                max_attempts=config.max_attempts,
            )
            self._run(batch_id, planned, scheduler, snapshot, include_all_lights)
            return batch_id

    app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
    settings = Settings(
        simulate_gpus=4,
        temp_root=str(work / "tmp"),
        job_store_path=str(work / "jobs.sqlite"),
        stop_grace_seconds=1.0,
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
    )
    api = (BatchRenderAPI if early else CopyFirst)(settings, simulate=True)
    copy_seconds: list[float] = []
    real_copy = getattr(batch_render_api, "write_snapshot")  # noqa: B009 (not re-exported)

    def timed_copy(source: Path, target: Path) -> None:
        began = time.perf_counter()
        real_copy(source, target)
        if filer_mbps > 0:  # emulated: as long as the filer would take
            left = began + target.stat().st_size / (filer_mbps * 1e6) - time.perf_counter()
            time.sleep(max(0.0, left))
        copy_seconds.append(time.perf_counter() - began)

    setattr(batch_render_api, "write_snapshot", timed_copy)  # noqa: B010
    first: list[float] = []
    finished: list[bool] = []
    api.frame_started.connect(lambda *_: first.append(time.perf_counter()) if not first else None)
    api.batch_finished.connect(lambda *_: finished.append(True))
    config = RenderConfig(
        scene=str(scene), layers=["BG"], frames="1-12", output_dir=str(work / "images")
    )
    try:
        began = time.perf_counter()
        api.start_batch_render(config)
        returned = time.perf_counter()
        _spin(app, lambda: bool(first), 120)
        api.stop_all_renders()
        _spin(app, lambda: bool(finished), 60)
    finally:
        setattr(batch_render_api, "write_snapshot", real_copy)  # noqa: B010
        api.shutdown()
    return {
        "returned": returned - began,
        "first_frame": first[0] - began,
        "copy": sum(copy_seconds),
    }


def _spin(app: Any, done: Callable[[], bool], limit: float) -> None:
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit("timed out: the batch did not get that far")
        app.processEvents()
        time.sleep(0.002)


def _stats(values: Sequence[float]) -> str:
    return f"{statistics.median(values):6.3f} s ({min(values):.3f}-{max(values):.3f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="mesh data added (200)")
    parser.add_argument("--runs", type=int, default=3, help="runs per order (3)")
    parser.add_argument("--unit", type=float, default=0.2, help="seconds per unit (0.2)")
    parser.add_argument(
        "--filer-mbps", type=float, default=0.0, help="emulate a copy at this many MB/s"
    )
    args = parser.parse_args(argv)
    os.environ["LRC_SIM_TIME_SCALE"] = str(args.unit)
    os.environ["LRC_SIM_CONFIG"] = json.dumps(
        {"startup": STARTUP_UNITS, "default_frame_cost": 1.0, "jitter": 0.0}
    )
    with tempfile.TemporaryDirectory(prefix="lrc-bench-early-") as tmp:
        scene = Path(tmp) / "shot010_big.ma"
        size = write_scene(scene, args.size_mb)
        print(
            f"scene {size / 1e6:.0f} MB; start-up {STARTUP_UNITS} units x {args.unit} s = "
            f"{STARTUP_UNITS * args.unit:.2f} s (scene load half of it); {args.runs} runs each"
        )
        if args.filer_mbps > 0:
            print(f"the copy emulated at {args.filer_mbps:g} MB/s (a filer), in both orders")
        results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for index in range(-1, args.runs):  # run -1: the warm-up, not counted
            for early in (True, False) if index % 2 == 0 else (False, True):
                work = Path(tmp) / f"run{index}-{'early' if early else 'copy-first'}"
                work.mkdir()
                result = one_run(scene, work, early, args.filer_mbps)
                if index >= 0:
                    results[early].append(result)
        for early, label in ((False, "copy first (before)"), (True, "early start (engine)")):
            rows = results[early]
            print(
                f"{label:<22} returned {_stats([r['returned'] for r in rows])}  "
                f"first frame {_stats([r['first_frame'] for r in rows])}  "
                f"copy {_stats([r['copy'] for r in rows])}"
            )
        before = statistics.median(r["first_frame"] for r in results[False])
        after = statistics.median(r["first_frame"] for r in results[True])
        print(
            f"request -> first frame: {before:.3f} s -> {after:.3f} s "
            f"({before - after:+.3f} s gained, {before / after:.3f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
