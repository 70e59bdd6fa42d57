"""Start-up of the command line outside Maya: ``render --dry-run``, against Qt baselines
measured in the same run.

Run by hand (not by pytest), with the interpreter of the environment to measure::

    python benchmarks/bench_startup.py              # 7 runs each, about 10-20 s
    python benchmarks/bench_startup.py --runs 15    # steadier

Each command runs ``--runs`` times in a fresh interpreter after one warm-up run (not
counted) that fills a private bytecode cache (``PYTHONPYCACHEPREFIX``, so that an
environment with ``PYTHONDONTWRITEBYTECODE`` measures an installed package, not the
compiler). Printed per command: median, min and max wall time (ms) and the median peak
resident set size (MiB) of the child, and the ratios of ``render --dry-run`` to the
baselines ``python -c "import Qt"`` (Qt.py: QtWidgets, QtGui and more) and
``python -c "from <binding> import QtCore"`` (the floor of anything that uses QtCore).
The dry run reads the simulator's scene with simulated GPUs and the user's preferences
kept out (a temporary preferences folder and job store). Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "lrc_toolbox" / "sim" / "scenes" / "shot010_lighting.ma"
DRY_RUN = ("-m", "lrc_toolbox.cli", "render", "--scene", str(SCENE), "--frames", "1-10")
DRY_RUN_FLAGS = ("--simulate", "--dry-run")


@dataclass(frozen=True)
class Timing:
    label: str
    walls_ms: list[float]
    rss_mib: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.walls_ms)

    def line(self) -> str:
        rss = f"{statistics.median(self.rss_mib):6.1f} MiB" if self.rss_mib else "   n/a"
        return (
            f"{self.label:<34} median {self.median_ms:6.0f} ms  min {min(self.walls_ms):6.0f}"
            f"  max {max(self.walls_ms):6.0f}  peak RSS {rss}"
        )


def binding() -> str:
    """The PySide binding the package's QtCore comes from: the first of
    ``QT_PREFERRED_BINDING`` or of PySide6, PySide2 that is installed (lrc_toolbox.core.qtcore;
    not imported here, so that the script also measures a checkout from before it)."""
    preferred = os.environ.get("QT_PREFERRED_BINDING", "").split(os.pathsep)
    for name in [*filter(None, preferred), "PySide6", "PySide2"]:
        if name in ("PySide6", "PySide2") and importlib.util.find_spec(name) is not None:
            return name
    raise SystemExit("no PySide6 or PySide2 in this environment")


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    path = [str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(
        PYTHONPATH=os.pathsep.join(path),
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
        QT_QPA_PLATFORM="offscreen",
        LRC_PREFS_DIR=str(tmp / "prefs"),
        LRC_TEMP_ROOT=str(tmp / "tmp"),
        LRC_JOB_STORE_PATH=str(tmp / "jobs.sqlite"),
        LRC_SIMULATE_GPUS="2",
    )
    return env


def run_once(args: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float | None]:
    """(wall ms, peak RSS MiB or None where the OS does not say) of one child."""
    start = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - this Python, an argument list
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if hasattr(os, "wait4"):
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = (time.perf_counter() - start) * 1000
        child.returncode = os.waitstatus_to_exitcode(status)
        # Linux gives KiB, macOS bytes
        rss: float | None = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        stderr = child.stderr.read() if child.stderr else b""
    else:  # Windows: wall time only
        _out, stderr = child.communicate()
        wall = (time.perf_counter() - start) * 1000
        rss = None
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {child.returncode}:\n{stderr.decode()}")
    return wall, rss


def measure(label: str, args: Sequence[str], runs: int, env: dict[str, str], cwd: Path) -> Timing:
    run_once(args, env, cwd)  # warm-up: bytecode cache, file system cache
    walls, rss = [], []
    for _ in range(runs):
        wall, peak = run_once(args, env, cwd)
        walls.append(wall)
        if peak is not None:
            rss.append(peak)
    return Timing(label, walls, rss)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (7)")
    args = parser.parse_args(argv)
    name = binding()
    print(
        f"Python {sys.version.split()[0]}, {name}, {args.runs} runs each "
        f"(after one warm-up), {sys.executable}"
    )
    with tempfile.TemporaryDirectory(prefix="lrc-bench-startup-") as folder:
        tmp = Path(folder)
        env = child_env(tmp)
        timings = [
            measure("python -c pass", ["-c", "pass"], args.runs, env, tmp),
            measure(
                f"from {name} import QtCore",
                ["-c", f"from {name} import QtCore"],
                args.runs,
                env,
                tmp,
            ),
            measure("import Qt", ["-c", "import Qt"], args.runs, env, tmp),
            measure("render --dry-run", [*DRY_RUN, *DRY_RUN_FLAGS], args.runs, env, tmp),
        ]
    for timing in timings:
        print(timing.line())
    _bare, qtcore, qt_py, dry_run = timings
    print(
        f"render --dry-run / QtCore alone: {dry_run.median_ms / qtcore.median_ms:.2f}x, "
        f"/ import Qt: {dry_run.median_ms / qt_py.median_ms:.2f}x (medians)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
