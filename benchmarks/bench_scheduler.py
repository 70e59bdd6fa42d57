"""Makespan of this engine against the ways batches are usually rendered, in ONE run.

Run by hand (not by pytest)::

    python benchmarks/bench_scheduler.py                 # 1 unit = 0.2 s: about 40 minutes
    python benchmarks/bench_scheduler.py --unit 0.05     # 4x shorter, fixed costs weigh more
    python benchmarks/bench_scheduler.py --only d c5 c16 # some rows only (the goals need them)

Workload, on the simulator (real worker processes, real protocol, simulated renders):
3 layers x 48 frames with per-frame costs 1 : 3 : 6 units, a worker start-up cost of
5 frames (5 x the mean frame cost, 16.7 units: Maya start-up plus scene load, counted from
exec), a render layer switch of a quarter of that (the simulator's default
``LAYER_SWITCH_SHARE``, ``--switch-share``: charged to every process that switches, the
first switch away from the master layer included), and 4 simulated GPUs with 1 kept for
Maya, so 3 slots. Rows:

(a)  one sequential process renders every layer (Maya's own batch render);
(b)  one process per layer, 3 at a time;
(c1) (c5) (c16)  a new process per chunk of 1, 5, 16 frames, 3 at a time (Deadline's
     MayaCmd); the best of them is "per-chunk restart";
(p1) (p5)  ``openjd run`` on the bundle ``farm export`` writes, one session (a fresh Maya)
     per task, 3 at a time: an independent runner of the same work;
(d)  this engine (BatchRenderAPI: long-lived workers, dynamic dispatch).

Every row runs ``--repeat`` times (default 3), the rows in a shuffled order each round
(``--seed``), so no row always runs on a warmer or a busier machine. Printed: each row's
median, min and max, efficiency LB / median, and (d)'s speed-ups; the lower bound with its
formula (:func:`lower_bound`); the goals: (d)'s efficiency >= 0.97 at the default unit
(>= 0.92 at ``--unit 0.05``), >= 1.3x the best per-chunk restart, >= 0.9 x slots x (a).
Then the manager's own CPU seconds per 10,000 renderer log lines, from a batch that floods
them.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lrc_toolbox.records import protocol  # noqa: E402
from lrc_toolbox.records.batch import BatchSummary  # noqa: E402
from lrc_toolbox.records.models import BatchState  # noqa: E402
from lrc_toolbox.sim.config import LAYER_SWITCH_SHARE  # noqa: E402

SCENE = ROOT / "lrc_toolbox" / "sim" / "scenes" / "shot010_lighting.ma"
LAYERS = {"BG": 1.0, "CHAR": 3.0, "FX_test": 6.0}  # cost units per frame
FRAMES = list(range(1, 49))
SLOTS = 3
STARTUP = 5 * sum(LAYERS.values()) / len(LAYERS)  # 5 frames of mean cost
MAYAPY = [sys.executable, "-m", "lrc_toolbox.sim.mayapy"]
DEFAULT_UNIT = 0.2
#: (d)'s efficiency goal per time unit: fixed costs weigh 4x more at 0.05 s
EFFICIENCY_GOALS = {0.2: 0.97, 0.05: 0.92}


@dataclass(frozen=True)
class Setup:
    unit: float
    switch: float  # units per layer switch
    tmp: Path

    def env(self, extra: dict[str, Any] | None = None) -> dict[str, str]:
        profile = {
            "startup": STARTUP,
            "layer_switch": self.switch,
            "frame_cost": LAYERS,
            "jitter": 0.0,
            "progress_steps": 4,
            **(extra or {}),
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("LRC_")}
        env.update(
            LRC_SIM_TIME_SCALE=str(self.unit),
            LRC_SIM_CONFIG=json.dumps(profile),
            LRC_PREFS_DIR=str(self.tmp / "prefs"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def out(self, name: str) -> Path:
        folder = self.tmp / name
        shutil.rmtree(folder, ignore_errors=True)  # every run renders every frame again
        return folder


# ------------------------------------------------------------------------- lower bound


def lower_bound(
    work: dict[str, float], slots: int, startup: float, switch: float, longest: float
) -> float:
    """The shortest makespan any schedule of ``slots`` processes could reach (in units).

    Each slot pays ``startup`` and one ``switch`` per layer it renders (it opens on the
    master layer, which is not rendered). For every way to give each slot a set of layers
    that together cover all layers, the best makespan M with the work split freely (frames
    cut into fractions, so it can only be shorter than a real schedule) is the smallest M
    at which slot capacities ``M - startup - switch x |its layers|`` can absorb every
    layer's work: by Hall's theorem, iff every set A of layers fits in the capacity of
    the slots that render any layer of A. LB is the best of these over all assignments,
    and at least ``startup + switch + longest`` (the longest frame renders somewhere).
    """
    names = sorted(work)
    subsets = [
        frozenset(c) for r in range(1, len(names) + 1) for c in itertools.combinations(names, r)
    ]

    def feasible(makespan: float, sets: Sequence[frozenset[str]]) -> bool:
        caps = [makespan - startup - switch * len(s) for s in sets]
        if any(c < 0 for c in caps):
            return False
        for group in subsets:
            reach = sum(c for c, s in zip(caps, sets, strict=True) if s & group)
            if sum(work[n] for n in group) > reach + 1e-9:
                return False
        return True

    best = float("inf")
    for sets in itertools.combinations_with_replacement(subsets, slots):
        if frozenset().union(*sets) != frozenset(names):
            continue
        low = startup + switch
        high = startup + switch * len(names) + sum(work.values())
        if low >= best or not feasible(min(high, best), sets):
            continue
        for _ in range(60):  # bisection to well under a microsecond of a unit
            mid = (low + high) / 2
            if feasible(mid, sets):
                high = mid
            else:
                low = mid
        best = min(best, high)
    return max(best, startup + switch + longest)


def chunk_bound(size: int, startup: float, switch: float) -> float:
    """A lower bound (units) of the per-chunk restart with chunks of ``size`` frames: every
    chunk pays start-up and one switch; the slots share the total, and no slot ends before
    its longest chunk."""
    costs = [startup + switch + LAYERS[layer] * len(frames) for layer, frames in chunks_of(size)]
    return max(sum(costs) / SLOTS, max(costs))


# ------------------------------------------------------------------------- baselines


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


def run_pool(starts: Sequence[Callable[[], subprocess.Popen[Any]]], slots: int) -> float:
    """Run each start in its own process, at most ``slots`` at a time; the makespan."""
    started = time.monotonic()
    queue = list(starts)
    running: list[subprocess.Popen[Any]] = []
    while queue or running:
        while queue and len(running) < slots:
            running.append(queue.pop(0)())
        time.sleep(0.005)
        for proc in [p for p in running if p.poll() is not None]:
            if proc.returncode:
                raise SystemExit(f"a baseline process failed with exit code {proc.returncode}")
            running.remove(proc)
    return time.monotonic() - started


def worker_pool(jobs: list[list[tuple[str, list[int]]]], slots: int, s: Setup, out: str) -> float:
    env, folder = s.env(), s.out(out)
    return run_pool([functools.partial(start_worker, j, env, folder) for j in jobs], slots)


def sequential(s: Setup) -> float:
    return worker_pool([[(layer, FRAMES) for layer in LAYERS]], 1, s, "out-a")


def per_layer(s: Setup) -> float:
    return worker_pool([[(layer, FRAMES)] for layer in LAYERS], SLOTS, s, "out-b")


def chunks_of(size: int) -> list[tuple[str, list[int]]]:
    return [(layer, FRAMES[i : i + size]) for layer in LAYERS for i in range(0, len(FRAMES), size)]


def per_chunk(size: int) -> Callable[[Setup], float]:
    def run(s: Setup) -> float:
        return worker_pool([[chunk] for chunk in chunks_of(size)], SLOTS, s, f"out-c{size}")

    return run


def openjd_peer(size: int) -> Callable[[Setup], float]:
    """``openjd run`` of each task of the exported bundle, one session per task."""

    def run(s: Setup) -> float:
        from lrc_toolbox.core.batch_render_api import BatchRenderAPI
        from lrc_toolbox.farm.openjd import (
            OpenJDOptions,
            openjd_cli_job_params,
            write_job_bundle,
            write_simulated_mayapy,
        )
        from lrc_toolbox.records.models import RenderConfig

        folder = s.out(f"out-p{size}")
        bundle = s.tmp / f"bundle-p{size}"
        if not bundle.is_dir():  # made once, outside the timed part (as a farm job is)
            config = RenderConfig(
                scene=str(SCENE),
                layers=list(LAYERS),
                frames="1-48",
                output_dir=str(folder),
                chunk_size=size,
            )
            plan = BatchRenderAPI(simulate=True).plan_batch(config, local=False).plan
            mayapy = write_simulated_mayapy(s.tmp / "mayapy-bin")
            write_job_bundle(plan, bundle, OpenJDOptions(mayapy=mayapy))
        params = openjd_cli_job_params(bundle)
        env = s.env()
        template = str(bundle / "template.yaml")

        def start(layer: str, frames: list[int]) -> subprocess.Popen[bytes]:
            frame = f"{frames[0]}-{frames[-1]}" if size > 1 else str(frames[0])
            args = [sys.executable, "-m", "openjd", "run", template, "--step", layer]
            return subprocess.Popen(  # noqa: S603 - an argument list, no shell
                [*args, "--task-param", f"Frame={frame}", *params],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )

        makespan = run_pool([functools.partial(start, *c) for c in chunks_of(size)], SLOTS)
        rendered = sum(1 for p in folder.rglob("*") if p.is_file() and p.suffix != ".json")
        if rendered < len(LAYERS) * len(FRAMES):
            raise SystemExit(f"openjd run rendered {rendered} of 144 images in {folder}")
        return makespan

    return run


# ------------------------------------------------------------------------- the engine


def engine_run(
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


def engine(s: Setup) -> float:
    makespan, _, summary = engine_run(s.env(), s.tmp, s.out("out-d"), list(LAYERS), "1-48")
    if summary.state is not BatchState.DONE or summary.done != len(LAYERS) * len(FRAMES):
        raise SystemExit(f"the engine's batch did not render every frame: {summary}")
    return makespan


# ------------------------------------------------------------------------- report

ROWS: dict[str, tuple[str, Callable[[Setup], float]]] = {
    "a": ("(a) one sequential process", sequential),
    "b": ("(b) one process per layer", per_layer),
    "c1": ("(c1) new process per frame", per_chunk(1)),
    "c5": ("(c5) new process per 5-frame chunk", per_chunk(5)),
    "c16": ("(c16) new process per 16-frame chunk", per_chunk(16)),
    "p1": ("(p1) openjd run, a session per frame", openjd_peer(1)),
    "p5": ("(p5) openjd run, a session per 5 frames", openjd_peer(5)),
    "d": ("(d) this engine", engine),
}


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--unit", type=float, default=DEFAULT_UNIT, help="seconds per cost unit")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every row (median)")
    parser.add_argument("--seed", type=int, default=None, help="shuffle seed (default: random)")
    parser.add_argument(
        "--switch-share",
        type=float,
        default=LAYER_SWITCH_SHARE,
        help=f"layer switch cost as a share of start-up (default {LAYER_SWITCH_SHARE})",
    )
    parser.add_argument("--only", nargs="+", choices=list(ROWS), help="rows to run")
    parser.add_argument("--no-flood", action="store_true", help="skip the log-line CPU figure")
    args = parser.parse_args(argv)
    keys = args.only or list(ROWS)
    if "p1" in keys or "p5" in keys:
        try:
            import openjd.cli  # noqa: F401
        except ImportError:
            print("openjd-cli is not installed: the openjd rows are left out")
            keys = [k for k in keys if not k.startswith("p")]
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    unit, switch = args.unit, args.switch_share * STARTUP
    work = {layer: cost * len(FRAMES) for layer, cost in LAYERS.items()}
    lb_units = lower_bound(work, SLOTS, STARTUP, switch, max(LAYERS.values()))
    simple = STARTUP + switch + sum(work.values()) / SLOTS
    lb = lb_units * unit
    print(
        f"workload: {len(LAYERS)} layers x {len(FRAMES)} frames, costs 1:3:6 units, "
        f"start-up {STARTUP:.1f} units, layer switch {switch:.2f} units "
        f"({args.switch_share:g} x start-up), {SLOTS} slots, 1 unit = {unit} s"
    )
    print(
        f"lower bound LB = {lb:.2f} s ({lb_units:.2f} units): the best fractional split of "
        f"the work over {SLOTS} slots,\n  each paying start-up + one switch per layer it "
        f"renders (simple bound start-up + switch + work / slots = {simple:.2f} units)"
    )
    print(f"rows {' '.join(keys)}, {args.repeat} runs each in shuffled order (seed {seed})\n")
    shuffle = random.Random(seed)
    times: dict[str, list[float]] = {k: [] for k in keys}
    with tempfile.TemporaryDirectory(prefix="lrc-bench-") as folder:
        setup = Setup(unit, switch, Path(folder))
        for round_ in range(args.repeat):
            order = list(keys)
            shuffle.shuffle(order)
            for key in order:
                times[key].append(ROWS[key][1](setup))
                print(f"  round {round_ + 1}: {key:<4} {times[key][-1]:8.2f} s", flush=True)
        print()
        print(f"{'':<42} {'median':>8} {'min':>8} {'max':>8}  efficiency  (d) faster by")
        median = {k: statistics.median(v) for k, v in times.items()}
        for key in keys:
            label = ROWS[key][0]
            speed = f"{median[key] / median['d']:5.2f}x" if "d" in median and key != "d" else ""
            print(
                f"{label:<42} {median[key]:8.2f} {min(times[key]):8.2f} {max(times[key]):8.2f}"
                f"  {lb / median[key]:10.3f}  {speed}"
            )
        if "d" in median:
            print()
            eff = lb / median["d"]
            goal = EFFICIENCY_GOALS.get(unit)
            worst = lb / max(times["d"])
            if goal is not None:
                print(
                    f"efficiency of (d): {eff:.3f} (worst run {worst:.3f})   "
                    f"goal >= {goal:.2f}  {verdict(eff >= goal)}"
                )
            else:
                print(
                    f"efficiency of (d): {eff:.3f} (worst run {worst:.3f})   no goal at this unit"
                )
            restarts = [k for k in ("c1", "c5", "c16") if k in median]
            if restarts:
                best = min(restarts, key=lambda k: median[k])
                ratio = median[best] / median["d"]
                size = int(best[1:])
                ceiling = chunk_bound(size, STARTUP, switch) / lb_units
                print(
                    f"(d) vs best per-chunk restart ({best}): {ratio:.2f}x faster   "
                    f"goal >= 1.30  {verdict(ratio >= 1.3)}\n"
                    f"  (the most any schedule could gain on {best} here: its own lower bound "
                    f"max(chunks x (start-up + switch) + work, longest chunk) / {SLOTS} slots "
                    f"= {chunk_bound(size, STARTUP, switch):.1f} units, over LB = "
                    f"{ceiling:.2f}x)"
                )
            if "a" in median:
                ratio = median["a"] / median["d"]
                print(
                    f"(d) vs (a): {ratio:.2f}x faster   goal >= {0.9 * SLOTS:.2f}  "
                    f"{verdict(ratio >= 0.9 * SLOTS)}"
                )
        if not args.no_flood:
            # manager CPU per 10,000 log lines: one layer, frames that each print 2,000 lines
            flood = Setup(0.0005, 0.0, setup.tmp)
            flood_env = flood.env({"progress_steps": 2000, "startup": 0.0})
            count = 10
            wall, cpu, _ = engine_run(
                flood_env, setup.tmp, flood.out("out-flood"), ["BG"], f"1-{count}"
            )
            lines = count * (2000 + 10)  # progress lines plus start/end lines per frame
            print(
                f"\nmanager CPU: {cpu:.2f} s for ~{lines:,} log lines in {wall:.1f} s "
                f"= {cpu / lines * 10_000:.2f} CPU s per 10,000 lines"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
