"""Makespan of this engine against the ways batches are usually rendered, in ONE run.

Run by hand (not by pytest)::

    python benchmarks/bench_scheduler.py            # time unit 0.2 s, about 4-5 minutes
    python benchmarks/bench_scheduler.py --unit 0.05  # quicker, noisier

Workload, on the simulator (real worker processes, real protocol, simulated renders):
3 layers x 48 frames with per-frame costs 1 : 3 : 6 units, a worker start-up cost of
5 frames (5 x the mean frame cost, 16.7 units: Maya start-up plus scene load), and 4
simulated GPUs with 1 kept for Maya, so 3 slots.

(a) one sequential process renders every layer (Maya's own batch render);
(b) one process per layer, in parallel;
(c) a new process per chunk of 5 frames on 3 slots (Deadline's MayaCmd);
(d) this engine (BatchRenderAPI, long-lived workers, dynamic dispatch).

Printed: each makespan, the lower bound LB = max(startup + longest frame,
startup + total work / slots), efficiency LB / makespan, and (d)'s speed-ups. Targets for
(d): efficiency >= 0.95, >= 1.3x faster than (c), >= 0.9 x slots faster than (a). Then the
manager's own CPU seconds per 10,000 renderer log lines, from a batch that floods them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lrc_toolbox.records import protocol  # noqa: E402
from lrc_toolbox.records.batch import BatchSummary  # noqa: E402
from lrc_toolbox.records.models import BatchState  # noqa: E402

SCENE = ROOT / "lrc_toolbox" / "sim" / "scenes" / "shot010_lighting.ma"
LAYERS = {"BG": 1.0, "CHAR": 3.0, "FX_test": 6.0}  # cost units per frame
FRAMES = list(range(1, 49))
SLOTS = 3
CHUNK = 5
STARTUP = 5 * sum(LAYERS.values()) / len(LAYERS)  # 5 frames of mean cost
MAYAPY = [sys.executable, "-m", "lrc_toolbox.sim.mayapy"]


def sim_env(unit: float, tmp: Path, extra: dict[str, Any] | None = None) -> dict[str, str]:
    profile = {
        "startup": STARTUP,
        "frame_cost": LAYERS,
        "jitter": 0.0,
        "progress_steps": 4,
        **(extra or {}),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRC_")}
    env.update(
        LRC_SIM_TIME_SCALE=str(unit),
        LRC_SIM_CONFIG=json.dumps(profile),
        LRC_PREFS_DIR=str(tmp / "prefs"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def start_worker(
    jobs: Sequence[tuple[str, list[int]]], env: dict[str, str], out: Path
) -> subprocess.Popen[bytes]:
    """A worker given all its commands up front, then quit (no dispatch)."""
    proc = subprocess.Popen(  # noqa: S603 - an argument list, no shell
        [*MAYAPY, "-m", "lrc_toolbox.worker", "--scene", str(SCENE), "--output-dir", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin is not None
    for layer, frames in jobs:
        proc.stdin.write(protocol.encode_command("render", layer=layer, frames=frames).encode())
    proc.stdin.write(protocol.encode_command("quit").encode())
    proc.stdin.close()
    return proc


def run_pool(
    job_lists: list[list[tuple[str, list[int]]]], slots: int, env: dict[str, str], out: Path
) -> float:
    """Run each job list in its own process, at most ``slots`` at a time; the makespan."""
    started = time.monotonic()
    queue = list(job_lists)
    running: list[subprocess.Popen[bytes]] = []
    while queue or running:
        while queue and len(running) < slots:
            running.append(start_worker(queue.pop(0), env, out))
        time.sleep(0.01)
        for proc in [p for p in running if p.poll() is not None]:
            if proc.returncode:
                raise SystemExit(f"a baseline worker failed with exit code {proc.returncode}")
            running.remove(proc)
    return time.monotonic() - started


def sequential(env: dict[str, str], out: Path) -> float:
    return run_pool([[(layer, FRAMES) for layer in LAYERS]], 1, env, out)


def per_layer(env: dict[str, str], out: Path) -> float:
    return run_pool([[(layer, FRAMES)] for layer in LAYERS], SLOTS, env, out)


def per_chunk(env: dict[str, str], out: Path) -> float:
    chunks = [
        [(layer, FRAMES[i : i + CHUNK])] for layer in LAYERS for i in range(0, len(FRAMES), CHUNK)
    ]
    return run_pool(chunks, SLOTS, env, out)


def engine(
    env: dict[str, str], tmp: Path, out: Path, layers: Sequence[str], frames: str
) -> tuple[float, float, BatchSummary]:
    """(makespan, manager CPU seconds, summary) of one BatchRenderAPI batch."""
    os.environ.update(env)
    from Qt import QtCore

    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.core.qt_compat import exec_loop
    from lrc_toolbox.records.models import RenderConfig

    app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
    settings = Settings(
        simulate_gpus=4,
        temp_root=str(tmp / "engine-tmp"),
        job_store_path=str(tmp / "jobs.sqlite"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
    )
    api = BatchRenderAPI(settings, simulate=True)
    result: dict[str, BatchSummary] = {}

    def finished(summary: BatchSummary) -> None:
        result["summary"] = summary
        app.quit()

    api.batch_finished.connect(finished)
    config = RenderConfig(scene=str(SCENE), layers=list(layers), frames=frames, output_dir=str(out))
    cpu0, wall0 = time.process_time(), time.monotonic()
    api.start_batch_render(config)
    if "summary" not in result:
        exec_loop(app)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    api.shutdown()
    return wall, cpu, result["summary"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unit", type=float, default=0.2, help="seconds per cost unit")
    args = parser.parse_args(argv)
    unit = args.unit
    work = sum(cost * len(FRAMES) for cost in LAYERS.values())
    lb_units = max(STARTUP + max(LAYERS.values()), STARTUP + work / SLOTS)
    lb = lb_units * unit
    print(
        f"workload: {len(LAYERS)} layers x {len(FRAMES)} frames, costs 1:3:6 units, "
        f"start-up {STARTUP:.1f} units, {SLOTS} slots, 1 unit = {unit} s"
    )
    print(f"lower bound LB = {lb:.2f} s ({lb_units:.1f} units)\n")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lrc-bench-") as folder:
        tmp = Path(folder)
        env = sim_env(unit, tmp)
        for name, fn in (
            ("(a) one sequential process", sequential),
            ("(b) one process per layer", per_layer),
            ("(c) new process per 5-frame chunk", per_chunk),
        ):
            makespan = fn(env, tmp / "out")
            rows.append((name, makespan))
            print(f"{name:<38} {makespan:8.2f} s   efficiency {lb / makespan:5.3f}", flush=True)
        makespan, _, summary = engine(env, tmp, tmp / "out-engine", list(LAYERS), "1-48")
        assert summary.state is BatchState.DONE and summary.done == 144, summary
        rows.append(("(d) this engine", makespan))
        print(f"{'(d) this engine':<38} {makespan:8.2f} s   efficiency {lb / makespan:5.3f}")

        a, c = rows[0][1], rows[2][1]
        eff = lb / makespan
        print()
        verdict = "ok" if eff >= 0.95 else "MISSED"
        print(f"efficiency of (d): {eff:.3f}        target >= 0.95  {verdict}")
        print(
            f"(d) vs (c): {c / makespan:.2f}x faster     target >= 1.30  "
            f"{'ok' if c / makespan >= 1.3 else 'MISSED'}"
        )
        print(
            f"(d) vs (a): {a / makespan:.2f}x faster     target >= {0.9 * SLOTS:.2f}  "
            f"{'ok' if a / makespan >= 0.9 * SLOTS else 'MISSED'}"
        )
        print(f"(d) vs (b): {rows[1][1] / makespan:.2f}x faster")

        # manager CPU per 10,000 log lines: one layer, frames that each print 2,000 lines
        flood_env = sim_env(0.0005, tmp, {"progress_steps": 2000, "startup": 0.0})
        flood_frames = 10
        wall, cpu, summary = engine(flood_env, tmp, tmp / "out-flood", ["BG"], f"1-{flood_frames}")
        lines = flood_frames * (2000 + 10)  # progress lines plus start/end lines per frame
        print(
            f"\nmanager CPU: {cpu:.2f} s for ~{lines:,} log lines in {wall:.1f} s "
            f"= {cpu / lines * 10_000:.2f} CPU s per 10,000 lines"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
